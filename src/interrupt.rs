//! Ctrl-C (SIGINT) and SIGTERM. The first signal only raises a flag: long reads and writes poll
//! [`check`], so the command unwinds normally, temp files are removed by `Drop`, and the process
//! exits 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

static INT: AtomicBool = AtomicBool::new(false);
static TERM: AtomicBool = AtomicBool::new(false);

/// Installs the handlers (signal-hook: async-signal-safe, and it tells the signals apart).
pub fn install() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let any = Arc::new(AtomicBool::new(false));
    for (signal, flag) in [(SIGINT, &INT), (SIGTERM, &TERM)] {
        // Registered first, so it sees the flag as the previous signal left it.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, any.clone());
        let _ = signal_hook::flag::register(signal, any.clone());
        // SAFETY: the action only stores to an atomic, which is async-signal-safe.
        let _ = unsafe {
            signal_hook::low_level::register(signal, move || flag.store(true, Ordering::SeqCst))
        };
    }
}

/// Whether a signal asked the command to stop: a command that then fails ends with
/// [`exit_code`].
pub fn requested() -> bool {
    INT.load(Ordering::SeqCst) || TERM.load(Ordering::SeqCst)
}

/// The exit code for the signal that arrived, if one did.
pub fn exit_code() -> Option<crate::exit::Code> {
    if TERM.load(Ordering::SeqCst) {
        Some(crate::exit::Code::Terminated)
    } else if INT.load(Ordering::SeqCst) {
        Some(crate::exit::Code::Interrupted)
    } else {
        None
    }
}

/// Fails with [`Interrupted`] once a signal arrived.
pub fn check() -> io::Result<()> {
    if requested() {
        Err(io::Error::other(Interrupted))
    } else {
        Ok(())
    }
}

/// Resolves once a signal has arrived, for waits that poll nothing (a socket, a timer): the
/// handler may only store to an atomic, so this looks at it every 50 ms.
pub async fn arrived() -> io::Error {
    while !requested() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    io::Error::other(Interrupted)
}

/// Marker error: a signal asked the command to stop.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// A reader that stops with [`Interrupted`] once a signal arrived.
pub struct Reader<R>(pub R);

impl<R: io::Read> io::Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        check()?;
        self.0.read(buf)
    }
}
