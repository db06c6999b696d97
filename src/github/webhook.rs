//! GitHub's webhook deliveries for one integration. The signature is checked over the raw body
//! before anything is parsed; each delivery id is processed once per integration, in the same
//! transaction as what it changes, so a delivery that failed halfway can be redelivered and a
//! redelivery of one that succeeded changes nothing.
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    hooks,
    payload::{IssuesEvent, PullRequestEvent},
    resolve::{self, Source},
    signature::{self, Refused},
};
use crate::{
    entities::{integration, webhook_delivery},
    error::{Error, ErrorKind, Result, is_unique_violation},
    integrations::IntegrationStatus,
    services::Services,
};

/// GitHub caps webhook payloads at 25 MB and does not deliver larger ones.
pub const MAX_BODY: usize = 25 * 1024 * 1024;

/// What a delivery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied: links, leads and notes changed as the event says (possibly nothing to change).
    Processed,
    /// This delivery id was processed before; nothing changed.
    Duplicate,
    /// `ping`: the hook works.
    Pong,
    /// An event or action the product does not act on.
    Ignored,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub outcome: Outcome,
    /// Leads whose status changed.
    pub leads_updated: usize,
}

/// The headers GitHub sends with a delivery.
pub struct Delivery<'a> {
    pub event: Option<&'a str>,
    pub delivery_id: Option<&'a str>,
    pub signature: Option<&'a str>,
    /// The hook was set up with content type `application/x-www-form-urlencoded`: the JSON is
    /// the `payload` field.
    pub form: bool,
}

fn refused() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "invalid_signature",
        "X-Hub-Signature-256 is missing or does not match the body under this webhook's secret: \
         give the hook the secret shown by GET /api/integrations/github.",
    )
}

/// Receives one delivery for integration `integration_id`.
pub async fn receive(
    app: &Services,
    integration_id: Uuid,
    delivery: Delivery<'_>,
    body: &[u8],
) -> Result<Receipt> {
    let row = integration::Entity::find_by_id(integration_id)
        .one(&app.db)
        .await?
        .filter(|r| r.provider == "github" && r.status != IntegrationStatus::Revoked)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "not_found",
                "No connected GitHub integration has this webhook address: copy the Payload URL \
                 from GET /api/integrations/github.",
            )
        })?;
    // Nothing is parsed, looked up by the payload, or logged of it before this check.
    let secret = hooks::secret(app, &row)?.ok_or_else(refused)?;
    signature::verify(secret.expose().as_bytes(), body, delivery.signature).map_err(|why| {
        tracing::info!(integration.id = %row.id, reason = ?why, "GitHub delivery refused: bad signature");
        match why {
            Refused::Missing | Refused::Malformed | Refused::Mismatch => refused(),
        }
    })?;
    let event = header(delivery.event, "X-GitHub-Event")?;
    let form_payload;
    let body = if delivery.form {
        form_payload = url::form_urlencoded::parse(body)
            .find(|(name, _)| name == "payload")
            .map(|(_, value)| value.into_owned())
            .ok_or_else(|| Error::invalid("payload", "is required in a form-encoded delivery"))?;
        form_payload.as_bytes()
    } else {
        body
    };
    let delivery_id = header(delivery.delivery_id, "X-GitHub-Delivery")?;

    let mut change = app.begin().await?;
    let action = serde_json::from_slice::<ActionOnly>(body)
        .ok()
        .and_then(|a| a.action);
    let seen = webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(row.company_id),
        integration_id: Set(row.id),
        provider: Set("github".into()),
        delivery_id: Set(delivery_id.to_owned()),
        event: Set(event.to_owned()),
        action: Set(action.clone()),
        received_at: Set(Utc::now()),
    };
    match webhook_delivery::Entity::insert(seen).exec(&change).await {
        Ok(_) => {}
        Err(err) if is_unique_violation(&err) => {
            tracing::info!(integration.id = %row.id, github.delivery = delivery_id, "GitHub delivery seen before");
            return Ok(Receipt {
                outcome: Outcome::Duplicate,
                leads_updated: 0,
            });
        }
        Err(err) => return Err(err.into()),
    }
    let company_id = row.company_id;
    let mut active = row.into_active_model();
    active.last_webhook_at = Set(Some(Utc::now()));
    active.update(&change).await?;

    let state_change = match event {
        "ping" => {
            change.commit().await?;
            return Ok(Receipt {
                outcome: Outcome::Pong,
                leads_updated: 0,
            });
        }
        "issues" => parse::<IssuesEvent>(body)?.state_change(),
        "pull_request" => parse::<PullRequestEvent>(body)?.state_change(),
        _ => None,
    };
    let Some(state_change) = state_change else {
        change.commit().await?;
        return Ok(Receipt {
            outcome: Outcome::Ignored,
            leads_updated: 0,
        });
    };
    let applied = resolve::apply(&mut change, company_id, &state_change, Source::Webhook).await?;
    change.commit().await?;
    tracing::info!(
        company.id = %company_id,
        github.delivery = delivery_id,
        github.event = event,
        github.action = action.as_deref().unwrap_or_default(),
        links = applied.links,
        leads = applied.leads,
        "GitHub delivery processed"
    );
    Ok(Receipt {
        outcome: Outcome::Processed,
        leads_updated: applied.leads,
    })
}

#[derive(serde::Deserialize)]
struct ActionOnly {
    #[serde(default)]
    action: Option<String>,
}

fn header<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str> {
    value
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| Error::invalid(name, "is required: 1 to 64 visible characters"))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::invalid(
            "body",
            format!("is not a GitHub payload of this event: {e}"),
        )
        .with_code("invalid_payload")
    })
}
