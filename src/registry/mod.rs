//! Registries and layouts: the path convention Palette reads ([`reference`]), the manifests it
//! accepts ([`manifest`]), and the one [`store::Store`] interface every target implements: a
//! registry through `oci-client` ([`client`], its errors in [`errors`]) and a local OCI layout
//! ([`layout`]). `oci-client` types never leave this module.

pub mod client;
mod errors;
pub mod layout;
pub mod manifest;
pub mod reference;
pub mod store;
