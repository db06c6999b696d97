//! GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body,
//! keyed with the webhook's secret>`. Checked over the raw bytes before anything is parsed, and
//! compared in constant time (`Mac::verify_slice`).
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery's signature was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Malformed,
    Mismatch,
}

/// Checks `header` (the `X-Hub-Signature-256` value) against `body` under `secret`.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), Refused> {
    let header = header.ok_or(Refused::Missing)?;
    let hex_digest = header.strip_prefix("sha256=").ok_or(Refused::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| Refused::Malformed)?;
    if expected.len() != 32 {
        return Err(Refused::Malformed);
    }
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| Refused::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| Refused::Mismatch)
}

/// The header value GitHub would send for `body` (the sandbox signs with it; tests use it).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector ("Validating webhook deliveries").
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_test_vector_verifies() {
        assert_eq!(sign(SECRET, BODY), SIGNATURE);
        assert_eq!(verify(SECRET, BODY, Some(SIGNATURE)), Ok(()));
    }

    #[test]
    fn another_body_or_secret_is_a_mismatch() {
        assert_eq!(
            verify(SECRET, b"Hello, World?", Some(SIGNATURE)),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            verify(b"another secret", BODY, Some(SIGNATURE)),
            Err(Refused::Mismatch)
        );
    }

    #[test]
    fn a_missing_or_malformed_header_is_refused() {
        assert_eq!(verify(SECRET, BODY, None), Err(Refused::Missing));
        assert_eq!(
            verify(SECRET, BODY, Some(&SIGNATURE[7..])),
            Err(Refused::Malformed)
        );
        assert_eq!(
            verify(
                SECRET,
                BODY,
                Some("sha1=83ca50faabc64571cb6ab1a8f972fcc98ae28dfb")
            ),
            Err(Refused::Malformed)
        );
        assert_eq!(
            verify(SECRET, BODY, Some("sha256=zz")),
            Err(Refused::Malformed)
        );
        assert_eq!(
            verify(SECRET, BODY, Some("sha256=abcd")),
            Err(Refused::Malformed)
        );
    }
}
