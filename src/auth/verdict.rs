//! The decision about a token (pure): what the hub said about it, checked against the
//! access scopes, becomes a [`Verdict`], the value the cache keeps.

use std::sync::Arc;

use super::hub::Whoami;
use super::scopes::{forbidden_message, has_access};
use super::{AuthError, Token, User};
use crate::identity::namespace_for;

/// The cached outcome of looking a token up: a user, or a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A hub user holding an access scope.
    Allowed(Arc<User>),
    /// A refusal, remembered for the negative TTL.
    Denied(Denial),
}

/// Why a token is refused (the cacheable subset of [`AuthError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The hub does not know the token.
    InvalidToken,
    /// No access scope; kbatch's message.
    Forbidden(Arc<str>),
    /// A service's token.
    NotAUser,
}

impl Verdict {
    /// The user, or the refusal as an error.
    pub fn into_result(self) -> Result<Arc<User>, AuthError> {
        match self {
            Verdict::Allowed(user) => Ok(user),
            Verdict::Denied(Denial::InvalidToken) => Err(AuthError::InvalidToken),
            Verdict::Denied(Denial::Forbidden(message)) => {
                Err(AuthError::Forbidden(message.to_string()))
            }
            Verdict::Denied(Denial::NotAUser) => Err(AuthError::NotAUser),
        }
    }
}

/// Decides about `token` from the hub's answer: only a `kind: "user"` model holding one
/// of `access_scopes` is allowed. Refusals are logged by user name, never by token.
pub fn decide(whoami: Whoami, access_scopes: &[String], token: &Token) -> Verdict {
    let hub_user = match whoami {
        Whoami::Known(hub_user) => hub_user,
        Whoami::Rejected => {
            tracing::info!(token = %token.fingerprint(), "the hub does not know the token");
            return Verdict::Denied(Denial::InvalidToken);
        }
    };
    if hub_user.kind != "user" {
        tracing::warn!(name = %hub_user.name, kind = %hub_user.kind, "refusing a token that is not a user's");
        return Verdict::Denied(Denial::NotAUser);
    }
    if !has_access(&hub_user.scopes, access_scopes) {
        let message = forbidden_message(&hub_user.scopes, access_scopes);
        tracing::warn!(user = %hub_user.name, "{message}");
        return Verdict::Denied(Denial::Forbidden(message.into()));
    }
    let namespace = namespace_for(&hub_user.name);
    Verdict::Allowed(Arc::new(User {
        name: hub_user.name,
        groups: hub_user.groups,
        namespace,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hub::HubUser;

    fn hub_user(name: &str, kind: &str, scopes: &[&str]) -> Whoami {
        Whoami::Known(HubUser {
            name: name.into(),
            groups: vec!["g".into()],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            kind: kind.into(),
        })
    }

    #[test]
    fn decides() {
        let required = vec!["access:services!service=kbatch".to_string()];
        let token = Token::new("t");
        let allowed = decide(
            hub_user("test.user@example.org", "user", &["access:services"]),
            &required,
            &token,
        );
        assert_eq!(
            allowed,
            Verdict::Allowed(Arc::new(User {
                name: "test.user@example.org".into(),
                groups: vec!["g".into()],
                namespace: "kbatch-test-user-example-org--bbb0df7".into(),
            }))
        );
        let forbidden = decide(
            hub_user("bob", "user", &["read:users:name!user=bob"]),
            &required,
            &token,
        );
        let message = "Not allowing request with scopes: ['read:users:name!user=bob']. \
                       Needs scope(s): {'access:services!service=kbatch'}";
        assert_eq!(
            forbidden,
            Verdict::Denied(Denial::Forbidden(message.into()))
        );
        assert_eq!(
            forbidden.into_result(),
            Err(AuthError::Forbidden(message.into()))
        );
        for kind in ["service", "", "server"] {
            let verdict = decide(
                hub_user("kbatch", kind, &["access:services"]),
                &required,
                &token,
            );
            assert_eq!(verdict, Verdict::Denied(Denial::NotAUser), "{kind:?}");
        }
        let rejected = decide(Whoami::Rejected, &required, &token);
        assert_eq!(rejected.into_result(), Err(AuthError::InvalidToken));
    }
}
