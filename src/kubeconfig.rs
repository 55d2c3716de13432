//! `GET {prefix}/kubeconfig`: a ready kubeconfig for the authenticated hub user — the proxy's
//! public URL, its CA when configured, the user's namespace, and a credential that needs no
//! editing in a notebook.
//!
//! The builders ([`server_url`], [`token_mode`], [`render`]) are pure; [`respond`] is the one
//! async function (it reads the CA file per request, so a rotated certificate is picked up).
//!
//! **Server URL**, first that applies: `--public-url` (`KBATCH_PUBLIC_URL`, the whole URL
//! including any prefix); `JUPYTERHUB_HOST` + `KBATCH_PREFIX` (a bare host gets `https://`);
//! else the request's own origin: `X-Forwarded-Proto` (else `https` when the proxy serves TLS,
//! `http` otherwise), `X-Forwarded-Host` (else `Host`, else the HTTP/2 authority), plus the
//! prefix. The derived form is what the caller itself used, so it is right for the caller.
//!
//! **Credential**: by default an `exec` credential plugin (`client.authentication.k8s.io/v1`)
//! running `sh -c` that prints the notebook's `$JUPYTERHUB_API_TOKEN` as an `ExecCredential`;
//! the kubeconfig then holds no secret and follows token rotation. `?token=inline` embeds the
//! bearer token of the request instead (for use outside a notebook).

use std::path::PathBuf;

use http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, HOST};
use http::{Response, StatusCode};
use serde_json::json;

use crate::body::{full, ProxyBody};
use crate::error::ProxyError;

/// Flags of the `/kubeconfig` endpoint.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KubeconfigArgs {
    /// Proxy URL written into `/kubeconfig` answers, including any prefix
    /// (e.g. `https://hub.example.org/services/kbatch`); default: `JUPYTERHUB_HOST` + prefix,
    /// else the request's origin.
    #[arg(long, env = "KBATCH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// CA certificate (PEM) embedded in `/kubeconfig` answers as `certificate-authority-data`
    /// (re-read on every request); none by default (the system trust store is used).
    #[arg(long, env = "KBATCH_PUBLIC_CA_FILE")]
    pub public_ca_file: Option<PathBuf>,
    /// JupyterHub's public origin (`https://hub.example.org`), used with the prefix when
    /// `--public-url` is unset.
    #[arg(long, env = "JUPYTERHUB_HOST")]
    pub jupyterhub_host: Option<String>,
}

/// What the endpoint needs at run time.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The flags.
    pub args: KubeconfigArgs,
    /// Whether the proxy itself serves TLS (the scheme of a derived URL).
    pub tls: bool,
}

/// How the kubeconfig carries the user's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    /// An `exec` plugin printing `$JUPYTERHUB_API_TOKEN` (default).
    Exec,
    /// The request's own bearer token, inline.
    Inline,
}

/// The credential written into the kubeconfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// The `exec` plugin reading `$JUPYTERHUB_API_TOKEN`.
    ExecHubToken,
    /// This token, inline.
    Inline(&'a str),
}

/// The request's origin, for a derived server URL.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// `X-Forwarded-Proto`.
    pub forwarded_proto: Option<&'a str>,
    /// `X-Forwarded-Host`.
    pub forwarded_host: Option<&'a str>,
    /// `Host`, or the HTTP/2 `:authority`.
    pub host: Option<&'a str>,
    /// Whether the proxy serves TLS.
    pub tls: bool,
}

/// The exec plugin's shell script: fail clearly without a token, else print an ExecCredential.
pub const EXEC_SCRIPT: &str = concat!(
    r#"if [ -z "${JUPYTERHUB_API_TOKEN:-}" ]; then "#,
    r#"echo "kbatch: JUPYTERHUB_API_TOKEN is not set (fetch the kubeconfig with ?token=inline outside a notebook)" >&2; "#,
    r#"exit 1; fi; "#,
    r#"printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\n' "$JUPYTERHUB_API_TOKEN""#
);

/// The `token` query parameter: absent or `exec` → [`TokenMode::Exec`], `inline` →
/// [`TokenMode::Inline`]; anything else (or the parameter given twice) is an error message.
pub fn token_mode(query: Option<&str>) -> Result<TokenMode, String> {
    let mut mode = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != "token" {
            continue;
        }
        if mode.is_some() {
            return Err("the token parameter is given more than once".into());
        }
        mode = Some(match v {
            "exec" => TokenMode::Exec,
            "inline" => TokenMode::Inline,
            other => {
                return Err(format!(
                    "unknown token mode {other:?}: use token=exec (default) or token=inline"
                ))
            }
        });
    }
    Ok(mode.unwrap_or(TokenMode::Exec))
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// First element of a comma-separated forwarding header (proxies append).
fn first(s: Option<&str>) -> Option<&str> {
    nonempty(s.and_then(|v| v.split(',').next()))
}

