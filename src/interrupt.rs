//! Ctrl-C handling. Long writes poll [`check`] so that an interrupted `pack` unwinds normally
//! and its temp file is removed by `Drop` instead of being left half-written.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler; a second Ctrl-C while unwinding exits at once.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(crate::exit::Code::Interrupted as i32);
        }
    });
}

/// Whether Ctrl-C was pressed: a command that then fails ends with exit 130.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fails with [`Interrupted`] once Ctrl-C was pressed.
pub fn check() -> io::Result<()> {
    if requested() {
        Err(io::Error::other(Interrupted))
    } else {
        Ok(())
    }
}

/// Marker error: the user pressed Ctrl-C.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// A reader that stops with [`Interrupted`] once Ctrl-C was pressed.
pub struct Reader<R>(pub R);

impl<R: io::Read> io::Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        check()?;
        self.0.read(buf)
    }
}
