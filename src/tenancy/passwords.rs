//! argon2id password hashes, computed off the async runtime.
use std::sync::OnceLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::{error::Error, types::Password};

/// Hashes with argon2id and the crate's recommended parameters (19 MiB, 2 passes).
pub async fn hash(password: &Password) -> Result<String, Error> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(Error::internal)?
}

/// Checks a password against a stored hash. With no hash (unknown user) a dummy hash is
/// checked instead, so the answer takes as long and an attacker cannot tell who exists.
pub async fn verify(password: &str, stored: Option<String>) -> Result<bool, Error> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && known
    })
    .await
    .map_err(Error::internal)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"switchboard-timing-equaliser", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}
