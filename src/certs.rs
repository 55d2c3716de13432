//! `kbatch-proxy certs`: a development CA and a serving certificate for given DNS names and
//! IP addresses, without openssl. [`issue`] is pure (PEM in, PEM out); [`main`] parses the
//! subcommand's flags and writes the files.
//!
//! Files in `--out` (default `certs/dev`): `ca.crt`, `ca.key` (created once and reused, so
//! clients keep trusting the CA when the serving certificate is renewed), `tls.crt`, `tls.key`
//! (rewritten on every run). Keys are written with mode 0600.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// Errors making or writing certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// rcgen refused a parameter or failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A name is neither an IP address nor a valid DNS name.
    #[error("invalid name {0:?}: a DNS name or an IP address is needed")]
    Name(String),
    /// No names given.
    #[error("at least one --name is needed")]
    NoNames,
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Only one of `ca.crt` / `ca.key` exists.
    #[error("{0} exists without its pair: remove it or supply both ca.crt and ca.key")]
    HalfCa(String),
}

/// `kbatch-proxy certs`: make a dev CA (once) and a serving certificate signed by it.
#[derive(Parser, Debug, Clone)]
#[command(name = "kbatch-proxy certs", bin_name = "kbatch-proxy certs")]
pub struct CertsArgs {
    /// DNS name or IP address the serving certificate is valid for (repeat the flag), e.g.
    /// `kbatch-proxy.jhub.svc`, `localhost`, `127.0.0.1`.
    #[arg(long = "name", required = true)]
    pub names: Vec<String>,
    /// Directory for ca.crt, ca.key, tls.crt, tls.key (an existing CA there is reused).
    #[arg(long, default_value = "certs/dev")]
    pub out: PathBuf,
    /// Days the serving certificate is valid.
    #[arg(long, default_value_t = 365)]
    pub days: i64,
    /// Days a newly made CA is valid.
    #[arg(long, default_value_t = 3650)]
    pub ca_days: i64,
}

/// A certificate and key in PEM.
#[derive(Debug, Clone)]
pub struct Pem {
    /// The certificate.
    pub cert: String,
    /// The PKCS#8 private key.
    pub key: String,
}

/// What [`issue`] produces.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The CA (the one given, or a new one).
    pub ca: Pem,
    /// Whether the CA was made now.
    pub new_ca: bool,
    /// The serving certificate and key.
    pub serving: Pem,
}

/// A DNS name as certificates carry it: dot-separated labels of letters, digits and `-`
/// (1..=63 characters, not starting or ending with `-`), a leading `*` label allowed.
fn valid_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').enumerate().all(|(i, label)| {
            (i == 0 && label == "*")
                || (!label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        })
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

fn new_ca(days: i64) -> Result<(Pem, CertificateParams, KeyPair), CertsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kbatch-proxy development CA");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, days);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((
        Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        },
        params,
        key,
    ))
}

/// Sign a serving certificate for `names` with `ca` (PEM), or with a new CA when `ca` is None.
pub fn issue(
    names: &[String],
    ca: Option<&Pem>,
    days: i64,
    ca_days: i64,
) -> Result<Issued, CertsError> {
    let first = names.first().ok_or(CertsError::NoNames)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, first.as_str());
    params.distinguished_name = dn;
    for n in names {
        let san = match n.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) if !valid_dns_name(n) => return Err(CertsError::Name(n.clone())),
            Err(_) => SanType::DnsName(
                n.clone()
                    .try_into()
                    .map_err(|_| CertsError::Name(n.clone()))?,
            ),
        };
        params.subject_alt_names.push(san);
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    validity(&mut params, days);
    let key = KeyPair::generate()?;
    let (ca_pem, new, cert) = match ca {
        Some(pem) => {
            let ca_key = KeyPair::from_pem(&pem.key)?;
            let issuer = Issuer::from_ca_cert_pem(&pem.cert, ca_key)?;
            (pem.clone(), false, params.signed_by(&key, &issuer)?)
        }
        None => {
            let (pem, ca_params, ca_key) = new_ca(ca_days)?;
            let issuer = Issuer::from_params(&ca_params, &ca_key);
            let cert = params.signed_by(&key, &issuer)?;
            (pem, true, cert)
        }
    };
    Ok(Issued {
        ca: ca_pem,
        new_ca: new,
        serving: Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        },
    })
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CertsError + '_ {
    move |source| CertsError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<(), CertsError> {
    std::fs::write(path, contents).map_err(io_err(path))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err(path))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

