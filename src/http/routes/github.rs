//! GitHub: links between leads and issues or pull requests, the webhook GitHub calls, and the
//! company's GitHub settings (webhook address and secret, registered hooks, polling).
use axum::{
    Json,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode, header},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::LeadPath;
use crate::{
    entities::lead_link::LinkState,
    error::{Error, ErrorKind, Result},
    github::{
        self, HookView, IssueRef, LinkView, SyncLogView,
        webhook::{Delivery, Receipt},
    },
    http::{
        AppState,
        extract::{AdminPrincipal, ApiJson, ApiPath, ApiQuery},
    },
    ids::LeadId,
    pagination::PageParams,
    tenancy::Principal,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_link, lead_links))
        .routes(routes!(delete_link))
        .routes(routes!(list_links))
        // `/integrations/github` is matched before `/integrations/{provider}`: GitHub's
        // disconnect lives here too.
        .routes(routes!(github_settings, disconnect_github))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(sync_now))
        .routes(routes!(sync_logs))
        .merge(
            // GitHub's payloads may be up to 25 MB; every other route keeps the global limit.
            OpenApiRouter::new()
                .routes(routes!(receive_webhook))
                .layer(DefaultBodyLimit::max(github::webhook::MAX_BODY)),
        )
}

type Problem = crate::http::problem::Problem;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLinkRequest {
    /// `owner/repo#123`, or the URL of a GitHub issue or pull request.
    #[schema(example = "acme/widgets#12", min_length = 1, max_length = 300)]
    r#ref: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct LinkPath {
    #[param(value_type = Uuid)]
    lead_id: LeadId,
    link_id: Uuid,
}

