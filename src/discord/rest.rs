//! The one Discord REST client: reqwest for HTTP, serenity's model types for bodies, and
//! twilight-http-ratelimiting pacing every call from Discord's own rate-limit headers.
//!
//! serenity's `Http` is not used for REST: with its rate limiter on it ignores the configured
//! base URL, and it drops response headers on errors, losing `retry_after` and the buckets.
use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde::{Serialize, de::DeserializeOwned};
use serenity::model::{
    channel::{GuildChannel, Message},
    gateway::BotGateway,
    guild::{Member, PartialGuild},
    user::CurrentUser,
};
use twilight_http_ratelimiting::{Endpoint, RateLimitHeaders, RateLimiter};

use super::model::{
    Channel, ChannelEdit, Guild, Inbound, NewChannel, NewMessage, Overwrite, Posted, Snowflake,
    Source, snowflake,
};
use crate::{
    config::Secret,
    metrics::Metrics,
    state::limits::{BucketState, SharedLimits},
};

/// Discord bans an IP for an hour after 10,000 invalid requests (401, 403, 429) in 10 minutes.
const INVALID_WINDOW: Duration = Duration::from_secs(600);
/// Calls pause well before that: at this many invalid requests in the window.
pub const INVALID_REQUEST_BUDGET: usize = 5_000;
/// A request that still meets a 429 is retried this many times after waiting `retry_after`.
const MAX_RATE_LIMIT_RETRIES: u32 = 3;
/// Every call has an outer deadline, covering rate-limit waits and the request itself.
pub const CALL_TIMEOUT: Duration = crate::config::DISCORD_CALL_TIMEOUT;
/// Replicas sharing limits pace the bot's calls at this share of its global limit (48 a second
/// of 50), so that no second holds more than the limit even when calls reach Discord a little
/// out of step.
const SHARED_GLOBAL_SHARE: f64 = 0.96;
/// The pacer for the bot's global limit.
const GLOBAL_PACER: &str = "discord:global";
/// A call does not queue for a global slot further away than this; it asks again later.
const LONGEST_GLOBAL_QUEUE: Duration = Duration::from_secs(5);
/// A bucket's window, as a replica starts it, ends this much later than Discord's (which starts
/// when the call arrives).
const WINDOW_MARGIN: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// Discord answered with an error: its status, JSON error `code` and message.
    #[error("Discord answered {status}: {message} (code {code})")]
    Api {
        status: u16,
        code: u64,
        message: String,
    },
    /// Still rate limited after retrying; try again after `retry_after`.
    #[error("Discord rate limited the call (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration, global: bool },
    /// Too many invalid requests lately: calls pause to stay clear of Discord's ban.
    #[error("paused: {count} invalid Discord requests in the last 10 minutes")]
    InvalidRequestBudget { count: usize },
    #[error("Discord did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Discord could not be reached: {0}")]
    Transport(String),
    #[error("Discord's answer was not understood: {0}")]
    Decode(String),
}

impl DiscordError {
    /// Client errors other than 429 are not worth retrying: the same request fails the same
    /// way (and 401, 403 and 404 count toward Discord's invalid-request ban).
    pub fn is_permanent(&self) -> bool {
        matches!(self, DiscordError::Api { status, .. } if (400..500).contains(status) && *status != 429)
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            DiscordError::Api { status, .. } => Some(*status),
            DiscordError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// When a retry may succeed, the earliest moment to try.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DiscordError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct CallLabels {
    method: String,
    /// The route with ids replaced (`channels/{id}/messages`).
    route: String,
    status: String,
}

struct DiscordMetrics {
    calls: Family<CallLabels, Counter>,
    rate_limited: Counter,
    invalid_requests: Gauge,
}

pub struct DiscordRest {
    http: reqwest::Client,
    /// `{DISCORD_API_BASE}/api/v10`
    base: String,
    token: Secret<String>,
    limiter: RateLimiter,
    /// The gap between two slots of the shared global pacer.
    global_interval: Duration,
    /// With Redis: the bot's global limit and every route's bucket, shared by all replicas
    /// (instead of `limiter`, which knows only this process's calls).
    shared: Option<SharedLimits>,
    /// Set by a global 429: no call starts before this.
    global_pause_until: Mutex<Option<Instant>>,
    invalid: Mutex<VecDeque<Instant>>,
    metrics: DiscordMetrics,
    timeout: Duration,
    bot_user_id: tokio::sync::OnceCell<Snowflake>,
}

/// The rate-limit headers of a response, as twilight wants them.
fn rate_limit_headers(headers: &HeaderMap) -> Option<RateLimitHeaders> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let bucket = text(RateLimitHeaders::BUCKET)?.as_bytes().to_vec();
    let limit = text(RateLimitHeaders::LIMIT)?.parse().ok()?;
    let remaining = text(RateLimitHeaders::REMAINING)?.parse().ok()?;
    let reset_after: f64 = text(RateLimitHeaders::RESET_AFTER)?.parse().ok()?;
    let reset_at = Instant::now() + Duration::try_from_secs_f64(reset_after.max(0.0)).ok()?;
    Some(RateLimitHeaders {
        bucket,
        limit,
        remaining,
        reset_at,
    })
}

