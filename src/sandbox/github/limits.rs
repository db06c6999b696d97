//! The gate every token-authenticated REST call passes: the token, GitHub's primary rate limit
//! (5,000 requests an hour per user, whichever of the user's tokens makes them) and its headers,
//! forced secondary limits, and conditional requests (`ETag` / `If-None-Match`).
//!
//! References: https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
//! and https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
#![expect(
    clippy::result_large_err,
    reason = "early exits are whole HTTP responses, returned at once; boxing them adds noise only"
)]
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use super::{Caller, USER_ID, USER_LOGIN, api_error, presented_token};
use crate::sandbox::Sandbox;

/// "You can use a personal access token to make API requests. Additionally, you can authorize a
/// GitHub App or OAuth app, which can then make API requests on your behalf. All of these
/// requests count towards your personal rate limit of 5,000 requests per hour." One window per
/// user, shared by all of the user's tokens.
pub(super) const PRIMARY_LIMIT: u32 = 5_000;
const WINDOW_SECONDS: u64 = 3_600;
const LIMITS_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
const SECONDARY_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";
/// The largest answer the gate reads to hash for its `ETag`.
const MAX_HASHED_BODY: usize = 16 * 1024 * 1024;

/// One user's rate-limit window.
#[derive(Clone, Copy, Debug)]
struct Window {
    limit: u32,
    used: u32,
    /// UTC epoch seconds.
    reset: u64,
}

impl Window {
    fn fresh(now: u64) -> Self {
        Self {
            limit: PRIMARY_LIMIT,
            used: 0,
            reset: now + WINDOW_SECONDS,
        }
    }

    fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.used)
    }

    /// The headers of the rate-limit table: "x-ratelimit-limit", "-remaining", "-used",
    /// "-reset" ("in UTC epoch seconds") and "-resource" ("The rate limit resource that the
    /// request counted against"); REST calls count against `core`.
    fn headers(&self) -> [(HeaderName, HeaderValue); 5] {
        let number =
            |n: u64| HeaderValue::from_str(&n.to_string()).unwrap_or(HeaderValue::from_static("0"));
        [
            (
                HeaderName::from_static("x-ratelimit-limit"),
                number(self.limit.into()),
            ),
            (
                HeaderName::from_static("x-ratelimit-remaining"),
                number(self.remaining().into()),
            ),
            (
                HeaderName::from_static("x-ratelimit-used"),
                number(self.used.into()),
            ),
            (
                HeaderName::from_static("x-ratelimit-reset"),
                number(self.reset),
            ),
            (
                HeaderName::from_static("x-ratelimit-resource"),
                HeaderValue::from_static("core"),
            ),
        ]
    }
}

/// Forced secondary-limit answers (a sandbox control): the next `count` calls are refused.
#[derive(Clone, Copy, Debug, Default)]
struct Secondary {
    count: u32,
    status: u16,
    retry_after: Option<u64>,
}

#[derive(Default)]
pub(super) struct Limits {
    windows: Mutex<HashMap<String, Window>>,
    secondary: Mutex<Secondary>,
}

pub(super) fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Why a call was refused before it ran.
enum Refusal {
    Primary(Window),
    Secondary(Window, Secondary),
}

impl Limits {
    /// Counts one call against the user's window, unless the window is spent or a secondary
    /// limit is forced. A window whose reset time has passed starts afresh.
    fn take(&self, user: &str) -> Result<Window, Refusal> {
        let now = epoch_now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows
            .entry(user.to_owned())
            .or_insert_with(|| Window::fresh(now));
        if now >= window.reset {
            *window = Window::fresh(now);
        }
        // "If you exceed your primary rate limit, you will receive a `403` or `429` response,
        // and the `x-ratelimit-remaining` header will be `0`."
        if window.remaining() == 0 {
            return Err(Refusal::Primary(*window));
        }
        window.used += 1;
        let mut secondary = self.secondary.lock().unwrap_or_else(|p| p.into_inner());
        if secondary.count > 0 {
            secondary.count -= 1;
            return Err(Refusal::Secondary(*window, *secondary));
        }
        Ok(*window)
    }

    /// Gives back a counted call: "Making a conditional request does not count against your
    /// primary rate limit if a `304` response is returned."
    fn refund(&self, user: &str) -> Option<Window> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows.get_mut(user)?;
        window.used = window.used.saturating_sub(1);
        Some(*window)
    }

    /// Sandbox control: sets the remaining count (and the reset time, the limit) of these
    /// users' windows.
    pub(super) fn set(
        &self,
        users: &[&str],
        remaining: u32,
        reset: Option<u64>,
        limit: Option<u32>,
    ) {
        let now = epoch_now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        for user in users {
            let window = windows
                .entry((*user).to_owned())
                .or_insert_with(|| Window::fresh(now));
            if let Some(limit) = limit {
                window.limit = limit;
            }
            window.used = window.limit.saturating_sub(remaining);
            if let Some(reset) = reset {
                window.reset = reset;
            }
        }
    }

    /// Sandbox control: the next `count` calls answer `status` (403 or 429), with
    /// `retry-after` when given.
    pub(super) fn force_secondary(&self, count: u32, status: u16, retry_after: Option<u64>) {
        *self.secondary.lock().unwrap_or_else(|p| p.into_inner()) = Secondary {
            count,
            status,
            retry_after,
        };
    }
}

