//! What pack.json means: the typed name and version every later step relies on, and the
//! vocabularies Palette knows. Constructors check the OCI grammar, so a `PackName` or
//! `PackVersion` that exists can always become part of a registry reference.

use std::fmt;

/// The two files every pack has, by their names in the folder and in the archive.
pub const PACK_JSON: &str = "pack.json";
pub const VALUES_YAML: &str = "values.yaml";

/// The most of any YAML file that is read for validation (values.yaml): values files are a few
/// KiB, generated ones rarely more than a few hundred; this leaves room for those while a
/// hostile file cannot claim memory.
pub const YAML_LIMIT: u64 = 16 << 20;

/// The most of pack.json that is read, in a folder or an archive alike: it holds the pack's
/// metadata, a few KiB; a larger one is not a pack's.
pub const PACK_JSON_LIMIT: u64 = 1 << 20;

pub const LAYERS: &[&str] = &["kernel", "os", "k8s", "cni", "csi", "addon"];

pub const CLOUD_TYPES: &[&str] = &[
    "all",
    "aws",
    "azure",
    "gcp",
    "vsphere",
    "openstack",
    "baremetal",
    "maas",
    "aks",
    "eks",
    "tencent",
    "tke",
    "edge",
    "libvirt",
    "edge-native",
    "coxedge",
    "custom",
];

pub const DEPENDENCY_TYPES: &[&str] = &["required", "optional", "notSupported", "upgrade"];
pub const RESOURCE_TYPES: &[&str] = &["cpu", "memory", "diskSize"];
pub const SCHEDULE_TYPES: &[&str] = &["all", "master", "control-plane", "worker"];

/// A pack name that is a valid OCI repository path component:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackName(String);

/// A pack version that is a valid OCI tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackVersion(String);

impl PackName {
    /// Checks the OCI grammar; the error says which character is wrong and what would work.
    pub fn parse(name: &str) -> Result<Self, String> {
        let suggestion = suggest(name, |c| c.is_ascii_lowercase() || c.is_ascii_digit(), true);
        let problem = component_problem(name);
        match problem {
            None => Ok(Self(name.to_string())),
            Some(problem) => Err(format!(
                "{problem}; OCI repository names allow lower-case letters and digits separated by \
                 '.', '_', '__' or dashes. Fix: rename the pack, e.g. \"{suggestion}\""
            )),
        }
    }
}

impl PackName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What keeps `name` from being an OCI repository path component, if anything.
pub fn component_problem(name: &str) -> Option<String> {
    let first_bad = name
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)));
    if let Some((i, c)) = first_bad {
        let hint = if c.is_ascii_uppercase() {
            " (upper case)"
        } else {
            ""
        };
        return Some(format!(
            "{name:?} contains {c:?}{hint} at position {}",
            i + 1
        ));
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !name.starts_with(alnum) || !name.ends_with(alnum) {
        return Some(format!(
            "{name:?} must start and end with a lower-case letter or digit"
        ));
    }
    // Separators between alphanumeric runs: one '.', one or two '_', or any number of '-'.
    for sep in name.split(alnum).filter(|s| !s.is_empty()) {
        let ok = sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-');
        if !ok {
            return Some(format!("{name:?} contains the separator {sep:?}"));
        }
    }
    None
}

