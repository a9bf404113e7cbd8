//! How packpub speaks HTTP, for every client it has (a registry, the token service it names,
//! Palette): one proxy rule ([`proxy`]) and one set of deadlines, so no server can hold a
//! command for longer than they say.
//!
//! - A request has [`request_timeout`] to connect, send and be answered; a small answer (a
//!   manifest, a token, a page of a listing, Palette's JSON) must be read whole within it too.
//!   A per-read timeout alone is not enough: a server that sends one byte a second resets it
//!   forever.
//! - A blob has that time plus what its size takes at [`MIN_RATE`], and its body must move at
//!   least [`MIN_RATE`] in every window of [`request_timeout`] ([`Pace`]): a server that
//!   trickles is stopped after one window, while a 300 MB blob on a slow link (1 Mbit/s is
//!   about 30 times the floor) passes.

pub mod proxy;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::Url;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The request timeout unless the user sets one (`--request-timeout`,
/// `PACKPUB_REQUEST_TIMEOUT`). Two minutes: a registry backed by object storage can take
/// that long to answer the request that completes a large upload.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The slowest a body may move, averaged over one window of the request timeout: 4 KiB/s.
pub const MIN_RATE: u64 = 4 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const USER_AGENT: &str = concat!("packpub/", env!("CARGO_PKG_VERSION"));

static REQUEST_TIMEOUT: OnceLock<Duration> = OnceLock::new();

/// Sets the request timeout for this process, once, before the first client is built (the
/// CLI does it from `--request-timeout`); later calls change nothing.
pub fn set_request_timeout(timeout: Duration) {
    let _ = REQUEST_TIMEOUT.set(timeout);
}

/// The longest packpub waits for an answer, and for the whole of a small one.
pub fn request_timeout() -> Duration {
    REQUEST_TIMEOUT
        .get()
        .copied()
        .unwrap_or(DEFAULT_REQUEST_TIMEOUT)
}

/// The whole-request deadline of a transfer of `bytes`: the request timeout plus the time
/// `bytes` take at [`MIN_RATE`].
pub fn transfer_timeout(bytes: u64) -> Duration {
    request_timeout() + Duration::from_secs(bytes / MIN_RATE)
}

/// A client builder with the proxy rule, the deadlines and packpub's user agent; the caller
/// adds its TLS set-up and redirect policy.
pub fn client() -> reqwest::ClientBuilder {
    let proxies = proxy::Proxies::from_env();
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::custom(move |url| {
            proxies.for_url(url).cloned()
        }))
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(request_timeout())
        .timeout(request_timeout())
        .user_agent(USER_AGENT)
}

/// The minimum-rate check of one body: in every window of the request timeout, at least
/// [`MIN_RATE`] times the window must have moved (the window still open when the body ends
/// does not count, so a small body is never refused for being small).
pub struct Pace {
    window: Duration,
    started: Instant,
    moved: u64,
}

impl Default for Pace {
    fn default() -> Self {
        Self::new(request_timeout())
    }
}

impl Pace {
    fn new(window: Duration) -> Self {
        Self {
            window,
            started: Instant::now(),
            moved: 0,
        }
    }

    /// Counts `bytes` more; an error once a whole window moved too little.
    pub fn moved(&mut self, bytes: usize) -> std::io::Result<()> {
        self.moved += bytes as u64;
        let elapsed = self.started.elapsed();
        if elapsed < self.window {
            return Ok(());
        }
        let floor = MIN_RATE.saturating_mul(self.window.as_secs().max(1));
        if self.moved < floor {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "the transfer moved {} bytes in {:.0} s, under the {} KiB/s packpub \
                     waits for (--request-timeout sets the window)",
                    self.moved,
                    elapsed.as_secs_f64(),
                    MIN_RATE / 1024
                ),
            ));
        }
        *self = Self::new(self.window);
        Ok(())
    }
}

/// `body` (a response's byte stream), failing once it moves slower than [`Pace`] allows.
pub fn paced<E: std::error::Error + Send + Sync + 'static>(
    body: impl Stream<Item = Result<Bytes, E>>,
) -> impl Stream<Item = std::io::Result<Bytes>> {
    let mut pace = Pace::default();
    body.map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        pace.moved(chunk.len())?;
        Ok(chunk)
    })
}

/// `host[:port]` of `url`, for messages.
pub fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// Reads `response`'s body up to `cap` bytes; says whether that was all of it.
pub async fn read_prefix(
    response: &mut reqwest::Response,
    cap: u64,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = usize::try_from(cap).unwrap_or(usize::MAX) - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_that_moved_too_little_fails_and_a_fast_one_starts_the_next() {
        let mut pace = Pace::new(Duration::from_millis(20));
        pace.moved(1).unwrap();
        std::thread::sleep(Duration::from_millis(25));
        let err = pace.moved(1).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("2 bytes"), "{err}");

        let mut pace = Pace::new(Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(25));
        pace.moved(MIN_RATE as usize).unwrap();
        // A new window has begun: its first bytes are not judged yet.
        pace.moved(1).unwrap();
    }

    #[test]
    fn a_transfer_gets_the_time_its_size_takes_at_the_floor() {
        assert_eq!(transfer_timeout(0), request_timeout());
        assert_eq!(
            transfer_timeout(MIN_RATE * 100),
            request_timeout() + Duration::from_secs(100)
        );
    }
}
