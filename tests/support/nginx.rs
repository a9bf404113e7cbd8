//! A real nginx (Debian package `nginx`) as the reverse proxy registries sit behind in the
//! field: TLS termination, mutual TLS, a body-size limit, IPv6, in front of a plain-HTTP
//! Distribution registry from [`super::registry::Registry::plain`] (issue 10: test against the
//! components users run, not a stand-in that agrees with us).
//!
//! Owns one nginx master (and its worker) per value and a temp dir holding everything nginx
//! writes: config, pid file, error and access logs and its temp folders, so nothing touches
//! /etc/nginx or /var. The location block is Distribution's own nginx recipe; the access log
//! has one tab-separated line per request so tests can count requests and bytes.
//!
//! Run as root, nginx hands requests to a worker running as `nobody`, which cannot enter that
//! temp dir (mode 0700). That is fine while request and response buffering stay off, as the
//! recipe has them, since nothing is spooled to disk then; a config that buffers would need
//! `user root;`, or its worker answers 500.

use std::fs::{self, OpenOptions};
use std::net::{Ipv4Addr, Ipv6Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, missing_tool};

/// One request as nginx logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    /// As the client sent it, query included.
    pub uri: String,
    pub status: u16,
    /// Bytes received: request line, headers and body.
    pub request_length: u64,
    /// Bytes sent back: status line, headers and body.
    pub bytes_sent: u64,
}

/// What to start; see [`Nginx::in_front_of`].
#[derive(Clone, Debug)]
pub struct Builder {
    upstream: String,
    tls: Option<(PathBuf, PathBuf)>,
    client_ca: Option<PathBuf>,
    max_body: String,
    ipv6: bool,
}

impl Builder {
    /// HTTPS with this certificate chain and key (PEM) instead of plain HTTP.
    pub fn tls(mut self, cert: &Path, key: &Path) -> Self {
        self.tls = Some((cert.to_owned(), key.to_owned()));
        self
    }

    /// Mutual TLS: `ssl_verify_client on` with `ca` (PEM) as the only client CA. Needs
    /// [`Builder::tls`].
    pub fn client_ca(mut self, ca: &Path) -> Self {
        self.client_ca = Some(ca.to_owned());
        self
    }

    /// `client_max_body_size` in nginx's syntax (`"1m"`); bigger bodies get 413. The default
    /// is `0`, no limit, as Distribution's recipe has it.
    pub fn max_body(mut self, size: &str) -> Self {
        self.max_body = size.to_owned();
        self
    }

    /// Listens on `[::1]` instead of `127.0.0.1`.
    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    pub fn start(self) -> Nginx {
        assert!(
            self.client_ca.is_none() || self.tls.is_some(),
            "client_ca needs tls"
        );
        // The port is free when picked but another process may bind it first: try a few.
        for _ in 0..5 {
            let mut nginx = Nginx::spawn(&self, tempfile::tempdir().unwrap());
            if nginx.wait_listening().is_ok() {
                return nginx;
            }
        }
        panic!("nginx found its port taken five times");
    }
}

/// nginx exited because another process bound its port first.
struct TakenPort;

/// A running nginx; stopped on drop.
pub struct Nginx {
    child: Child,
    host: String,
    dir: TempDir,
}

impl Nginx {
    /// A reverse proxy to `upstream` (`host:port` of a plain-HTTP registry); plain HTTP on
    /// `127.0.0.1` unless the builder says otherwise.
    pub fn in_front_of(upstream: &str) -> Builder {
        Builder {
            upstream: upstream.to_owned(),
            tls: None,
            client_ca: None,
            max_body: "0".into(),
            ipv6: false,
        }
    }

    /// `127.0.0.1:PORT` or `[::1]:PORT`, as used in image references.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port alone, for URLs that name the host as `localhost`.
    pub fn port(&self) -> u16 {
        self.host.rsplit_once(':').unwrap().1.parse().unwrap()
    }

    /// The access log as text, one tab-separated line per request: method, URI, status,
    /// request length, bytes sent.
    pub fn access_log(&self) -> String {
        read(&self.dir.path().join("access.log"))
    }

