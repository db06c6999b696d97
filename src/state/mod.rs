//! Short-lived shared state: OAuth states, idempotency locks, counters and event fan-out.
//!
//! One small trait with two implementations: Redis when `REDIS_URL` is set (required for more
//! than one replica), in-process otherwise. Both pass the same test suite.
pub mod limits;
mod memory;
mod redis;

use std::{pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use futures::Stream;

pub use self::{memory::MemoryStore, redis::RedisStore};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("state store: {0}")]
    Other(String),
}

pub type StateResult<T> = Result<T, StateError>;

/// A live subscription to one channel; messages published after `subscribe` returned arrive in
/// order. A subscriber that falls far behind skips messages rather than blocking publishers, so
/// consumers that must not miss anything replay from the database (events carry ids).
pub type Subscription = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

#[async_trait::async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// `redis` or `memory`, for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Stores `value` under `key` for `ttl`, replacing what was there.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()>;

    /// Stores `value` only when `key` is absent; `true` when it was stored.
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool>;

    async fn get(&self, key: &str) -> StateResult<Option<Vec<u8>>>;

    /// Renews `key` for `ttl` only while it still holds `value` (a lease kept by its owner);
    /// `false` when the lease expired or someone else holds it.
    async fn extend_if_equal(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool>;

    /// Deletes `key` only while it holds `value` (an owner releasing its lease).
    async fn delete_if_equal(&self, key: &str, value: &[u8]) -> StateResult<bool>;

    /// Atomically reads and deletes `key`: of several concurrent callers, exactly one gets it.
    async fn take(&self, key: &str) -> StateResult<Option<Vec<u8>>>;

    /// `true` when something was deleted.
    async fn delete(&self, key: &str) -> StateResult<bool>;

    /// Adds one to a counter and returns the new value; the first increment starts a window of
    /// `window` after which the counter disappears.
    async fn increment(&self, key: &str, window: Duration) -> StateResult<i64>;

    async fn publish(&self, channel: &str, payload: &[u8]) -> StateResult<()>;

    async fn subscribe(&self, channel: &str) -> StateResult<Subscription>;

    /// Reachability, for `/readyz`.
    async fn ping(&self) -> StateResult<()>;

    /// Rate limits shared by every replica; `None` when state is kept in this process (one
    /// replica, whose own limiter knows every call).
    fn shared_limits(&self) -> Option<limits::SharedLimits> {
        None
    }
}

pub type SharedState = Arc<dyn StateStore>;

/// Connects to Redis when a URL is given, otherwise keeps state in this process.
pub async fn connect(redis_url: Option<&str>, namespace: &str) -> StateResult<SharedState> {
    Ok(match redis_url {
        Some(url) => Arc::new(RedisStore::connect(url, namespace).await?),
        None => Arc::new(MemoryStore::new()),
    })
}
