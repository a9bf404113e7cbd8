//! ECR and Harbor, which cannot run here, as fronts on a real Distribution registry: what each
//! answers where it differs from Distribution (`tests/support/ecr_standin.py`, its sources in
//! its header), with moto's server, in the same process, as AWS's API. Owns the front's
//! process, its upstream registry and its certificate; all stop on drop.

use super::registry::Registry;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

/// moto's default account and the region the tests use; the ECR host they make (tests/run.sh
/// points it at loopback in /etc/hosts).
pub const ECR_ACCOUNT: &str = "123456789012";
pub const ECR_REGION: &str = "us-east-1";
pub const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

pub struct Front {
    child: Child,
    _upstream: Registry,
    host: String,
    control: u16,
    moto: Option<u16>,
    dir: TempDir,
}

impl Front {
    /// ECR: no catalog, 201 to PATCH, parts of at least 5 MiB, repositories only where moto
    /// has them, `AWS:<token>` logins; with `stale_range`, the Range bug of 2026.
    pub fn ecr(stale_range: bool) -> Self {
        let mut args = vec!["--mode", "ecr"];
        if stale_range {
            args.push("--stale-range");
        }
        Self::start(&args, ECR_HOST)
    }

    /// Harbor: a catalog refused to robot accounts, the project API listing repositories;
    /// `user`/`password` is the one credential it takes.
    pub fn harbor(user: &str, password: &str) -> Self {
        Self::start(
            &["--mode", "harbor", "--user", user, "--password", password],
            "127.0.0.1",
        )
    }

    fn start(args: &[&str], name: &str) -> Self {
        let upstream = Registry::plain();
        let dir = tempfile::tempdir().unwrap();
        let names = format!("DNS:{ECR_HOST},IP:127.0.0.1");
        let super::certs::Pem { cert, key } = super::certs::throwaway(dir.path(), "front", &names);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/ecr_standin.py");
        let log = std::fs::File::create(dir.path().join("front.log")).unwrap();
        let mut child = Command::new(super::oras_python())
            .arg(script)
            .args(args)
            .args(["--upstream", upstream.host()])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(["--account", ECR_ACCOUNT, "--region", ECR_REGION])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the test venv's python (tests/run.sh makes it)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut port, mut control, mut moto) = (None, None, None);
        while port.is_none() || control.is_none() {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "the registry front did not start: {}",
                    std::fs::read_to_string(dir.path().join("front.log")).unwrap_or_default()
                );
            };
            let (what, number) = line.split_once(' ').unwrap();
            let number = Some(number.trim().parse::<u16>().unwrap());
            match what {
                "moto" => moto = number,
                "registry" => port = number,
                "control" => control = number,
                other => panic!("unknown line {other}"),
            }
        }
        let port = port.unwrap();
        Self {
            child,
            _upstream: upstream,
            host: format!("{name}:{port}"),
            control: control.unwrap(),
            moto,
            dir,
        }
    }

    /// `HOST:PORT` as packpub is given it (the ECR name, or 127.0.0.1).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The PEM file that makes the front's certificate trusted (`--ca-file`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("front.pem")
    }

    /// `http://127.0.0.1:PORT` of moto's server (ECR only).
    pub fn aws_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto.expect("an ECR front"))
    }

    /// Creates ECR repository `name` in moto, as `aws ecr create-repository` would.
    pub fn create_repository(&self, name: &str, immutable: bool) {
        let query = if immutable { "?immutable=1" } else { "" };
        self.control("POST", &format!("/repositories/{name}{query}"));
    }

    /// Makes the ECR API refuse `action` (`CreateRepository`) with AccessDeniedException, as
    /// AWS refuses an identity whose policies do not allow it.
    pub fn deny(&self, action: &str) {
        self.control("POST", &format!("/deny/{action}"));
    }

    /// moto's repositories: `{name: {tags, mutability, tagged}}`.
    pub fn repositories(&self) -> serde_json::Value {
        self.control("GET", "/repositories")
    }

    /// Every request the front saw: `[{method, path}]`.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        match self.control("GET", "/requests") {
            serde_json::Value::Array(all) => all,
            other => panic!("{other}"),
        }
    }

    fn control(&self, method: &str, path: &str) -> serde_json::Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.control)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: control\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{answer}");
        serde_json::from_str(body).unwrap()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        // Closing stdin ends the script; kill in case it is stuck in a request.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
