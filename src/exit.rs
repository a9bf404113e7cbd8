//! Exit codes: the one contract every command shares with scripts and CI.
//!
//! Errors travel as `anyhow::Error`; a command marks a failure with a code by wrapping it in
//! [`Failure`], and `main` finds the first such marker in the chain. Anything unmarked is an
//! unexpected failure (exit 1).

use std::fmt;

/// Process exit codes, documented in docs/output.md. The numbers never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unexpected = 1,
    Usage = 2,
    InvalidPack = 3,
    Auth = 4,
    /// The version exists with other content.
    Conflict = 5,
    /// `verify` found a difference, or a download is unsafe or corrupt.
    VerifyFailed = 6,
    Unreachable = 7,
    /// Palette's sync failed, or the packs did not appear in time.
    SyncFailed = 8,
    /// Ctrl-C: the shell convention, 128 + SIGINT.
    Interrupted = 130,
    /// SIGTERM (e.g. a CI job cancelled): 128 + SIGTERM.
    Terminated = 143,
}

/// An error that carries the exit code it must end the process with.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
    /// Structured detail for `--json` (e.g. validation findings).
    pub details: Option<serde_json::Value>,
}

impl Failure {
    pub fn err(code: Code, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Failure {
            code,
            message: message.into(),
            details: None,
        })
    }

    pub fn with_details(
        code: Code,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> anyhow::Error {
        anyhow::Error::new(Failure {
            code,
            message: message.into(),
            details: Some(details),
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The marked failure in an error's chain, if any.
/// How a run over several packs ends: with the highest of their codes (none: success) and
/// `message(failed)` for people (`--json` printed the details already).
pub fn worst_of(
    codes: impl Iterator<Item = Option<Code>> + Clone,
    message: impl FnOnce(usize) -> String,
) -> anyhow::Result<()> {
    match codes.clone().flatten().max_by_key(|c| *c as u8) {
        None => Ok(()),
        Some(code) => Err(Failure::err(code, message(codes.flatten().count()))),
    }
}

pub fn failure_of(err: &anyhow::Error) -> Option<&Failure> {
    err.chain().find_map(|e| e.downcast_ref::<Failure>())
}