/// `channels/123/messages/456` → `channels/{id}/messages/{id}`, for metrics.
fn route_template(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The gap between the shared pacer's slots for a global limit of `limit` calls a second.
fn shared_interval(limit: u16) -> Duration {
    Duration::from_secs_f64(1.0 / (f64::from(limit.max(1)) * SHARED_GLOBAL_SHARE))
}

/// The shared bucket a call counts against: its method and route, and the top-level resource
/// the route belongs to (a channel, a guild or a webhook), as Discord keys its buckets.
fn bucket_key(method: &Method, path: &str) -> String {
    let mut parts = path.split('/');
    let major = match (parts.next(), parts.next()) {
        (Some(kind @ ("channels" | "guilds" | "webhooks")), Some(id)) => format!("{kind}/{id}"),
        _ => String::new(),
    };
    format!("{method} {} {major}", route_template(path))
}

/// What Discord's `X-RateLimit-*` headers say about the call's bucket.
fn bucket_state(headers: &HeaderMap) -> Option<BucketState> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let reset_after: f64 = text("x-ratelimit-reset-after")?.parse().ok()?;
    Some(BucketState {
        limit: text("x-ratelimit-limit")?.parse().ok()?,
        remaining: text("x-ratelimit-remaining")?.parse().ok()?,
        reset_after: Duration::try_from_secs_f64(reset_after.max(0.0)).ok()?,
    })
}

fn limiter_method(method: &Method) -> twilight_http_ratelimiting::Method {
    use twilight_http_ratelimiting::Method as M;
    match *method {
        Method::DELETE => M::Delete,
        Method::PATCH => M::Patch,
        Method::POST => M::Post,
        Method::PUT => M::Put,
        _ => M::Get,
    }
}

impl DiscordRest {
    pub fn new(
        http: reqwest::Client,
        api_base: &url::Url,
        token: Secret<String>,
        metrics: &Metrics,
    ) -> Self {
        let discord_metrics = DiscordMetrics {
            calls: Family::default(),
            rate_limited: Counter::default(),
            invalid_requests: Gauge::default(),
        };
        metrics.with_registry(|registry| {
            registry.register("discord_calls", "Discord REST calls by route and status", discord_metrics.calls.clone());
            registry.register("discord_rate_limited", "Discord 429 answers received", discord_metrics.rate_limited.clone());
            registry.register(
                "discord_invalid_requests_10m",
                "Invalid Discord requests (401, 403, 429) in the last 10 minutes; calls pause at the budget",
                discord_metrics.invalid_requests.clone(),
            );
        });
        Self {
            http,
            base: format!("{}/api/v10", api_base.as_str().trim_end_matches('/')),
            token,
            limiter: RateLimiter::new(crate::config::DISCORD_GLOBAL_LIMIT),
            global_interval: shared_interval(crate::config::DISCORD_GLOBAL_LIMIT),
            shared: None,
            global_pause_until: Mutex::new(None),
            invalid: Mutex::new(VecDeque::new()),
            metrics: discord_metrics,
            timeout: CALL_TIMEOUT,
            bot_user_id: tokio::sync::OnceCell::new(),
        }
    }

