//! Header hygiene for requests forwarded upstream (pure): the user's credentials, identity
//! headers and hop-by-hop headers never reach the API server.

use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, UPGRADE};

use crate::auth::strip_ws_bearer_protocol;

/// Hop-by-hop headers (RFC 9110 §7.6.1 plus the legacy ones proxies must drop).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Identity headers a client must not be able to set upstream.
fn is_identity(name: &str) -> bool {
    name == "authorization"
        || name.starts_with("impersonate-")
        || name.starts_with("x-remote-")
        || name == "x-forwarded-for"
        || name == "cookie"
}

/// The headers to send upstream for a client request: every header named in `Connection` and
/// every hop-by-hop and identity header removed (names compared case-insensitively after
/// trimming); for an upgrade, `Connection: Upgrade` and the `Upgrade` value are put back.
/// The WebSocket bearer subprotocol entry is removed from `Sec-WebSocket-Protocol`.
pub fn upstream_headers(incoming: &HeaderMap) -> HeaderMap {
    let named: Vec<String> = incoming
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let upgrade = is_upgrade(incoming)
        .then(|| incoming.get(UPGRADE).cloned())
        .flatten();
    let mut out = HeaderMap::with_capacity(incoming.len());
    for (name, value) in incoming {
        let n = name.as_str();
        // `host` names the proxy; the client sets the API server's from the URI.
        if HOP_BY_HOP.contains(&n) || is_identity(n) || n == "host" || named.iter().any(|x| x == n)
        {
            continue;
        }
        if n == "sec-websocket-protocol" {
            if let Some(v) = value.to_str().ok().and_then(strip_ws_bearer_protocol) {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    out.append(name.clone(), v);
                }
            }
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    if let Some(u) = upgrade {
        out.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        out.insert(UPGRADE, u);
    }
    out
}

/// Whether a request asks for a protocol upgrade (`Connection: upgrade` + `Upgrade`).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Response headers to relay to the client: hop-by-hop ones removed (hyper sets framing), the
/// upgrade headers kept for a 101.
pub fn downstream_headers(upstream: &HeaderMap, switching: bool) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        let n = name.as_str();
        let keep_for_upgrade = switching && (n == "connection" || n == "upgrade");
        if HOP_BY_HOP.contains(&n) && !keep_for_upgrade {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// A header name from a static lower-case string.
pub fn name(s: &'static str) -> HeaderName {
    HeaderName::from_static(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(name(k), HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn strips_credentials_identity_and_hop_by_hop() {
        let h = map(&[
            ("authorization", "Bearer hub-token"),
            ("impersonate-user", "admin"),
            ("impersonate-group", "system:masters"),
            ("impersonate-extra-scopes", "x"),
            ("impersonate-uid", "1"),
            ("x-remote-user", "admin"),
            ("x-remote-group", "system:masters"),
            ("connection", "keep-alive, X-Secret ,  X-OTHER"),
            ("x-secret", "1"),
            ("x-other", "2"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic x"),
            ("host", "proxy.example.org"),
            ("accept", "application/json"),
            ("user-agent", "kubectl/v1.32.5"),
            ("content-type", "application/json"),
        ]);
        let out = upstream_headers(&h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, vec!["accept", "user-agent", "content-type"]);
    }

    #[test]
    fn upgrades_keep_their_handshake_but_lose_the_bearer_protocol() {
        let h = map(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "abc"),
            ("sec-websocket-version", "13"),
            (
                "sec-websocket-protocol",
                "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.dG9rZW4",
            ),
        ]);
        let out = upstream_headers(&h);
        assert_eq!(
            out.get("connection").map(|v| v.as_bytes()),
            Some(&b"Upgrade"[..])
        );
        assert_eq!(
            out.get("upgrade").map(|v| v.as_bytes()),
            Some(&b"websocket"[..])
        );
        assert_eq!(
            out.get("sec-websocket-protocol").map(|v| v.as_bytes()),
            Some(&b"v5.channel.k8s.io"[..])
        );
        assert!(is_upgrade(&h));
        let only_bearer = map(&[(
            "sec-websocket-protocol",
            "base64url.bearer.authorization.k8s.io.dG9rZW4",
        )]);
        assert!(upstream_headers(&only_bearer)
            .get("sec-websocket-protocol")
            .is_none());
    }

    #[test]
    fn a_connection_header_cannot_remove_upgrade_for_non_upgrades() {
        let h = map(&[("connection", "close"), ("upgrade", "h2c")]);
        assert!(!is_upgrade(&h));
        let out = upstream_headers(&h);
        assert!(out.get("upgrade").is_none() && out.get("connection").is_none());
    }
}
