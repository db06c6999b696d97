//! Integration rows and Discord connections. Tokens go in and out only through the cipher.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Select,
};
use uuid::Uuid;

use super::{GrantDetails, IntegrationMetadata, IntegrationStatus};
use crate::ids::{CompanyId, UserId};
use crate::{
    config::Secret,
    crypto::{Binding, TokenCipher},
    entities::{
        discord_connection::{self, Entity as DiscordConnections},
        integration::{self, Entity as Integrations},
    },
    error::{Error, Result, is_unique_violation},
    integrations::{Grant, Health},
};

pub const ACCESS_TOKEN: &str = "access_token";
pub const REFRESH_TOKEN: &str = "refresh_token";
/// GitHub's webhook secret, sealed like the tokens.
pub const WEBHOOK_SECRET: &str = "webhook_secret";

/// A new webhook secret: 32 random bytes, in hex.
pub fn new_webhook_secret() -> Secret<String> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(hex::encode(bytes))
}

/// `secret` sealed for this row's webhook-secret column.
pub fn seal_webhook_secret(
    cipher: &TokenCipher,
    row: &integration::Model,
    secret: &Secret<String>,
) -> String {
    cipher.encrypt(secret.expose(), &binding(row, WEBHOOK_SECRET))
}

pub fn find_for(company_id: CompanyId) -> Select<Integrations> {
    Integrations::find()
        .filter(integration::Column::CompanyId.eq(company_id))
        .order_by_asc(integration::Column::Provider)
}

pub async fn get(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    provider: &str,
) -> Result<Option<integration::Model>> {
    Ok(find_for(company_id)
        .filter(integration::Column::Provider.eq(provider))
        .one(db)
        .await?)
}

pub fn metadata(row: &integration::Model) -> IntegrationMetadata {
    serde_json::from_value(row.metadata.clone()).unwrap_or_default()
}