/// A host (with optional port) made only of characters a URL authority may hold here.
fn valid_host(h: &str) -> bool {
    h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The server URL for the kubeconfig (see the module doc for the order); `prefix` has no
/// trailing slash. An error is a message for a 400 answer.
pub fn server_url(
    args: &KubeconfigArgs,
    prefix: &str,
    origin: &Origin<'_>,
) -> Result<String, String> {
    if let Some(url) = nonempty(args.public_url.as_deref()) {
        return Ok(url.trim_end_matches('/').to_string());
    }
    if let Some(host) = nonempty(args.jupyterhub_host.as_deref()) {
        let host = host.trim_end_matches('/');
        return Ok(if host.contains("://") {
            format!("{host}{prefix}")
        } else {
            format!("https://{host}{prefix}")
        });
    }
    let scheme = match first(origin.forwarded_proto).map(str::to_ascii_lowercase) {
        Some(p) if p == "http" || p == "https" => p,
        _ if origin.tls => "https".into(),
        _ => "http".into(),
    };
    let host = first(origin.forwarded_host)
        .or(nonempty(origin.host))
        .ok_or("the request names no host: set KBATCH_PUBLIC_URL")?;
    if !valid_host(host) {
        return Err(format!("invalid host {host:?}: set KBATCH_PUBLIC_URL"));
    }
    Ok(format!("{scheme}://{host}{prefix}"))
}

/// The kubeconfig YAML: one cluster, user and context, all named `kbatch`.
pub fn render(
    server: &str,
    ca_pem: Option<&str>,
    namespace: &str,
    credential: Credential<'_>,
) -> Result<String, String> {
    use base64::Engine as _;
    let mut cluster = json!({ "server": server });
    if let Some(ca) = ca_pem {
        cluster["certificate-authority-data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(ca.as_bytes()));
    }
    let user = match credential {
        Credential::Inline(token) => json!({ "token": token }),
        Credential::ExecHubToken => json!({
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": "sh",
                "args": ["-c", EXEC_SCRIPT],
                "interactiveMode": "Never",
                "provideClusterInfo": false,
                "installHint": "kbatch-proxy's kubeconfig reads the hub token from $JUPYTERHUB_API_TOKEN with sh; outside a notebook fetch it with ?token=inline",
            }
        }),
    };
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "kbatch", "cluster": cluster }],
        "users": [{ "name": "kbatch", "user": user }],
        "contexts": [{
            "name": "kbatch",
            "context": { "cluster": "kbatch", "user": "kbatch", "namespace": namespace },
        }],
        "current-context": "kbatch",
        "preferences": {},
    });
    serde_yaml::to_string(&doc).map_err(|e| e.to_string())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Answer `GET /kubeconfig` for an authenticated user whose request carried `token`.