    /// Every request logged so far, once at least `at_least` are: nginx writes a line when a
    /// request ends, which can be a moment after the client has its answer. Gives up waiting
    /// after 5 s and returns what there is, so the caller's assertion says what is missing.
    pub fn requests(&self, at_least: usize) -> Vec<Logged> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let logged: Vec<Logged> = self.access_log().lines().map(parse_line).collect();
            if logged.len() >= at_least || Instant::now() > deadline {
                return logged;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn spawn(options: &Builder, dir: TempDir) -> Nginx {
        let d = dir.path();
        let host = if options.ipv6 {
            format!("[::1]:{}", free_port(Ipv6Addr::LOCALHOST.into()))
        } else {
            format!("127.0.0.1:{}", free_port(Ipv4Addr::LOCALHOST.into()))
        };
        fs::write(d.join("nginx.conf"), config(options, d, &host)).unwrap();
        let error_log = d.join("error.log");
        let stdio = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&error_log)
            .unwrap();
        let child = Command::new(program())
            // `-e`: messages from before the config is read go to our log, not /var/log.
            .arg("-e")
            .arg(&error_log)
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(stdio.try_clone().unwrap())
            .stderr(stdio)
            .spawn()
            .unwrap_or_else(|e| missing_tool(&program(), "nginx", &e));
        Nginx { child, host, dir }
    }

    /// Waits until the port accepts connections; panics, with the error log, if nginx exits
    /// for any other reason than a taken port or is still not listening after 15 s.
    fn wait_listening(&mut self) -> Result<(), TakenPort> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = self.error_log();
                if log.contains("Address already in use") {
                    return Err(TakenPort);
                }
                panic!("nginx exited with {status}:\n{log}");
            }
            if TcpStream::connect(&self.host).is_ok() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "nginx did not listen on {} within 15s:\n{}",
            self.host,
            self.error_log()
        );
    }

    fn error_log(&self) -> String {
        read(&self.dir.path().join("error.log"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not `Child::kill`: a SIGKILLed master leaves its worker serving the port.
        // SAFETY: kill(2) on our own child's pid; it has not been reaped, so it is still ours.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian installs nginx in /usr/sbin, which is not on a non-root user's PATH.
fn program() -> String {
    let debian = "/usr/sbin/nginx";
    if Path::new(debian).exists() {
        debian.into()
    } else {
        "nginx".into()
    }
}

fn config(options: &Builder, dir: &Path, host: &str) -> String {
    let d = dir.display();
    let mut server = String::new();
    match &options.tls {
        Some((cert, key)) => {
            server += &format!("        listen {host} ssl;\n");
            server += &format!("        ssl_certificate {};\n", cert.display());
            server += &format!("        ssl_certificate_key {};\n", key.display());
        }
        None => server += &format!("        listen {host};\n"),
    }
    if let Some(ca) = &options.client_ca {
        server += &format!("        ssl_client_certificate {};\n", ca.display());
        server += "        ssl_verify_client on;\n";
    }
    format!(
        "worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{
    worker_connections 256;
}}
http {{
    log_format packpub \"$request_method\\t$request_uri\\t$status\\t$request_length\\t$bytes_sent\";
    access_log {d}/access.log packpub;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
{server}        client_max_body_size {max_body};
        # Distribution's recipe: large and chunked uploads stream through, and the registry
        # builds its Location URLs from the client's Host and scheme.
        chunked_transfer_encoding on;
        location / {{
            proxy_pass http://{upstream};
            # Without HTTP/1.1 to the upstream nginx buffers a chunked body whatever
            # proxy_request_buffering says.
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 900;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
    }}
}}
",
        max_body = options.max_body,
        upstream = options.upstream,
    )
}

fn parse_line(line: &str) -> Logged {
    let fields: Vec<&str> = line.split('\t').collect();
    let [method, uri, status, request_length, bytes_sent] = fields[..] else {
        panic!("not a packpub access log line: {line:?}");
    };
    Logged {
        method: method.into(),
        uri: uri.into(),
        status: status.parse().unwrap(),
        request_length: request_length.parse().unwrap(),
        bytes_sent: bytes_sent.parse().unwrap(),
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}
