//! The path convention Palette reads, as types: a [`Target`] is where the user publishes
//! (`HOST[:PORT][/PROJECT...]`, a local `oci:PATH` layout or an `oci-archive:FILE` bundle), and
//! every pack lands at
//! `TARGET/spectro-packs/archive/<name>:<version>` ([`super::store::pack_repository`]). Nothing
//! else can be spelled, so a typo'd path or a hand-picked tag cannot reach the registry.

use crate::pack::component_problem;
use std::path::PathBuf;

/// The namespace Palette syncs from, under the target.
pub const BASE_PATH: &str = "spectro-packs/archive";

const FORM: &str = "use HOST[:PORT][/PROJECT...], e.g. harbor.example.com/my-project or \
                    localhost:5000, oci:PATH for a local OCI layout, or oci-archive:FILE for a \
                    single-file bundle";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Registry {
        host: String,
        prefix: String,
    },
    Layout(PathBuf),
    /// A tar of an OCI layout, as skopeo's `oci-archive:` transport writes.
    Archive(PathBuf),
}

impl Target {
    /// The target the user typed, or why it is not one. An input holding `@` is never repeated
    /// in the error: `USER:PASSWORD@HOST` carries a password.
    pub fn parse(input: &str) -> Result<Self, String> {
        let err = |why: &str| format!("registry {input:?} {why}: {FORM}");
        if let Some(path) = input.strip_prefix("oci:") {
            if path.is_empty() {
                return Err(err("names no folder"));
            }
            return Ok(Self::Layout(PathBuf::from(path)));
        }
        if let Some(path) = input.strip_prefix("oci-archive:") {
            if path.is_empty() {
                return Err(err("names no file"));
            }
            return Ok(Self::Archive(PathBuf::from(path)));
        }
        if let Some((_, after)) = input.rsplit_once('@') {
            if after.starts_with("sha256:") || after.starts_with("sha512:") {
                return Err(format!(
                    "the registry must not carry a digest (@{}…): {FORM}",
                    after.split(':').next().unwrap_or_default()
                ));
            }
            // Whatever is before the last `@` may hold the password: only the rest is shown.
            let target = after.trim_end_matches('/');
            return Err(format!(
                "the registry must not carry a user name or password (USER:PASSWORD@): a password \
                 in an argument is visible to every user of the machine and stays in the shell's \
                 history. Use --registry {target} with `packpub login {host}`, or with \
                 --username USER --password-stdin",
                host = target.split('/').next().unwrap_or_default()
            ));
        }
        if let Some((scheme, rest)) = input.split_once("://") {
            return Err(format!(
                "registry {input:?} must not carry a scheme ({scheme}://): use {} \
                 (add --plain-http for a plain-HTTP registry)",
                rest.trim_end_matches('/')
            ));
        }
        let trimmed = input.trim_end_matches('/');
        let mut parts = trimmed.split('/');
        let host = parts.next().unwrap_or_default();
        let path: Vec<&str> = parts.collect();
        if host.is_empty() {
            return Err(err("names no host"));
        }
        let host = crate::host::normalize(host).map_err(|why| err(&why))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(input: &str) -> (String, String) {
        match Target::parse(input).unwrap() {
            Target::Registry { host, prefix } => (host, prefix),
            other => panic!("{other:?}"),
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
        assert_eq!(
            Target::parse("oci-archive:packs.tar").unwrap(),
            Target::Archive("packs.tar".into())
        );
        assert!(Target::parse("oci-archive:").is_err());
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
        assert!(e.contains("must not carry a digest (@sha256…)"), "{e}");
        assert!(!e.contains("abc"), "{e}");
        let e = Target::parse("harbor.example.com/Proj").unwrap_err();
        assert!(e.contains("invalid path part"), "{e}");
        assert!(Target::parse("host:abc").is_err());
    }

    #[test]
    fn credentials_in_the_target_are_never_repeated() {
        for input in [
            "user:s3cret@harbor.example.com/proj",
            "https://user:s3cret@harbor.example.com/proj/",
            "user:s3c@r/et@harbor.example.com/proj",
            "s3cret@harbor.example.com",
        ] {
            let e = Target::parse(input).unwrap_err();
            assert!(!e.contains("s3c"), "{input}: {e}");
            assert!(
                e.contains("must not carry a user name or password")
                    && e.contains("--registry harbor.example.com")
                    && e.contains("`packpub login harbor.example.com`")
                    && e.contains("--password-stdin"),
                "{input}: {e}"
            );
        }
    }
}
