//! Webhooks to the CRM: every live event is also delivered to the company's webhook endpoints,
//! signed per Standard Webhooks, through the durable outbox (one job per event and endpoint,
//! written in the change's own transaction: see [`fanout`]), retried for about a day, with a
//! delivery log and resends.
pub mod address;
pub mod deliver;
pub mod fanout;
pub mod sender;
pub mod view;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use chrono::Utc;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

pub use view::{AttemptView, EndpointView};

use crate::{
    config::Secret,
    crypto::Binding,
    entities::{
        webhook_attempt,
        webhook_endpoint::{self, EndpointHealth, Entity as Endpoints},
    },
    error::{Error, ErrorKind, Result},
    ids::CompanyId,
    pagination::{Cursor, Page},
    services::Services,
    tenancy::Principal,
};

/// A company may have this many endpoints.
pub const MAX_ENDPOINTS: u64 = 20;
/// After a rotation the previous secret still signs for this long, so receivers can roll over.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);
/// The event types an endpoint can subscribe to (the live events, and the test event).
pub const EVENT_TYPES: [&str; 7] = [
    "message.created",
    "message.updated",
    "lead.updated",
    "channel.created",
    "channel.archived",
    "link.updated",
    "webhook.test",
];
const SECRET_FIELD: &str = "webhook_signing_secret";
const PREVIOUS_SECRET_FIELD: &str = "webhook_signing_secret_previous";

/// The company's endpoints. The only way into the table for tenant-facing code.
pub fn find_for(company_id: CompanyId) -> Select<Endpoints> {
    Endpoints::find().filter(webhook_endpoint::Column::CompanyId.eq(company_id))
}

pub async fn get(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    id: Uuid,
) -> Result<webhook_endpoint::Model> {
    find_for(company_id)
        .filter(webhook_endpoint::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "webhook_endpoint_not_found",
                "No such webhook endpoint.",
            )
        })
}

/// A new signing secret: `whsec_` and 24 random bytes in base64 (Standard Webhooks' form).
fn new_secret() -> Secret<String> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(format!("whsec_{}", B64.encode(bytes)))
}

