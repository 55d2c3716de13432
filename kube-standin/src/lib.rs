//! `kube-standin`: an in-memory Kubernetes API server that real clients (kubectl, client-go,
//! the Python `kubernetes` client) cannot tell apart from kube-apiserver for the kinds a batch
//! user touches. It is test and demo infrastructure for kbatch-proxy; where it differs from
//! kube-apiserver, it is wrong (see `../shared/k8s-reference` for the ground truth).
//!
//! # Layout
//!
//! Pure logic (no I/O):
//! - [`resources`]: the table of groups, versions and resources served.
//! - [`status`]: the one error type, rendered as a Kubernetes `Status`.
//! - [`encode`]: Go-style JSON bytes, standard headers, body framing.
//! - [`proto`]: protobuf request bodies → JSON, and Go struct key order for JSON answers.
//! - [`request`]: request paths and queries → a parsed API request (like kube-apiserver's RequestInfo).
//! - [`selectors`]: label and field selectors.
//! - [`patch`]: JSON patch, merge patch, strategic merge patch, server-side apply merge.
//! - [`managed`]: `managedFields` (FieldsV1 sets, apply conflicts).
//! - [`defaults`], [`validate`]: server-side defaulting and validation per kind.
//! - [`table`]: `meta.k8s.io/v1` Table conversion for `kubectl get`.
//! - [`discovery`], [`openapi`]: discovery documents and OpenAPI v2/v3 documents.
//!
//! State and I/O:
//! - [`store`]: the object store, the global resourceVersion counter and the watch event log.
//! - [`api`]: the verbs (get, list, create, update, patch, delete, deletecollection) on the store.
//! - [`watch`]: watch streams.
//! - [`controllers`]: the job controller, pod "runtime", garbage collector, namespace finalizer.
//! - [`logs`]: `pods/log`, plain and follow.
//! - [`exec`]: `pods/exec` and `pods/attach` over WebSocket with a tiny built-in shell.
//! - [`reviews`]: SelfSubjectReview, SelfSubjectAccessReview, SelfSubjectRulesReview, TokenRequest.
//! - [`auth`]: authentication (bearer token, client certificate), impersonation, authorization.
//! - [`rbac`]: RBAC from stored Roles and bindings, escalation checks, the bootstrap policy.
//! - [`tls`]: the stand-in's PKI (CA, serving and client certificates) and rustls configs.
//! - [`server`]: the HTTPS server, routing, and [`server::StandIn`] to start one in-process.
//! - [`kubeconfig`]: kubeconfig files for clients of a running stand-in.

// ApiError carries a full Status (details, causes); boxing it everywhere buys nothing here.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod auth;
pub mod controllers;
pub mod defaults;
pub mod discovery;
pub mod encode;
pub mod exec;
pub mod kubeconfig;
pub mod logs;
pub mod managed;
pub mod openapi;
pub mod patch;
pub mod proto;
pub mod rbac;
pub mod request;
pub mod resources;
pub mod reviews;
pub mod selectors;
pub mod server;
pub mod status;
pub mod store;
pub mod table;
pub mod tls;
pub mod typed;
pub mod validate;
pub mod watch;
