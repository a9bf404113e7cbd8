//! What a credential is (a user name and password, or an identity token), below the lookup
//! order in `mod.rs` and the stores it asks (`keyring.rs`, `docker.rs`), which all make one.

use crate::redacted::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: Secret,
    },
    /// An OAuth identity token (docker's `identitytoken`, a helper's `<token>` user).
    IdentityToken(Secret),
}

impl Credential {
    pub fn basic(username: &str, password: Secret) -> Self {
        Self::Basic {
            username: username.to_string(),
            password,
        }
    }

    pub fn identity_token(token: Secret) -> Self {
        Self::IdentityToken(token)
    }
}
