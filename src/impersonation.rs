//! Upstream identity (pure): whether requests reach the API server as the proxy's own service
//! account, or impersonating the hub user (`Impersonate-User: jupyterhub:<name>` plus
//! `Impersonate-Group` for `system:authenticated` and the user's prefixed hub groups) so RBAC,
//! audit logs and API Priority and Fairness see the real user.

use http::header::{HeaderName, HeaderValue};

use crate::auth::User;

/// `Impersonate-User`.
pub const IMPERSONATE_USER: HeaderName = HeaderName::from_static("impersonate-user");
/// `Impersonate-Group` (repeated).
pub const IMPERSONATE_GROUP: HeaderName = HeaderName::from_static("impersonate-group");
/// The group every authenticated Kubernetes user has.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";

/// How the proxy identifies itself to the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdentityMode {
    /// The proxy's own credential (the Python original's model): the proxy is the only
    /// line of defence, so its confinement rules must be complete.
    ServiceAccount,
    /// Impersonate the hub user: the API server's RBAC is a second line of defence.
    Impersonate,
}

/// Flags for the upstream identity.
#[derive(clap::Args, Debug, Clone)]
pub struct IdentityArgs {
    /// `service-account` (the proxy's credential) or `impersonate` (the hub user).
    #[arg(
        long = "upstream-identity",
        env = "KBATCH_UPSTREAM_IDENTITY",
        value_enum,
        default_value = "service-account"
    )]
    pub mode: IdentityMode,
    /// Prefix of impersonated user names (`jupyterhub:alice`).
    #[arg(
        long = "impersonate-user-prefix",
        env = "KBATCH_IMPERSONATE_PREFIX",
        default_value = "jupyterhub:"
    )]
    pub user_prefix: String,
    /// Prefix of impersonated hub groups (`jupyterhub:staff`).
    #[arg(
        long = "impersonate-group-prefix",
        env = "KBATCH_IMPERSONATE_GROUP_PREFIX",
        default_value = "jupyterhub:"
    )]
    pub group_prefix: String,
    /// Most hub groups sent (each is one header and one authorization check upstream).
    #[arg(
        long = "impersonate-max-groups",
        env = "KBATCH_IMPERSONATE_MAX_GROUPS",
        default_value_t = 32
    )]
    pub max_groups: usize,
    /// Longest prefixed group name sent; longer ones are left out.
    #[arg(
        long = "impersonate-max-group-length",
        env = "KBATCH_IMPERSONATE_MAX_GROUP_LENGTH",
        default_value_t = 253
    )]
    pub max_group_length: usize,
}

/// The validated identity settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    /// The mode.
    pub mode: IdentityMode,
    /// User name prefix.
    pub user_prefix: String,
    /// Group name prefix.
    pub group_prefix: String,
    /// Group count cap.
    pub max_groups: usize,
    /// Group length cap.
    pub max_group_length: usize,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            mode: IdentityMode::ServiceAccount,
            user_prefix: "jupyterhub:".into(),
            group_prefix: "jupyterhub:".into(),
            max_groups: 32,
            max_group_length: 253,
        }
    }
}

/// Why an identity cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A configured prefix is reserved by Kubernetes.
    #[error("{0} must not start with \"system:\" (reserved by Kubernetes)")]
    ReservedPrefix(&'static str),
    /// The hub name maps into the reserved `system:` namespace of identities.
    #[error("user {0:?} cannot be impersonated: the name maps to a reserved Kubernetes identity")]
    ReservedName(String),
    /// The hub name cannot be carried in a header.
    #[error("user {0:?} cannot be impersonated: the name contains control characters")]
    BadName(String),
}

impl IdentityConfig {
    /// Validate the flags.
    pub fn from_args(a: &IdentityArgs) -> Result<Self, IdentityError> {
        if a.user_prefix.starts_with("system:") {
            return Err(IdentityError::ReservedPrefix("KBATCH_IMPERSONATE_PREFIX"));
        }
        if a.group_prefix.starts_with("system:") {
            return Err(IdentityError::ReservedPrefix(
                "KBATCH_IMPERSONATE_GROUP_PREFIX",
            ));
        }
        Ok(IdentityConfig {
            mode: a.mode,
            user_prefix: a.user_prefix.clone(),
            group_prefix: a.group_prefix.clone(),
            max_groups: a.max_groups,
            max_group_length: a.max_group_length,
        })
    }

    /// Whether requests impersonate the hub user.
    pub fn impersonates(&self) -> bool {
        self.mode == IdentityMode::Impersonate
    }

