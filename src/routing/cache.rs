//! Cached routing lookups (guild → connection, channel → lead channel), invalidated on every
//! replica when a connection or channel changes, with a short lifetime as a safety net.
use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use prometheus_client::{
    encoding::EncodeLabelSet, metrics::counter::Counter, metrics::family::Family,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{Channel, Connection, Decision};
use crate::{
    entities::{discord_connection, lead_channel},
    error::Result,
    metrics::Metrics,
    state::SharedState,
    types::Snowflake,
};

/// Entries live this long even without an invalidation.
const TTL: Duration = Duration::from_secs(300);
/// Beyond this many entries a map starts again empty.
const MAX_ENTRIES: usize = 100_000;
const TOPIC: &str = "routing:invalidate";

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Guild(Snowflake),
    Channel(Snowflake),
}

impl Key {
    fn encode(&self) -> String {
        match self {
            Self::Guild(id) => format!("guild:{id}"),
            Self::Channel(id) => format!("channel:{id}"),
        }
    }

    fn decode(raw: &str) -> Option<Self> {
        match raw.split_once(':')? {
            ("guild", id) => id.parse().ok().map(Self::Guild),
            ("channel", id) => id.parse().ok().map(Self::Channel),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: String,
    reason: String,
}

type Map<T> = Mutex<HashMap<Snowflake, (Option<T>, Instant)>>;

pub struct Cache {
    guilds: Map<Connection>,
    channels: Map<Channel>,
    /// Bumped by every invalidation: a lookup that started before one does not fill the cache
    /// with what it read.
    generation: AtomicU64,
    decisions: Family<DecisionLabels, Counter>,
    /// Carries invalidations to the other replicas.
    state: SharedState,
}

impl Cache {
    pub fn new(metrics: &Metrics, state: SharedState) -> Self {
        let decisions = Family::<DecisionLabels, Counter>::default();
        metrics.with_registry(|r| {
            r.register(
                "routing_decisions",
                "Inbound Discord messages by routing decision and reason",
                decisions.clone(),
            );
        });
        Self {
            guilds: Mutex::default(),
            channels: Mutex::default(),
            generation: AtomicU64::new(0),
            decisions,
            state,
        }
    }

    pub fn count(&self, decision: &Decision) {
        self.decisions
            .get_or_create(&DecisionLabels {
                decision: decision.name().to_owned(),
                reason: decision.reason().map_or("", |r| r.as_str()).to_owned(),
            })
            .inc();
    }

    fn cached<T: Clone>(map: &Map<T>, key: Snowflake) -> Option<Option<T>> {
        let map = map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(v, _)| v.clone())
    }

    fn fill<T>(&self, map: &Map<T>, key: Snowflake, value: Option<T>, generation: u64) {
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (value, Instant::now()));
    }

    pub async fn connection(
        &self,
        db: &impl ConnectionTrait,
        guild_id: Snowflake,
    ) -> Result<Option<Connection>> {
        let key = guild_id;
        if let Some(hit) = Self::cached(&self.guilds, key) {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let found = discord_connection::Entity::find()
            .filter(discord_connection::Column::GuildId.eq(key))
            .one(db)
            .await?
            .map(|c| Connection {
                company_id: c.company_id,
                bot_invited: c.bot_invited,
            });
        self.fill(&self.guilds, key, found.clone(), generation);
        Ok(found)
    }

    pub async fn channel(
        &self,
        db: &impl ConnectionTrait,
        channel_id: Snowflake,
    ) -> Result<Option<Channel>> {
        let key = channel_id;
        if let Some(hit) = Self::cached(&self.channels, key) {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let found = lead_channel::Entity::find()
            .filter(lead_channel::Column::ChannelId.eq(key))
            .one(db)
            .await?
            .map(|c| Channel {
                company_id: c.company_id,
                lead_id: c.lead_id,
                guild_id: c.guild_id,
                is_active: c.is_active,
            });
        self.fill(&self.channels, key, found.clone(), generation);
        Ok(found)
    }

    /// Drops one entry from this replica's cache.
    pub fn forget(&self, key: &Key) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        match key {
            Key::Guild(id) => {
                self.guilds
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(id);
            }
            Key::Channel(id) => {
                self.channels
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(id);
            }
        }
    }
}

impl Cache {
    /// Forgets `key` here and on every other replica; call after the change committed.
    pub async fn invalidate(&self, key: Key) {
        self.forget(&key);
        if let Err(err) = self.state.publish(TOPIC, key.encode().as_bytes()).await {
            // Other replicas' entries still expire within TTL.
            tracing::warn!(error = %err, key = key.encode(), "publishing a routing invalidation failed");
        }
    }

    /// Applies other replicas' invalidations to this replica's cache, until the task ends.
    pub async fn listen(self: std::sync::Arc<Self>) {
        loop {
            match self.state.subscribe(TOPIC).await {
                Ok(mut subscription) => {
                    while let Some(message) = subscription.next().await {
                        if let Some(key) = std::str::from_utf8(&message).ok().and_then(Key::decode)
                        {
                            self.forget(&key);
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "subscribing to routing invalidations failed");
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_the_wire() {
        let id = |raw: &str| raw.parse::<Snowflake>().expect("a Discord id");
        for key in [Key::Guild(id("1")), Key::Channel(id("22"))] {
            assert_eq!(Key::decode(&key.encode()), Some(key));
        }
        assert_eq!(Key::decode("nonsense"), None);
    }

    #[test]
    fn a_lookup_started_before_an_invalidation_does_not_fill_the_cache() {
        let cache = Cache::new(
            &Metrics::new(),
            std::sync::Arc::new(crate::state::MemoryStore::new()),
        );
        let five: Snowflake = "5".parse().expect("a Discord id");
        let generation = cache.generation.load(Ordering::SeqCst);
        cache.forget(&Key::Channel(five));
        cache.fill(&cache.channels, five, None, generation);
        assert!(Cache::cached(&cache.channels, five).is_none());
        let generation = cache.generation.load(Ordering::SeqCst);
        cache.fill(&cache.channels, five, None, generation);
        assert_eq!(Cache::cached(&cache.channels, five), Some(None));
    }
}
