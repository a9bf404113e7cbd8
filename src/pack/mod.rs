//! Packs on this machine. [`load`] (the module) is the one way in: a [`LocalInput`] (a folder,
//! or an archive made by `pack`) becomes a validated [`LocalPack`] with its identity, archive
//! digest and size, and findings, for `pack`, `push` and `verify` alike. Below it: the model
//! ([`model`]), validation ([`validate`], [`findings`], every rule in [`rules`]; below the rule
//! rooms, [`untemplated`] and [`yaml_findings`]), what the user allowed ([`allow`], and the
//! pack's own [`settings`]), the images a pack declares ([`images`]), the file listing ([`walk`]), writing the reproducible archive
//! ([`write`]), reading archives back ([`read`], with what it shares with Helm's tar reader in
//! [`tar`]) and what an extractor sees of either ([`listing`]). This file only names the rooms
//! and what they offer.

pub mod allow;
pub mod allowance;
pub mod chart;
pub mod findings;
mod gzip;
pub mod images;
mod listing;
mod load;
mod model;
mod pack_json;
pub mod read;
pub mod rules;
mod settings;
pub(crate) mod tar;
pub mod template;
mod untemplated;
mod validate;
mod values;
mod walk;
pub mod write;
pub mod yaml;
mod yaml_findings;

pub use allow::Allowed;
pub use allowance::Allowance;
pub use findings::{Finding, Findings, Omitted};
/// How archives are compressed, by name ([`gzip::FORMAT`]).
pub use gzip::FORMAT as COMPRESSION;
pub use listing::Listing;
pub use load::{
    BuildOptions, Checked, LocalInput, LocalPack, accept_tarball, check, inspect_tarball, lint,
    load, located, print_finding,
};
pub use model::{Identity, LAYERS, PACK_JSON, PackName, PackVersion, component_problem};
pub use rules::Severity;
pub use validate::{Role, file_findings};
pub use write::{Archive, ArchiveTo, Folder};