/// Run the subcommand with `args` (the first one is the program name); writes the files and
/// returns the paths written.
pub fn run(args: &CertsArgs) -> Result<Vec<PathBuf>, CertsError> {
    let dir = &args.out;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let (ca_crt, ca_key) = (dir.join("ca.crt"), dir.join("ca.key"));
    let existing = match (ca_crt.exists(), ca_key.exists()) {
        (true, true) => Some(Pem {
            cert: std::fs::read_to_string(&ca_crt).map_err(io_err(&ca_crt))?,
            key: std::fs::read_to_string(&ca_key).map_err(io_err(&ca_key))?,
        }),
        (false, false) => None,
        (true, false) => return Err(CertsError::HalfCa(ca_crt.display().to_string())),
        (false, true) => return Err(CertsError::HalfCa(ca_key.display().to_string())),
    };
    let issued = issue(&args.names, existing.as_ref(), args.days, args.ca_days)?;
    let mut written = Vec::new();
    if issued.new_ca {
        write(&ca_crt, &issued.ca.cert, false)?;
        write(&ca_key, &issued.ca.key, true)?;
        written.extend([ca_crt, ca_key]);
    }
    let (tls_crt, tls_key) = (dir.join("tls.crt"), dir.join("tls.key"));
    write(&tls_crt, &issued.serving.cert, false)?;
    write(&tls_key, &issued.serving.key, true)?;
    written.extend([tls_crt, tls_key]);
    Ok(written)
}

/// Entry point of `kbatch-proxy certs …` (`argv` starts with the subcommand's name); returns
/// the process exit status.
pub fn main(argv: impl IntoIterator<Item = OsString>) -> i32 {
    let args = CertsArgs::parse_from(argv);
    match run(&args) {
        Ok(written) => {
            for p in &written {
                println!("wrote {}", p.display());
            }
            let d = args.out.display();
            println!(
                "serve with:  kbatch-proxy --tls-cert {d}/tls.crt --tls-key {d}/tls.key\n\
                 in a cluster: kubectl create secret generic kbatch-proxy-tls --type=kubernetes.io/tls \
                 --from-file=tls.crt={d}/tls.crt --from-file=tls.key={d}/tls.key --from-file=ca.crt={d}/ca.crt\n\
                 clients trust {d}/ca.crt (KBATCH_PUBLIC_CA_FILE puts it into /kubeconfig answers)"
            );
            0
        }
        Err(e) => {
            eprintln!("kbatch-proxy certs: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName, UnixTime};

    fn verify(ca: &str, leaf: &str, name: &str) -> Result<(), rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.as_bytes()).expect("ca pem"))
            .expect("root");
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            roots.into(),
            rustls::crypto::ring::default_provider().into(),
        )
        .build()
        .expect("verifier");
        let leaf = CertificateDer::from_pem_slice(leaf.as_bytes()).expect("leaf pem");
        let sn = ServerName::try_from(name.to_string()).expect("name");
        verifier
            .verify_server_cert(&leaf, &[], &sn, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn issued_certificates_verify_for_their_names_only() {
        let names = vec![
            "kbatch-proxy.jhub.svc".to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ];
        let first = issue(&names, None, 30, 365).expect("issue");
        assert!(first.new_ca);
        for n in &names {
            verify(&first.ca.cert, &first.serving.cert, n).expect(n);
        }
        assert!(verify(&first.ca.cert, &first.serving.cert, "other.example").is_err());
        // Renewal with the same CA: the old CA still verifies the new certificate.
        let again = issue(&names[..1], Some(&first.ca), 30, 365).expect("reissue");
        assert!(!again.new_ca);
        assert_eq!(again.ca.cert, first.ca.cert);
        verify(&first.ca.cert, &again.serving.cert, &names[0]).expect("same CA");
        let other = issue(&names[..1], None, 30, 365).expect("issue");
        assert!(verify(&other.ca.cert, &again.serving.cert, &names[0]).is_err());
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(matches!(issue(&[], None, 1, 1), Err(CertsError::NoNames)));
        for bad in ["bad name!", "", "a..b", "-a.b", "a.b-", "x.*.y", "a/b"] {
            assert!(
                matches!(issue(&[bad.into()], None, 1, 1), Err(CertsError::Name(_))),
                "{bad:?}"
            );
        }
        for good in [
            "*.svc.cluster.local",
            "kbatch-proxy",
            "a1.b2",
            "::1",
            "10.0.0.1",
        ] {
            assert!(issue(&[good.into()], None, 1, 1).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn run_writes_files_reuses_the_ca_and_refuses_half_a_ca() {
        let dir = tempfile::tempdir().expect("tmp");
        let args = CertsArgs::parse_from([
            "certs",
            "--name",
            "localhost",
            "--out",
            &dir.path().display().to_string(),
        ]);
        let written = run(&args).expect("run");
        assert_eq!(written.len(), 4);
        let ca1 = std::fs::read_to_string(dir.path().join("ca.crt")).expect("ca");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls.key"))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(run(&args).expect("rerun").len(), 2);
        let ca2 = std::fs::read_to_string(dir.path().join("ca.crt")).expect("ca");
        assert_eq!(ca1, ca2);
        let tls = std::fs::read_to_string(dir.path().join("tls.crt")).expect("tls");
        verify(&ca1, &tls, "localhost").expect("verifies");
        std::fs::remove_file(dir.path().join("ca.key")).expect("rm");
        assert!(matches!(run(&args), Err(CertsError::HalfCa(_))));
    }
}
