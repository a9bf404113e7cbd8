//! packpub: validate, pack and publish Spectro Cloud Palette packs to OCI registries.
//!
//! The map: [`cli`] is the only module that knows the argument parser: it parses arguments
//! and turns them into each part's own options once; [`commands`] holds the binary's entry
//! ([`commands::main`]) and one file per verb; a local pack is loaded, validated and archived
//! by [`pack`]; every target (registry, OCI layout, bundle) is a [`registry::store::Store`];
//! credentials come from [`credentials`]. [`output`] keeps stdout for `--json` and stderr for
//! people, and [`exit`] holds the exit codes scripts rely on. Layers point one way: `cli` and
//! `commands` use the domain, `registry` uses `pack`, and what both share ([`growing`],
//! [`digest`], ...) lives below them, so the library is usable without the command line.

// The AWS SDK's futures, held across `.await` in async-trait methods, nest deeper than the
// default limit of 128 allows when rustc checks that they are `Send`.
#![recursion_limit = "256"]

pub mod atomic;
pub mod cache;
/// Calendar dates from Unix days, for the few timestamps packpub prints (a manifest's created
/// time, `--version`'s commit date), without a date crate.
pub mod civil;
pub mod cli;
pub mod commands;
pub mod credentials;
pub mod digest;
pub mod exit;
pub mod files;
/// Entry points for the fuzz harness and its corpus replay; not part of packpub's API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz_targets;
pub mod growing;
pub mod host;
pub mod http;
pub mod image_ref;
pub mod interrupt;
pub mod lock;
pub mod output;
pub mod pack;
pub mod palette;
pub mod redacted;
pub mod registry;
