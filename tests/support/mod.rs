//! Support code for the integration tests: a real JupyterHub ([`hub`]), a real
//! kube-apiserver when `KUBEBUILDER_ASSETS` provides one ([`envtest`]), and the plumbing
//! they share ([`tools`]).

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod captures;
pub mod cluster;
pub mod envtest;
pub mod hub;
pub mod proxy;
pub mod tools;
