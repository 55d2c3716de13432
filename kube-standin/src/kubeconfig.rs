//! Kubeconfig files for clients of a stand-in (or any API server): server URL, CA, and a
//! bearer token or client certificate, with an optional default namespace.

use base64::Engine;

/// How the kubeconfig's user authenticates.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A bearer token.
    Token(String),
    /// A client certificate and key (PEM).
    ClientCert {
        /// Certificate PEM.
        cert_pem: String,
        /// Key PEM.
        key_pem: String,
    },
    /// No credential.
    None,
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// A kubeconfig with one cluster, user and context (named `context`).
pub fn kubeconfig(
    server: &str,
    ca_pem: Option<&str>,
    cred: &Credential,
    namespace: Option<&str>,
    context: &str,
) -> String {
    let mut cluster = format!("    server: {server}\n");
    if let Some(ca) = ca_pem {
        cluster.push_str(&format!("    certificate-authority-data: {}\n", b64(ca)));
    }
    let user = match cred {
        Credential::Token(t) => format!("    token: {t}\n"),
        Credential::ClientCert { cert_pem, key_pem } => format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            b64(cert_pem),
            b64(key_pem)
        ),
        Credential::None => "    {}\n".to_string(),
    };
    let ns = namespace
        .map(|n| format!("    namespace: {n}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n{cluster}users:\n- name: {context}\n  user:\n{user}contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n{ns}current-context: {context}\npreferences: {{}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_valid_yaml_with_the_pieces() {
        let k = kubeconfig(
            "https://127.0.0.1:1",
            Some("CA"),
            &Credential::Token("t".into()),
            Some("ns1"),
            "standin",
        );
        let v: serde_yaml::Value = serde_yaml::from_str(&k).expect("yaml");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"].as_str(),
            Some("https://127.0.0.1:1")
        );
        assert_eq!(v["users"][0]["user"]["token"].as_str(), Some("t"));
        assert_eq!(
            v["contexts"][0]["context"]["namespace"].as_str(),
            Some("ns1")
        );
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"].as_str(),
            Some("Q0E=")
        );
    }
}
