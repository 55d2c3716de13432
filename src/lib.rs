//! kbatch-proxy: a streaming reverse proxy in front of the Kubernetes API server, run as a
//! JupyterHub service, that gives each hub user safe access to their own namespace through
//! kubectl, client libraries and the kbatch REST API.
//!
//! # Layout
//!
//! - [`config`]: flags and environment variables → a validated [`config::Config`].
//!
//! The proxy itself (server, auth, confinement, policies, kbatch API) arrives with the next
//! issues; the Kubernetes API stand-in used to test it is the `kube-standin` workspace member.

pub mod config;
