//! The path convention Palette reads, as types: a [`Target`] is where the user publishes
//! (`HOST[:PORT][/PROJECT...]` or a local `oci:PATH` layout), and every pack lands at
//! `TARGET/spectro-packs/archive/<name>:<version>`. Nothing else can be spelled, so a typo'd
//! path or a hand-picked tag cannot reach the registry.

use crate::pack::{Identity, component_problem};
use std::fmt;
use std::path::PathBuf;

/// The namespace Palette syncs from, under the target.
pub const BASE_PATH: &str = "spectro-packs/archive";

const FORM: &str = "use HOST[:PORT][/PROJECT...], e.g. harbor.example.com/my-project or \
                    localhost:5000, or oci:PATH for a local OCI layout";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Registry { host: String, prefix: String },
    Layout(PathBuf),
}

/// Where one pack goes: the repository and the tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRef {
    /// `HOST[:PORT]`, normalised (lower case, no default port).
    pub host: String,
    /// `[PROJECT/...]spectro-packs/archive/<name>`.
    pub repository: String,
    pub tag: String,
}

impl Target {
    pub fn parse(input: &str) -> Result<Self, String> {
        let err = |why: &str| format!("registry {input:?} {why}: {FORM}");
        if let Some(path) = input.strip_prefix("oci:") {
            if path.is_empty() {
                return Err(err("names no folder"));
            }
            return Ok(Self::Layout(PathBuf::from(path)));
        }
        if let Some((scheme, rest)) = input.split_once("://") {
            return Err(format!(
                "registry {input:?} must not carry a scheme ({scheme}://): use {} \
                 (add --plain-http for a plain-HTTP registry)",
                rest.trim_end_matches('/')
            ));
        }
        let trimmed = input.trim_end_matches('/');
        if trimmed.contains('@') {
            return Err(err("must not carry a digest"));
        }
        let mut parts = trimmed.split('/');
        let host = parts.next().unwrap_or_default();
        let path: Vec<&str> = parts.collect();
        if host.is_empty() {
            return Err(err("names no host"));
        }
        let host = normalize_host(host).map_err(|why| err(&why))?;
        if path.last().is_some_and(|p| p.contains(':')) {
            return Err(err(
                "must not carry a tag: packpub tags with the version from pack.json",
            ));
        }
        let joined = path.join("/");
        if joined == BASE_PATH
            || joined.ends_with(&format!("/{BASE_PATH}"))
            || path.contains(&"spectro-packs")
        {
            return Err(format!(
                "registry {input:?} must not include {BASE_PATH}: packpub adds it; use {}",
                [host.as_str()]
                    .into_iter()
                    .chain(path.iter().copied().take_while(|p| *p != "spectro-packs"))
                    .collect::<Vec<_>>()
                    .join("/")
            ));
        }
        for part in &path {
            if let Some(problem) = component_problem(part) {
                return Err(err(&format!("has an invalid path part: {problem}")));
            }
        }
        Ok(Self::Registry {
            host,
            prefix: joined,
        })
    }

    /// The base path repository, `[PROJECT/]spectro-packs/archive`.
    pub fn base_repository(prefix: &str) -> String {
        if prefix.is_empty() {
            BASE_PATH.to_string()
        } else {
            format!("{prefix}/{BASE_PATH}")
        }
    }
}

impl PackRef {
    pub fn new(host: &str, prefix: &str, id: &Identity) -> Self {
        Self {
            host: host.to_string(),
            repository: format!("{}/{}", Target::base_repository(prefix), id.name),
            tag: id.version.to_string(),
        }
    }
}

impl fmt::Display for PackRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.host, self.repository, self.tag)
    }
}

/// A registry host as a user or a config file may write it (`https://Harbor.Example.com/`,
/// `harbor.example.com:443`, `https://index.docker.io/v1/`), normalised.
pub fn host_from_url(input: &str) -> Result<String, String> {
    let bare = input.split_once("://").map_or(input, |(_, rest)| rest);
    normalize_host(bare.split('/').next().unwrap_or_default())
}

/// One spelling per registry: lower case, no `:443`, docker.io's aliases folded.
pub fn normalize_host(host: &str) -> Result<String, String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(']') || host.starts_with('[') => (name, Some(port)),
        _ => (host.as_str(), None),
    };
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!(
            "has {port:?} after ':', which is neither a port nor allowed here (no tags in the registry)"
        ));
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || "-.[]:".contains(c);
    if name.is_empty() || !name.chars().all(valid) {
        return Err(format!("has an invalid host name {name:?}"));
    }
    let name = match name {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    };
    Ok(match port {
        Some("443") | None => name.to_string(),
        Some(port) => format!("{name}:{port}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(input: &str) -> (String, String) {
        match Target::parse(input).unwrap() {
            Target::Registry { host, prefix } => (host, prefix),
            Target::Layout(p) => panic!("layout {p:?}"),
        }
    }

    #[test]
    fn targets_parse() {
        assert_eq!(
            registry("harbor.example.com/proj"),
            ("harbor.example.com".into(), "proj".into())
        );
        assert_eq!(
            registry("Harbor.Example.com:443/a/b/"),
            ("harbor.example.com".into(), "a/b".into())
        );
        assert_eq!(
            registry("localhost:5000"),
            ("localhost:5000".into(), String::new())
        );
        assert_eq!(
            registry("registry-1.docker.io/me"),
            ("docker.io".into(), "me".into())
        );
        assert_eq!(
            Target::parse("oci:./demo").unwrap(),
            Target::Layout("./demo".into())
        );
    }

    #[test]
    fn wrong_forms_show_the_right_one() {
        let e = Target::parse("https://harbor.example.com/proj").unwrap_err();
        assert!(e.contains("use harbor.example.com/proj"), "{e}");
        let e = Target::parse("harbor.example.com/proj/spectro-packs/archive").unwrap_err();
        assert!(
            e.contains("packpub adds it; use harbor.example.com/proj"),
            "{e}"
        );
        let e = Target::parse("harbor.example.com/proj:1.0").unwrap_err();
        assert!(e.contains("must not carry a tag"), "{e}");
        let e = Target::parse("harbor.example.com/proj@sha256:abc").unwrap_err();
        assert!(e.contains("digest"), "{e}");
        let e = Target::parse("harbor.example.com/Proj").unwrap_err();
        assert!(e.contains("invalid path part"), "{e}");
        assert!(Target::parse("host:abc").is_err());
    }

    #[test]
    fn pack_refs_follow_the_convention() {
        let id = Identity {
            name: crate::pack::PackName::parse("hello").unwrap(),
            version: crate::pack::PackVersion::parse("1.0.0").unwrap(),
        };
        let r = PackRef::new("h:5000", "proj", &id);
        assert_eq!(
            r.to_string(),
            "h:5000/proj/spectro-packs/archive/hello:1.0.0"
        );
        assert_eq!(
            PackRef::new("h", "", &id).repository,
            "spectro-packs/archive/hello"
        );
    }
}
