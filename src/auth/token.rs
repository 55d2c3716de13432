//! Bearer tokens (pure): the [`Token`] newtype that never prints its value, and taking
//! the token out of a request's `Authorization` or WebSocket `Sec-WebSocket-Protocol`
//! header.

use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use sha2::{Digest, Sha256};

use super::AuthError;

/// The WebSocket subprotocol prefix that carries a bearer token (kube-apiserver's
/// `base64url.bearer.authorization.k8s.io.<base64url token>`), used by clients that
/// cannot set headers on a WebSocket handshake.
pub const WS_BEARER_PREFIX: &str = "base64url.bearer.authorization.k8s.io.";

/// URL-safe base64 that accepts the token with or without `=` padding.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A bearer token. Its value is only reachable through [`Token::secret`]: `Debug` and
/// `Display` print a redacted form with the [`Token::fingerprint`], so a token cannot
/// end up in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a raw token.
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into())
    }

    /// The raw token, for the one place that sends it on (the hub request).
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// sha256 of the token: the cache key, so the cache never holds raw tokens.
    pub fn cache_key(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The first 8 hex digits of the token's sha256: all of a token a log may show.
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.cache_key()[..4])
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<redacted {}>)", self.fingerprint())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<token {}>", self.fingerprint())
    }
}

/// The request's token: from `Authorization: Bearer|token <t>` (scheme case-insensitive),
/// else from a `Sec-WebSocket-Protocol` entry `base64url.bearer.authorization.k8s.io.<t>`.
///
/// `Ok(None)` when neither header carries one (→ 401 [`AuthError::MissingToken`]). An
/// `Authorization` header with another scheme, no token, or bytes that are not visible
/// ASCII gives [`AuthError::InvalidToken`]: kbatch sends an empty token to the hub in
/// that case, which the hub refuses. Stricter than kbatch (which reads the first one),
/// several `Authorization` headers or several bearer subprotocols are refused as
/// ambiguous (kube-apiserver refuses the latter too).
pub fn token_from_headers(headers: &HeaderMap) -> Result<Option<Token>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    if let Some(value) = values.next() {
        if values.next().is_some() {
            return Err(AuthError::InvalidToken);
        }
        return authorization_token(value).map(Some);
    }
    websocket_token(headers)
}

/// Parses one `Authorization` value like kbatch: `scheme, *rest = value.split(None, 1)`.
fn authorization_token(value: &HeaderValue) -> Result<Token, AuthError> {
    let value = value.to_str().map_err(|_| AuthError::InvalidToken)?.trim();
    let (scheme, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .ok_or(AuthError::InvalidToken)?;
    let token = rest.trim();
    let known_scheme =
        scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    if !known_scheme || token.is_empty() {
        return Err(AuthError::InvalidToken);
    }
    Ok(Token::new(token))
}

/// The token of the bearer subprotocol, if exactly one is offered.
fn websocket_token(headers: &HeaderMap) -> Result<Option<Token>, AuthError> {
    let mut found = None;
    let entries = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        // A value that is not visible ASCII cannot name a subprotocol, so it carries
        // no token either; the API server will refuse it.
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);
    for encoded in entries.filter_map(|entry| entry.strip_prefix(WS_BEARER_PREFIX)) {
        if found.is_some() {
            return Err(AuthError::InvalidToken);
        }
        let bytes = BASE64URL
            .decode(encoded)
            .map_err(|_| AuthError::InvalidToken)?;
        let token = String::from_utf8(bytes).map_err(|_| AuthError::InvalidToken)?;
        if token.is_empty() {
            return Err(AuthError::InvalidToken);
        }
        found = Some(Token::new(token));
    }
    Ok(found)
}

/// A `Sec-WebSocket-Protocol` value with the bearer-token entry removed, for the
/// upstream request (the API server must not see the hub token); `None` when no entry
/// is left, so the header should be dropped.
pub fn strip_ws_bearer_protocol(value: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty() && !entry.starts_with(WS_BEARER_PREFIX))
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(kept.join(", "))
    }
}

#[cfg(test)]
mod tests;
