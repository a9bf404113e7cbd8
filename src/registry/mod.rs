//! Registries: the path convention Palette reads ([`reference`]), the manifests it accepts
//! ([`manifest`]), a thin client over `oci-client` ([`client`]) and the local OCI layout target
//! ([`layout`]), and both seen the same way by readers ([`remote`]).

pub mod client;
pub mod layout;
pub mod manifest;
pub mod reference;
pub mod remote;
