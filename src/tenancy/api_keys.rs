//! Company API keys for CRM backends: random, shown once, stored only as a SHA-256 hash.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::{Duration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Role;
use crate::ids::{CompanyId, UserId};
use crate::{
    entities::api_key::{self, Entity as ApiKeys},
    error::{Error, Result},
    types::KeyName,
};

/// Every key starts with this, so secret scanners and people can recognise one.
pub const KEY_PREFIX: &str = "sbk_";
/// Characters of the key kept in clear for listings.
const SHOWN_PREFIX_LEN: usize = 12;
/// `last_used_at` is written at most this often per key, not on every request.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", B64.encode(bytes))
}

/// A company's keys, newest first; revoked keys included so the history stays visible.
pub fn find_for(company_id: CompanyId) -> sea_orm::Select<ApiKeys> {
    ApiKeys::find()
        .filter(api_key::Column::CompanyId.eq(company_id))
        .order_by_desc(api_key::Column::Id)
}

/// Creates a key and returns it with the secret, which is never retrievable again.
pub async fn create(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    created_by: Option<UserId>,
    name: KeyName,
    role: Role,
) -> Result<(api_key::Model, String)> {
    let secret = generate();
    let model = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company_id),
        created_by_user_id: Set(created_by),
        name: Set(name.into_inner()),
        prefix: Set(secret[..SHOWN_PREFIX_LEN].to_owned()),
        key_hash: Set(hash(&secret)),
        role: Set(role.as_str().to_owned()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    };
    let model = ApiKeys::insert(model).exec_with_returning(db).await?;
    Ok((model, secret))
}

/// Revokes a key of this company; another company's key is "not found".
pub async fn revoke(db: &impl ConnectionTrait, company_id: CompanyId, id: Uuid) -> Result<()> {
    let key = find_for(company_id)
        .filter(api_key::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("api key"))?;
    if key.revoked_at.is_none() {
        ApiKeys::update_many()
            .col_expr(
                api_key::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(api_key::Column::Id.eq(key.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The user a key acts for: its creator. A key made with another key acts for that key's
/// creator, so no key outlives the person behind it.
pub async fn creator_of(db: &impl ConnectionTrait, key_id: Uuid) -> Result<Option<UserId>> {
    Ok(ApiKeys::find_by_id(key_id)
        .one(db)
        .await?
        .and_then(|k| k.created_by_user_id))
}

/// Revokes every live key this user made in this company (they left or were removed).
pub async fn revoke_made_by(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    user_id: UserId,
) -> Result<u64> {
    let result = ApiKeys::update_many()
        .col_expr(
            api_key::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(api_key::Column::CompanyId.eq(company_id))
        .filter(api_key::Column::CreatedByUserId.eq(user_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The role a key acts with: its own, but never more than its creator's current role in the
/// company. A creator who is no longer a member leaves the key powerless (refused). Keys
/// without a recorded creator act with their own role.
pub async fn effective_role(db: &impl ConnectionTrait, key: &api_key::Model) -> Result<Role> {
    let own = super::accounts::parse_role(&key.role)?;
    let Some(creator) = key.created_by_user_id else {
        return Ok(own);
    };
    match super::accounts::role_of(db, creator, key.company_id).await? {
        Some(creator_role) => Ok(own.min(creator_role)),
        None => Err(Error::unauthenticated(
            "The API key is not valid: the member who made it has left the company.",
        )),
    }
}

/// Resolves a presented key to its live record.
pub async fn authenticate(db: &impl ConnectionTrait, presented: &str) -> Result<api_key::Model> {
    let invalid = || Error::unauthenticated("The API key is not valid.");
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
        return Err(invalid());
    }
    let key = ApiKeys::find()
        .filter(api_key::Column::KeyHash.eq(hash(presented)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    let now = Utc::now();
    if key
        .last_used_at
        .is_none_or(|t| now - t > LAST_USED_RESOLUTION)
    {
        ApiKeys::update_many()
            .col_expr(
                api_key::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(api_key::Column::Id.eq(key.id))
            .exec(db)
            .await?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_prefixed_unique_and_long() {
        let (a, b) = (generate(), generate());
        assert!(a.starts_with(KEY_PREFIX));
        assert_ne!(a, b);
        assert!(a.len() >= 40);
    }

    #[test]
    fn the_hash_is_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
