//! `switchboard bench`: measures the product against the simulator on this machine, each
//! number beside a ceiling measured in the same run (never as timing asserts in tests).
//!
//! - send-message throughput and p99 beside `GET /healthz` of the same server, with the same
//!   load driver, concurrency and count. The simulator's rate-limit windows are compressed so
//!   the product's own cost is measured, not Discord's pacing.
//! - inbound messages routed and stored (what the gateway handler does for each
//!   MESSAGE_CREATE), beside the same message rows inserted directly into the same database.
//! - channel creation for many leads in one guild at Discord's real pace (10 per 10 s), beside
//!   the minimum time that limit allows.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use std::io::Write;

use anyhow::Context;
use serde_json::{Value, json};

use crate::ids::CompanyId;
use crate::types::Snowflake;
use crate::{
    config::Settings,
    integrations::{GrantDetails, discord::permissions, store},
    server::Server,
};

/// Lead channels the send run spreads its messages over (at least).
const SEND_CHANNELS: usize = 100;

pub struct Options {
    pub messages: usize,
    pub concurrency: usize,
    pub channels: usize,
    /// Inbound messages to route (and rows to insert for the ceiling).
    pub inbound: usize,
    /// Events to deliver to a webhook endpoint (and direct requests for the ceiling).
    pub webhooks: usize,
    /// Where to measure; a temporary SQLite file when `None`.
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    /// Replicas on one PostgreSQL and Redis sending at Discord's real pace (more than one needs
    /// both `database_url` and `redis_url`); `replica_messages` of them.
    pub replicas: usize,
    pub replica_messages: usize,
}

/// Several replicas sending through one bot at Discord's real limits.
#[derive(Debug)]
pub struct ReplicaRun {
    pub replicas: usize,
    pub channels: usize,
    pub load: Load,
    /// 429 answers the simulator gave during the run.
    pub rate_limited: u64,
    /// Messages found in the simulator's channels afterwards (each posted once: equals `load.requests`).
    pub posted: usize,
}

#[derive(Debug)]
pub struct Load {
    pub requests: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub failures: usize,
}

impl Load {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

#[derive(Debug)]
pub struct Report {
    pub database: &'static str,
    pub healthz: Load,
    pub send: Load,
    pub inbound: Load,
    pub inbound_ceiling: Load,
    /// From the first change to the last event received by the endpoint.
    pub webhooks: Load,
    /// The same receiver, sent the same number of requests directly by the same driver.
    pub webhooks_ceiling: Load,
    pub channels: usize,
    pub channel_creations: usize,
    pub channel_elapsed: Duration,
    pub channel_minimum: Duration,
    pub rate_limited: u64,
    /// How the channel requests were answered: status → count.
    pub channel_answers: std::collections::BTreeMap<u16, usize>,
    pub channel_non_2xx: usize,
    pub replicas: Option<ReplicaRun>,
    /// CPU time of the whole process (server and load driver) while sending; `None` where
    /// `/proc/self/stat` cannot be read.
    pub send_cpu: Option<Duration>,
}

/// This process's CPU time (user and system, every thread), from `/proc/self/stat` (Linux, in
/// ticks of 1/100 s).
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after its `)`.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields of the line, 12th and 13th after `)`.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Runs `count` requests built by `make`, `concurrency` at a time.
async fn drive<F, Fut>(count: usize, concurrency: usize, make: F) -> Load
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (make, next) = (make.clone(), next.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut failures = 0;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let t = Instant::now();
                    if !make(i).await {
                        failures += 1;
                    }
                    samples.push(t.elapsed());
                }
                (samples, failures)
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(count);
    let mut failures = 0;
    for worker in workers {
        if let Ok((s, f)) = worker.await {
            samples.extend(s);
            failures += f;
        }
    }
    let elapsed = started.elapsed();
    samples.sort_unstable();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Load {
        requests: count,
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
        failures,
    }
}