pub async fn respond<B>(
    settings: &Settings,
    prefix: &str,
    req: &http::Request<B>,
    token: &str,
    namespace: &str,
) -> Result<Response<ProxyBody>, ProxyError> {
    if req.method() != http::Method::GET {
        return Err(ProxyError::BadRequest(
            "the kubeconfig endpoint only answers GET".into(),
        ));
    }
    let mode = token_mode(req.uri().query()).map_err(ProxyError::BadRequest)?;
    let origin = Origin {
        forwarded_proto: header(req.headers(), "x-forwarded-proto"),
        forwarded_host: header(req.headers(), "x-forwarded-host"),
        host: req
            .headers()
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str())),
        tls: settings.tls,
    };
    let server = server_url(&settings.args, prefix, &origin).map_err(ProxyError::BadRequest)?;
    let ca = match &settings.args.public_ca_file {
        Some(path) => Some(tokio::fs::read_to_string(path).await.map_err(|e| {
            ProxyError::Internal(format!("reading the public CA {}: {e}", path.display()))
        })?),
        None => None,
    };
    let credential = match mode {
        TokenMode::Exec => Credential::ExecHubToken,
        TokenMode::Inline => Credential::Inline(token),
    };
    let yaml =
        render(&server, ca.as_deref(), namespace, credential).map_err(ProxyError::Internal)?;
    let mut r = Response::new(full(yaml));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/yaml; charset=utf-8"),
    );
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(public_url: Option<&str>, hub_host: Option<&str>) -> KubeconfigArgs {
        KubeconfigArgs {
            public_url: public_url.map(str::to_string),
            public_ca_file: None,
            jupyterhub_host: hub_host.map(str::to_string),
        }
    }

    #[test]
    fn server_url_order_and_derivation() {
        let o = |fp, fh, h, tls| Origin {
            forwarded_proto: fp,
            forwarded_host: fh,
            host: h,
            tls,
        };
        let none = o(None, None, Some("proxy:8050"), false);
        let cases: Vec<(KubeconfigArgs, &str, Origin<'_>, Result<&str, ()>)> = vec![
            (
                args(Some("https://x.org/p/"), Some("https://hub.org")),
                "/services/kbatch",
                none,
                Ok("https://x.org/p"),
            ),
            (
                args(Some("  "), Some("https://hub.org/")),
                "/services/kbatch",
                none,
                Ok("https://hub.org/services/kbatch"),
            ),
            (
                args(None, Some("hub.org")),
                "/services/kbatch",
                none,
                Ok("https://hub.org/services/kbatch"),
            ),
            (
                args(None, Some("http://hub.local:8000")),
                "",
                none,
                Ok("http://hub.local:8000"),
            ),
            (args(None, Some("")), "", none, Ok("http://proxy:8050")),
            (
                args(None, None),
                "",
                o(None, None, Some("proxy:8050"), true),
                Ok("https://proxy:8050"),
            ),
            (
                args(None, None),
                "/services/kbatch",
                o(
                    Some("https, http"),
                    Some("hub.org, inner"),
                    Some("proxy"),
                    false,
                ),
                Ok("https://hub.org/services/kbatch"),
            ),
            (
                args(None, None),
                "",
                o(Some("HTTP"), None, Some("[::1]:8050"), true),
                Ok("http://[::1]:8050"),
            ),
            (
                args(None, None),
                "",
                o(Some("gopher"), None, Some("h"), true),
                Ok("https://h"),
            ),
            (args(None, None), "", o(None, None, None, true), Err(())),
            (
                args(None, None),
                "",
                o(None, None, Some("evil\nhost"), true),
                Err(()),
            ),
            (
                args(None, None),
                "",
                o(None, Some("a/b"), Some("ok"), true),
                Err(()),
            ),
        ];
        for (a, prefix, origin, want) in cases {
            let got = server_url(&a, prefix, &origin);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(w), "{a:?} {prefix} {origin:?}"),
                Err(()) => assert!(got.is_err(), "{a:?} {origin:?} gave {got:?}"),
            }
        }
    }

    #[test]
    fn token_modes() {
        let cases = [
            (None, Ok(TokenMode::Exec)),
            (Some(""), Ok(TokenMode::Exec)),
            (Some("token=exec"), Ok(TokenMode::Exec)),
            (Some("token=inline"), Ok(TokenMode::Inline)),
            (Some("x=1&token=inline"), Ok(TokenMode::Inline)),
            (Some("token=bogus"), Err(())),
            (Some("token="), Err(())),
            (Some("token=inline&token=exec"), Err(())),
        ];
        for (q, want) in cases {
            assert_eq!(token_mode(q).map_err(|_| ()), want, "{q:?}");
        }
    }

    #[test]
    fn renders_exec_and_inline_kubeconfigs() {
        let y = render(
            "https://hub.org/services/kbatch",
            Some("-----BEGIN CERTIFICATE-----\n"),
            "kbatch-alice",
            Credential::ExecHubToken,
        )
        .expect("renders");
        let v: serde_json::Value = serde_yaml::from_str(&y).expect("valid YAML");
        assert_eq!(v["current-context"], "kbatch");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://hub.org/services/kbatch"
        );
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"],
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
        );
        assert_eq!(v["contexts"][0]["context"]["namespace"], "kbatch-alice");
        let exec = &v["users"][0]["user"]["exec"];
        assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1");
        assert_eq!(exec["interactiveMode"], "Never");
        assert_eq!(exec["command"], "sh");
        assert_eq!(exec["args"][1], EXEC_SCRIPT);
        assert!(v["users"][0]["user"].get("token").is_none());

        let y =
            render("http://p", None, "kbatch-bob", Credential::Inline("s3cr3t")).expect("renders");
        let v: serde_json::Value = serde_yaml::from_str(&y).expect("valid YAML");
        assert_eq!(v["users"][0]["user"]["token"], "s3cr3t");
        assert!(v["users"][0]["user"].get("exec").is_none());
        assert!(v["clusters"][0]["cluster"]
            .get("certificate-authority-data")
            .is_none());
    }

    #[test]
    fn exec_script_prints_an_exec_credential_and_fails_without_a_token() {
        let run = |token: Option<&str>| {
            let mut c = std::process::Command::new("sh");
            c.args(["-c", EXEC_SCRIPT])
                .env_remove("JUPYTERHUB_API_TOKEN");
            if let Some(t) = token {
                c.env("JUPYTERHUB_API_TOKEN", t);
            }
            c.output().expect("sh runs")
        };
        let ok = run(Some("abc123"));
        assert!(ok.status.success());
        let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("JSON");
        assert_eq!(v["kind"], "ExecCredential");
        assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1");
        assert_eq!(v["status"]["token"], "abc123");
        for t in [None, Some("")] {
            let bad = run(t);
            assert!(!bad.status.success());
            assert!(
                String::from_utf8_lossy(&bad.stderr).contains("JUPYTERHUB_API_TOKEN is not set")
            );
        }
    }
}
