//! Registries and layouts: the path convention Palette reads ([`reference`]), the manifests it
//! accepts ([`manifest`]), and the one [`store::Store`] interface every target implements: a
//! registry ([`client`], its errors in [`errors`]), a local OCI layout ([`layout`]) and a
//! single-file bundle of one ([`archive`]).
//!
//! packpub owns its HTTP client (reqwest with rustls) instead of calling `oci-client`'s: the
//! crate reads every answer whole with no cap, asks `/v2/` again on its own before sending the
//! password to a token service, and builds its own TLS set-up with extra roots only (no client
//! certificate, no way to accept a self-signed server certificate given as the CA). Owning
//! the few requests a pack needs (manifest and blob reads, uploads, listings, tokens) costs less
//! code than working around each of those, and keeps one self-contained binary. `oci-client`
//! stays for its vocabulary (references, the error envelope); its types never leave this module.

pub mod archive;
pub mod client;
pub mod ecr;
pub(crate) mod errors;
pub mod images;
pub mod layout;
pub mod manifest;
pub mod reference;
pub mod store;
pub mod tls;
