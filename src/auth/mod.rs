//! TODO(auth) stub until the real module lands: JupyterHub authentication with a moka cache.
use std::sync::Arc;
use std::time::Duration;
/// Stub.
pub struct Token(String);
impl Token {
    /// Stub.
    pub fn secret(&self) -> &str {
        &self.0
    }
}
/// Stub.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /** */
    #[error("missing token")]
    MissingToken,
    /** */
    #[error("Incorrect token")]
    InvalidToken,
    /** */
    #[error("{0}")]
    Forbidden(String),
    /** */
    #[error("not a user")]
    NotAUser,
    /** */
    #[error("hub unavailable: {0}")]
    HubUnavailable(String),
}
/// Stub.
pub fn token_from_headers(h: &http::HeaderMap) -> Result<Option<Token>, AuthError> {
    Ok(h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| Token(t.to_string())))
}
/// Stub.
pub struct User {
    /** */
    pub name: String,
    /** */
    pub groups: Vec<String>,
    /** */
    pub namespace: String,
}
/// Stub.
#[derive(Clone, Debug)]
pub struct HubAuthConfig {
    /** */
    pub api_url: String,
    /** */
    pub service_name: String,
    /** */
    pub access_scopes: Option<Vec<String>>,
    /** */
    pub positive_ttl: Duration,
    /** */
    pub negative_ttl: Duration,
    /** */
    pub max_entries: u64,
    /** */
    pub timeout: Duration,
    /** */
    pub extra_ca_pem: Option<String>,
}
/// Stub.
pub struct HubAuth;
impl HubAuth {
    /// Stub.
    pub fn new(_cfg: HubAuthConfig) -> Result<Self, AuthError> {
        Ok(HubAuth)
    }
    /// Stub.
    pub async fn authenticate(&self, _t: &Token) -> Result<Arc<User>, AuthError> {
        Err(AuthError::HubUnavailable("stub".into()))
    }
    /// Stub.
    pub async fn ready(&self) -> bool {
        false
    }
}