/// Puts `routes` behind the gate.
pub(super) fn gated(sandbox: Arc<Sandbox>, routes: Router<Arc<Sandbox>>) -> Router<Arc<Sandbox>> {
    routes.route_layer(axum::middleware::from_fn_with_state(sandbox, gate))
}

fn with_headers(mut response: Response, window: &Window) -> Response {
    response.headers_mut().extend(window.headers());
    response
}

/// The middleware: authenticates, counts, runs the route, and answers conditional GETs.
async fn gate(State(sandbox): State<Arc<Sandbox>>, mut request: Request, next: Next) -> Response {
    match admit(&sandbox, &mut request) {
        Ok(user) => answer(&sandbox, &user, request, next).await,
        Err(refused) => refused,
    }
}

/// The token and its user's limits; the caller's scopes go into the request's extensions.
fn admit(sandbox: &Sandbox, request: &mut Request) -> Result<String, Response> {
    let sim = &sandbox.github;
    // "Authenticating with invalid credentials will initially return a `401 Unauthorized`
    // response" (https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api);
    // the body is "Bad credentials" as on the former "Resources in the REST API" page.
    let Some(token) = presented_token(request.headers()).map(str::to_owned) else {
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            "https://docs.github.com/rest",
        ));
    };
    let Some(scope) = sim.lock().tokens.get(&token).cloned() else {
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "Bad credentials",
            "https://docs.github.com/rest",
        ));
    };
    request.extensions_mut().insert(Caller::new(&scope));
    // Every token is the sandbox user's.
    match sim.limits.take(USER_LOGIN) {
        Ok(_) => Ok(USER_LOGIN.to_owned()),
        Err(Refusal::Primary(window)) => Err(with_headers(
            api_error(
                StatusCode::FORBIDDEN,
                &format!("API rate limit exceeded for user ID {USER_ID}."),
                LIMITS_DOCS,
            ),
            &window,
        )),
        // "If you exceed a secondary rate limit, you will receive a `403` or `429` response and
        // an error message that indicates that you exceeded a secondary rate limit. If the
        // `retry-after` response header is present, you should not retry your request until
        // after that many seconds has elapsed."
        Err(Refusal::Secondary(window, secondary)) => {
            let status = StatusCode::from_u16(secondary.status).unwrap_or(StatusCode::FORBIDDEN);
            let mut response = with_headers(
                api_error(
                    status,
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                    SECONDARY_DOCS,
                ),
                &window,
            );
            if let Some(seconds) = secondary.retry_after
                && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Err(response)
        }
    }
}

/// Runs the route. A `200` to a GET carries an `ETag`; one that matches `If-None-Match` becomes
/// a bodiless `304` and the call is refunded. "Most endpoints return an `etag` header … If the
/// response has not changed, you will receive a `304 Not Modified` response."
async fn answer(sandbox: &Sandbox, user: &str, request: Request, next: Next) -> Response {
    let conditional = (request.method() == Method::GET)
        .then(|| if_none_match(request.headers()))
        .flatten();
    let is_get = request.method() == Method::GET;
    let response = next.run(request).await;
    let limits = &sandbox.github.limits;
    let counted = |response: Response| match limits.current(user) {
        Some(window) => with_headers(response, &window),
        None => response,
    };
    if !is_get || response.status() != StatusCode::OK {
        return counted(response);
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_HASHED_BODY).await else {
        return counted(api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server Error",
            "https://docs.github.com/rest",
        ));
    };
    let tag = etag(&bytes);
    if let Ok(value) = HeaderValue::from_str(&tag) {
        parts.headers.insert(header::ETAG, value);
    }
    if conditional.is_some_and(|tags| matches(&tags, &tag)) {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        if let Some(value) = parts.headers.get(header::ETAG).cloned() {
            not_modified.headers_mut().insert(header::ETAG, value);
        }
        return match limits.refund(user) {
            Some(window) => with_headers(not_modified, &window),
            None => not_modified,
        };
    }
    counted(Response::from_parts(parts, Body::from(bytes)))
}

impl Limits {
    fn current(&self, user: &str) -> Option<Window> {
        self.windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .copied()
    }
}

fn if_none_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A quoted hash of the body.
pub(super) fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` list names this tag (weak comparison, as RFC 9110 §13.1.2 has it
/// for `If-None-Match`), or is `*`.
fn matches(list: &str, tag: &str) -> bool {
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_the_wildcard() {
        let tag = etag(b"{}");
        assert!(matches(&tag, &tag));
        assert!(matches(&format!("\"other\", W/{tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"other\"", &tag));
    }

    #[test]
    fn a_spent_window_refuses_and_a_passed_reset_starts_afresh() {
        let limits = Limits::default();
        limits.set(&["u"], 1, None, None);
        assert!(limits.take("u").is_ok());
        assert!(matches!(limits.take("u"), Err(Refusal::Primary(w)) if w.remaining() == 0));
        limits.set(&["u"], 0, Some(epoch_now() - 1), None);
        let window = limits.take("u").ok().map(|w| w.remaining());
        assert_eq!(window, Some(PRIMARY_LIMIT - 1));
    }
}
