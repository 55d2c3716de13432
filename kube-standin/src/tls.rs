//! The stand-in's PKI: a CA generated at start (or serving certificates given by flags),
//! client certificates whose CN is the user and O the groups (as kube-apiserver reads them),
//! and the rustls server configuration that accepts them optionally.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// Errors building certificates or TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// A PEM file could not be read.
    #[error("reading PEM: {0}")]
    Pem(String),
}

/// A certificate and its key, in PEM.
#[derive(Clone, Debug)]
pub struct CertPair {
    /// Certificate chain in PEM.
    pub cert_pem: String,
    /// Private key in PEM (PKCS#8).
    pub key_pem: String,
}

/// A generated certificate authority that can sign serving and client certificates.
pub struct Ca {
    params: CertificateParams,
    key: KeyPair,
    /// The CA certificate in PEM (the `certificate-authority-data` clients trust).
    pub cert_pem: String,
}

impl Ca {
    /// A fresh self-signed CA.
    pub fn generate(common_name: &str) -> Result<Self, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            cert_pem: cert.pem(),
            params,
            key,
        })
    }

    fn sign(&self, params: &CertificateParams) -> Result<CertPair, TlsError> {
        let key = KeyPair::generate()?;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(CertPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A serving certificate for DNS names and IP addresses.
    pub fn serving_cert(&self, names: &[String]) -> Result<CertPair, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "kube-apiserver");
        params.distinguished_name = dn;
        for n in names {
            let san = match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(n.clone().try_into()?),
            };
            params.subject_alt_names.push(san);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        self.sign(&params)
    }

    /// A client certificate for `user` in `group` (CN = user, O = group). rcgen keeps one value
    /// per attribute type, so a certificate carries at most one group.
    pub fn client_cert(&self, user: &str, group: Option<&str>) -> Result<CertPair, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, user);
        if let Some(g) = group {
            dn.push(DnType::OrganizationName, g);
        }
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        self.sign(&params)
    }
}

/// Parse PEM certificates.
pub fn certs_from_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))
}

/// Parse one PEM private key.
pub fn key_from_pem(pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(|e| TlsError::Pem(e.to_string()))?
        .ok_or_else(|| TlsError::Pem("no private key found".into()))
}

/// The server TLS configuration: ALPN h2 + http/1.1 like kube-apiserver, client certificates
/// signed by `client_ca_pem` accepted but not required.
pub fn server_config(
    serving: &CertPair,
    client_ca_pem: &str,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in certs_from_pem(client_ca_pem)? {
        roots.add(c)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs_from_pem(&serving.cert_pem)?,
            key_from_pem(&serving.key_pem)?,
        )?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The user (CN) and groups (O) of a verified client certificate.
pub fn identity_from_cert(der: &CertificateDer<'_>) -> Option<(String, Vec<String>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let subject = cert.subject();
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())?
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect();
    Some((cn, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_cert_identity_round_trips() {
        let ca = Ca::generate("test-ca").expect("ca");
        let pair = ca
            .client_cert("alice", Some("system:masters"))
            .expect("client cert");
        let der = certs_from_pem(&pair.cert_pem).expect("pem").remove(0);
        let (user, groups) = identity_from_cert(&der).expect("identity");
        assert_eq!(user, "alice");
        assert_eq!(groups, vec!["system:masters"]);
        let serving = ca
            .serving_cert(&["127.0.0.1".into(), "localhost".into()])
            .expect("serving");
        server_config(&serving, &ca.cert_pem).expect("server config");
    }
}