fn binding(company_id: CompanyId, id: Uuid, field: &'static str) -> Binding<'static> {
    Binding {
        company_id,
        row_id: id,
        field,
    }
}

/// The secrets that sign the endpoint's messages now: the current one, and the previous one
/// while its overlap lasts.
pub fn signing_secrets(
    app: &Services,
    row: &webhook_endpoint::Model,
) -> Result<Vec<Secret<String>>> {
    let open = |stored: &str, field| {
        app.cipher
            .decrypt(stored, &binding(row.company_id, row.id, field))
            .map_err(|e| Error::internal(anyhow::anyhow!("webhook secret of {}: {e}", row.id)))
    };
    let mut secrets = vec![open(&row.secret_enc, SECRET_FIELD)?];
    if let (Some(previous), Some(until)) =
        (&row.previous_secret_enc, row.previous_secret_expires_at)
        && until > Utc::now()
    {
        secrets.push(open(previous, PREVIOUS_SECRET_FIELD)?);
    }
    Ok(secrets)
}

/// What an admin may set on an endpoint.
#[derive(Default)]
pub struct EndpointInput {
    pub url: Option<url::Url>,
    pub description: Option<String>,
    /// `Some(None)`: every event type.
    pub event_types: Option<Option<Vec<String>>>,
    pub enabled: Option<bool>,
}

/// Checks a description: at most 500 characters, no control characters.
pub fn parse_description(raw: &str) -> Result<String> {
    if raw.chars().count() > 500 {
        return Err(Error::invalid(
            "description",
            "must be at most 500 characters",
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(Error::invalid(
            "description",
            "must not contain control characters",
        ));
    }
    Ok(raw.trim().to_owned())
}

/// Checks an event-type filter: known types, at least one, no repeats.
pub fn parse_event_types(raw: &[String]) -> Result<Vec<String>> {
    if raw.is_empty() {
        return Err(Error::invalid(
            "eventTypes",
            "must name at least one event type, or be null for all",
        ));
    }
    let mut types = Vec::with_capacity(raw.len());
    for (i, kind) in raw.iter().enumerate() {
        if !EVENT_TYPES.contains(&kind.as_str()) {
            return Err(Error::invalid(
                format!("eventTypes[{i}]"),
                format!("must be one of {}", EVENT_TYPES.join(", ")),
            ));
        }
        if !types.contains(kind) {
            types.push(kind.clone());
        }
    }
    Ok(types)
}

/// Creates an endpoint; answers it with its secret (shown this once).
pub async fn create(
    app: &Services,
    principal: &Principal,
    url: url::Url,
    input: EndpointInput,
) -> Result<(webhook_endpoint::Model, Secret<String>)> {
    let company_id = principal.company_id;
    if !app.settings.webhook_allow_insecure {
        address::check_resolves_public("url", &url).await?;
    }
    let change = app.begin().await?;
    let count = find_for(company_id).count(&change).await?;
    if count >= MAX_ENDPOINTS {
        return Err(Error::conflict(
            "webhook_endpoint_limit",
            format!("A company may have at most {MAX_ENDPOINTS} webhook endpoints."),
        ));
    }
    let id = Uuid::now_v7();
    let secret = new_secret();
    let now = Utc::now();
    let row = webhook_endpoint::ActiveModel {
        id: Set(id),
        company_id: Set(company_id),
        url: Set(url.to_string()),
        description: Set(input.description.unwrap_or_default()),
        event_types: Set(input.event_types.flatten().map(|t| serde_json::json!(t))),
        enabled: Set(input.enabled.unwrap_or(true)),
        secret_enc: Set(app
            .cipher
            .encrypt(secret.expose(), &binding(company_id, id, SECRET_FIELD))),
        previous_secret_enc: Set(None),
        previous_secret_expires_at: Set(None),
        health: Set(if input.enabled == Some(false) {
            EndpointHealth::Disabled
        } else {
            EndpointHealth::Healthy
        }),
        disabled_reason: Set((input.enabled == Some(false)).then(|| "disabled by an admin".into())),
        failing_since: Set(None),
        last_success_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let row = Endpoints::insert(row).exec_with_returning(&change).await?;
    change
        .audit(
            company_id,
            &principal.actor(),
            "webhook_endpoint.created",
            &format!("webhook_endpoint:{id}"),
            serde_json::json!({ "url": row.url }),
        )
        .await?;
    change.commit().await?;
    Ok((row, secret))
}

/// Changes an endpoint. Enabling a disabled one makes it healthy again.
pub async fn update(
    app: &Services,
    principal: &Principal,
    id: Uuid,
    input: EndpointInput,
) -> Result<webhook_endpoint::Model> {
    if let Some(url) = &input.url
        && !app.settings.webhook_allow_insecure
    {
        address::check_resolves_public("url", url).await?;
    }
    let change = app.begin().await?;
    let row = get(&change, principal.company_id, id).await?;
    let mut active = row.into_active_model();
    if let Some(url) = input.url {
        active.url = Set(url.to_string());
    }
    if let Some(description) = input.description {
        active.description = Set(description);
    }
    if let Some(types) = input.event_types {
        active.event_types = Set(types.map(|t| serde_json::json!(t)));
    }
    match input.enabled {
        Some(true) => {
            active.enabled = Set(true);
            active.health = Set(EndpointHealth::Healthy);
            active.disabled_reason = Set(None);
            active.failing_since = Set(None);
        }
        Some(false) => {
            active.enabled = Set(false);
            active.health = Set(EndpointHealth::Disabled);
            active.disabled_reason = Set(Some("disabled by an admin".into()));
        }
        None => {}
    }
    active.updated_at = Set(Utc::now());
    let row = active.update(&change).await?;
    change
        .audit(
            principal.company_id,
            &principal.actor(),
            "webhook_endpoint.updated",
            &format!("webhook_endpoint:{id}"),
            serde_json::json!({ "url": row.url, "enabled": row.enabled }),
        )
        .await?;
    change.commit().await?;
    Ok(row)
}

pub async fn delete(app: &Services, principal: &Principal, id: Uuid) -> Result<()> {
    let change = app.begin().await?;
    let row = get(&change, principal.company_id, id).await?;
    Endpoints::delete_by_id(row.id).exec(&change).await?;
    change
        .audit(
            principal.company_id,
            &principal.actor(),
            "webhook_endpoint.deleted",
            &format!("webhook_endpoint:{id}"),
            serde_json::json!({ "url": row.url }),
        )
        .await?;
    change.commit().await
}

/// A new secret; the previous one keeps signing for [`ROTATION_OVERLAP`].
pub async fn rotate_secret(
    app: &Services,
    principal: &Principal,
    id: Uuid,
) -> Result<(webhook_endpoint::Model, Secret<String>)> {
    let change = app.begin().await?;
    let row = get(&change, principal.company_id, id).await?;
    let current = app
        .cipher
        .decrypt(
            &row.secret_enc,
            &binding(row.company_id, row.id, SECRET_FIELD),
        )
        .map_err(|e| Error::internal(anyhow::anyhow!("webhook secret of {id}: {e}")))?;
    let secret = new_secret();
    let (company_id, row_id) = (row.company_id, row.id);
    let mut active = row.into_active_model();
    active.secret_enc = Set(app
        .cipher
        .encrypt(secret.expose(), &binding(company_id, row_id, SECRET_FIELD)));
    active.previous_secret_enc = Set(Some(app.cipher.encrypt(
        current.expose(),
        &binding(company_id, row_id, PREVIOUS_SECRET_FIELD),
    )));
    active.previous_secret_expires_at = Set(Some(Utc::now() + ROTATION_OVERLAP));
    active.updated_at = Set(Utc::now());
    let row = active.update(&change).await?;
    change
        .audit(
            company_id,
            &principal.actor(),
            "webhook_endpoint.secret_rotated",
            &format!("webhook_endpoint:{id}"),
            serde_json::json!({}),
        )
        .await?;
    change.commit().await?;
    Ok((row, secret))
}

pub async fn list(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
) -> Result<Vec<webhook_endpoint::Model>> {
    Ok(find_for(company_id)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?)
}

/// The endpoint's delivery attempts, newest first.
pub async fn attempts(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    endpoint_id: Uuid,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Page<webhook_attempt::Model>> {
    get(db, company_id, endpoint_id).await?;
    let mut query = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::CompanyId.eq(company_id))
        .filter(webhook_attempt::Column::EndpointId.eq(endpoint_id));
    if let Some(cursor) = cursor {
        query = query.filter(webhook_attempt::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(webhook_attempt::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, limit, |a| a.id))
}