    /// The bot's global limit, calls per second (Discord's 50 unless it granted more).
    pub fn with_global_limit(mut self, limit: u16) -> Self {
        self.limiter = RateLimiter::new(limit);
        self.global_interval = shared_interval(limit);
        self
    }

    /// Paces calls by limits shared with every replica (Redis) instead of this process's own.
    pub fn with_shared_limits(mut self, shared: Option<SharedLimits>) -> Self {
        self.shared = shared;
        self
    }

    /// Waits for the call's turn under the shared limits: a call from its route's bucket, then
    /// a slot of the bot's global limit. `false` when Redis could not be asked: the call is
    /// then paced by this process's limiter alone.
    async fn shared_turn(&self, shared: &SharedLimits, bucket: &str) -> bool {
        loop {
            match shared.take(bucket, WINDOW_MARGIN).await {
                Ok(wait) if wait.is_zero() => break,
                Ok(wait) => tokio::time::sleep(wait).await,
                Err(err) => {
                    tracing::warn!(error = %err, "shared Discord rate limits unavailable; pacing this replica alone");
                    return false;
                }
            }
        }
        loop {
            match shared
                .reserve(GLOBAL_PACER, self.global_interval, LONGEST_GLOBAL_QUEUE)
                .await
            {
                Ok(Some(wait)) => {
                    tokio::time::sleep(wait).await;
                    return true;
                }
                Ok(None) => tokio::time::sleep(LONGEST_GLOBAL_QUEUE / 2).await,
                Err(err) => {
                    tracing::warn!(error = %err, "shared Discord rate limits unavailable; pacing this replica alone");
                    return false;
                }
            }
        }
    }