fn binding(row: &integration::Model, field: &'static str) -> Binding<'static> {
    Binding {
        company_id: row.company_id,
        row_id: row.id,
        field,
    }
}

/// Decrypts a stored token of this row.
pub fn token(
    cipher: &TokenCipher,
    row: &integration::Model,
    field: &'static str,
) -> Result<Option<Secret<String>>> {
    let stored = match field {
        ACCESS_TOKEN => row.access_token_enc.as_deref(),
        WEBHOOK_SECRET => row.webhook_secret_enc.as_deref(),
        _ => row.refresh_token_enc.as_deref(),
    };
    stored
        .map(|s| cipher.decrypt(s, &binding(row, field)))
        .transpose()
        .map_err(|e| {
            Error::internal(anyhow::anyhow!(
                "stored {field} of integration {}: {e}",
                row.id
            ))
        })
}

/// Creates or replaces the company's integration with this provider (one per provider).
pub async fn save_grant(
    db: &impl ConnectionTrait,
    cipher: &TokenCipher,
    company_id: CompanyId,
    provider: &str,
    connected_by: Option<UserId>,
    grant: &Grant,
    metadata: &IntegrationMetadata,
) -> Result<integration::Model> {
    let now = Utc::now();
    let existing = get(db, company_id, provider).await?;
    let id = existing.as_ref().map_or_else(Uuid::now_v7, |row| row.id);
    let bind = |field| Binding {
        company_id,
        row_id: id,
        field,
    };
    let access = cipher.encrypt(grant.access_token.expose(), &bind(ACCESS_TOKEN));
    let refresh = grant
        .refresh_token
        .as_ref()
        .map(|t| cipher.encrypt(t.expose(), &bind(REFRESH_TOKEN)));
    let metadata = serde_json::to_value(metadata).map_err(Error::internal)?;
    // GitHub's webhook secret is made when GitHub is connected, and kept across reconnects.
    let webhook_secret = (provider == "github"
        && existing
            .as_ref()
            .is_none_or(|row| row.webhook_secret_enc.is_none()))
    .then(|| cipher.encrypt(new_webhook_secret().expose(), &bind(WEBHOOK_SECRET)));
    let model = match existing {
        Some(row) => {
            let mut active = row.into_active_model();
            active.status = Set(IntegrationStatus::Active);
            active.metadata = Set(metadata);
            active.access_token_enc = Set(Some(access));
            active.refresh_token_enc = Set(refresh);
            active.expires_at = Set(grant.expires_at);
            active.connected_by_user_id = Set(connected_by);
            active.connected_at = Set(Some(now));
            active.last_error = Set(None);
            active.error_count = Set(0);
            active.updated_at = Set(now);
            if webhook_secret.is_some() {
                active.webhook_secret_enc = Set(webhook_secret);
            }
            active.update(db).await?
        }
        None => {
            let row = integration::ActiveModel {
                id: Set(id),
                company_id: Set(company_id),
                provider: Set(provider.to_owned()),
                status: Set(IntegrationStatus::Active),
                metadata: Set(metadata),
                access_token_enc: Set(Some(access)),
                refresh_token_enc: Set(refresh),
                expires_at: Set(grant.expires_at),
                connected_by_user_id: Set(connected_by),
                connected_at: Set(Some(now)),
                last_error: Set(None),
                error_count: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                webhook_secret_enc: Set(webhook_secret),
                last_webhook_at: Set(None),
            };
            Integrations::insert(row).exec_with_returning(db).await?
        }
    };
    Ok(model)
}

/// Stores refreshed tokens, keeping what the refresh did not replace.
pub async fn save_refresh(
    db: &impl ConnectionTrait,
    cipher: &TokenCipher,
    row: integration::Model,
    grant: &Grant,
) -> Result<integration::Model> {
    let access = cipher.encrypt(grant.access_token.expose(), &binding(&row, ACCESS_TOKEN));
    let refresh = grant
        .refresh_token
        .as_ref()
        .map(|t| cipher.encrypt(t.expose(), &binding(&row, REFRESH_TOKEN)));
    let mut active = row.into_active_model();
    active.access_token_enc = Set(Some(access));
    if let Some(refresh) = refresh {
        active.refresh_token_enc = Set(Some(refresh));
    }
    active.expires_at = Set(grant.expires_at);
    active.status = Set(IntegrationStatus::Active);
    active.last_error = Set(None);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Marks the integration failed, keeping the reason and counting failures.
pub async fn mark_error(
    db: &impl ConnectionTrait,
    row: integration::Model,
    reason: &str,
) -> Result<integration::Model> {
    let count = row.error_count.saturating_add(1);
    let mut active = row.into_active_model();
    active.status = Set(IntegrationStatus::Error);
    active.last_error = Set(Some(reason.chars().take(500).collect()));
    active.error_count = Set(count);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Ends the grant locally: tokens wiped, row kept for history.
pub async fn mark_revoked(
    db: &impl ConnectionTrait,
    row: integration::Model,
) -> Result<integration::Model> {
    let mut active = row.into_active_model();
    active.status = Set(IntegrationStatus::Revoked);
    active.access_token_enc = Set(None);
    active.refresh_token_enc = Set(None);
    active.expires_at = Set(None);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

pub async fn connection_for(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
) -> Result<Option<discord_connection::Model>> {
    Ok(DiscordConnections::find()
        .filter(discord_connection::Column::CompanyId.eq(company_id))
        .one(db)
        .await?)
}

/// Binds the guild to the company: one guild per company, one company per guild. A guild held
/// by another company that still has the bot is refused; one that company disconnected is freed.
pub async fn bind_guild(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    details: &GrantDetails,
    permissions: &str,
) -> Result<discord_connection::Model> {
    let GrantDetails::Discord {
        guild_id,
        guild_name,
    } = details
    else {
        return Err(Error::internal(anyhow::anyhow!(
            "a Discord grant without a guild"
        )));
    };
    let taken = || {
        Error::conflict(
            "guild_already_connected",
            "This Discord server is already connected to another company.",
        )
    };
    let holder = DiscordConnections::find()
        .filter(discord_connection::Column::GuildId.eq(*guild_id))
        .one(db)
        .await?;
    if let Some(holder) = holder.filter(|h| h.company_id != company_id) {
        if holder.bot_invited {
            return Err(taken());
        }
        DiscordConnections::delete_by_id(holder.id).exec(db).await?;
    }
    let now = Utc::now();
    let name: String = guild_name.chars().take(100).collect();
    let result = match connection_for(db, company_id).await? {
        Some(current) => {
            let same_guild = current.guild_id == *guild_id;
            let mut active = current.into_active_model();
            if !same_guild {
                // A different server: its channel count starts again.
                active.synced_channels_count = Set(0);
            }
            active.guild_id = Set(*guild_id);
            active.guild_name = Set(name);
            active.bot_invited = Set(true);
            active.bot_permissions = Set(permissions.to_owned());
            active.health = Set(Health::Connected);
            active.updated_at = Set(now);
            active.update(db).await
        }
        None => {
            let row = discord_connection::ActiveModel {
                id: Set(Uuid::now_v7()),
                company_id: Set(company_id),
                guild_id: Set(*guild_id),
                guild_name: Set(name),
                bot_invited: Set(true),
                bot_permissions: Set(permissions.to_owned()),
                synced_channels_count: Set(0),
                health: Set(Health::Connected),
                created_at: Set(now),
                updated_at: Set(now),
            };
            DiscordConnections::insert(row)
                .exec_with_returning(db)
                .await
        }
    };
    // Two companies racing for one guild: the unique index decides.
    result.map_err(|err| {
        if is_unique_violation(&err) {
            taken()
        } else {
            err.into()
        }
    })
}

/// The bot no longer acts for this company in its guild; the row stays so history and a later
/// reconnect of the same guild find it.
pub async fn unbind_guild(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
) -> Result<Option<discord_connection::Model>> {
    let Some(current) = connection_for(db, company_id).await? else {
        return Ok(None);
    };
    let mut active = current.into_active_model();
    active.bot_invited = Set(false);
    active.health = Set(Health::Disconnected);
    active.updated_at = Set(Utc::now());
    Ok(Some(active.update(db).await?))
}
