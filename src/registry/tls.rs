//! TLS to a registry: whom to trust, and who packpub is when the registry asks.
//!
//! Trust: the system's roots plus the CA the user gives (`--ca-file`), or, without it, the
//! `*.crt` files of the registry's certs.d folders, read as docker and podman read them:
//! `/etc/docker/certs.d/<host[:port]>/`, then `/etc/containers/certs.d/<host[:port]>/` and
//! `$HOME/.config/containers/certs.d/<host[:port]>/`. A certificate the user gave that is itself
//! the server's certificate is trusted as itself, as curl and Go trust it: Distribution's own
//! "deploy a registry" recipe makes a self-signed certificate with `CA:TRUE` and hands it out as
//! the CA, which WebPKI alone refuses as `CaUsedAsEndEntity`. Its name and dates are still
//! checked. Identity: `--cert-file` with `--key-file`, else the first `*.cert` + `*.key` pair of
//! those folders. `-v` names every file used. `--insecure` checks nothing (with a warning,
//! given by the command).

use crate::exit::{Code, Failure};
use crate::files::Unreadable;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The most of a certificate or key file read: a whole system bundle is a few hundred KB.
const MAX_PEM_FILE: u64 = 4 << 20;
/// Files looked at in one certs.d folder.
const MAX_CERTS_D_ENTRIES: usize = 1000;

/// What the user said about TLS for this run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// The certs.d folders to look in, in order (see the module doc).
    pub certs_d: Vec<PathBuf>,
}

impl Settings {
    /// The certs.d folders docker and podman read.
    pub fn default_certs_d() -> Vec<PathBuf> {
        let mut dirs = vec![
            PathBuf::from("/etc/docker/certs.d"),
            PathBuf::from("/etc/containers/certs.d"),
        ];
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            dirs.push(Path::new(&home).join(".config/containers/certs.d"));
        }
        dirs
    }
}

/// The client's TLS set-up for `host` (`name[:port]`, as the user wrote it), and the lines
/// `-v` shows about it.
pub fn client_config(
    settings: &Settings,
    host: &str,
) -> anyhow::Result<(rustls::ClientConfig, Vec<String>)> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut notes = Vec::new();
    let mut roots = Vec::new();
    let mut identity = None;
    if let Some(ca) = &settings.ca_file {
        roots = certificates(ca)?;
    }
    if let (Some(cert), Some(key)) = (&settings.cert_file, &settings.key_file) {
        identity = Some(Identity::read(cert, key)?);
    }
    for dir in settings.certs_d.iter().map(|d| d.join(host)) {
        if settings.ca_file.is_some() && identity.is_some() {
            break;
        }
        let found = read_certs_d(&dir)?;
        if settings.ca_file.is_none() {
            for file in &found.roots {
                roots.extend(certificates(file)?);
                notes.push(format!("trusting {} for {host} (certs.d)", file.display()));
            }
        }
        if identity.is_none()
            && let Some((cert, key)) = found.pair
        {
            identity = Some(Identity::read(&cert, &key)?);
            notes.push(format!(
                "client certificate for {host}: {} with {} (certs.d)",
                cert.display(),
                key.display()
            ));
        }
    }
    let system = rustls_platform_verifier::Verifier::new_with_extra_roots(
        roots.iter().cloned(),
        provider.clone(),
    )
    .map_err(|e| {
        Failure::err(
            Code::Usage,
            format!("cannot trust the given CA certificates: {e}"),
        )
    })?;
    let verifier = Arc::new(Verifier {
        system,
        given: roots,
        insecure: settings.insecure,
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match identity {
        Some(Identity { chain, key, cert }) => {
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                Failure::err(
                    Code::Usage,
                    format!(
                        "the client certificate {} and its key do not go together: {e}",
                        cert.display()
                    ),
                )
            })?
        }
        None => builder.with_no_client_auth(),
    };
    Ok((config, notes))
}

/// A client certificate chain and its key.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert: PathBuf,
}

impl Identity {
    fn read(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let chain = certificates(cert)?;
        let data = read_pem(key)?;
        let key_der = PrivateKeyDer::from_pem_slice(&data).map_err(|e| {
            Failure::err(
                Code::Usage,
                format!(
                    "{} holds no PEM private key ({e}); pass the key of the client certificate",
                    key.display()
                ),
            )
        })?;
        Ok(Self {
            chain,
            key: key_der,
            cert: cert.to_path_buf(),
        })
    }
}

