//! Tests of token extraction from headers, the WebSocket subprotocol strip, and
//! [`super::Token`] redaction.

use super::*;

fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = http::HeaderName::from_bytes(name.as_bytes()).expect("test header name");
        map.append(
            name,
            HeaderValue::from_bytes(value).expect("test header value"),
        );
    }
    map
}

fn extract(pairs: &[(&str, &[u8])]) -> Result<Option<String>, AuthError> {
    token_from_headers(&headers(pairs)).map(|t| t.map(|t| t.secret().to_string()))
}

#[test]
fn authorization_schemes() {
    // `None`: refused as InvalidToken.
    let cases: [(&[u8], Option<&str>); 12] = [
        (b"Bearer abc", Some("abc")),
        (b"bearer abc", Some("abc")),
        (b"BEARER  abc ", Some("abc")),
        (b"token abc", Some("abc")),
        (b"Token abc", Some("abc")),
        (b"ToKeN\tabc", Some("abc")),
        (b"Bearer a b", Some("a b")),
        (b"Basic YWxhZGRpbjpvcGVu", None),
        (b"Bearer", None),
        (b"Bearer   ", None),
        (b"", None),
        (b"Bearer \xe9t\xe9", None),
    ];
    for (value, want) in cases {
        let got = extract(&[("authorization", value)]);
        let want = match want {
            Some(token) => Ok(Some(token.to_string())),
            None => Err(AuthError::InvalidToken),
        };
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(value));
    }
}

#[test]
fn missing_and_ambiguous_headers() {
    assert!(matches!(extract(&[]), Ok(None)));
    assert!(matches!(
        extract(&[("sec-websocket-protocol", b"v5.channel.k8s.io")]),
        Ok(None)
    ));
    let two = [
        ("authorization", b"Bearer a".as_slice()),
        ("authorization", b"Bearer b".as_slice()),
    ];
    assert!(matches!(extract(&two), Err(AuthError::InvalidToken)));
}

#[test]
fn websocket_bearer_protocol() {
    // "my-token" base64url-encoded is "bXktdG9rZW4" (unpadded).
    let ok = |t: &str| Some(t.to_string());
    let cases: [(&[u8], Option<String>); 4] = [
        (
            b"v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.bXktdG9rZW4",
            ok("my-token"),
        ),
        (
            b"base64url.bearer.authorization.k8s.io.bXktdG9rZW4=,v4.channel.k8s.io",
            ok("my-token"),
        ),
        // "a?b>" encodes to "YT9iPg" in base64url ("YT9iPg==" padded).
        (b"base64url.bearer.authorization.k8s.io.YT9iPg", ok("a?b>")),
        (
            b"base64url.bearer.authorization.k8s.io.YT9iPg==",
            ok("a?b>"),
        ),
    ];
    for (value, want) in cases {
        let got = extract(&[("sec-websocket-protocol", value)]).expect("valid");
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(value));
    }
    let authz_wins = [
        (
            "sec-websocket-protocol",
            b"base64url.bearer.authorization.k8s.io.YQ".as_slice(),
        ),
        ("authorization", b"Bearer header".as_slice()),
    ];
    assert_eq!(extract(&authz_wins).expect("valid"), ok("header"));
}

#[test]
fn websocket_bearer_protocol_errors() {
    let bad: [&[&[u8]]; 4] = [
        &[b"base64url.bearer.authorization.k8s.io.!!!"],
        &[b"base64url.bearer.authorization.k8s.io."],
        // 0xff is not UTF-8.
        &[b"base64url.bearer.authorization.k8s.io._w"],
        &[
            b"base64url.bearer.authorization.k8s.io.YQ",
            b"base64url.bearer.authorization.k8s.io.Yg",
        ],
    ];
    for values in bad {
        let pairs: Vec<(&str, &[u8])> = values
            .iter()
            .map(|v| ("sec-websocket-protocol", *v))
            .collect();
        assert!(
            matches!(extract(&pairs), Err(AuthError::InvalidToken)),
            "{values:?}"
        );
    }
}

#[test]
fn strips_only_the_bearer_entry() {
    let cases = [
        (
            "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.YQ, v4.channel.k8s.io",
            Some("v5.channel.k8s.io, v4.channel.k8s.io"),
        ),
        ("base64url.bearer.authorization.k8s.io.YQ", None),
        ("base64url.bearer.authorization.k8s.io.YQ , ", None),
        ("v4.channel.k8s.io", Some("v4.channel.k8s.io")),
    ];
    for (value, want) in cases {
        assert_eq!(strip_ws_bearer_protocol(value).as_deref(), want, "{value}");
    }
}

#[test]
fn token_never_prints_its_value() {
    let token = Token::new("super-secret-value");
    let shown = format!("{token:?} {token} {:?}", Some(&token));
    assert!(!shown.contains("super-secret"), "{shown}");
    // sha256("super-secret-value"), from `sha256sum`.
    let digest = "03767fbe485736bb40cc5d85e4c9bb10b12a415674b46faf005aa22188a39a10";
    assert_eq!(token.fingerprint(), &digest[..8]);
    assert!(shown.contains(&digest[..8]), "{shown}");
    assert_eq!(hex::encode(token.cache_key()), digest);
}
