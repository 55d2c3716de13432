//! The shipped `policies/*.yaml`, embedded in the binary: the set in force when the proxy is
//! started without `--policies-dir` (protect by default), and the default of `policy check`.
//! This list is the one place that names them; a unit test checks that it equals the
//! `policies/` directory, so a new shipped file cannot be forgotten here.

use super::{PolicyError, PolicySet};

/// `(file name, text)` of every shipped policy file, in file name order (the order
/// [`PolicySet::load_dir`] reads a directory in).
pub const FILES: &[(&str, &str)] = &[
    (
        "control-plane-nodes.yaml",
        include_str!("../../policies/control-plane-nodes.yaml"),
    ),
    ("job-ttl.yaml", include_str!("../../policies/job-ttl.yaml")),
    (
        "pod-disruption-budgets.yaml",
        include_str!("../../policies/pod-disruption-budgets.yaml"),
    ),
    (
        "pod-security-baseline.yaml",
        include_str!("../../policies/pod-security-baseline.yaml"),
    ),
    (
        "priority-class.yaml",
        include_str!("../../policies/priority-class.yaml"),
    ),
    (
        "service-account-tokens.yaml",
        include_str!("../../policies/service-account-tokens.yaml"),
    ),
    (
        "services.yaml",
        include_str!("../../policies/services.yaml"),
    ),
    (
        "username.yaml",
        include_str!("../../policies/username.yaml"),
    ),
    (
        "volume-claims.yaml",
        include_str!("../../policies/volume-claims.yaml"),
    ),
];

/// The built-in set, parsed and checked like a directory.
pub fn set() -> Result<PolicySet, PolicyError> {
    let files: Vec<(String, String)> = FILES
        .iter()
        .map(|(name, text)| ((*name).to_string(), (*text).to_string()))
        .collect();
    PolicySet::from_files(&files)
}
