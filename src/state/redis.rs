use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use futures::StreamExt;
use redis::{AsyncCommands, aio::ConnectionManager};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_stream::wrappers::BroadcastStream;

use super::{StateError, StateResult, StateStore, Subscription};

const CHANNEL_CAPACITY: usize = 1024;

/// State shared by every replica through Redis. Keys and channels are prefixed with a namespace
/// so several deployments (or test runs) can share one server.
pub struct RedisStore {
    conn: ConnectionManager,
    namespace: String,
    fanout: Arc<Fanout>,
}

/// One Redis pub/sub connection per process, fanned out to local subscribers, instead of one
/// connection per SSE client.
struct Fanout {
    channels: Mutex<HashMap<String, broadcast::Sender<Bytes>>>,
    subscribe_requests: mpsc::UnboundedSender<SubscribeRequest>,
}

/// A channel to subscribe to, answered once the server has confirmed the subscription.
struct SubscribeRequest {
    channel: String,
    confirmed: oneshot::Sender<bool>,
}

impl RedisStore {
    pub async fn connect(url: &str, namespace: &str) -> StateResult<Self> {
        let client = redis::Client::open(url)?;
        // Bounded, so a Redis outage fails requests quickly (503) instead of holding them.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let conn = client.get_connection_manager_with_config(config).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let fanout = Arc::new(Fanout {
            channels: Mutex::new(HashMap::new()),
            subscribe_requests: tx,
        });
        tokio::spawn(run_fanout(client, Arc::downgrade(&fanout), rx));
        Ok(Self {
            conn,
            namespace: format!("{namespace}:"),
            fanout,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.namespace)
    }
}

impl Fanout {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Bytes>>> {
        self.channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Keeps the pub/sub connection alive: subscribes to channels as local subscribers appear,
/// and after a dropped connection reconnects and subscribes to every channel again.
async fn run_fanout(
    client: redis::Client,
    fanout: std::sync::Weak<Fanout>,
    mut requests: mpsc::UnboundedReceiver<SubscribeRequest>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(current) = fanout.upgrade() else {
            return;
        };
        let known: Vec<String> = current.lock().keys().cloned().collect();
        drop(current);
        let pubsub = match client.get_async_pubsub().await {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!(error = %err, "redis pub/sub connection failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        let (mut sink, mut stream) = pubsub.split();
        let mut healthy = true;
        for channel in known {
            if sink.subscribe(&channel).await.is_err() {
                healthy = false;
            }
        }
        while healthy {
            tokio::select! {
                request = requests.recv() => match request {
                    None => return,
                    Some(request) => {
                        healthy = sink.subscribe(&request.channel).await.is_ok();
                        let _ = request.confirmed.send(healthy);
                    }
                },
                message = stream.next() => match message {
                    None => healthy = false,
                    Some(msg) => {
                        let Some(current) = fanout.upgrade() else { return };
                        let sender = current.lock().get(msg.get_channel_name()).cloned();
                        if let Some(sender) = sender {
                            let _ = sender.send(Bytes::copy_from_slice(msg.get_payload_bytes()));
                        }
                    }
                },
            }
        }
        tracing::warn!("redis pub/sub connection lost; reconnecting");
    }
}

#[async_trait::async_trait]
impl StateStore for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()> {
        let mut conn = self.conn.clone();
        let () = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    async fn extend_if_equal(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool> {
        // Compare and renew in one step on the server, so a lease that changed hands is never
        // extended by its former owner.
        const SCRIPT: &str = r#"
            if redis.call('GET', KEYS[1]) == ARGV[1] then
                return redis.call('PEXPIRE', KEYS[1], ARGV[2])
            end
            return 0"#;
        let mut conn = self.conn.clone();
        let renewed: i64 = redis::cmd("EVAL")
            .arg(SCRIPT)
            .arg(1)
            .arg(self.key(key))
            .arg(value)
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await?;
        Ok(renewed == 1)
    }

    async fn delete_if_equal(&self, key: &str, value: &[u8]) -> StateResult<bool> {
        const SCRIPT: &str = r#"
            if redis.call('GET', KEYS[1]) == ARGV[1] then
                return redis.call('DEL', KEYS[1])
            end
            return 0"#;
        let mut conn = self.conn.clone();
        let deleted: i64 = redis::cmd("EVAL")
            .arg(SCRIPT)
            .arg(1)
            .arg(self.key(key))
            .arg(value)
            .query_async(&mut conn)
            .await?;
        Ok(deleted == 1)
    }

    async fn get(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        Ok(conn.get(self.key(key)).await?)
    }

    async fn take(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        // GETDEL is atomic on the server: of concurrent callers exactly one sees the value.
        Ok(redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await?)
    }

    async fn delete(&self, key: &str) -> StateResult<bool> {
        let mut conn = self.conn.clone();
        let removed: i64 = conn.del(self.key(key)).await?;
        Ok(removed > 0)
    }

    async fn increment(&self, key: &str, window: Duration) -> StateResult<i64> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let (value,): (i64,) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_millis(window))
            .arg("NX")
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(value)
    }

    async fn publish(&self, channel: &str, payload: &[u8]) -> StateResult<()> {
        let mut conn = self.conn.clone();
        let _receivers: i64 = conn.publish(self.key(channel), payload).await?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> StateResult<Subscription> {
        let name = self.key(channel);
        let (receiver, is_new) = {
            let mut channels = self.fanout.lock();
            match channels.get(&name) {
                Some(sender) => (sender.subscribe(), false),
                None => {
                    let (sender, receiver) = broadcast::channel(CHANNEL_CAPACITY);
                    channels.insert(name.clone(), sender);
                    (receiver, true)
                }
            }
        };
        if is_new {
            // SUBSCRIBE completes asynchronously on the shared connection: wait for the
            // server's confirmation so a publish right after `subscribe` returns is not missed.
            let (confirmed, answer) = oneshot::channel();
            let request = SubscribeRequest {
                channel: name.clone(),
                confirmed,
            };
            let ok = self.fanout.subscribe_requests.send(request).is_ok()
                && tokio::time::timeout(Duration::from_secs(5), answer).await == Ok(Ok(true));
            if !ok {
                // Forget the channel so the next subscriber retries the SUBSCRIBE.
                self.fanout.lock().remove(&name);
                return Err(StateError::Other(format!(
                    "subscription to {channel} failed"
                )));
            }
        }
        Ok(Box::pin(
            BroadcastStream::new(receiver).filter_map(|m| async move { m.ok() }),
        ))
    }

    async fn ping(&self) -> StateResult<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    fn shared_limits(&self) -> Option<super::limits::SharedLimits> {
        Some(super::limits::SharedLimits::new(
            self.conn.clone(),
            self.namespace.clone(),
        ))
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    // Redis rejects a zero expiry; the shortest meaningful one is a millisecond.
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
