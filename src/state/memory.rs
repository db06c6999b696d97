use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::{StateResult, StateStore, Subscription};

/// How many messages a slow subscriber may fall behind before it skips some.
const CHANNEL_CAPACITY: usize = 1024;
/// Expired entries are swept every this many writes, so abandoned keys do not pile up.
const SWEEP_EVERY: u64 = 1024;

/// State kept in this process: correct for a single replica and for tests.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    values: HashMap<String, (Vec<u8>, Instant)>,
    channels: HashMap<String, broadcast::Sender<Bytes>>,
    writes: u64,
}

impl Inner {
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut (Vec<u8>, Instant)> {
        if self
            .values
            .get(key)
            .is_some_and(|(_, expires)| *expires <= now)
        {
            self.values.remove(key);
        }
        self.values.get_mut(key)
    }

    fn wrote(&mut self, now: Instant) {
        self.writes += 1;
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.values.retain(|_, (_, expires)| *expires > now);
            self.channels
                .retain(|_, sender| sender.receiver_count() > 0);
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the maps half-updated (every critical
        // section is a single map operation), so a poisoned lock is still safe to use.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl StateStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner
            .values
            .insert(key.to_owned(), (value.to_vec(), now + ttl));
        inner.wrote(now);
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.live(key, now).is_some() {
            return Ok(false);
        }
        inner
            .values
            .insert(key.to_owned(), (value.to_vec(), now + ttl));
        inner.wrote(now);
        Ok(true)
    }

    async fn extend_if_equal(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool> {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.live(key, now) {
            Some((held, expires)) if held == value => {
                *expires = now + ttl;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_if_equal(&self, key: &str, value: &[u8]) -> StateResult<bool> {
        let mut inner = self.lock();
        let held = inner
            .live(key, Instant::now())
            .is_some_and(|(held, _)| held == value);
        if held {
            inner.values.remove(key);
        }
        Ok(held)
    }

    async fn get(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        Ok(self
            .lock()
            .live(key, Instant::now())
            .map(|(v, _)| v.clone()))
    }

    async fn take(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        let mut inner = self.lock();
        let value = inner
            .live(key, Instant::now())
            .map(|(v, _)| std::mem::take(v));
        if value.is_some() {
            inner.values.remove(key);
        }
        Ok(value)
    }

    async fn delete(&self, key: &str) -> StateResult<bool> {
        let mut inner = self.lock();
        let existed = inner.live(key, Instant::now()).is_some();
        inner.values.remove(key);
        Ok(existed)
    }

    async fn increment(&self, key: &str, window: Duration) -> StateResult<i64> {
        let now = Instant::now();
        let mut inner = self.lock();
        let current = match inner.live(key, now) {
            Some((bytes, _)) => parse_counter(bytes),
            None => 0,
        };
        let next = current + 1;
        match inner.live(key, now) {
            Some(entry) => entry.0 = next.to_string().into_bytes(),
            None => {
                inner.values.insert(
                    key.to_owned(),
                    (next.to_string().into_bytes(), now + window),
                );
            }
        }
        inner.wrote(now);
        Ok(next)
    }

    async fn publish(&self, channel: &str, payload: &[u8]) -> StateResult<()> {
        if let Some(sender) = self.lock().channels.get(channel) {
            // No receivers is not an error: nobody is listening right now.
            let _ = sender.send(Bytes::copy_from_slice(payload));
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> StateResult<Subscription> {
        let receiver = self
            .lock()
            .channels
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        Ok(Box::pin(
            BroadcastStream::new(receiver).filter_map(|m| async move { m.ok() }),
        ))
    }

    async fn ping(&self) -> StateResult<()> {
        Ok(())
    }
}

fn parse_counter(bytes: &[u8]) -> i64 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
