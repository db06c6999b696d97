//! Live events as Server-Sent Events, for the company and for one lead.
use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::ids::{CompanyId, LeadId};
use crate::{
    error::{Error, Result},
    events,
    http::AppState,
    http::extract::ApiPath,
    leads,
    tenancy::Principal,
};

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// What a browser's `EventSource` waits before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(company_events))
        .routes(routes!(lead_events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ResumeHeader {
    /// The `id` of the last event received: the stream starts with the events after it.
    /// Without it, the stream starts with the next new event.
    #[serde(rename = "Last-Event-ID")]
    #[param(rename = "Last-Event-ID", pattern = "^[0-9]{1,18}$")]
    #[expect(
        dead_code,
        reason = "read from the headers; declared for the OpenAPI document"
    )]
    last_event_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct LeadEventsPath {
    #[param(value_type = Uuid)]
    lead_id: LeadId,
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>> {
    let Some(raw) = headers.get("last-event-id") else {
        return Ok(None);
    };
    raw.to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 18 && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| Error::invalid("Last-Event-ID", "must be the id of an event received"))
}

type Frames = std::pin::Pin<Box<dyn Stream<Item = std::result::Result<Event, Infallible>> + Send>>;
type EventStream = Sse<axum::response::sse::KeepAliveStream<Frames>>;

async fn open(
    state: AppState,
    company_id: CompanyId,
    lead_id: Option<LeadId>,
    headers: &HeaderMap,
) -> Result<EventStream> {
    let after = last_event_id(headers)?;
    let mut shutdown = state.shutdown.clone();
    let live = events::stream::open(state.events.clone(), company_id, lead_id, after).await?;
    let frames =
        futures::stream::once(async { Ok(Event::default().retry(RETRY).comment("connected")) })
            .chain(live.map(|event| {
                let id = event.get("id").and_then(Value::as_i64).unwrap_or_default();
                let kind = event
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("message")
                    .to_owned();
                Ok(Event::default()
                    .id(id.to_string())
                    .event(kind)
                    .data(event.to_string()))
            }))
            // Graceful shutdown waits for responses to end: streams end when it starts.
            .take_until(async move {
                let _ = shutdown.wait_for(|stopping| *stopping).await;
            });
    let frames: Frames = Box::pin(frames);
    Ok(Sse::new(frames).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// The company's live events (Server-Sent Events)
///
/// `message.created`, `message.updated`, `lead.updated`, `channel.created` and
/// `channel.archived`, each with an increasing `id`. A client that reconnects with
/// `Last-Event-ID` first receives what it missed (kept for 7 days). Keep-alive comments
/// arrive every 15 s. Browsers authenticate with the session cookie (`EventSource` sends it),
/// other clients with a bearer token or API key.
#[utoipa::path(get, path = "/events", tag = "realtime",
    params(ResumeHeader),
    responses(
        (status = 200, description = "An endless `text/event-stream`; each event's `data` is a LiveEvent", content_type = "text/event-stream", body = events::LiveEvent),
        (status = 422, description = "`validation_failed`: a malformed `Last-Event-ID`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn company_events(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<EventStream> {
    open(state, principal.company_id, None, &headers).await
}

/// One lead's live events (Server-Sent Events)
///
/// The company stream's events about this lead, with the same ids and resume semantics.
#[utoipa::path(get, path = "/leads/{leadId}/events", tag = "realtime",
    params(LeadEventsPath, ResumeHeader),
    responses(
        (status = 200, description = "An endless `text/event-stream`; each event's `data` is a LiveEvent", content_type = "text/event-stream", body = events::LiveEvent),
        (status = 404, description = "`not_found`: no such lead in this company", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a malformed `Last-Event-ID`", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn lead_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadEventsPath>,
    headers: HeaderMap,
) -> Result<EventStream> {
    leads::get(&state.db, principal.company_id, path.lead_id).await?;
    open(state, principal.company_id, Some(path.lead_id), &headers).await
}
