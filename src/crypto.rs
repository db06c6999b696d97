//! Provider tokens at rest: AES-256-GCM with a fresh random nonce per value.
//!
//! Stored form: `v1.{key id}.{base64(nonce ‖ ciphertext ‖ tag)}`. The key id lets several keys be
//! readable while one is current (rotation). The associated data binds a ciphertext to its row
//! and field, so a value copied into another company's row, or from the refresh-token column into
//! the access-token column, does not decrypt.
use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD as B64};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Secret;
use crate::ids::CompanyId;

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the value is not in the stored-token format")]
    Malformed,
    #[error("no key with id {0} is configured")]
    UnknownKey(String),
    #[error("the value does not decrypt: wrong key, tampered, or bound to another row")]
    Rejected,
}

struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Self {
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        Self {
            id,
            cipher: Aes256Gcm::new(bytes.into()),
        }
    }
}

pub struct TokenCipher {
    current: Key,
    previous: Vec<Key>,
}

/// What a ciphertext is bound to.
pub struct Binding<'a> {
    pub company_id: CompanyId,
    pub row_id: Uuid,
    /// The column, e.g. `access_token`.
    pub field: &'a str,
}

impl Binding<'_> {
    fn aad(&self) -> Vec<u8> {
        format!(
            "switchboard:{}:{}:{}",
            self.company_id, self.row_id, self.field
        )
        .into_bytes()
    }
}

impl TokenCipher {
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]]) -> Self {
        Self {
            current: Key::new(current),
            previous: previous.iter().map(Key::new).collect(),
        }
    }

    pub fn encrypt(&self, plaintext: &str, binding: &Binding<'_>) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = binding.aad();
        // Encryption with a valid key and nonce length cannot fail (aes-gcm only errors on
        // inputs over 64 GiB); an empty string would be stored rather than a panic raised.
        let sealed = self
            .current
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", self.current.id, B64.encode(blob))
    }

    pub fn decrypt(
        &self,
        stored: &str,
        binding: &Binding<'_>,
    ) -> Result<Secret<String>, CryptoError> {
        let mut parts = stored.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        let blob = B64.decode(body).map_err(|_| CryptoError::Malformed)?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let aad = binding.aad();
        let plain = key
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Rejected)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| CryptoError::Rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(company: Uuid, row: Uuid) -> Binding<'static> {
        Binding {
            company_id: CompanyId(company),
            row_id: row,
            field: "access_token",
        }
    }

    #[test]
    fn a_token_round_trips_and_is_not_stored_in_clear() {
        let cipher = TokenCipher::new(&[1; 32], &[]);
        let b = binding(Uuid::new_v4(), Uuid::new_v4());
        let stored = cipher.encrypt("gho_secret-token", &b);
        assert!(!stored.contains("secret-token"));
        assert_eq!(
            cipher.decrypt(&stored, &b).map(|s| s.expose().clone()),
            Ok("gho_secret-token".into())
        );
    }

    #[test]
    fn each_encryption_uses_a_fresh_nonce() {
        let cipher = TokenCipher::new(&[1; 32], &[]);
        let b = binding(Uuid::new_v4(), Uuid::new_v4());
        assert_ne!(cipher.encrypt("same", &b), cipher.encrypt("same", &b));
    }

    #[test]
    fn a_ciphertext_copied_to_another_row_or_field_does_not_decrypt() {
        let cipher = TokenCipher::new(&[1; 32], &[]);
        let (company, row) = (Uuid::new_v4(), Uuid::new_v4());
        let stored = cipher.encrypt("token", &binding(company, row));
        assert_eq!(
            cipher.decrypt(&stored, &binding(Uuid::new_v4(), row)),
            Err(CryptoError::Rejected)
        );
        assert_eq!(
            cipher.decrypt(&stored, &binding(company, Uuid::new_v4())),
            Err(CryptoError::Rejected)
        );
        let other_field = Binding {
            company_id: CompanyId(company),
            row_id: row,
            field: "refresh_token",
        };
        assert_eq!(
            cipher.decrypt(&stored, &other_field),
            Err(CryptoError::Rejected)
        );
    }

    #[test]
    fn a_tampered_ciphertext_is_rejected() {
        let cipher = TokenCipher::new(&[1; 32], &[]);
        let b = binding(Uuid::new_v4(), Uuid::new_v4());
        let mut stored = cipher.encrypt("token", &b).into_bytes();
        let last = stored.len() - 2;
        stored[last] = if stored[last] == b'A' { b'B' } else { b'A' };
        let stored = String::from_utf8(stored).expect("ascii");
        assert!(cipher.decrypt(&stored, &b).is_err());
    }

    #[test]
    fn values_under_a_previous_key_stay_readable_after_rotation() {
        let old = TokenCipher::new(&[1; 32], &[]);
        let b = binding(Uuid::new_v4(), Uuid::new_v4());
        let stored = old.encrypt("token", &b);
        let rotated = TokenCipher::new(&[2; 32], &[[1; 32]]);
        assert_eq!(
            rotated.decrypt(&stored, &b).map(|s| s.expose().clone()),
            Ok("token".into())
        );
        let without_old = TokenCipher::new(&[2; 32], &[]);
        assert!(matches!(
            without_old.decrypt(&stored, &b),
            Err(CryptoError::UnknownKey(_))
        ));
    }
}
