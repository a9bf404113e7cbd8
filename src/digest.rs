//! Content digests (`sha256:<hex>`). Every digest packpub handles, computed here or read from a
//! registry, layout or manifest, is a [`Digest`]: the only way to get one from text is
//! [`Digest::parse`], so a malformed digest (`sha256:../../etc/shadow`) never reaches a file path
//! or a URL, and two digests compare as values, never as text.

use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

/// A sha256 content digest, shown the OCI way: `sha256:<64 lower-case hex digits>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

const PREFIX: &str = "sha256:";

impl Digest {
    /// The digest of bytes already in memory.
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// The digest of everything `reader` yields, streamed.
    pub fn of_reader(reader: impl Read) -> io::Result<(Self, u64)> {
        let mut hashing = HashingWriter::new(io::sink());
        io::copy(&mut crate::interrupt::Reader(reader), &mut hashing)?;
        let (digest, size, _) = hashing.finish();
        Ok((digest, size))
    }

    /// The digest of a file's content, streamed.
    pub fn of_file(path: &std::path::Path) -> io::Result<(Self, u64)> {
        Self::of_reader(std::fs::File::open(path)?)
    }

    /// `sha256:` followed by exactly 64 lower-case hex digits; anything else is refused with
    /// the reason (the input itself is not echoed: it may be hostile and long).
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex = text
            .strip_prefix(PREFIX)
            .ok_or("a digest must start with sha256:")?;
        if hex.len() != 64 {
            return Err(format!(
                "a sha256 digest has 64 hex digits, this one has {} characters",
                hex.len()
            ));
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let nibble = |c: u8| match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'a'..=b'f' => Ok(c - b'a' + 10),
                _ => Err("a sha256 digest holds only lower-case hex digits".to_string()),
            };
            *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Ok(Self(bytes))
    }

    /// The 64 hex digits alone: the file name of a blob in an OCI layout.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for Digest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Passes writes through to `inner` while hashing and counting them, so an archive is hashed
/// as it is written instead of being read back.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The digest and size of everything written, and the inner writer.
    pub fn finish(self) -> (Digest, u64, W) {
        (Digest(self.hasher.finalize().into()), self.size, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::Digest;

    #[test]
    fn parse_round_trips_and_refuses_everything_else() {
        let d = Digest::of(b"x");
        assert_eq!(Digest::parse(&d.to_string()), Ok(d));
        assert_eq!(d.to_string(), format!("sha256:{}", d.hex()));
        let hex = d.hex();
        for bad in [
            String::new(),
            hex.clone(),
            format!("sha512:{hex}"),
            format!("SHA256:{hex}"),
            format!("sha256:{}", hex.to_uppercase()),
            format!("sha256:{}", &hex[..63]),
            format!("sha256:{hex}0"),
            "sha256:../../../../etc/shadow".to_string(),
            format!("sha256:{}/..", &hex[..61]),
            "/dev/zero".to_string(),
            format!("sha256:{}zz", &hex[..62]),
        ] {
            assert!(Digest::parse(&bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn deserialising_validates() {
        let good = format!("\"{}\"", Digest::of(b""));
        assert!(serde_json::from_str::<Digest>(&good).is_ok());
        assert!(serde_json::from_str::<Digest>("\"sha256:../x\"").is_err());
    }
}
