//! A container image reference as a pack names it (`quay.io/org/img:1.2`, `nginx:1.25`,
//! `ghcr.io/x/y@sha256:…`), read with distribution/reference's grammar (what containerd, skopeo
//! and Palette's clusters read): the registry host, the repository path under it, a tag and a
//! digest. Docker Hub's rules are kept apart from the text as written: a first segment without
//! `.` or `:` (and not `localhost`) is a path on `docker.io`, and a single segment is
//! `library/<name>` there, which containerd pulls and the image-swap webhook does not write.

use crate::digest::Digest;
use std::fmt;

/// Docker Hub as references name it.
pub const DOCKER_HUB: &str = "docker.io";

/// distribution/reference's bound on a whole name (host and path).
const MAX_NAME: usize = 255;

/// distribution/reference's bound on a tag.
const MAX_TAG: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// `docker.io` when the reference names no host.
    host: String,
    /// Whether the host was written (`docker.io/nginx`) or implied (`nginx`).
    host_written: bool,
    /// The repository path under the host, as written (`nginx`, `bitnami/nginx`).
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// How a manifest of the image is addressed: by its digest when the reference pins one (a tag
/// beside it is only a label), else by tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin<'a> {
    Tag(&'a str),
    Digest(&'a Digest),
}

impl ImageRef {
    /// The reference `text`, or why distribution/reference refuses it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("is empty".into());
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("holds whitespace or a control character".into());
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(parse_digest(digest)?)),
            None => (text, None),
        };
        // A tag follows the last `:` after the last `/` (a host's port comes before a `/`).
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        if name.len() > MAX_NAME {
            return Err(format!(
                "names a repository longer than {MAX_NAME} characters"
            ));
        }
        let (host, host_written, path) = match name.split_once('/') {
            Some((first, path)) if is_host(first) => {
                check_host(first)?;
                (first.to_string(), true, path)
            }
            _ => (DOCKER_HUB.to_string(), false, name),
        };
        for component in path.split('/') {
            check_component(component)?;
        }
        // `index.docker.io` is Docker Hub's other name, as docker normalises it.
        let host = if host == "index.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            host
        };
        Ok(Self {
            host,
            host_written,
            path: path.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The registry host (`docker.io` when implied), with its port if it has one.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Written as one name with no host (`nginx:1.25`): the webhook's `docker.io/library`
    /// map key applies to these alone.
    pub fn is_single_name(&self) -> bool {
        !self.host_written && !self.path.contains('/')
    }

    pub fn is_docker_hub(&self) -> bool {
        self.host == DOCKER_HUB
    }

    /// The repository path as written under the host: `nginx` for `nginx:1.25`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The repository the image lives in at its registry: Docker Hub's single names are
    /// `library/<name>` there.
    pub fn source_path(&self) -> String {
        if self.is_docker_hub() && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        }
    }

    /// Every path under the host a cluster may ask for: the one written and, for a Docker
    /// Hub single name, `library/<name>` too (the webhook writes the first, containerd and
    /// skopeo ask for the second).
    pub fn paths(&self) -> Vec<String> {
        let mut paths = vec![self.path.clone()];
        let source = self.source_path();
        if source != self.path {
            paths.push(source);
        }
        paths
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to read: the digest when pinned, else the tag, `latest` when none is written (as
    /// every runtime pulls it).
    pub fn pin(&self) -> Pin<'_> {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => Pin::Digest(digest),
            (None, Some(tag)) => Pin::Tag(tag),
            (None, None) => Pin::Tag("latest"),
        }
    }

    /// Whether the reference names neither a tag nor a digest.
    pub fn is_unpinned(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// Whether the host has a port: `reg.local:5000` cannot be one segment of a repository
    /// path.
    pub fn host_has_port(&self) -> bool {
        self.host.contains(':')
    }
}

impl fmt::Display for ImageRef {
    /// The reference as written (an implied host stays implied).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host_written {
            write!(f, "{}/", self.host)?;
        }
        f.write_str(&self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `text` as a message quotes it: at most 64 characters (a hostile reference can be
/// megabytes long).
fn quoted(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((at, _)) => format!("{:?}…", &text[..at]),
        None => format!("{text:?}"),
    }
}

/// distribution/reference's domain rule: a first segment with `.` or `:`, or `localhost`.
fn is_host(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

fn check_host(host: &str) -> Result<(), String> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !name.split('.').all(label_ok) {
        return Err(format!("has a malformed registry host {}", quoted(host)));
    }
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!(
            "has a malformed port in the registry host {}",
            quoted(host)
        ));
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn check_component(component: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "has a repository path segment {} outside [a-z0-9] joined by '.', '_', '__' or '-'",
            quoted(component)
        ))
    };
    let bytes = component.as_bytes();
    if bytes.is_empty() {
        return bad();
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return bad();
        }
        if i == bytes.len() {
            return Ok(());
        }
        let sep = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[sep..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok || i == bytes.len() {
            return bad();
        }
    }
}

