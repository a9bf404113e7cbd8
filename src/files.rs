//! Reading a file someone else named (a manifest, a chart, a certificate): a regular file
//! only, opened without waiting on a FIFO, never through a link where the caller says so, and
//! never more than a limit, so no such file can hang packpub or claim its memory. Callers word
//! the refusal for their file.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum Unreadable {
    /// A symbolic link where links are not followed.
    Link,
    /// A folder, FIFO, socket or device.
    NotFile,
    /// Over the limit it was read with.
    TooLarge,
    Io(io::Error),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Link => f.write_str("is a symbolic link"),
            Self::NotFile => f.write_str("is not a regular file"),
            Self::TooLarge => f.write_str("is larger than its limit"),
            Self::Io(err) => err.fmt(f),
        }
    }
}

/// The regular file at `path`, at most `limit` bytes; `nofollow` refuses a link there.
pub fn read_capped(path: &Path, limit: u64, nofollow: bool) -> Result<Vec<u8>, Unreadable> {
    let flags = libc::O_NONBLOCK | if nofollow { libc::O_NOFOLLOW } else { 0 };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) if nofollow => Unreadable::Link,
            _ => Unreadable::Io(err),
        })?;
    if !file.metadata().map_err(Unreadable::Io)?.is_file() {
        return Err(Unreadable::NotFile);
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Unreadable::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Unreadable::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_capped(&file, 5, true).unwrap(), b"12345");
        assert!(matches!(
            read_capped(&file, 4, true),
            Err(Unreadable::TooLarge)
        ));
        assert!(matches!(
            read_capped(dir.path(), 5, true),
            Err(Unreadable::NotFile)
        ));
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(read_capped(&link, 5, true), Err(Unreadable::Link)));
        assert_eq!(read_capped(&link, 5, false).unwrap(), b"12345");
        // A FIFO is refused by its type, not waited on.
        let fifo = dir.path().join("p");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_capped(&fifo, 5, false),
            Err(Unreadable::NotFile)
        ));
        assert!(matches!(
            read_capped(&dir.path().join("missing"), 5, false),
            Err(Unreadable::Io(_))
        ));
    }
}
