//! A loopback TCP proxy that cuts connections on purpose, to test retries and resumable uploads,
//! or answers a burst of 503s in the registry's place.
//!
//! Owns its listener, every forwarded connection and their threads; all stop on drop. It works
//! on raw bytes, so it sits in front of plain-HTTP and TLS registries alike (the 503 answer only
//! makes sense in front of plain HTTP).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// What the proxy does to client→upstream traffic.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// The first `times` connections that send more than `bytes` are cut right after `bytes`;
    /// later connections pass through.
    CutAfterBytes { bytes: u64, times: u32 },
    /// Every connection that sends more than `bytes` is cut right after `bytes`.
    CutAlways { bytes: u64 },
    /// Per connection, drawn from a seeded generator: one in `cut_one_in` is cut at a random
    /// offset below `max_offset`, one in `busy_one_in` gets `503 Service Unavailable` for its
    /// first request and is closed; the rest pass through.
    Random {
        seed: u64,
        cut_one_in: u64,
        busy_one_in: u64,
        max_offset: u64,
    },
    /// Nothing is cut, but what clients send goes upstream at about `bytes_per_sec`: a slow
    /// uplink, for progress that must show while work lasts.
    Slow { bytes_per_sec: u64 },
}

/// A running proxy; see [`Fault`].
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    upstream: SocketAddr,
    fault: Fault,
    cuts: AtomicU32,
    /// Bytes clients sent upstream, over every connection.
    forwarded: AtomicU64,
    /// The generator of [`Fault::Random`].
    state: Mutex<u64>,
    stopping: AtomicBool,
    /// Kept so drop can shut down connections still open and wait for their threads.
    conns: Mutex<Vec<Conn>>,
}

/// Both sockets of one forwarded connection, and its two pumps.
type Conn = [(TcpStream, JoinHandle<()>); 2];

impl Proxy {
    /// Listens on a free `127.0.0.1` port and forwards each connection to `upstream`.
    pub fn start(upstream: SocketAddr, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            fault,
            cuts: AtomicU32::new(0),
            forwarded: AtomicU64::new(0),
            state: Mutex::new(match fault {
                Fault::Random { seed, .. } => seed | 1,
                _ => 1,
            }),
            stopping: AtomicBool::new(false),
            conns: Mutex::new(Vec::new()),
        });
        let accept = thread::spawn({
            let shared = Arc::clone(&shared);
            move || {
                for client in listener.incoming() {
                    if shared.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(client) = client {
                        forward(&shared, client);
                    }
                }
            }
        });
        Proxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Where clients connect instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Bytes clients have sent the upstream so far, cut connections included.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// How many connections have been cut so far.
    pub fn cuts(&self) -> u32 {
        self.shared.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // `accept` has no timeout; a connection of our own wakes it to see `stopping`.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for conn in self.shared.conns.lock().unwrap().drain(..) {
            for (socket, _) in &conn {
                let _ = socket.shutdown(Shutdown::Both);
            }
            for (_, pump) in conn {
                let _ = pump.join();
            }
        }
    }
}

impl Shared {
    /// The next number of the seeded generator (xorshift64).
    fn next(&self) -> u64 {
        let mut state = self.state.lock().unwrap();
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Whether a connection that just passed its byte limit must be cut; counts the cut.
    fn claim_cut(&self) -> bool {
        match self.fault {
            Fault::CutAlways { .. } | Fault::Random { .. } => {
                self.cuts.fetch_add(1, Ordering::SeqCst);
                true
            }
            Fault::Slow { .. } => false,
            Fault::CutAfterBytes { times, .. } => self
                .cuts
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < times).then_some(n + 1)
                })
                .is_ok(),
        }
    }
}

fn forward(shared: &Arc<Shared>, mut client: TcpStream) {
    let limit = match shared.fault {
        Fault::CutAfterBytes { bytes, .. } | Fault::CutAlways { bytes } => Some(bytes),
        Fault::Random {
            cut_one_in,
            busy_one_in,
            max_offset,
            ..
        } => {
            if shared.next().is_multiple_of(busy_one_in) {
                busy(&mut client);
                return;
            }
            shared
                .next()
                .is_multiple_of(cut_one_in)
                .then(|| shared.next() % max_offset)
        }
        Fault::Slow { .. } => None,
    };
    let Ok(upstream) = TcpStream::connect(shared.upstream) else {
        return;
    };
    let (c, u) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let up = thread::spawn({
        let shared = Arc::clone(shared);
        move || pump(c, u, limit, Some(&shared.forwarded), &shared)
    });
    let (c, u) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let down = thread::spawn({
        let shared = Arc::clone(shared);
        move || pump(u, c, None, None, &shared)
    });
    shared
        .conns
        .lock()
        .unwrap()
        .push([(client, up), (upstream, down)]);
}

/// Reads the request head and answers 503, as a registry behind an overloaded front end does.
fn busy(client: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let _ = client.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let _ = client.shutdown(Shutdown::Both);
}

/// Copies `from` to `to` until either side closes, adding what passed to `count`; past
/// `limit` bytes it may cut both.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    mut limit: Option<u64>,
    count: Option<&AtomicU64>,
    shared: &Shared,
) {
    let mut buf = [0; 16 * 1024];
    let mut sent = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(max) = limit.filter(|&max| sent + n as u64 > max) {
            limit = None;
            if shared.claim_cut() {
                let _ = to.write_all(&buf[..(max - sent) as usize]);
                count.map(|c| c.fetch_add(max - sent, Ordering::SeqCst));
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if let (Fault::Slow { bytes_per_sec }, Some(_)) = (shared.fault, count) {
            thread::sleep(Duration::from_secs_f64(n as f64 / bytes_per_sec as f64));
        }
        count.map(|c| c.fetch_add(n as u64, Ordering::SeqCst));
        sent += n as u64;
    }
    // Pass the close on: the reverse pump then sees EOF or an error and ends too.
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