    /// The Kubernetes user name for a hub user (prefixed), refusing reserved names.
    pub fn kube_username(&self, hub_name: &str) -> Result<String, IdentityError> {
        let name = format!("{}{hub_name}", self.user_prefix);
        if name.starts_with("system:") {
            return Err(IdentityError::ReservedName(hub_name.to_string()));
        }
        if hub_name.chars().any(char::is_control) || hub_name.is_empty() {
            return Err(IdentityError::BadName(hub_name.to_string()));
        }
        Ok(name)
    }

    /// The Kubernetes groups for a hub user: `system:authenticated`, then the prefixed hub
    /// groups in order, skipping unusable ones and capped in number and length.
    pub fn kube_groups(&self, hub_groups: &[String]) -> Vec<String> {
        let mut out = vec![AUTHENTICATED_GROUP.to_string()];
        let usable = hub_groups
            .iter()
            .map(|g| format!("{}{g}", self.group_prefix))
            .filter(|g| {
                g.len() <= self.max_group_length
                    && !g.starts_with("system:")
                    && !g.chars().any(char::is_control)
            })
            .take(self.max_groups);
        out.extend(usable);
        out
    }

    /// The headers to add upstream for `user` (none in service-account mode).
    pub fn headers_for(
        &self,
        user: &User,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, IdentityError> {
        if !self.impersonates() {
            return Ok(Vec::new());
        }
        let name = self.kube_username(&user.name)?;
        let value = |s: &str| HeaderValue::from_bytes(s.as_bytes());
        let mut out = vec![(
            IMPERSONATE_USER,
            value(&name).map_err(|_| IdentityError::BadName(user.name.clone()))?,
        )];
        for g in self.kube_groups(&user.groups) {
            if let Ok(v) = value(&g) {
                out.push((IMPERSONATE_GROUP, v));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, groups: &[&str]) -> User {
        User {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            namespace: crate::identity::namespace_for(name),
        }
    }

    fn imp() -> IdentityConfig {
        IdentityConfig {
            mode: IdentityMode::Impersonate,
            ..IdentityConfig::default()
        }
    }

    fn render(h: &[(HeaderName, HeaderValue)]) -> Vec<String> {
        h.iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect()
    }

    #[test]
    fn service_account_mode_adds_nothing() {
        let h = IdentityConfig::default()
            .headers_for(&user("alice", &["staff"]))
            .expect("ok");
        assert!(h.is_empty());
    }

    #[test]
    fn impersonation_headers() {
        let h = imp()
            .headers_for(&user("alice", &["staff", "system:masters"]))
            .expect("ok");
        assert_eq!(
            render(&h),
            [
                "impersonate-user: jupyterhub:alice",
                "impersonate-group: system:authenticated",
                "impersonate-group: jupyterhub:staff",
                "impersonate-group: jupyterhub:system:masters",
            ]
        );
        let h = imp()
            .headers_for(&user("test.user@example.org", &[]))
            .expect("ok");
        assert_eq!(
            render(&h),
            [
                "impersonate-user: jupyterhub:test.user@example.org",
                "impersonate-group: system:authenticated"
            ]
        );
        // Non-ASCII names travel as UTF-8 bytes, as Go's net/http reads them.
        let h = imp().headers_for(&user("zoë", &[])).expect("ok");
        assert_eq!(h[0].1.as_bytes(), "jupyterhub:zoë".as_bytes());
    }

    #[test]
    fn reserved_and_bad_names_are_refused() {
        let bare = IdentityConfig {
            user_prefix: String::new(),
            group_prefix: String::new(),
            ..imp()
        };
        assert!(matches!(
            bare.headers_for(&user("system:admin", &[])),
            Err(IdentityError::ReservedName(_))
        ));
        assert!(matches!(
            imp().headers_for(&user("a\nb", &[])),
            Err(IdentityError::BadName(_))
        ));
        // Without a group prefix, hub groups cannot smuggle in system: groups.
        assert_eq!(
            bare.kube_groups(&["system:masters".into(), "ok".into()]),
            ["system:authenticated", "ok"]
        );
        let args = IdentityArgs {
            mode: IdentityMode::Impersonate,
            user_prefix: "system:x:".into(),
            group_prefix: "g:".into(),
            max_groups: 1,
            max_group_length: 10,
        };
        assert!(IdentityConfig::from_args(&args).is_err());
    }

    #[test]
    fn groups_are_capped() {
        let cfg = IdentityConfig {
            max_groups: 2,
            max_group_length: 16,
            ..imp()
        };
        let groups: Vec<String> = ["a", "averyveryverylonggroup", "b", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            cfg.kube_groups(&groups),
            ["system:authenticated", "jupyterhub:a", "jupyterhub:b"]
        );
    }
}
