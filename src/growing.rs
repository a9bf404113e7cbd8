//! An archive written by one task and read by another while it grows: `pack` writes it and
//! reports every byte through [`Grown`]; `push` uploads what is there so far ([`Growing`]). It
//! lives below both so that neither the pack layer nor the registry layer imports the other.

use crate::digest::Digest;

/// How far an archive being written is: bytes in the file so far, and once it is complete,
/// its digest and size (or why it failed).
#[derive(Debug, Clone, Default)]
pub struct Grown {
    pub written: u64,
    /// The uncompressed bytes compressed into `written` so far: with it, a progress bar counts
    /// against the folder's size, known from the start, not against a total that grows.
    pub read: u64,
    pub done: Option<Result<(Digest, u64), String>>,
}

/// An archive still being written to `path`, uploaded while it grows: its digest is known only
/// at the end.
pub struct Growing {
    pub path: std::path::PathBuf,
    pub state: tokio::sync::watch::Receiver<Grown>,
}

impl Growing {
    /// An archive to be written (or read) at `path`, and the sender its writer tells of its
    /// progress and end.
    pub fn new(path: std::path::PathBuf) -> (tokio::sync::watch::Sender<Grown>, Self) {
        let (state, watcher) = tokio::sync::watch::channel(Grown::default());
        (
            state,
            Self {
                path,
                state: watcher,
            },
        )
    }

    /// Waits until the file holds more than `offset` bytes, or is complete; returns the bytes
    /// written, and the digest and size once complete.
    pub async fn past(&self, offset: u64) -> anyhow::Result<(u64, Option<(Digest, u64)>)> {
        let mut state = self.state.clone();
        let grown = state
            .wait_for(|g| g.written > offset || g.done.is_some())
            .await
            .map_err(|_| anyhow::anyhow!("the archive stopped being written"))?
            .clone();
        match grown.done {
            Some(Err(why)) => Err(anyhow::anyhow!(why)),
            Some(Ok(done)) => Ok((grown.written, Some(done))),
            None => Ok((grown.written, None)),
        }
    }

    /// Waits for the whole archive: its digest and size.
    pub async fn complete(&self) -> anyhow::Result<(Digest, u64)> {
        let mut offset = 0;
        loop {
            match self.past(offset).await? {
                (_, Some(done)) => return Ok(done),
                (written, None) => offset = written,
            }
        }
    }
}
