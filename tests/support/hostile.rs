//! Purpose-built hostile servers for the registry tests (issue 9). They are not stand-ins for a
//! registry: each answers the lies a broken or malicious registry, token service or link target
//! tells (an endless `Link`, a realm on `http://`, a 5 MiB manifest, a redirect to another host)
//! and records every request, so a test can prove what reached whom.
//!
//! [`Server`] is a plain-HTTP server on loopback run by a closure; [`TlsFront`] puts HTTPS (a
//! throwaway self-signed certificate, so clients need `--insecure`) in front of one. Both stop
//! on drop.

pub use super::Seen;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;
use tempfile::TempDir;

/// What a [`Server`] answers.
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Sent without `Content-Length`, so only reading it shows its size.
    chunked: bool,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            chunked: false,
        }
    }

    pub fn json(value: &serde_json::Value) -> Self {
        Self::bytes(value.to_string().into_bytes()).header("Content-Type", "application/json")
    }

    pub fn bytes(body: Vec<u8>) -> Self {
        Self {
            body,
            ..Self::status(200)
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }
}

/// A plain-HTTP server on a free loopback port answering every request with `handler`.
pub struct Server {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + 'static) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let addr = server.server_addr().to_ip().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread =
            thread::spawn({
                let (server, seen) = (Arc::clone(&server), Arc::clone(&seen));
                move || {
                    while let Ok(mut request) = server.recv() {
                        let mut request_seen = Seen::of(&mut request);
                        let reply = handler(&request_seen);
                        request_seen.status = reply.status;
                        seen.lock().unwrap().push(request_seen);
                        let headers = reply
                            .headers
                            .iter()
                            .map(|(n, v)| tiny_http::Header::from_bytes(n.as_bytes(), v.as_bytes()))
                            .collect::<Result<Vec<_>, _>>()
                            .unwrap();
                        let length = reply.body.len();
                        let response = tiny_http::Response::new(
                            reply.status.into(),
                            headers,
                            std::io::Cursor::new(reply.body),
                            (!reply.chunked).then_some(length),
                            None,
                        )
                        .with_chunked_threshold(if reply.chunked { 0 } else { usize::MAX });
                        // A client that stops reading (a refused body) ends the connection: fine.
                        let _ = request.respond(response);
                    }
                }
            });
        Self {
            addr,
            server,
            seen,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Terminates TLS for a [`Server`]: a byte pump in Python (the suite's peer language), since the
/// test dependencies hold no TLS server.
const TLS_PUMP: &str = r#"
import select, socket, ssl, sys, threading
cert, key, backend = sys.argv[1], sys.argv[2], int(sys.argv[3])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)

def pump(client):
    try:
        tls = context.wrap_socket(client, server_side=True)
    except OSError:
        client.close()
        return
    upstream = socket.create_connection(("127.0.0.1", backend))
    other = {tls: upstream, upstream: tls}
    try:
        while True:
            ready = [tls] if tls.pending() else select.select(list(other), [], [])[0]
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                other[sock].sendall(data)
    except OSError:
        pass
    finally:
        tls.close()
        upstream.close()

while True:
    connection, _ = listener.accept()
    threading.Thread(target=pump, args=(connection,), daemon=True).start()
"#;

/// HTTPS on a free loopback port, forwarded to a [`Server`].
pub struct TlsFront {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl TlsFront {
    pub fn start(backend: &Server) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let super::certs::Pem { cert, key } =
            super::certs::throwaway(dir.path(), "front", "IP:127.0.0.1,DNS:localhost");
        let errors = std::fs::File::create(dir.path().join("pump.log")).unwrap();
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(TLS_PUMP)
            .args([&cert, &key])
            .arg(backend.addr.port().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(errors)
            .spawn()
            .expect("python3 is installed (tests/run.sh uses it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "the TLS pump did not start: {}",
                read(&dir.path().join("pump.log"))
            )
        });
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Stores `manifest` as `repository:tag` in a real plain-HTTP registry at `host`, as any other
/// tool could: the registry checks that its blobs exist, not that their sizes are right.
pub fn put_manifest(host: &str, repository: &str, tag: &str, manifest: &[u8]) {
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "PUT /v2/{repository}/manifests/{tag} HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/vnd.oci.image.manifest.v1+json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        manifest.len()
    )
    .unwrap();
    stream.write_all(manifest).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

/// A plain-HTTP server below HTTP: each connection gets a thread of its own running the
/// behaviour it was started with, on the raw socket. Stops on drop.
pub struct Raw {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Raw {
    /// Accepts connections and never answers, nor reads: Palette or a registry hung after the
    /// handshake.
    pub fn silent() -> Self {
        Self::start(|_, stopping| {
            while !stopping.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(50));
            }
        })
    }

    /// Answers every request `200` with `body`: the headers and the first `head` bytes at
    /// once, then a byte per `pause`, each written straight to the socket (no buffer in
    /// between, as a slow link or a hostile server sends them).
    pub fn trickling(body: Vec<u8>, head: usize, pause: Duration) -> Self {
        Self::start(move |mut client, stopping| {
            let mut request = BufReader::new(client.try_clone().unwrap());
            let mut line = String::new();
            while request.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let head = head.min(body.len());
            let start = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            if client.write_all(start.as_bytes()).is_err()
                || client.write_all(&body[..head]).is_err()
            {
                return;
            }
            for byte in &body[head..] {
                thread::sleep(pause);
                if stopping.load(Ordering::SeqCst)
                    || client.write_all(std::slice::from_ref(byte)).is_err()
                {
                    return;
                }
            }
        })
    }

    fn start(behaviour: impl Fn(TcpStream, &AtomicBool) + Send + Sync + 'static) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stopping = Arc::new(AtomicBool::new(false));
        let behaviour = Arc::new(behaviour);
        let accept = thread::spawn({
            let stopping = Arc::clone(&stopping);
            move || {
                for client in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let (stopping, behaviour) = (Arc::clone(&stopping), Arc::clone(&behaviour));
                    thread::spawn(move || behaviour(client, &stopping));
                }
            }
        });
        Self {
            addr,
            stopping,
            accept: Some(accept),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // `accept` has no timeout; a connection of our own wakes it to see `stopping`.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}