impl PackVersion {
    pub fn parse(version: &str) -> Result<Self, String> {
        let suggestion = suggest(version, |c| c.is_ascii_alphanumeric() || c == '.', false);
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        let problem = if version.is_empty() {
            Some("is empty".to_string())
        } else if version.len() > 128 {
            Some(format!(
                "is {} characters long (128 at most)",
                version.len()
            ))
        } else if let Some((i, c)) = version.char_indices().find(|&(_, c)| !allowed(c)) {
            Some(format!("contains {c:?} at position {}", i + 1))
        } else if version.starts_with(['.', '-']) {
            Some("must not start with '.' or '-'".to_string())
        } else {
            None
        };
        match problem {
            None => Ok(Self(version.to_string())),
            Some(problem) => Err(format!(
                "{version:?} {problem}, which an OCI tag cannot hold (letters, digits, '.', '_', '-'). \
                 Fix: use e.g. \"{suggestion}\""
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which pack, and which version of it: what pack.json says, and what a published tag names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: PackName,
    pub version: PackVersion,
}

impl Identity {
    /// `NAME:VERSION`, as the user names a published pack.
    pub fn parse(input: &str) -> Result<Self, String> {
        let usage = |why: String| format!("{why}; use NAME:VERSION, e.g. hello:1.0.0");
        let (name, version) = input
            .split_once(':')
            .ok_or_else(|| usage(format!("{input:?} has no ':'")))?;
        Ok(Self {
            name: PackName::parse(name).map_err(usage)?,
            version: PackVersion::parse(version).map_err(usage)?,
        })
    }

    /// `<name>-<version>.tar.gz`: the archive's file name and its layer title.
    pub fn archive_name(&self) -> String {
        format!("{}-{}.tar.gz", self.name, self.version)
    }

    /// Whether `file_name` is an archive `pack` would write for this pack, at any version.
    pub fn is_archive_of_any_version(&self, file_name: &str) -> bool {
        file_name
            .strip_prefix(self.name.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|rest| rest.strip_suffix(".tar.gz"))
            .is_some_and(|version| PackVersion::parse(version).is_ok())
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

impl fmt::Display for PackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for PackVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A best-effort rewrite that passes the grammar: keeps `keep` characters, lower-cases when
/// asked, and turns every other run of characters into one '-'.
fn suggest(input: &str, keep: impl Fn(char) -> bool, lowercase: bool) -> String {
    let mut out = String::new();
    for c in input.chars() {
        let c = if lowercase { c.to_ascii_lowercase() } else { c };
        if keep(c) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches(|c: char| c == '-' || c == '.');
    if trimmed.is_empty() {
        "pack".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_oci_component_grammar() {
        for ok in [
            "hello",
            "csi-nfs-subdir-external",
            "a.b",
            "a_b",
            "a__b",
            "a---b",
            "k8s",
        ] {
            assert!(PackName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["Hello", "a..b", "a___b", "-a", "a-", "a b", "a/b", ""] {
            assert!(PackName::parse(bad).is_err(), "{bad}");
        }
        let err = PackName::parse("My Pack").unwrap_err();
        assert!(err.contains("'M' (upper case) at position 1"), "{err}");
        assert!(err.contains("\"my-pack\""), "{err}");
    }

    #[test]
    fn versions_follow_the_oci_tag_grammar() {
        for ok in ["1.0.0", "v1.8.7", "2.0.2-up.4", "1.5", "_x"] {
            assert!(PackVersion::parse(ok).is_ok(), "{ok}");
        }
        let err = PackVersion::parse("1.0.0+build").unwrap_err();
        assert!(err.contains("'+' at position 6"), "{err}");
        assert!(err.contains("\"1.0.0-build\""), "{err}");
        assert!(PackVersion::parse("-1").is_err());
        assert!(PackVersion::parse(&"1".repeat(129)).is_err());
    }

    #[test]
    fn identities_parse_and_name_their_archives() {
        let id = Identity::parse("hello:1.0.0").unwrap();
        assert_eq!(id.archive_name(), "hello-1.0.0.tar.gz");
        assert!(
            Identity::parse("hello")
                .unwrap_err()
                .contains("NAME:VERSION")
        );
        assert!(Identity::parse("Hello:1.0.0").is_err());
        assert!(Identity::parse("hello:1.0+x").is_err());
        for archive in ["hello-1.0.0.tar.gz", "hello-0.9.tar.gz", "hello-v2.tar.gz"] {
            assert!(id.is_archive_of_any_version(archive), "{archive}");
        }
        for other in [
            "hello.tar.gz",
            "hello-.tar.gz",
            "hello-1.0.0.tgz",
            "chart-1.0.0.tar.gz",
            "hello-1.0.0.tar.gz.bak",
        ] {
            assert!(!id.is_archive_of_any_version(other), "{other}");
        }
    }
}
