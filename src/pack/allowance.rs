//! What a finding allowed by the user carries ([`Allowance`]: by what, [`By`], and why), and
//! the names that allow: `--allow`, [`ALLOW_ENV`] and the pack's own [`SETTINGS_FILE`]. Below
//! both the findings that carry an allowance and the rooms that grant one ([`super::allow`],
//! [`super::settings`]).

use serde::{Serialize, Serializer};
use std::fmt;

/// The pack's own settings file, where a pack allows rules for itself.
pub const SETTINGS_FILE: &str = ".packpub.yaml";

/// What allowed a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum By {
    /// `--allow`.
    Flag,
    /// `PACKPUB_ALLOW`.
    Env,
    /// The pack's own `.packpub.yaml`.
    Settings,
}

/// The variable that allows rules for every run of a job, as `--allow` does for one.
pub const ALLOW_ENV: &str = "PACKPUB_ALLOW";

impl By {
    pub(super) fn name(self) -> &'static str {
        match self {
            By::Flag => "--allow",
            By::Env => ALLOW_ENV,
            By::Settings => SETTINGS_FILE,
        }
    }
}

impl fmt::Display for By {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for By {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Why a finding counts for nothing: what allowed it, and the reason the user gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    pub by: By,
    pub reason: Option<String>,
}
