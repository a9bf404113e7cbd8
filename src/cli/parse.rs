//! The parsers of the command line's values (booleans, sizes, durations, epochs, hosts, uids),
//! [`Quiet`], which keeps clap from repeating a value back in its errors, and the clap
//! spellings of domain enums ([`ProfileChoice`], [`ImageSpecChoice`]), so no domain type
//! derives anything from clap: text in, a typed value or the reason it is not one out.

use crate::pack::rules::Profile;
use crate::registry::manifest::ImageSpec;
use clap::ValueEnum;

/// A boolean `PACKPUB_*` value (or a flag's optional value): 1/0, true/false, yes/no, on/off
/// in any case; empty means unset (false).
pub(super) fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" | "t" => Ok(true),
        "0" | "false" | "no" | "off" | "n" | "f" | "" => Ok(false),
        _ => Err(format!(
            "{text:?} is not a boolean: use 1/0, true/false, yes/no or on/off"
        )),
    }
}

/// A byte count: a whole number, optionally with KiB, MiB, GiB (or K, M, G, also powers of 1024).
pub(super) fn parse_size(text: &str) -> Result<u64, String> {
    let units: &[(&str, u64)] = &[
        ("", 1),
        ("b", 1),
        ("k", 1 << 10),
        ("kb", 1 << 10),
        ("kib", 1 << 10),
        ("m", 1 << 20),
        ("mb", 1 << 20),
        ("mib", 1 << 20),
        ("g", 1 << 30),
        ("gb", 1 << 30),
        ("gib", 1 << 30),
    ];
    scaled(text, units)
        .ok_or_else(|| format!("{text:?} is not a size: use e.g. 4GiB, 512MiB or 1048576"))
}

/// A whole number above zero followed by one of `units` (any case), times that unit's factor.
pub(super) fn scaled(text: &str, units: &[(&str, u64)]) -> Option<u64> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let factor = units.iter().find(|(name, _)| *name == unit)?.1;
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n > 0)
}

pub(super) fn parse_epoch(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!("SOURCE_DATE_EPOCH={text:?} is not a whole number of seconds since 1970")
    })
}

pub(super) fn parse_host(input: &str) -> Result<String, String> {
    if input.contains('@') {
        return Err(
            "a registry host must not carry a user name or password: pass -u USER \
                    and --password-stdin instead"
                .into(),
        );
    }
    crate::host::from_url(input).map_err(|why| format!("registry host {input:?} {why}"))
}

/// A value parser whose errors never repeat what was typed: clap's own parsers print the value
/// back, and `--registry USER:PASSWORD@HOST` must not show the password. The parse function
/// says what is wrong, quoting the input only when it is safe to.
#[derive(Clone, Copy)]
pub(super) struct Quiet<T>(pub(super) fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Quiet<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let arg = arg.map_or_else(|| "the value".to_string(), ToString::to_string);
        let fail = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{arg}': {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| fail("it is not valid UTF-8".into()))?;
        (self.0)(text).map_err(fail)
    }
}

/// A duration: a whole number with `s`, `m` or `h` (seconds without a unit).
pub(super) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let units: &[(&str, u64)] = &[("", 1), ("s", 1), ("m", 60), ("h", 3600)];
    scaled(text, units)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a duration: use e.g. 15m, 900s or 1h"))
}

/// A Palette uid (24 hex digits in practice): letters, digits, `-` and `_`, as it travels in
/// a header; anything else (a stray CR/LF from a copied value) is a usage error here rather
/// than a failed request after the sync has begun.
pub(super) fn parse_uid(text: &str) -> Result<String, String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !text.is_empty() && text.len() <= 128 && text.chars().all(fine) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a Palette uid (letters, digits, - and _; Palette console: Project \
             Settings)"
        ))
    }
}

/// [`parse_duration`], more than zero.
pub(super) fn parse_positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text)? {
        zero if zero.is_zero() => Err(format!("{text:?} is no time at all: use e.g. 30s or 2m")),
        duration => Ok(duration),
    }
}

/// [`Profile`]'s spellings on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ProfileChoice {
    Default,
    PackCentral,
}

impl From<ProfileChoice> for Profile {
    fn from(choice: ProfileChoice) -> Self {
        match choice {
            ProfileChoice::Default => Profile::Default,
            ProfileChoice::PackCentral => Profile::PackCentral,
        }
    }
}

/// [`ImageSpec`]'s spellings on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ImageSpecChoice {
    /// ORAS v1.0.0's default (`vnd.unknown.config` config, no artifactType): what Palette reads.
    #[value(name = "v1.0")]
    V1_0,
    /// ORAS ≥ 1.1's default (`artifactType`, `vnd.oci.empty` config with data).
    #[value(name = "v1.1")]
    V1_1,
}

impl From<ImageSpecChoice> for ImageSpec {
    fn from(choice: ImageSpecChoice) -> Self {
        match choice {
            ImageSpecChoice::V1_0 => ImageSpec::V1_0,
            ImageSpecChoice::V1_1 => ImageSpec::V1_1,
        }
    }
}