/// Link a GitHub issue or pull request to a lead
///
/// Reads the issue from GitHub with the company's token (its kind, title, state and address
/// come from GitHub) and registers the repository's webhook when the token may. Closing it on
/// GitHub resolves the lead once all its open links are closed; reopening reopens it. Linking
/// the same issue again answers the existing link (200).
#[utoipa::path(post, path = "/leads/{leadId}/links", tag = "github",
    params(LeadPath),
    request_body = CreateLinkRequest,
    responses(
        (status = 201, description = "Linked", body = LinkView),
        (status = 200, description = "The lead already had this link", body = LinkView),
        (status = 404, description = "`lead_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`github_not_connected`; `github_token_refused` (reconnect GitHub: the integration shows the error)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (`ref` malformed), `github_ref_not_found`, `github_ref_moved`, `github_ref_forbidden`; `errors` names `ref`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`github_rate_limited` or `github_unavailable`, with `Retry-After`; or the database or state store is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_link(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
    ApiJson(body): ApiJson<CreateLinkRequest>,
) -> Result<(StatusCode, Json<LinkView>)> {
    let reference = IssueRef::parse("ref", &body.r#ref, &state.settings.github_oauth_base)?;
    let (link, created) =
        github::links::create(&state, &principal, path.lead_id, reference).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(link.into())))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkList {
    items: Vec<LinkView>,
    /// Pass as `cursor` for the next page; `null` on the last page (always `null` for one lead's
    /// links, which come in one page).
    next_cursor: Option<String>,
}

/// A lead's links, oldest first
#[utoipa::path(get, path = "/leads/{leadId}/links", tag = "github",
    params(LeadPath),
    responses(
        (status = 200, description = "Every link of the lead", body = LinkList),
        (status = 404, description = "`lead_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn lead_links(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LeadPath>,
) -> Result<Json<LinkList>> {
    let links = github::links::list_for_lead(&state.db, principal.company_id, path.lead_id).await?;
    Ok(Json(LinkList {
        items: links.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Remove a link
///
/// The lead's status stays as it is. The repository's webhook is removed with the company's
/// last link to it.
#[utoipa::path(delete, path = "/leads/{leadId}/links/{linkId}", tag = "github",
    params(LinkPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`lead_not_found` or `link_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_link(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(path): ApiPath<LinkPath>,
) -> Result<StatusCode> {
    github::links::delete(&state, &principal, path.lead_id, path.link_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinkListParams {
    /// Only open (or closed) links.
    state: Option<LinkState>,
    /// How many (1–100, default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// `nextCursor` from the previous page.
    cursor: Option<String>,
}

/// The company's links, newest first
#[utoipa::path(get, path = "/links", tag = "github",
    params(LinkListParams),
    responses((status = 200, description = "A page of links", body = LinkList)))]
async fn list_links(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<LinkListParams>,
) -> Result<Json<LinkList>> {
    let (limit, cursor) = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    }
    .parse()?;
    let page =
        github::links::list(&state.db, principal.company_id, params.state, limit, cursor).await?;
    Ok(Json(LinkList {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The GitHub integration's id (`GET /api/integrations/github` gives the whole URL).
    integration_id: Uuid,
}

/// GitHub's webhook deliveries (called by GitHub)
///
/// Set up on each linked repository automatically where the token allows, or by hand with the
/// URL and secret from `GET /api/integrations/github` (content type `application/json`, events
/// "Issues" and "Pull requests"). `X-Hub-Signature-256` is checked over the raw body before
/// anything else; each `X-GitHub-Delivery` is processed once. `issues` and `pull_request`
/// `closed` / `reopened` resolve and reopen linked leads; `ping` and other events answer 200 and
/// change nothing.
#[utoipa::path(post, path = "/webhooks/github/{integrationId}", tag = "github", security(()),
    params(
        WebhookPath,
        ("X-GitHub-Event" = String, Header, description = "`issues`, `pull_request`, `ping`, …"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery's GUID; a redelivery repeats it"),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the HMAC-SHA256 of the body under the webhook secret, in hex"),
    ),
    request_body(content = Object, content_type = "application/json", description = "GitHub's event payload (or `payload=` form-encoded, for hooks set up with that content type)"),
    responses(
        (status = 200, description = "Processed, a duplicate, a ping, or ignored", body = Receipt),
        (status = 401, description = "`invalid_signature`: missing or wrong signature; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such GitHub integration", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over GitHub's 25 MB cap", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A required header is missing, or the payload is not this event's", body = Problem, content_type = "application/problem+json"),
    ))]
async fn receive_webhook(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<WebhookPath>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Receipt>> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(
                ErrorKind::PayloadTooLarge,
                "payload_too_large",
                "GitHub caps webhook payloads at 25 MB.",
            )
        } else {
            Error::invalid("body", "could not be read")
        }
    })?;
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let form = text(header::CONTENT_TYPE.as_str())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let delivery = Delivery {
        event: text("x-github-event"),
        delivery_id: text("x-github-delivery"),
        signature: text("x-hub-signature-256"),
        form,
    };
    let receipt = github::webhook::receive(&state, path.integration_id, delivery, &body).await?;
    Ok(Json(receipt))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSettings {
    /// Where GitHub delivers: set this as the hook's Payload URL.
    url: String,
    /// The hook's secret; shown to admins only (`null` for members).
    secret: Option<String>,
    /// `application/json`.
    content_type: &'static str,
    /// The events to subscribe to.
    events: Vec<&'static str>,
    /// The last delivery received, if any.
    last_delivery_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitHubSettings {
    integration_id: Uuid,
    /// The connected GitHub account.
    login: Option<String>,
    webhook: WebhookSettings,
    /// The hooks Switchboard registered (or tried to) on linked repositories.
    hooks: Vec<HookView>,
    /// Links are polled this often (seconds) while no webhook has delivered for as long.
    poll_interval_secs: u64,
}

async fn settings_view(state: &AppState, principal: &Principal) -> Result<GitHubSettings> {
    let row = github::links::integration(&state.db, principal.company_id).await?;
    let (row, secret) = github::hooks::ensure_secret(&state.db, state, row).await?;
    let hooks = github::hooks::list(&state.db, row.id).await?;
    Ok(GitHubSettings {
        integration_id: row.id,
        login: crate::integrations::store::metadata(&row).login,
        webhook: WebhookSettings {
            url: github::hooks::url(state, row.id),
            secret: principal.is_admin().then(|| secret.expose().clone()),
            content_type: "application/json",
            events: github::client::HOOK_EVENTS.to_vec(),
            last_delivery_at: row.last_webhook_at,
        },
        hooks: hooks.into_iter().map(Into::into).collect(),
        poll_interval_secs: state.settings.github_poll_interval.as_secs(),
    })
}

/// The company's GitHub webhook and polling
///
/// The webhook URL and (for admins) its secret, to set the hook up by hand; the hooks registered
/// automatically and whether GitHub accepted them; the polling interval.
#[utoipa::path(get, path = "/integrations/github", tag = "github",
    responses(
        (status = 200, description = "GitHub settings", body = GitHubSettings),
        (status = 409, description = "`github_not_connected`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn github_settings(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<GitHubSettings>> {
    Ok(Json(settings_view(&state, &principal).await?))
}

/// Disconnect GitHub (admin)
///
/// Removes the webhooks Switchboard registered on linked repositories, revokes the grant at
/// GitHub and forgets the tokens. Links stay; once GitHub is connected again, polling follows
/// them and registers their hooks again.
#[utoipa::path(delete, path = "/integrations/github", tag = "github",
    responses(
        (status = 204, description = "Disconnected"),
        (status = 403, description = "`forbidden`: needs admin or owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`integration_not_found`: GitHub is not connected", body = Problem, content_type = "application/problem+json"),
    ))]
async fn disconnect_github(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
) -> Result<StatusCode> {
    github::disconnect(&state, &principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate the webhook secret (admin)
///
/// Hooks Switchboard registered get the new secret at once; hooks set up by hand must be given
/// it, or their deliveries are refused (401).
#[utoipa::path(post, path = "/integrations/github/webhook-secret", tag = "github",
    responses(
        (status = 200, description = "The settings with the new secret", body = GitHubSettings),
        (status = 403, description = "`forbidden`: needs admin or owner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`github_not_connected`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_webhook_secret(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
) -> Result<Json<GitHubSettings>> {
    let row = github::links::integration(&state.db, principal.company_id).await?;
    github::hooks::rotate(&state, &principal, row).await?;
    Ok(Json(settings_view(&state, &principal).await?))
}

/// Poll GitHub now (admin)
///
/// Reads every linked issue and pull request from GitHub at once, as the polling fallback does,
/// and applies what changed. Answers the run's sync log.
#[utoipa::path(post, path = "/integrations/github/sync", tag = "github",
    responses(
        (status = 200, description = "The run", body = SyncLogView),
        (status = 403, description = "`forbidden`: needs admin or owner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`github_not_connected`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sync_now(
    State(state): State<AppState>,
    AdminPrincipal(principal): AdminPrincipal,
) -> Result<Json<SyncLogView>> {
    let row = github::links::integration(&state.db, principal.company_id).await?;
    Ok(Json(github::poll::poll(&state, row).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SyncLogParams {
    /// Only runs of this resource (`github_links`, `lead_channels`, `messages`).
    resource_type: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncLogList {
    items: Vec<SyncLogView>,
    next_cursor: Option<String>,
}

/// The company's sync runs, newest first
///
/// GitHub polling, DM-lead migrations and catch-ups after gateway outages, with their counts
/// and errors.
#[utoipa::path(get, path = "/sync-logs", tag = "operations",
    params(SyncLogParams),
    responses((status = 200, description = "A page of runs", body = SyncLogList)))]
async fn sync_logs(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<SyncLogParams>,
) -> Result<Json<SyncLogList>> {
    let (limit, cursor) = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    }
    .parse()?;
    let page = crate::sync_logs::list(
        &state.db,
        principal.company_id,
        params.resource_type.as_deref(),
        limit,
        cursor,
    )
    .await?;
    Ok(Json(SyncLogList {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}
