//! Certificates for the TLS tests, made with the `openssl` CLI the way registry operators make
//! them, so the tests meet the certificates users really have rather than ones shaped to suit
//! our TLS stack.
//!
//! Two server shapes matter (see NOTES §7): Distribution's "deploy a registry" recipe, one
//! self-signed certificate with `CA:TRUE` handed to clients as their CA (curl and skopeo accept
//! it, rustls/webpki refuses it as `CaUsedAsEndEntity`), and Harbor's, a private CA signing a
//! `CA:FALSE` leaf. Client certificates for mutual TLS come from a private CA as well.
//!
//! Owns nothing: every function writes PEM files into a folder the caller owns.

use std::path::{Path, PathBuf};

use super::run_tool;

/// A certificate and its unencrypted private key, both PEM files.
#[derive(Clone, Debug)]
pub struct Pem {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Distribution's deploy recipe, verbatim but for file names: `NAME.crt` and `NAME.key` in
/// `dir`, self-signed for `localhost`, `registry.packpub.test` (tests/run.sh's name for this
/// machine), `127.0.0.1` and `::1`, valid 365 days. RSA 4096 as the
/// recipe says: about a second and a half here, which the few tests that use it can afford.
pub fn self_signed_server(dir: &Path, name: &str) -> Pem {
    let pem = files(dir, name, "crt");
    openssl(
        dir,
        &pem,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:4096",
            "-nodes",
            "-sha256",
            "-days",
            "365",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,DNS:registry.packpub.test,IP:127.0.0.1,IP:::1",
        ],
    );
    pem
}

/// A self-signed certificate (`CA:TRUE`, openssl's defaults for `req -x509`) to sign others
/// with or to trust directly: `NAME.pem` and `NAME.key` in `dir`.
pub fn ca(dir: &Path, name: &str, subject: &str) -> Pem {
    let pem = files(dir, name, "pem");
    openssl(dir, &pem, &short_lived(subject));
    pem
}

/// Harbor's shape: a `CA:FALSE` server leaf for the same names signed by
/// `ca`: `NAME.pem` and `NAME.key` in `dir`.
pub fn server_signed_by(dir: &Path, ca: &Pem, name: &str) -> Pem {
    signed_by(
        dir,
        ca,
        name,
        "/CN=localhost",
        &[
            "subjectAltName=DNS:localhost,DNS:registry.packpub.test,IP:127.0.0.1,IP:::1",
            "extendedKeyUsage=serverAuth",
        ],
    )
}

/// A client certificate for mutual TLS (`extendedKeyUsage=clientAuth`) signed by `ca`:
/// `NAME.pem` and `NAME.key` in `dir`.
pub fn client_signed_by(dir: &Path, ca: &Pem, name: &str, subject: &str) -> Pem {
    signed_by(dir, ca, name, subject, &["extendedKeyUsage=clientAuth"])
}

/// A `CA:FALSE` leaf with `extensions` on top, signed by `ca`.
fn signed_by(dir: &Path, ca: &Pem, name: &str, subject: &str, extensions: &[&str]) -> Pem {
    let pem = files(dir, name, "pem");
    let (ca_cert, ca_key) = (ca.cert.to_str().unwrap(), ca.key.to_str().unwrap());
    let mut args = short_lived(subject);
    args.extend(["-CA", ca_cert, "-CAkey", ca_key]);
    // Without these `req -x509 -CA` would still mark the leaf as a CA (openssl.cnf's v3_ca).
    let leaf = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
    ];
    for extension in leaf.iter().chain(extensions) {
        args.extend(["-addext", extension]);
    }
    openssl(dir, &pem, &args);
    pem
}

/// `req -x509` arguments for a fresh RSA 2048 key and a two-day certificate: the tests'
/// own certificates only need to outlive one run, and 2048-bit keys are quick to make.
/// A throwaway self-signed server certificate for `names` (a `subjectAltName` value such as
/// `IP:127.0.0.1,DNS:localhost`): `NAME.pem` and `NAME.key` in `dir`, for fronts whose
/// clients trust it directly or skip the check.
pub fn throwaway(dir: &Path, name: &str, names: &str) -> Pem {
    let pem = files(dir, name, "pem");
    let san = format!("subjectAltName={names}");
    let args = [short_lived("/CN=packpub test front"), vec!["-addext", &san]].concat();
    openssl(dir, &pem, &args);
    pem
}

fn short_lived(subject: &str) -> Vec<&str> {
    let args = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2", "-subj",
    ];
    let mut args = args.to_vec();
    args.push(subject);
    args
}

fn files(dir: &Path, name: &str, cert_extension: &str) -> Pem {
    Pem {
        cert: dir.join(format!("{name}.{cert_extension}")),
        key: dir.join(format!("{name}.key")),
    }
}

/// Runs `openssl ARGS -keyout KEY -out CERT` in `dir`.
fn openssl(dir: &Path, pem: &Pem, args: &[&str]) {
    let files = [
        "-keyout",
        pem.key.to_str().unwrap(),
        "-out",
        pem.cert.to_str().unwrap(),
    ];
    run_tool("openssl", "openssl", dir, &[args, &files].concat());
}