    /// Tells the shared limits what Discord's answer said: the bucket's state from its headers,
    /// a route's 429 (nothing left until `retry_after`), or a global 429 (every replica pauses).
    async fn shared_learn(
        &self,
        shared: &SharedLimits,
        bucket: &str,
        headers: &HeaderMap,
        limited: Option<(Duration, bool)>,
    ) {
        let result = match (limited, bucket_state(headers)) {
            (Some((retry_after, true)), _) => shared.pause(GLOBAL_PACER, retry_after).await,
            (Some((retry_after, false)), state) => {
                let state = state.unwrap_or(BucketState {
                    limit: 1,
                    remaining: 0,
                    reset_after: retry_after,
                });
                let state = BucketState {
                    remaining: 0,
                    reset_after: state.reset_after.max(retry_after),
                    ..state
                };
                shared.learn(bucket, state, WINDOW_MARGIN).await
            }
            (None, Some(state)) => shared.learn(bucket, state, WINDOW_MARGIN).await,
            (None, None) => shared.forget_probe(bucket).await,
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "could not record Discord's rate limits in Redis");
        }
    }

    /// A different outer deadline per call (tests, benchmarks).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Invalid requests (401, 403, 429) in the last 10 minutes.
    pub fn invalid_requests(&self) -> usize {
        let mut invalid = self.invalid.lock().unwrap_or_else(|p| p.into_inner());
        let cutoff = Instant::now().checked_sub(INVALID_WINDOW);
        while invalid.front().is_some_and(|t| Some(*t) < cutoff) {
            invalid.pop_front();
        }
        self.metrics
            .invalid_requests
            .set(i64::try_from(invalid.len()).unwrap_or(i64::MAX));
        invalid.len()
    }

    fn count_invalid(&self) {
        self.invalid
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Instant::now());
        self.invalid_requests();
    }

    fn user_agent() -> String {
        // Discord requires `DiscordBot ($url, $versionNumber)` on every call.
        format!(
            "DiscordBot (https://github.com/switchboard, {})",
            env!("CARGO_PKG_VERSION")
        )
    }

    async fn wait_global_pause(&self) {
        let until = *self
            .global_pause_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
    }

    /// Sends one call: `path` is relative to `/api/v10`, without a leading slash.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
    ) -> Result<T, DiscordError> {
        match tokio::time::timeout(self.timeout, self.call_inner(method, path, "", body)).await {
            Ok(result) => result,
            Err(_) => Err(DiscordError::Timeout(self.timeout)),
        }
    }

    /// A GET with a query string; `path` stays the bare rate-limit endpoint.
    pub async fn call_query<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &str,
    ) -> Result<T, DiscordError> {
        match tokio::time::timeout(
            self.timeout,
            self.call_inner(method, path, query, None::<&()>),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(DiscordError::Timeout(self.timeout)),
        }
    }

    async fn call_inner<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<&(impl Serialize + Sync)>,
    ) -> Result<T, DiscordError> {
        let route = route_template(path);
        let bucket = bucket_key(&method, path);
        let mut attempt = 0;
        loop {
            let invalid = self.invalid_requests();
            if invalid >= INVALID_REQUEST_BUDGET {
                return Err(DiscordError::InvalidRequestBudget { count: invalid });
            }
            self.wait_global_pause().await;
            let shared = match &self.shared {
                Some(shared) if self.shared_turn(shared, &bucket).await => Some(shared),
                _ => None,
            };
            let permit = match shared {
                Some(_) => None,
                None => Some(
                    self.limiter
                        .acquire(Endpoint {
                            method: limiter_method(&method),
                            path: path.to_owned(),
                        })
                        .await,
                ),
            };
            let mut request = self
                .http
                .request(
                    method.clone(),
                    if query.is_empty() {
                        format!("{}/{path}", self.base)
                    } else {
                        format!("{}/{path}?{query}", self.base)
                    },
                )
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!("Bot {}", self.token.expose()),
                )
                .header(reqwest::header::USER_AGENT, Self::user_agent());
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(err) => {
                    // No answer: the permit is released without learning anything.
                    drop(permit);
                    if let Some(shared) = shared {
                        self.shared_learn(shared, &bucket, &HeaderMap::new(), None)
                            .await;
                    }
                    return Err(if err.is_timeout() {
                        DiscordError::Timeout(self.timeout)
                    } else {
                        DiscordError::Transport(err.without_url().to_string())
                    });
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            self.metrics
                .calls
                .get_or_create(&CallLabels {
                    method: method.to_string(),
                    route: route.clone(),
                    status: status.as_u16().to_string(),
                })
                .inc();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| DiscordError::Transport(e.without_url().to_string()))?;

            if status == StatusCode::TOO_MANY_REQUESTS {
                self.metrics.rate_limited.inc();
                let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                let retry_after = body
                    .get("retry_after")
                    .and_then(serde_json::Value::as_f64)
                    .or_else(|| {
                        headers
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok())
                    })
                    .and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok())
                    .unwrap_or(Duration::from_secs(1));
                let scope = headers
                    .get("x-ratelimit-scope")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("user");
                let global = body
                    .get("global")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false)
                    || scope == "global";
                // Shared-resource limits do not count toward the invalid-request ban.
                if scope != "shared" {
                    self.count_invalid();
                }
                if let Some(shared) = shared {
                    self.shared_learn(shared, &bucket, &headers, Some((retry_after, global)))
                        .await;
                }
                if global {
                    *self
                        .global_pause_until
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + retry_after);
                    if let Some(permit) = permit {
                        permit.complete(None);
                    }
                } else if let Some(permit) = permit {
                    let learned_bucket = headers
                        .get(RateLimitHeaders::BUCKET)
                        .map(|b| b.as_bytes().to_vec())
                        .unwrap_or_else(|| route.clone().into_bytes());
                    // Exhausted until exactly `retry_after` (twilight: a zero limit marks the
                    // bucket exhausted until `reset_at`), not rounded to whole seconds.
                    permit.complete(Some(rate_limit_headers(&headers).map_or_else(
                        || RateLimitHeaders {
                            bucket: learned_bucket.clone(),
                            limit: 0,
                            remaining: 0,
                            reset_at: Instant::now() + retry_after,
                        },
                        |mut h| {
                            h.remaining = 0;
                            h.reset_at = h.reset_at.max(Instant::now() + retry_after);
                            h
                        },
                    )));
                }
                tracing::warn!(discord.route = %route, ?retry_after, global, scope, "Discord rate limited a call");
                attempt += 1;
                if attempt > MAX_RATE_LIMIT_RETRIES {
                    return Err(DiscordError::RateLimited {
                        retry_after,
                        global,
                    });
                }
                tokio::time::sleep(retry_after).await;
                continue;
            }

            match (permit, shared) {
                (Some(permit), _) => permit.complete(rate_limit_headers(&headers)),
                (None, Some(shared)) => {
                    self.shared_learn(shared, &bucket, &headers, None).await;
                }
                (None, None) => {}
            }
            if status.is_success() {
                let bytes = if bytes.is_empty() || status == StatusCode::NO_CONTENT {
                    &b"null"[..]
                } else {
                    &bytes[..]
                };
                return serde_json::from_slice(bytes)
                    .map_err(|e| DiscordError::Decode(e.to_string()));
            }
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                self.count_invalid();
            }
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            return Err(DiscordError::Api {
                status: status.as_u16(),
                code: body
                    .get("code")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0),
                message: body
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_owned(),
            });
        }
    }

    /// The bot's own user id, asked once.
    pub async fn bot_user_id(&self) -> Result<Snowflake, DiscordError> {
        self.bot_user_id
            .get_or_try_init(|| async { Ok(snowflake(self.current_user().await?.id)) })
            .await
            .copied()
    }

    pub async fn gateway_bot(&self) -> Result<BotGateway, DiscordError> {
        self.call(Method::GET, "gateway/bot", None::<&()>).await
    }

    pub async fn current_user(&self) -> Result<CurrentUser, DiscordError> {
        self.call(Method::GET, "users/@me", None::<&()>).await
    }

    pub async fn guild(&self, guild_id: Snowflake) -> Result<Guild, DiscordError> {
        self.call::<PartialGuild>(Method::GET, &format!("guilds/{guild_id}"), None::<&()>)
            .await
            .map(Guild::from)
    }

    pub async fn guild_channels(&self, guild_id: Snowflake) -> Result<Vec<Channel>, DiscordError> {
        let channels: Vec<GuildChannel> = self
            .call(
                Method::GET,
                &format!("guilds/{guild_id}/channels"),
                None::<&()>,
            )
            .await?;
        Ok(channels.into_iter().map(Channel::from).collect())
    }

    pub async fn create_guild_channel(
        &self,
        guild_id: Snowflake,
        channel: &NewChannel,
    ) -> Result<Channel, DiscordError> {
        self.call::<GuildChannel>(
            Method::POST,
            &format!("guilds/{guild_id}/channels"),
            Some(&channel.to_builder()),
        )
        .await
        .map(Channel::from)
    }

    pub async fn channel(&self, channel_id: Snowflake) -> Result<Channel, DiscordError> {
        self.call::<GuildChannel>(Method::GET, &format!("channels/{channel_id}"), None::<&()>)
            .await
            .map(Channel::from)
    }

    pub async fn edit_channel(
        &self,
        channel_id: Snowflake,
        edit: &ChannelEdit,
    ) -> Result<Channel, DiscordError> {
        self.call::<GuildChannel>(
            Method::PATCH,
            &format!("channels/{channel_id}"),
            Some(&edit.to_builder()),
        )
        .await
        .map(Channel::from)
    }

    pub async fn delete_channel(&self, channel_id: Snowflake) -> Result<Channel, DiscordError> {
        self.call::<GuildChannel>(
            Method::DELETE,
            &format!("channels/{channel_id}"),
            None::<&()>,
        )
        .await
        .map(Channel::from)
    }

    /// Creates or replaces one permission overwrite; the bitfields are sent as strings, as
    /// Discord's documentation has them.
    pub async fn put_overwrite(
        &self,
        channel_id: Snowflake,
        overwrite: Overwrite,
    ) -> Result<(), DiscordError> {
        let body = serde_json::json!({
            "type": overwrite.target.kind(),
            "allow": overwrite.allow.to_string(),
            "deny": overwrite.deny.to_string(),
        });
        self.call::<serde_json::Value>(
            Method::PUT,
            &format!(
                "channels/{channel_id}/permissions/{}",
                overwrite.target.id()
            ),
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    pub async fn delete_overwrite(
        &self,
        channel_id: Snowflake,
        target_id: Snowflake,
    ) -> Result<(), DiscordError> {
        self.call::<serde_json::Value>(
            Method::DELETE,
            &format!("channels/{channel_id}/permissions/{target_id}"),
            None::<&()>,
        )
        .await
        .map(|_| ())
    }

    pub async fn create_message(
        &self,
        channel_id: Snowflake,
        message: &NewMessage,
    ) -> Result<Posted, DiscordError> {
        self.call::<Message>(
            Method::POST,
            &format!("channels/{channel_id}/messages"),
            Some(&message.to_builder()),
        )
        .await
        .map(Posted::from)
    }

    /// Up to `limit` (1–100) messages after `after`, newest first, as Discord answers. The
    /// query is not part of the rate-limit endpoint (twilight wants the bare path).
    pub async fn messages_after(
        &self,
        channel_id: Snowflake,
        after: u64,
        limit: u8,
    ) -> Result<Vec<Inbound>, DiscordError> {
        let page: Vec<Message> = self
            .call_query(
                Method::GET,
                &format!("channels/{channel_id}/messages"),
                &format!("after={after}&limit={limit}"),
            )
            .await?;
        Ok(page
            .iter()
            .map(|m| Inbound::from_message(m, Source::Catchup))
            .collect())
    }

    /// Leave Guild (`DELETE /users/@me/guilds/{guild.id}`): the bot leaves the server.
    pub async fn leave_guild(&self, guild_id: Snowflake) -> Result<(), DiscordError> {
        self.call::<serde_json::Value>(
            Method::DELETE,
            &format!("users/@me/guilds/{guild_id}"),
            None::<&()>,
        )
        .await
        .map(|_| ())
    }

    pub async fn guild_member(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Member, DiscordError> {
        self.call(
            Method::GET,
            &format!("guilds/{guild_id}/members/{user_id}"),
            None::<&()>,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_templates_hide_ids() {
        assert_eq!(
            route_template("channels/123/messages/456"),
            "channels/{id}/messages/{id}"
        );
        assert_eq!(route_template("users/@me"), "users/@me");
    }

    #[test]
    fn shared_buckets_are_per_route_and_top_level_resource() {
        assert_eq!(
            bucket_key(&Method::POST, "channels/123/messages"),
            "POST channels/{id}/messages channels/123"
        );
        assert_ne!(
            bucket_key(&Method::POST, "channels/123/messages"),
            bucket_key(&Method::POST, "channels/456/messages")
        );
        assert_eq!(bucket_key(&Method::GET, "users/@me"), "GET users/@me ");
        let mut headers = HeaderMap::new();
        assert_eq!(bucket_state(&headers), None);
        headers.insert("x-ratelimit-limit", "5".parse().expect("value"));
        headers.insert("x-ratelimit-remaining", "4".parse().expect("value"));
        headers.insert("x-ratelimit-reset-after", "4.75".parse().expect("value"));
        assert_eq!(
            bucket_state(&headers),
            Some(BucketState {
                limit: 5,
                remaining: 4,
                reset_after: Duration::from_millis(4750),
            })
        );
    }

    #[test]
    fn rate_limit_headers_are_read_as_discord_sends_them() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-bucket", "abcd".parse().expect("value"));
        headers.insert("x-ratelimit-limit", "5".parse().expect("value"));
        headers.insert("x-ratelimit-remaining", "0".parse().expect("value"));
        headers.insert("x-ratelimit-reset-after", "1.25".parse().expect("value"));
        let parsed = rate_limit_headers(&headers).expect("parsed");
        assert_eq!(
            (parsed.bucket.as_slice(), parsed.limit, parsed.remaining),
            (&b"abcd"[..], 5, 0)
        );
        assert!(parsed.reset_at > Instant::now() + Duration::from_millis(1000));
    }

    #[test]
    fn client_errors_but_429_are_permanent() {
        let api = |status| DiscordError::Api {
            status,
            code: 0,
            message: String::new(),
        };
        assert!(api(403).is_permanent() && api(404).is_permanent() && api(401).is_permanent());
        assert!(api(400).is_permanent());
        assert!(!api(429).is_permanent() && !api(500).is_permanent());
        assert!(!DiscordError::Timeout(CALL_TIMEOUT).is_permanent());
    }
}
