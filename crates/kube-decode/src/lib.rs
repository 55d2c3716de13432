//! How kube-apiserver reads a request body, as pure functions both the proxy (which must judge
//! exactly what the API server will decode) and the API stand-in (which must decode as the API
//! server does) use.
//!
//! - [`fold`]: Go's `encoding/json` key folding (`K`, `k` and U+212A KELVIN SIGN are one key).
//! - [`json`]: JSON with every object key kept in order, so duplicate and case-folded keys are
//!   seen (serde_json keeps only the last), and the type meta (`apiVersion`, `kind`) read the way
//!   kube-apiserver's `SimpleMetaFactory` reads it (case-insensitive, last key wins).
//! - [`yaml`]: YAML → JSON as `sigs.k8s.io/yaml` (yaml.v2, YAML 1.1) converts it, with a strict
//!   mode that refuses every construct two readers could disagree on.

pub mod fold;
pub mod json;
pub mod yaml;