/// `[\w][\w.-]{0,127}`
fn check_tag(tag: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    let ok = chars.next().is_some_and(word)
        && chars.all(|c| word(c) || c == '.' || c == '-')
        && tag.len() <= MAX_TAG;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "has a malformed tag {} (letters, digits, '_', '.' and '-', at most {MAX_TAG}, not \
             starting with '.' or '-')",
            quoted(tag)
        ))
    }
}

fn parse_digest(text: &str) -> Result<Digest, String> {
    Digest::parse(text).map_err(|why| format!("has a digest packpub cannot read: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn hosts_paths_tags_and_digests_read_as_distribution_reads_them() {
        let r = ImageRef::parse("quay.io/org/img:1.2").unwrap();
        assert_eq!(
            (r.host(), r.path(), r.tag()),
            ("quay.io", "org/img", Some("1.2"))
        );
        assert_eq!(r.to_string(), "quay.io/org/img:1.2");

        let r = ImageRef::parse("nginx:1.25").unwrap();
        assert_eq!((r.host(), r.path()), ("docker.io", "nginx"));
        assert_eq!(r.paths(), ["nginx", "library/nginx"]);
        assert_eq!(r.source_path(), "library/nginx");
        assert_eq!(r.to_string(), "nginx:1.25");

        let r = ImageRef::parse("bitnami/nginx:1").unwrap();
        assert_eq!(
            (r.host(), r.paths()),
            ("docker.io", vec!["bitnami/nginx".into()])
        );

        let r = ImageRef::parse("docker.io/library/nginx:1.25").unwrap();
        assert_eq!(r.paths(), ["library/nginx"]);

        let r = ImageRef::parse("index.docker.io/nginx").unwrap();
        assert_eq!(r.host(), "docker.io");
        assert!(r.is_unpinned());
        assert_eq!(r.pin(), Pin::Tag("latest"));

        let r = ImageRef::parse(&format!("ghcr.io/x/y@sha256:{HEX}")).unwrap();
        assert!(matches!(r.pin(), Pin::Digest(_)));
        let r = ImageRef::parse(&format!("ghcr.io/x/y:1@sha256:{HEX}")).unwrap();
        assert!(matches!(r.pin(), Pin::Digest(_)));
        assert_eq!(r.tag(), Some("1"));

        let r = ImageRef::parse("reg.local:5000/app:2").unwrap();
        assert!(r.host_has_port());
        assert_eq!((r.host(), r.path()), ("reg.local:5000", "app"));
        let r = ImageRef::parse("localhost/app").unwrap();
        assert_eq!(r.host(), "localhost");
    }

    #[test]
    fn what_distribution_refuses_is_refused() {
        for bad in [
            "",
            "Nginx:1",
            "nginx:",
            "nginx:-x",
            "quay.io/org//img",
            "quay.io/org/img_:1",
            "quay.io/org/img@sha256:abc",
            "quay.io/org/img@md5:abc",
            "{{.spectro.x}}",
            "a b",
            "reg.local:port/app",
            "-bad.io/x",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} was read");
        }
        let long = format!("quay.io/{}", "a".repeat(300));
        assert!(ImageRef::parse(&long).is_err());
        let huge_tag = format!("x:{}", "-".repeat(100_000));
        assert!(ImageRef::parse(&huge_tag).unwrap_err().len() < 300);
        assert!(ImageRef::parse(&format!("x:{}", "t".repeat(129))).is_err());
        assert!(ImageRef::parse("a__b/c--d/e.f:v1.0_x-y").is_ok());
    }
}