pub async fn run(options: Options, progress: impl Fn(&str)) -> anyhow::Result<Report> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    use crate::entities::lead_channel;
    let dir = tempfile_dir()?;
    let url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let mut settings = Settings::for_tests(&url, options.redis_url.as_deref());
    let database = if settings.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    // Accounts of earlier runs may be in a database given on the command line.
    let run = uuid::Uuid::new_v4().simple().to_string();
    // Production's deadline: at Discord's real pace a call may wait a 10-second window.
    settings.discord_timeout = crate::discord::rest::CALL_TIMEOUT;
    // Sending measures the product's own cost: the simulator's windows are compressed, and the
    // bot's global limit is lifted as Discord lifts it for large bots (the replica run, on
    // replicas of its own, keeps Discord's real 50 a second).
    let real_global_limit = settings.discord_global_limit;
    settings.discord_global_limit = u16::MAX;
    let server = Server::bind(settings, "bench").await?;
    let state = server.state().clone();
    let base = format!("http://{}", server.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let sandbox = state
        .sandbox
        .clone()
        .context("the benchmark runs in sandbox mode")?;
    let http = reqwest::Client::new();

    // A company whose Discord server is connected (setup, not measured).
    let signup: Value = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": format!("bench-{run}@example.com"), "password": "benchmark password", "companyName": "Bench"}))
        .send()
        .await?
        .json()
        .await?;
    let token = signup["token"].as_str().context("signup token")?.to_owned();
    let company: CompanyId = signup["company"]["id"]
        .as_str()
        .context("company")?
        .parse()?;
    let connect = |name: &str| {
        let guild = sandbox.discord.create_guild(name);
        sandbox.discord.install_bot(guild.id, permissions::BOT);
        (
            guild.id,
            GrantDetails::Discord {
                guild_id: snowflake(guild.id),
                guild_name: name.to_owned(),
            },
        )
    };
    let (_, details) = connect("Bench messages");
    store::bind_guild(&state.db, company, &details, &permissions::BOT.to_string()).await?;

    let post = |path: String, body: Value| {
        let (http, token) = (http.clone(), token.clone());
        async move { http.post(path).bearer_auth(token).json(&body).send().await }
    };

    // Leads with channels for the message run; Discord's windows compressed for setup and sends.
    sandbox.discord.limits.set_window_divisor(1000);
    progress("setting up leads and channels for the message run");
    // Enough channels that no channel's own limit (5 messages per window) paces the run: it
    // measures the product, not one channel's bucket.
    let mut leads = Vec::new();
    for i in 0..options.concurrency.max(SEND_CHANNELS) {
        let lead: Value = post(
            format!("{base}/api/leads"),
            json!({"name": format!("Bench lead {i}")}),
        )
        .await?
        .json()
        .await?;
        let id = lead["id"].as_str().context("lead id")?.to_owned();
        let opened = post(
            format!("{base}/api/discord/channels"),
            json!({"leadId": id}),
        )
        .await?;
        anyhow::ensure!(
            opened.status().is_success(),
            "could not open a channel: {}",
            opened.text().await?
        );
        leads.push(id);
    }

    progress("measuring GET /healthz (the ceiling)");
    let healthz = {
        let (http, base) = (http.clone(), base.clone());
        drive(options.messages, options.concurrency, move |_| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                http.get(format!("{base}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await
    };
    progress("measuring POST /api/discord/send-message");
    // As Discord grants large bots: the global limit out of the way, on both sides.
    sandbox.discord.limits.set_global_limit(u32::MAX);
    let cpu_before = process_cpu_time();
    let send = {
        let (http, base, token, leads) =
            (http.clone(), base.clone(), token.clone(), Arc::new(leads));
        drive(options.messages, options.concurrency, move |i| {
            let (http, base, token, leads) = (http.clone(), base.clone(), token.clone(), leads.clone());
            async move {
                let body = json!({"leadId": leads[i % leads.len()], "content": format!("Benchmark message {i}")});
                match http.post(format!("{base}/api/discord/send-message")).bearer_auth(token).json(&body).send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let text = r.text().await.unwrap_or_default();
                        let sent = status == 201 && serde_json::from_str::<Value>(&text).is_ok_and(|m| m["state"] == "sent");
                        if !sent {
                            let _ = writeln!(std::io::stderr(), "bench: send answered {status}: {text}");
                        }
                        sent
                    }
                    Err(err) => {
                        let _ = writeln!(std::io::stderr(), "bench: send failed: {err}");
                        false
                    }
                }
            }
        })
        .await
    };

    let send_cpu = process_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    sandbox.discord.limits.set_global_limit(0);

    let (inbound, inbound_ceiling) = measure_inbound(
        &state,
        company,
        options.inbound,
        options.concurrency,
        &progress,
    )
    .await?;

    let (webhooks, webhooks_ceiling) = measure_webhooks(
        &http,
        &base,
        &token,
        options.webhooks,
        options.concurrency,
        &progress,
    )
    .await?;

    // Channel creation at Discord's real pace, in a fresh server (skipped with `--channels 0`).
    let mut channel_answers = std::collections::BTreeMap::new();
    let mut channel_non_2xx = 0;
    let (creations, channel_elapsed, channel_minimum, rate_limited) = if options.channels == 0 {
        (0, Duration::ZERO, Duration::ZERO, 0)
    } else {
        sandbox.discord.limits.set_window_divisor(1);
        let other: Value = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": format!("bench-channels-{run}@example.com"), "password": "benchmark password", "companyName": "Bench channels"}))
        .send()
        .await?
        .json()
        .await?;
        let other_token = other["token"].as_str().context("token")?.to_owned();
        let other_company: CompanyId = other["company"]["id"]
            .as_str()
            .context("company")?
            .parse()?;
        let (guild, details) = connect("Bench channels");
        store::bind_guild(
            &state.db,
            other_company,
            &details,
            &permissions::BOT.to_string(),
        )
        .await?;
        let mut channel_leads = Vec::new();
        for i in 0..options.channels {
            let lead: Value = http
                .post(format!("{base}/api/leads"))
                .bearer_auth(&other_token)
                .json(&json!({"name": format!("Channel lead {i}")}))
                .send()
                .await?
                .json()
                .await?;
            channel_leads.push(lead["id"].as_str().context("lead id")?.to_owned());
        }
        let before = sandbox.discord.limits.sent_429();
        progress(&format!(
            "asking for {} lead channels at once; made at Discord's pace (10 per 10 s)",
            options.channels
        ));
        let started = Instant::now();
        let answers = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
        let asked = {
            let (http, base, token, leads, answers) = (
                http.clone(),
                base.clone(),
                other_token.clone(),
                Arc::new(channel_leads),
                answers.clone(),
            );
            // Every request at once, as a CRM importing its leads would: each answers at once
            // (201 made, 202 queued); the background queue keeps Discord's pace.
            drive(options.channels, options.channels, move |i| {
                let (http, base, token, leads, answers) = (
                    http.clone(),
                    base.clone(),
                    token.clone(),
                    leads.clone(),
                    answers.clone(),
                );
                async move {
                    let body = json!({"leadId": leads[i]});
                    let status = match http
                        .post(format!("{base}/api/discord/channels"))
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            if !r.status().is_success() {
                                let body = r.text().await.unwrap_or_default();
                                let _ = writeln!(
                                    std::io::stderr(),
                                    "bench: channel creation answered {status}: {body}"
                                );
                            }
                            status
                        }
                        Err(err) => {
                            let _ = writeln!(
                                std::io::stderr(),
                                "bench: channel creation failed: {err}"
                            );
                            0
                        }
                    };
                    *answers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(status)
                        .or_insert(0usize) += 1;
                    (200..300).contains(&status)
                }
            })
            .await
        };
        progress(&format!(
            "all {} requests answered in {:.1} s (p99 {:.0} ms); waiting for the queue",
            options.channels,
            asked.elapsed.as_secs_f64(),
            asked.p99.as_secs_f64() * 1000.0
        ));
        // Done when every lead has its channel (or a creation failed for good).
        loop {
            let made = lead_channel::Entity::find()
                .filter(lead_channel::Column::CompanyId.eq(other_company))
                .count(&state.db)
                .await? as usize;
            let failed = crate::entities::channel_provision::Entity::find()
                .filter(crate::entities::channel_provision::Column::CompanyId.eq(other_company))
                .filter(
                    crate::entities::channel_provision::Column::State
                        .eq(crate::channels::provision::ProvisionState::Failed),
                )
                .count(&state.db)
                .await? as usize;
            anyhow::ensure!(failed == 0, "{failed} channel creations failed");
            if made >= options.channels {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let channel_elapsed = started.elapsed();
        let answers = answers.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let non_2xx: usize = answers
            .iter()
            .filter(|(status, _)| !(200..300).contains(*status))
            .map(|(_, n)| n)
            .sum();
        let creations = sandbox.discord.channels.channels_of(guild).len();
        // 10 creations per 10 s: the first ten at once, then one window per further ten.
        let channel_minimum =
            Duration::from_secs(10 * (creations.div_ceil(10) as u64).saturating_sub(1));
        let rate_limited = sandbox.discord.limits.sent_429() - before;
        channel_answers = answers;
        channel_non_2xx = non_2xx;
        (creations, channel_elapsed, channel_minimum, rate_limited)
    };

    let replicas = if options.replicas > 1 {
        Some(
            measure_replicas(
                &state,
                &http,
                &base,
                &token,
                &options,
                real_global_limit,
                &progress,
            )
            .await?,
        )
    } else {
        None
    };

    let _ = stop.send(());
    let _ = serving.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Report {
        replicas,
        send_cpu,
        database,
        healthz,
        send,
        inbound,
        inbound_ceiling,
        webhooks,
        webhooks_ceiling,
        channels: options.channels,
        channel_creations: creations,
        channel_elapsed,
        channel_minimum,
        rate_limited,
        channel_answers,
        channel_non_2xx,
    })
}

