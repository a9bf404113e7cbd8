//! A real forward proxy, tinyproxy (Debian package `tinyproxy`), as corporate networks put
//! between packpub and a registry: `http_proxy`-style requests for plain HTTP and `CONNECT`
//! tunnels for HTTPS (issue 10: test against the components users run).
//!
//! Owns one tinyproxy process per value and a temp dir with its config and logs. Its log has a
//! line per request it was asked to make, so a test can prove traffic went through the proxy,
//! or did not.

use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, missing_tool};

/// A running tinyproxy on `127.0.0.1`; killed on drop.
pub struct ForwardProxy {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl ForwardProxy {
    /// Proxies for `127.0.0.1` clients only, `CONNECT` to any port.
    pub fn start() -> Self {
        // The port is free when picked but another process may bind it first: try a few.
        for _ in 0..5 {
            let mut proxy = Self::spawn();
            if proxy.wait_listening() {
                return proxy;
            }
        }
        panic!("tinyproxy found its port taken five times");
    }

    /// `http://127.0.0.1:PORT`, for `--proxy`, `HTTPS_PROXY` and the like.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// tinyproxy's log (level `Connect`): a `Connect` line per client connection, a `Request`
    /// line per request, then `Established connection to host …`.
    pub fn log(&self) -> String {
        read(&self.dir.path().join("tinyproxy.log"))
    }

    /// How many requests the proxy was asked to send to `host_port` (`127.0.0.1:5000`,
    /// `localhost:5000`: as the client named it), `CONNECT` tunnels included.
    pub fn requests_to(&self, host_port: &str) -> usize {
        self.log()
            .lines()
            .filter_map(|line| {
                line.split_once("]: Request (file descriptor ")?
                    .1
                    .split_once("): ")
            })
            .filter(|(_, request)| target_authority(request) == Some(host_port))
            .count()
    }

    fn spawn() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let port = free_port(Ipv4Addr::LOCALHOST.into());
        // No `ConnectPort` line: tinyproxy 1.11 then allows CONNECT to every port (Debian's
        // stock config limits it to 443 and 563, which would refuse a registry's own port).
        // No `User` either: it runs as the caller, root included (with a warning), and so
        // can write its log in our temp dir.
        let config = format!(
            "Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 60\n\
             LogFile \"{d}/tinyproxy.log\"\nLogLevel Connect\n",
            d = d.display()
        );
        fs::write(d.join("tinyproxy.conf"), config).unwrap();
        // Messages from before the log file is open (a bind failure among them) go here.
        let early = File::create(d.join("stderr.log")).unwrap();
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(d.join("tinyproxy.conf"))
            .stdin(Stdio::null())
            .stdout(early.try_clone().unwrap())
            .stderr(early)
            .spawn()
            .unwrap_or_else(|e| missing_tool("tinyproxy", "tinyproxy", &e));
        ForwardProxy { child, port, dir }
    }

    /// Whether the port accepts connections: false if tinyproxy exited because its port was
    /// taken; panics, with its logs, on any other exit or after 15 s.
    fn wait_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                let logs = self.logs();
                // All tinyproxy 1.11 says of a taken port, before its log file is open.
                if logs.contains("Could not create listening sockets") {
                    return false;
                }
                panic!("tinyproxy exited with {status}:\n{logs}");
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "tinyproxy did not listen on port {} within 15s:\n{}",
            self.port,
            self.logs()
        );
    }

    fn logs(&self) -> String {
        read(&self.dir.path().join("stderr.log")) + &self.log()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `host:port` a logged request line (`GET http://h:p/path HTTP/1.1`, `CONNECT h:p
/// HTTP/1.1`) goes to.
fn target_authority(request: &str) -> Option<&str> {
    let mut words = request.split(' ');
    let (method, target) = (words.next()?, words.next()?);
    if method == "CONNECT" {
        return Some(target);
    }
    let rest = target.split_once("://")?.1;
    Some(rest.split(['/', '?']).next().unwrap_or(rest))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}
