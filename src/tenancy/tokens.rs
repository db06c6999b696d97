//! Bearer JWTs: HS256 only, with `exp`, `iss`, `aud` and `sub` required and checked.
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;
use crate::ids::{CompanyId, UserId};

pub const AUDIENCE: &str = "switchboard-api";
/// How long a token is valid. Clients log in again after this.
pub const TOKEN_TTL: chrono::Duration = chrono::Duration::hours(12);

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: UserId,
    /// The company the token acts for.
    pub cid: CompanyId,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
}

impl TokenIssuer {
    pub fn new(secret: &[u8], issuer: String) -> Self {
        // The algorithm is fixed here, never taken from the token's header: a token signed
        // with another algorithm, or with `alg: none`, fails validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        // A token not valid yet (`nbf` in the future) is refused; ours carry none.
        validation.validate_nbf = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer,
        }
    }

    pub fn issue(&self, user_id: UserId, company_id: CompanyId) -> Result<IssuedToken, Error> {
        let now = Utc::now();
        let expires_at = now + TOKEN_TTL;
        let claims = Claims {
            sub: user_id,
            cid: company_id,
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::new_v4().simple().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::internal(anyhow::anyhow!("jwt encode: {e}")))?;
        Ok(IssuedToken { token, expires_at })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| {
                use jsonwebtoken::errors::ErrorKind as K;
                let detail = match err.kind() {
                    K::ExpiredSignature => "The token has expired; log in again.",
                    K::InvalidIssuer | K::InvalidAudience => {
                        "The token was not issued for this API."
                    }
                    _ => "The token is not valid.",
                };
                Error::unauthenticated(detail)
            })
    }
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};

    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(
            b"0123456789abcdef0123456789abcdef",
            "http://switchboard.test".into(),
        )
    }

    fn sign(claims: &serde_json::Value, alg: Algorithm, secret: &[u8]) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
            .expect("sign")
    }

    fn claims(exp_offset: i64, iss: &str, aud: &str) -> serde_json::Value {
        let now = Utc::now().timestamp();
        serde_json::json!({"sub": Uuid::new_v4(), "cid": Uuid::new_v4(), "iss": iss, "aud": aud,
            "iat": now, "exp": now + exp_offset, "jti": "x"})
    }

    #[test]
    fn an_issued_token_verifies() {
        let issuer = issuer();
        let (user, company) = (UserId(Uuid::new_v4()), CompanyId(Uuid::new_v4()));
        let token = issuer.issue(user, company).expect("issue");
        let claims = issuer.verify(&token.token).expect("valid");
        assert_eq!((claims.sub, claims.cid), (user, company));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = sign(
            &claims(-3600, "http://switchboard.test", AUDIENCE),
            Algorithm::HS256,
            b"0123456789abcdef0123456789abcdef",
        );
        assert!(issuer().verify(&token).is_err());
    }

    #[test]
    fn a_token_for_another_issuer_or_audience_is_refused() {
        let secret = b"0123456789abcdef0123456789abcdef";
        for c in [
            claims(600, "http://evil.test", AUDIENCE),
            claims(600, "http://switchboard.test", "other"),
        ] {
            assert!(
                issuer()
                    .verify(&sign(&c, Algorithm::HS256, secret))
                    .is_err()
            );
        }
    }

    #[test]
    fn a_token_with_another_algorithm_is_refused() {
        let c = claims(600, "http://switchboard.test", AUDIENCE);
        let token = sign(&c, Algorithm::HS512, b"0123456789abcdef0123456789abcdef");
        assert!(issuer().verify(&token).is_err());
    }

    #[test]
    fn an_unsigned_alg_none_token_is_refused() {
        let c = claims(600, "http://switchboard.test", AUDIENCE);
        let token = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            B64.encode(c.to_string())
        );
        assert!(issuer().verify(&token).is_err());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let c = claims(600, "http://switchboard.test", AUDIENCE);
        assert!(
            issuer()
                .verify(&sign(
                    &c,
                    Algorithm::HS256,
                    b"another-secret-another-secret-xx"
                ))
                .is_err()
        );
    }
}