/// Every certificate in the PEM file at `path`, at least one.
fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let data = read_pem(path)?;
    let found = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Failure::err(
                Code::Usage,
                format!("{} is not a PEM certificate file: {e}", path.display()),
            )
        })?;
    if found.is_empty() {
        return Err(Failure::err(
            Code::Usage,
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(found)
}

/// The bytes of a PEM file, at most [`MAX_PEM_FILE`].
pub fn read_pem(path: &Path) -> anyhow::Result<Vec<u8>> {
    crate::files::read_capped(path, MAX_PEM_FILE, false).map_err(|why| {
        let why = match why {
            Unreadable::NotFile | Unreadable::Link => "not a regular file".to_string(),
            Unreadable::TooLarge => format!(
                "larger than {} MiB, far more than any certificate",
                MAX_PEM_FILE >> 20
            ),
            Unreadable::Io(err) => err.to_string(),
        };
        Failure::err(
            Code::Usage,
            format!("cannot read {}: {why}", path.display()),
        )
    })
}

/// What one `certs.d/<host>` folder holds.
#[derive(Debug, Default, PartialEq)]
struct CertsD {
    /// `*.crt`: CA roots.
    roots: Vec<PathBuf>,
    /// The first `*.cert` (in name order) and its `*.key`.
    pair: Option<(PathBuf, PathBuf)>,
}

/// Reads `dir` as docker does: every `*.crt` is a root, every `*.cert` needs the `*.key` of
/// the same name (and the other way round). A missing folder holds nothing.
fn read_certs_d(dir: &Path) -> anyhow::Result<CertsD> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CertsD::default()),
        Err(e) => {
            return Err(Failure::err(
                Code::Usage,
                format!("cannot read {}: {e}", dir.display()),
            ));
        }
    };
    let mut names: Vec<PathBuf> = entries
        .take(MAX_CERTS_D_ENTRIES)
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    names.sort();
    let has = |ext: &str| {
        let ext = ext.to_string();
        move |p: &&PathBuf| p.extension().is_some_and(|e| e == ext.as_str())
    };
    let mut found = CertsD {
        roots: names.iter().filter(has("crt")).cloned().collect(),
        pair: None,
    };
    let unpaired = |have: &Path, missing: &Path| {
        Failure::err(
            Code::Usage,
            format!(
                "{} has no matching {} (docker's certs.d needs both halves of a client certificate)",
                have.display(),
                missing.display()
            ),
        )
    };
    for cert in names.iter().filter(has("cert")) {
        let key = cert.with_extension("key");
        if !names.contains(&key) {
            return Err(unpaired(cert, &key));
        }
        found.pair.get_or_insert((cert.clone(), key));
    }
    for key in names.iter().filter(has("key")) {
        let cert = key.with_extension("cert");
        if !names.contains(&cert) {
            return Err(unpaired(key, &cert));
        }
    }
    Ok(found)
}

/// The system's verdict, except for a certificate the user gave that is the server's own,
/// and under `--insecure`, where any certificate passes (the handshake's signatures are still
/// checked).
#[derive(Debug)]
struct Verifier {
    system: rustls_platform_verifier::Verifier,
    given: Vec<CertificateDer<'static>>,
    insecure: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        let verdict = self.system.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if verdict.is_ok() || !self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return verdict;
        }
        check_as_itself(end_entity, server_name, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.system.supported_verify_schemes()
    }
}

/// A certificate trusted as itself must still name the server and be within its dates. The
/// handshake proves the server holds its key.
fn check_as_itself(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let bad = |e: CertificateError| rustls::Error::InvalidCertificate(e);
    webpki::EndEntityCert::try_from(cert)
        .map_err(|_| bad(CertificateError::BadEncoding))?
        .verify_is_valid_for_subject_name(server_name)
        .map_err(|_| bad(CertificateError::NotValidForName))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|_| bad(CertificateError::BadEncoding))?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = parsed.validity();
    if now < validity.not_before.timestamp() {
        return Err(bad(CertificateError::NotValidYet));
    }
    if now > validity.not_after.timestamp() {
        return Err(bad(CertificateError::Expired));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certs_d_pairs_certs_with_keys_and_takes_every_crt() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(read_certs_d(&d.join("missing")).unwrap(), CertsD::default());
        for name in ["ca.crt", "b.crt", "client.cert", "client.key", "notes.txt"] {
            std::fs::write(d.join(name), "x").unwrap();
        }
        assert_eq!(
            read_certs_d(d).unwrap(),
            CertsD {
                roots: vec![d.join("b.crt"), d.join("ca.crt")],
                pair: Some((d.join("client.cert"), d.join("client.key"))),
            }
        );
        std::fs::remove_file(d.join("client.key")).unwrap();
        let lonely = read_certs_d(d).unwrap_err().to_string();
        assert!(lonely.contains("client.cert has no matching"), "{lonely}");
        std::fs::remove_file(d.join("client.cert")).unwrap();
        std::fs::write(d.join("other.key"), "x").unwrap();
        let lonely = read_certs_d(d).unwrap_err().to_string();
        assert!(lonely.contains("other.key has no matching"), "{lonely}");
    }

    #[test]
    fn a_file_without_a_certificate_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let err = certificates(&path).unwrap_err();
        assert_eq!(crate::exit::failure_of(&err).unwrap().code, Code::Usage);
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );
    }
}
