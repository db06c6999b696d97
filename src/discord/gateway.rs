//! The Discord gateway: a serenity `Client` per shard, each run by exactly one replica (a lease
//! in the state store), feeding inbound routing, platform changes and catch-up.
//!
//! serenity takes its REST base from `HttpBuilder::proxy` (with its own rate limiter off: the
//! product's REST client keeps Discord's limits) and the gateway URL from `GET /gateway`, so in
//! sandbox mode the same code connects to the simulator.
use std::time::Duration;

use serenity::{
    all::{Context, Event, GatewayIntents, RawEventHandler},
    async_trait,
};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::{Inbound, Source, model::snowflake};
use crate::{channels, integrations::guilds, routing, services::Services};

/// What the product asks the gateway for: guild and channel changes, messages in guilds and
/// direct messages, and their content (a privileged intent, enabled for the application).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// A shard's lease lasts this long unless renewed: a replica that dies holding it (killed, its
/// machine gone) is replaced within `LEASE_TTL + RENEW_EVERY` (20 s).
const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often the holder renews its lease and the others look for a free one.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// Runs the gateway until `stop` turns true (each shard then closes its session and gives its
/// lease back, so a restarted or other replica takes over at once) or the task is aborted: asks
/// Discord how many shards to run, then competes for each shard's lease.
pub async fn run(app: Services, stop: watch::Receiver<bool>) {
    let Some(rest) = app.discord.clone() else {
        return;
    };
    let total = loop {
        match rest.gateway_bot().await {
            Ok(gateway) => break u64::from(gateway.shards.max(1)),
            Err(err) => {
                tracing::warn!(error = %err, "asking Discord for the gateway failed; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    };
    // A JoinSet aborts its tasks when dropped: aborting `run` stops every shard.
    let mut shards = tokio::task::JoinSet::new();
    for shard in 0..total {
        shards.spawn(run_shard(app.clone(), shard, total, stop.clone()));
    }
    while shards.join_next().await.is_some() {}
}

/// Shuts the shards down when dropped (a cancelled or aborted gateway task): serenity's runners
/// are tasks of their own and would otherwise keep the connection open.
struct StopOnDrop(Option<std::sync::Arc<serenity::all::ShardManager>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let (Some(manager), Ok(runtime)) = (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move { manager.shutdown_all().await });
        }
    }
}

/// Aborts the task when dropped, so a stopped shard leaves nothing running.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Holds the shard's lease while running it; another replica takes over within
/// [`LEASE_TTL`] when this one stops renewing.
async fn run_shard(app: Services, shard: u64, total: u64, mut stop: watch::Receiver<bool>) {
    let key = format!("gateway_lease:{shard}/{total}");
    let owner = Uuid::new_v4().to_string();
    let (catchup, requests) = mpsc::channel::<&'static str>(1);
    let _catchups = AbortOnDrop(tokio::spawn(run_catchups(
        app.clone(),
        requests,
        (shard, total),
    )));
    loop {
        // A replica stopping takes no lease (it would only hold it up).
        let stopping = *stop.borrow();
        if stopping {
            return;
        }
        let wait = match app
            .state
            .put_if_absent(&key, owner.as_bytes(), LEASE_TTL)
            .await
        {
            Ok(true) => None,
            Ok(false) => Some(RENEW_EVERY),
            Err(err) => {
                // The store is unreachable. When it returns (perhaps empty, after a restart) the
                // replica already running the shard renews first: waiting a whole lease leaves
                // it that turn, so the shard is not identified a second time.
                tracing::warn!(error = %err, shard, "taking the gateway lease failed");
                Some(LEASE_TTL)
            }
        };
        if let Some(wait) = wait {
            tokio::select! {
                () = tokio::time::sleep(wait) => continue,
                () = stopped(&mut stop) => return,
            }
        }
        tracing::info!(shard, total, "running the Discord gateway shard");
        let held = Held {
            key: &key,
            owner: &owner,
            shard: (shard, total),
        };
        if let Err(err) = hold_shard(&app, held, &catchup, &mut stop).await {
            tracing::warn!(error = %err, shard, "the gateway shard stopped");
        }
        let _ = app.state.delete_if_equal(&key, owner.as_bytes()).await;
        let stopping = *stop.borrow();
        if stopping {
            tracing::info!(
                shard,
                total,
                "the gateway shard stopped for shutdown; lease given back"
            );
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A shard whose lease this replica holds.
#[derive(Clone, Copy)]
struct Held<'a> {
    key: &'a str,
    owner: &'a str,
    /// Shard id and shard count.
    shard: (u64, u64),
}

/// Runs the shard while the lease is held, until it ends, the lease is lost, or `stop` turns
/// true (then the session is closed before returning).
async fn hold_shard(
    app: &Services,
    held: Held<'_>,
    catchup: &mpsc::Sender<&'static str>,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let Held {
        key,
        owner,
        shard: (shard, total),
    } = held;
    let token = app
        .settings
        .discord_bot_token
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no bot token"))?
        .expose()
        .clone();
    let http = serenity::http::HttpBuilder::new(token)
        .proxy(app.settings.discord_api_base.as_str().trim_end_matches('/'))
        .ratelimiter_disabled(true)
        .build();
    let handler = Handler {
        app: app.clone(),
        catchup: catchup.clone(),
    };
    let mut client = serenity::all::ClientBuilder::new_with_http(http, intents())
        .raw_event_handler(handler)
        .await?;
    let manager = client.shard_manager.clone();
    let _stop = StopOnDrop(Some(manager.clone()));
    let (id, count) = (u32::try_from(shard)?, u32::try_from(total)?);
    let mut running = AbortOnDrop(tokio::spawn(async move {
        let result = client.start_shard(id, count).await;
        client.shard_manager.shutdown_all().await;
        result
    }));
    let mut renew = tokio::time::interval(RENEW_EVERY);
    let mut periodic = tokio::time::interval(app.settings.catchup_interval);
    // The first tick of an interval is immediate; READY triggers the first catch-up.
    periodic.tick().await;
    let outcome = loop {
        tokio::select! {
            _ = renew.tick() => {
                if let Err(err) = renew_lease(app, key, owner).await {
                    break Err(err);
                }
            }
            () = stopped(stop) => break Ok(()),
            _ = periodic.tick() => {
                let _ = catchup.try_send("interval");
            }
            ended = &mut running.0 => {
                break match ended {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(err)) => Err(err.into()),
                    Err(err) => Err(err.into()),
                };
            }
        }
    };
    manager.shutdown_all().await;
    outcome
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Keeps the lease of a running shard. An unreachable store does not stop the shard: no other
/// replica can take the lease through it either, and stopping would cost a new IDENTIFY (and
/// Discord allows only so many a day). A store that returns without the lease (a Redis restarted
/// empty) has it taken back at once; only a lease another replica holds stops the shard.
async fn renew_lease(app: &Services, key: &str, owner: &str) -> anyhow::Result<()> {
    match app
        .state
        .extend_if_equal(key, owner.as_bytes(), LEASE_TTL)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => match app
            .state
            .put_if_absent(key, owner.as_bytes(), LEASE_TTL)
            .await
        {
            Ok(true) => {
                tracing::info!(
                    key,
                    "the gateway lease was gone from the state store; took it back"
                );
                Ok(())
            }
            Ok(false) => Err(anyhow::anyhow!("another replica holds the gateway lease")),
            Err(err) => {
                tracing::warn!(error = %err, key, "renewing the gateway lease failed; the shard keeps running");
                Ok(())
            }
        },
        Err(err) => {
            tracing::warn!(error = %err, key, "renewing the gateway lease failed; the shard keeps running");
            Ok(())
        }
    }
}

/// Runs catch-ups one at a time; requests arriving during a run coalesce into one more run.
async fn run_catchups(
    app: Services,
    mut requests: mpsc::Receiver<&'static str>,
    shard: (u64, u64),
) {
    while let Some(trigger) = requests.recv().await {
        match routing::catchup::run(&app, trigger, Some(shard)).await {
            Ok(report) => tracing::debug!(?report, trigger, "catch-up finished"),
            Err(err) => tracing::warn!(error = %err, trigger, "catch-up failed"),
        }
    }
}

struct Handler {
    app: Services,
    catchup: mpsc::Sender<&'static str>,
}

#[async_trait]
impl RawEventHandler for Handler {
    async fn raw_event(&self, _ctx: Context, event: Event) {
        let app = &self.app;
        let result = match event {
            Event::Ready(ready) => {
                tracing::info!(
                    guilds = ready.ready.guilds.len(),
                    "connected to the Discord gateway"
                );
                let _ = self.catchup.try_send("ready");
                Ok(())
            }
            Event::Resumed(_) => {
                tracing::info!("resumed the Discord gateway session");
                let _ = self.catchup.try_send("resumed");
                Ok(())
            }
            Event::MessageCreate(created) => routing::route(
                app,
                &Inbound::from_message(&created.message, Source::Gateway),
            )
            .await
            .map(drop),
            Event::ChannelDelete(deleted) => {
                channels::deleted_on_discord(app, snowflake(deleted.channel.id)).await
            }
            Event::GuildDelete(deleted) => {
                guilds::gone(app, snowflake(deleted.guild.id), deleted.guild.unavailable).await
            }
            Event::GuildCreate(created) => {
                guilds::available(app, snowflake(created.guild.id)).await
            }
            _ => Ok(()),
        };
        if let Err(err) = result {
            // A message not stored here is found again by the next catch-up.
            tracing::warn!(code = err.code, detail = %err.detail, "handling a gateway event failed");
        }
    }
}
