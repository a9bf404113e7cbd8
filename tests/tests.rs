//! The integration tests: one binary that drives the built `packpub` against real registries,
//! real peers (skopeo, the ORAS Python SDK) and a real Secret Service, one module per concern.

mod support;

mod action;
mod airgap;
mod allow;
mod bundle;
mod charts;
mod copy;
mod credentials;
mod deadlines;
mod differential;
mod docs;
mod ecr;
mod fuzz_corpus;
mod harbor;
mod harness_smoke;
mod help;
mod hostile_archives;
mod hostile_folders;
mod hostile_lint;
mod hostile_registry;
mod init;
mod lint;
mod lint_macros;
mod locks;
mod login;
mod pack;
mod palette_standin;
mod push;
mod readers;
mod release;
mod scripts;
mod standins;
mod sync;
mod transport;
mod validate;
mod verify;
