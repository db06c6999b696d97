//! Rate limits shared by every replica, kept in Redis and changed only by Lua scripts, so each
//! decision is one atomic step on one clock (Redis's `TIME`), whichever replica asks:
//!
//! - a **pacer** hands out slots at least `interval` apart (a global requests-per-second limit:
//!   at 1/interval, no window of a second ever holds more than one slot over that rate);
//! - a **bucket** follows what the platform said about a route — how many calls are left and
//!   when its window resets — and lets a call through only while one is left. A bucket nobody
//!   has heard of yet lets one call through at a time until an answer teaches it.
//!
//! Durations go in and out as microseconds (exact in Lua's doubles for centuries).
use std::time::Duration;

use redis::{Script, aio::ConnectionManager};

use super::StateResult;

/// Reserves the pacer's next slot. KEYS: pacer, pause. ARGV: interval µs, longest wait µs.
/// Returns the wait before the slot (µs), or -1 when that would be longer than the longest wait
/// (nothing is reserved then).
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
slot = math.max(slot, tonumber(redis.call('GET', KEYS[2]) or '0'))
local wait = slot - now
if wait > tonumber(ARGV[2]) then
  return -1
end
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', math.ceil((wait + interval) / 1000) + 1000)
return wait
";

/// No slot before `now + ARGV[1]` µs (a platform-wide pause). KEYS: pause.
const PAUSE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
";

/// Takes one call from a bucket. KEYS: bucket (hash), probe. ARGV: margin µs, probe ttl ms.
/// Returns 0 to go, or the wait (µs) before asking again.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local margin = tonumber(ARGV[1])
local b = redis.call('HMGET', KEYS[1], 'remaining', 'reset', 'limit', 'window')
local remaining, reset, limit, window = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), tonumber(b[4])
if reset == nil then
  -- Unknown: one call at a time until an answer says what the bucket allows.
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
    return 0
  end
  return 50000
end
if now >= reset then
  -- The window is over: a new one starts with this call, as the platform starts it.
  redis.call('HSET', KEYS[1], 'remaining', limit - 1, 'reset', string.format('%.0f', now + window + margin))
  redis.call('PEXPIRE', KEYS[1], math.ceil((window + margin) / 1000) + 60000)
  return 0
end
if remaining > 0 then
  redis.call('HINCRBY', KEYS[1], 'remaining', -1)
  return 0
end
return math.max(reset - now, 1000)
";

/// What an answer said about its bucket. KEYS: bucket, probe. ARGV: limit, remaining, reset
/// after (µs), margin (µs). Within the window already known, the fewer calls left wins (answers
/// arrive out of order); a window that is over gives way to the one the answer describes.
const LEARN: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, remaining, after, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 'remaining', 'reset', 'window')
local known, reset, window = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])
local answered = now + after + margin
if reset ~= nil and now < reset then
  remaining = math.min(remaining, known)
  answered = math.max(answered, reset)
end
window = math.max(window or 0, after)
redis.call('HSET', KEYS[1], 'remaining', remaining, 'reset', string.format('%.0f', answered), 'limit', limit, 'window', string.format('%.0f', window))
redis.call('PEXPIRE', KEYS[1], math.ceil((answered - now) / 1000) + 60000)
redis.call('DEL', KEYS[2])
return 0
";

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn from_micros(value: i64) -> Duration {
    Duration::from_micros(u64::try_from(value).unwrap_or(0))
}

/// What a platform's answer said about a route's bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketState {
    pub limit: u32,
    pub remaining: u32,
    /// How long until the window resets.
    pub reset_after: Duration,
}

/// The shared limits of one Redis namespace. Cheap to clone.
#[derive(Clone)]
pub struct SharedLimits {
    conn: ConnectionManager,
    namespace: String,
}

impl SharedLimits {
    pub(super) fn new(conn: ConnectionManager, namespace: String) -> Self {
        Self { conn, namespace }
    }

    fn key(&self, kind: &str, key: &str) -> String {
        format!("{}limits:{kind}:{key}", self.namespace)
    }

    /// Reserves the next slot of pacer `key` (slots `interval` apart, none during a pause);
    /// `Some(wait)` before it may be used, `None` when it is further away than `longest`.
    pub async fn reserve(
        &self,
        key: &str,
        interval: Duration,
        longest: Duration,
    ) -> StateResult<Option<Duration>> {
        let wait: i64 = Script::new(RESERVE)
            .key(self.key("pacer", key))
            .key(self.key("pause", key))
            .arg(micros(interval))
            .arg(micros(longest))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok((wait >= 0).then(|| from_micros(wait)))
    }

    /// Pacer `key` hands out no slot for `duration` from now.
    pub async fn pause(&self, key: &str, duration: Duration) -> StateResult<()> {
        let _: i64 = Script::new(PAUSE)
            .key(self.key("pause", key))
            .arg(micros(duration))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Takes a call from bucket `key`: `Duration::ZERO` to go now, else how long to wait before
    /// asking again. `margin` is added to every window the bucket starts by itself, for the
    /// time a call takes to reach the platform (whose window starts when it arrives).
    pub async fn take(&self, key: &str, margin: Duration) -> StateResult<Duration> {
        let wait: i64 = Script::new(TAKE)
            .key(self.key("bucket", key))
            .key(self.key("probe", key))
            .arg(micros(margin))
            .arg(PROBE_TTL_MS)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(from_micros(wait))
    }

    /// Records what an answer said about bucket `key`.
    pub async fn learn(&self, key: &str, state: BucketState, margin: Duration) -> StateResult<()> {
        let _: i64 = Script::new(LEARN)
            .key(self.key("bucket", key))
            .key(self.key("probe", key))
            .arg(state.limit)
            .arg(state.remaining)
            .arg(micros(state.reset_after))
            .arg(micros(margin))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// An unknown bucket's call ended without teaching anything (no answer, no headers): the
    /// next call may probe.
    pub async fn forget_probe(&self, key: &str) -> StateResult<()> {
        let _: i64 = redis::cmd("DEL")
            .arg(self.key("probe", key))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}

/// How long one call may hold an unknown bucket's probe when it never reports back.
const PROBE_TTL_MS: u64 = 2_000;