/// Discord's global limit, the ceiling of the replica run.
pub const DISCORD_GLOBAL_PER_SECOND: f64 = 50.0;
/// Requests in flight during the replica run (20 per replica of three): a send waits its turn
/// under Discord's limits, so fewer in flight would leave slots of the global limit unused.
const REPLICA_CONCURRENCY: usize = 60;
/// Lead channels the replica run sends to: enough that the channels' own limits (5 messages per
/// 5 s each) allow more than the bot's global 50 a second.
const REPLICA_CHANNELS: usize = 60;

/// `options.replicas` replicas of their own (on the same PostgreSQL, Redis and public URL as
/// this one, so the same simulator, and with Discord's real global limit) send `options.replica_messages` messages round-robin, `concurrency` at
/// once, at Discord's real pace. The ceiling is Discord's global limit of 50 calls a second;
/// the simulator counts its 429s, and every channel is read back to check each message was
/// posted once. `REPLICA_CONCURRENCY` requests are in flight.
async fn measure_replicas(
    state: &crate::http::AppState,
    http: &reqwest::Client,
    base: &str,
    token: &str,
    options: &Options,
    global_limit: u16,
    progress: &impl Fn(&str),
) -> anyhow::Result<ReplicaRun> {
    let sandbox = state
        .sandbox
        .as_deref()
        .context("the benchmark runs in sandbox mode")?;
    anyhow::ensure!(
        state.settings.is_postgres() && state.settings.redis_url.is_some(),
        "--replicas needs --database-url (PostgreSQL) and --redis-url: replicas share both"
    );
    progress(&format!(
        "starting {} replicas on the same database and Redis, at Discord's real limits",
        options.replicas
    ));
    let mut others = Vec::new();
    for _ in 0..options.replicas {
        let mut settings = (*state.settings).clone();
        settings.bind_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        settings.public_url_explicit = true;
        settings.discord_global_limit = global_limit;
        let server = Server::bind(settings, "bench").await?;
        let url = format!("http://{}", server.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        others.push((url, stop, serving));
    }
    let bases: Vec<String> = others.iter().map(|(url, _, _)| url.clone()).collect();

    progress(&format!(
        "setting up {REPLICA_CHANNELS} lead channels for the replica run"
    ));
    sandbox.discord.limits.set_window_divisor(1000);
    let mut leads = Vec::new();
    for i in 0..REPLICA_CHANNELS {
        let lead: Value = http
            .post(format!("{base}/api/leads"))
            .bearer_auth(token)
            .json(&json!({"name": format!("Replica lead {i}")}))
            .send()
            .await?
            .json()
            .await?;
        let id = lead["id"].as_str().context("lead id")?.to_owned();
        let mut opened: Value = http
            .post(format!("{base}/api/discord/channels"))
            .bearer_auth(token)
            .json(&json!({"leadId": id}))
            .send()
            .await?
            .json()
            .await?;
        // Queued behind other creations: follow it until it is made.
        for _ in 0..600 {
            if opened["channelId"].is_string() || opened["state"] == "failed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            opened = http
                .get(format!("{base}/api/discord/channels/{id}"))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
        }
        let channel = opened["channelId"]
            .as_str()
            .with_context(|| format!("no channel for the replica run: {opened}"))?
            .parse::<u64>()?;
        leads.push((id, channel));
    }
    sandbox.discord.limits.set_window_divisor(1);
    // Windows learned at compressed time end within milliseconds.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = sandbox.discord.limits.sent_429();
    progress(&format!(
        "{} replicas sending {} messages at Discord's real pace (about {:.0} s at 50/s)",
        options.replicas,
        options.replica_messages,
        options.replica_messages as f64 / DISCORD_GLOBAL_PER_SECOND
    ));
    let load = {
        let (http, token, bases, leads) = (
            http.clone(),
            token.to_owned(),
            Arc::new(bases),
            Arc::new(leads.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()),
        );
        drive(options.replica_messages, REPLICA_CONCURRENCY, move |i| {
            let (http, token, bases, leads) =
                (http.clone(), token.clone(), bases.clone(), leads.clone());
            async move {
                let base = &bases[i % bases.len()];
                let body = json!({"leadId": leads[i % leads.len()], "content": format!("Replica benchmark {i}")});
                match http.post(format!("{base}/api/discord/send-message")).bearer_auth(token).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let m: Value = r.json().await.unwrap_or_default();
                        m["state"] == "sent" || m["state"] == "queued"
                    }
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = writeln!(std::io::stderr(), "bench: a replica answered {status}: {}", r.text().await.unwrap_or_default());
                        false
                    }
                    Err(err) => {
                        let _ = writeln!(std::io::stderr(), "bench: send failed: {err}");
                        false
                    }
                }
            }
        })
        .await
    };
    let rate_limited = sandbox.discord.limits.sent_429() - before;
    // Anything the outbox still holds is delivered before counting.
    let deadline = Instant::now() + Duration::from_secs(60);
    let posted = loop {
        let posted: usize = leads
            .iter()
            .map(|(_, channel)| {
                sandbox
                    .discord
                    .channels
                    .messages_of(*channel)
                    .iter()
                    .filter(|m| m.content.starts_with("Replica benchmark "))
                    .count()
            })
            .sum();
        if posted >= options.replica_messages || Instant::now() > deadline {
            break posted;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for (_, stop, serving) in others {
        let _ = stop.send(());
        let _ = serving.await;
    }
    Ok(ReplicaRun {
        replicas: options.replicas,
        channels: REPLICA_CHANNELS,
        load,
        rate_limited,
        posted,
    })
}

/// Delivers `count` events to a webhook endpoint on a loopback receiver: `count` lead updates,
/// `concurrency` at a time, each recording a `lead.updated` event whose delivery job is written
/// in the same transaction; measured from the first change until the receiver has every event.
/// The ceiling is the same receiver sent `count` requests of the same size directly, by the
/// same driver, with the same concurrency.
async fn measure_webhooks(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    count: usize,
    concurrency: usize,
    progress: &impl Fn(&str),
) -> anyhow::Result<(Load, Load)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let received = Arc::new(AtomicUsize::new(0));
    let receiver = axum::Router::new().route(
        "/hooks",
        axum::routing::post({
            let received = received.clone();
            move |_body: axum::body::Bytes| {
                let received = received.clone();
                async move {
                    received.fetch_add(1, Ordering::Relaxed);
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hooks = format!("http://{}/hooks", listener.local_addr()?);
    let serving = tokio::spawn(async move {
        let _ = axum::serve(listener, receiver).await;
    });
    let lead: Value = http
        .post(format!("{base}/api/leads"))
        .bearer_auth(token)
        .json(&json!({"name": "Webhook bench lead"}))
        .send()
        .await?
        .json()
        .await?;
    let lead = lead["id"].as_str().context("lead id")?.to_owned();
    let created = http
        .post(format!("{base}/api/webhook-endpoints"))
        .bearer_auth(token)
        .json(&json!({"url": hooks, "eventTypes": ["lead.updated"]}))
        .send()
        .await?;
    anyhow::ensure!(
        created.status().is_success(),
        "could not add the endpoint: {}",
        created.text().await?
    );

    progress(&format!(
        "measuring {count} webhook deliveries (lead updates, {concurrency} at once)"
    ));
    let started = Instant::now();
    let changes = {
        let (http, base, token, lead) = (
            http.clone(),
            base.to_owned(),
            token.to_owned(),
            lead.clone(),
        );
        drive(count, concurrency, move |i| {
            let (http, base, token, lead) =
                (http.clone(), base.clone(), token.clone(), lead.clone());
            async move {
                http.patch(format!("{base}/api/leads/{lead}"))
                    .bearer_auth(token)
                    .json(&json!({"name": format!("Webhook bench lead {i}")}))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while received.load(Ordering::Relaxed) < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = received.load(Ordering::Relaxed);
    let webhooks = Load {
        requests: delivered,
        elapsed: started.elapsed(),
        p50: changes.p50,
        p99: changes.p99,
        failures: changes.failures + count.saturating_sub(delivered),
    };

    progress(&format!(
        "sending the receiver {count} requests directly (the ceiling)"
    ));
    let body = Arc::new(vec![b' '; 600]);
    let ceiling = {
        let (http, hooks) = (http.clone(), hooks.clone());
        drive(count, concurrency, move |_| {
            let (http, hooks, body) = (http.clone(), hooks.clone(), body.clone());
            async move {
                http.post(&hooks)
                    .header("content-type", "application/json")
                    .body(body.to_vec())
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await
    };
    serving.abort();
    Ok((webhooks, ceiling))
}

/// Routes `count` member messages spread over the company's lead channels, `concurrency` at a
/// time, through `routing::route` (cache lookups, decision, one write transaction with the
/// message, channel stats, cursor, routing event and live events); then inserts as many
/// equivalent message rows directly, one statement each, with the same concurrency: the
/// ceiling. Checks that every routed message was stored exactly once.
async fn measure_inbound(
    state: &crate::services::Services,
    company: CompanyId,
    count: usize,
    concurrency: usize,
    progress: &impl Fn(&str),
) -> anyhow::Result<(Load, Load)> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::OnConflict};

    use crate::{
        entities::{lead_channel, message},
        routing::{self, Inbound, Outcome, Source},
    };

    let channels: Vec<(Snowflake, Snowflake, crate::ids::LeadId)> = lead_channel::Entity::find()
        .filter(lead_channel::Column::CompanyId.eq(company))
        .filter(lead_channel::Column::IsActive.eq(true))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.channel_id, c.guild_id, c.lead_id))
        .collect();
    anyhow::ensure!(!channels.is_empty(), "no lead channels to route into");
    let channels = Arc::new(channels);
    // Snowflakes from now on, one per message: routed ones first, then the ceiling's rows.
    let first = (chrono::Utc::now().timestamp_millis() as u64 - 1_420_070_400_000) << 22;
    let inbound_for = move |channels: &[(Snowflake, Snowflake, crate::ids::LeadId)], i: usize| {
        let (channel_id, guild_id, _) = channels[i % channels.len()];
        Inbound {
            message_id: snowflake(first + i as u64),
            channel_id,
            guild_id: Some(guild_id),
            // Another member of the server than the lead: no join is recorded.
            author_id: snowflake(700_000_000_000_000_000 + (i % channels.len()) as u64),
            author_bot: false,
            author_name: None,
            webhook_id: None,
            kind: 0,
            nonce: None,
            content: format!("Inbound benchmark reply {i}"),
            source: Source::Gateway,
        }
    };

    progress(&format!(
        "routing {count} inbound messages, {concurrency} at once"
    ));
    let mut routed = {
        let (state, channels) = (state.clone(), channels.clone());
        drive(count, concurrency, move |i| {
            let (state, channels) = (state.clone(), channels.clone());
            async move {
                let message = inbound_for(&channels, i);
                match routing::route(&state, &message).await {
                    Ok(Outcome::Stored(_)) => true,
                    other => {
                        let _ = writeln!(std::io::stderr(), "bench: routing gave {other:?}");
                        false
                    }
                }
            }
        })
        .await
    };
    // Routing answers once its messages are committed; their live events get their ids just
    // after. The run counts until every one has (and the ceiling starts on a quiet database).
    let settling = Instant::now();
    while crate::entities::pending_event::Entity::find()
        .filter(crate::entities::pending_event::Column::CompanyId.eq(company))
        .count(&state.db)
        .await?
        > 0
    {
        anyhow::ensure!(
            settling.elapsed() < Duration::from_secs(60),
            "live events still without ids a minute after routing"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    routed.elapsed += settling.elapsed();
    let stored = message::Entity::find()
        .filter(message::Column::CompanyId.eq(company))
        .filter(message::Column::Direction.eq(message::Direction::Inbound))
        .count(&state.db)
        .await?;
    anyhow::ensure!(
        stored == (count - routed.failures) as u64,
        "{stored} inbound messages stored for {count} routed"
    );

    progress(&format!(
        "inserting {count} message rows directly (the ceiling)"
    ));
    let ceiling = {
        let (db, channels) = (state.db.clone(), channels.clone());
        drive(count, concurrency, move |i| {
            let (db, channels) = (db.clone(), channels.clone());
            async move {
                let message = inbound_for(&channels, count + i);
                let (_, _, lead_id) = channels[i % channels.len()];
                let row = message::ActiveModel::from(routing::stored_row(
                    &message,
                    company,
                    lead_id,
                    chrono::Utc::now(),
                ));
                let inserted = message::Entity::insert(row)
                    .on_conflict(
                        OnConflict::column(message::Column::DiscordMessageId)
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(&db)
                    .await;
                match inserted {
                    Ok(1) => true,
                    other => {
                        let _ = writeln!(std::io::stderr(), "bench: direct insert gave {other:?}");
                        false
                    }
                }
            }
        })
        .await
    };
    Ok((routed, ceiling))
}

/// A Discord id the benchmark made up (or the simulator's, as the product sees it); never 0.
fn snowflake(id: u64) -> Snowflake {
    Snowflake::new(id).expect("benchmark and simulator ids are not 0")
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The memory of `switchboard serve` as a process of its own (nothing else in it): resident
/// set size when idle, and after `leads` leads were created and listed through its API.
#[derive(Debug)]
pub struct Memory {
    pub idle_kib: u64,
    pub leads: usize,
    pub loaded_kib: u64,
}

/// A process's resident set size, from `/proc/{pid}/status` (Linux).
fn resident_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading the server's /proc status (Linux only)")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmRSS in /proc status")
}

/// Starts this binary's `serve` on `database_url` (a temporary SQLite file when `None`) and
/// `redis_url`, measures it idle, creates `leads` leads (20 at once) and pages through them
/// all, and measures it again; the server is stopped with SIGTERM.
pub async fn memory(
    database_url: Option<&str>,
    redis_url: Option<&str>,
    leads: usize,
    progress: impl Fn(&str),
) -> anyhow::Result<Memory> {
    let dir = tempfile_dir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = database_url
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("memory.db").display()));
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(redis) = redis_url {
        command
            .env("REDIS_URL", redis)
            .env("REDIS_KEY_PREFIX", format!("bench-memory-{port}"));
    }
    progress("starting `switchboard serve` for the memory measurement");
    let mut child = command.spawn().context("starting switchboard serve")?;
    let pid = child.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let result = async {
        let started = Instant::now();
        while !http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "the server was not ready in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle_kib = resident_kib(pid)?;
        let signup: Value = http
            .post(format!("{base}/api/auth/signup"))
            .json(&json!({"email": format!("memory-{port}@example.com"), "password": "benchmark password", "companyName": "Memory"}))
            .send()
            .await?
            .json()
            .await?;
        let token = signup["token"].as_str().context("signup token")?.to_owned();
        progress(&format!("creating {leads} leads"));
        let created = {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            drive(leads, 20, move |i| {
                let (http, base, token) = (http.clone(), base.clone(), token.clone());
                async move {
                    http.post(format!("{base}/api/leads"))
                        .bearer_auth(token)
                        .json(&json!({"name": format!("Lead {i}"), "email": format!("lead{i}@example.com")}))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                }
            })
            .await
        };
        anyhow::ensure!(created.failures == 0, "{} leads were not created", created.failures);
        progress("paging through them all");
        let mut cursor: Option<String> = None;
        let mut seen = 0;
        loop {
            let mut url = format!("{base}/api/leads?limit=100");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = http.get(url).bearer_auth(&token).send().await?.json().await?;
            seen += page["items"].as_array().map_or(0, Vec::len);
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        anyhow::ensure!(seen >= leads, "listed {seen} of {leads} leads");
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(Memory {
            idle_kib,
            leads,
            loaded_kib: resident_kib(pid)?,
        })
    }
    .await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
