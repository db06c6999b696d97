//! The one place routes are wired, and the middleware every request passes through.
use std::time::Duration;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, Request, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use super::{app, problem, routes};
use crate::{
    error::Error,
    http::{AppState, openapi::ApiDoc},
    metrics,
};

pub const SESSION_COOKIE: &str = "sb_session";
/// Large enough for any request this API accepts (a message is at most 2,000 characters).
const BODY_LIMIT: usize = 256 * 1024;
const SESSION_INACTIVITY: time::Duration = time::Duration::days(7);

/// Every documented route. `openapi::spec()` reads the docs from the same value.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .nest(
            "/api",
            OpenApiRouter::new()
                .merge(routes::auth::router())
                .merge(routes::companies::router())
                .merge(routes::api_keys::router())
                .merge(routes::leads::router())
                .merge(routes::integrations::router())
                .merge(routes::channels::router())
                .merge(routes::messages::router())
                .merge(routes::audit::router())
                .merge(routes::events::router())
                .merge(routes::github::router())
                .merge(routes::webhook_endpoints::router())
                .merge(routes::routing::router())
                .merge(routes::config::router())
                .merge(routes::sandbox::router()),
        )
}

pub fn build(state: AppState) -> Router {
    let (router, doc) = api().split_for_parts();
    let doc = super::openapi::finish(doc);

    let sessions = SessionManagerLayer::new(state.sessions.clone())
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(SESSION_INACTIVITY));

    let cors = CorsLayer::new()
        // A list, not `exact`: other origins get no CORS headers at all.
        .allow_origin(AllowOrigin::list(
            HeaderValue::from_str(&state.settings.frontend_origin()).ok(),
        ))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("last-event-id"),
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(Duration::from_secs(600));

    let x_api_key = HeaderName::from_static("x-api-key");
    let middleware = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            x_api_key,
        ]))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let request_id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id,
                        company.id = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(cors)
        .layer(CatchPanicLayer::custom(on_panic))
        .layer(middleware::map_response(problem::normalize))
        .layer(middleware::map_response_with_state(
            state.settings.secure_cookies(),
            security_headers,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.settings.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(sessions);

    // The simulators exist only in sandbox mode, and are not part of the documented API.
    let router = match &state.sandbox {
        Some(sandbox) => router.merge(crate::sandbox::router(sandbox.clone())),
        None => router,
    };
    router
        .merge(
            SwaggerUi::new("/docs")
                .external_url_unchecked("/openapi.json", super::openapi::document(doc)),
        )
        .route("/metrics", axum::routing::get(routes::health::metrics))
        // Everything else is the web app's (or a problem+json 404).
        .fallback(app::serve)
        .route_layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            track_metrics,
        ))
        .layer(middleware)
        .with_state(state)
}

/// The content security policy of HTML pages that set none of their own (the API docs, the
/// simulators' pages): everything from this origin only, no framing, no plugins.
const PAGE_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
    script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers every response carries (OWASP's HTTP headers guidance), unless the response set its
/// own: no MIME sniffing, no referrer, and for HTML a content security policy; HSTS when the
/// service is reached over HTTPS.
async fn security_headers(
    axum::extract::State(https): axum::extract::State<bool>,
    mut response: Response,
) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    if is_html {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(PAGE_CSP));
        headers
            .entry(header::X_FRAME_OPTIONS)
            .or_insert(HeaderValue::from_static("DENY"));
    }
    if https {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(
                "max-age=31536000; includeSubDomains",
            ));
    }
    response
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Error::internal(anyhow::anyhow!("handler panicked")).into_response()
}

/// Counts every answered request in the metrics, by route template.
async fn track_metrics(
    axum::extract::State(metrics): axum::extract::State<std::sync::Arc<metrics::Metrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe_request(method, route, response.status().as_u16(), started.elapsed());
    response
}
