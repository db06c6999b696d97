//! `switchboard bench`: measures the product against the simulator on this machine, each
//! number beside a ceiling measured in the same run (never as timing asserts in tests).
//!
//! - send-message throughput and p99 beside `GET /healthz` of the same server, with the same
//!   load driver, concurrency and count. The simulator's rate-limit windows are compressed so
//!   the product's own cost is measured, not Discord's pacing.
//! - channel creation for many leads in one guild at Discord's real pace (10 per 10 s), beside
//!   the minimum time that limit allows.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use std::io::Write;

use anyhow::Context;
use serde_json::{Value, json};

use crate::{
    app::Server,
    config::Settings,
    integrations::{GrantDetails, discord::permissions, store},
};

pub struct Options {
    pub messages: usize,
    pub concurrency: usize,
    pub channels: usize,
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
    pub healthz: Load,
    pub send: Load,
    pub channels: usize,
    pub channel_creations: usize,
    pub channel_elapsed: Duration,
    pub channel_minimum: Duration,
    pub rate_limited: u64,
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
    let dir = tempfile_dir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let mut settings = Settings::for_tests(&url, None);
    // Production's deadline: at Discord's real pace a call may wait a 10-second window.
    settings.discord_timeout = crate::discord::rest::CALL_TIMEOUT;
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
        .json(&json!({"email": "bench@example.com", "password": "benchmark password", "companyName": "Bench"}))
        .send()
        .await?
        .json()
        .await?;
    let token = signup["token"].as_str().context("signup token")?.to_owned();
    let company: uuid::Uuid = signup["company"]["id"]
        .as_str()
        .context("company")?
        .parse()?;
    let connect = |name: &str| {
        let guild = sandbox.discord.create_guild(name);
        sandbox.discord.install_bot(guild.id, permissions::BOT);
        (
            guild.id,
            GrantDetails::Discord {
                guild_id: guild.id.to_string(),
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
    let mut leads = Vec::new();
    for i in 0..options.concurrency {
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

    // Channel creation at Discord's real pace, in a fresh server.
    sandbox.discord.limits.set_window_divisor(1);
    let other: Value = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": "bench-channels@example.com", "password": "benchmark password", "companyName": "Bench channels"}))
        .send()
        .await?
        .json()
        .await?;
    let other_token = other["token"].as_str().context("token")?.to_owned();
    let other_company: uuid::Uuid = other["company"]["id"]
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
        "creating {} lead channels at Discord's pace (10 per 10 s)",
        options.channels
    ));
    let started = Instant::now();
    let created = {
        let (http, base, token, leads) = (
            http.clone(),
            base.clone(),
            other_token.clone(),
            Arc::new(channel_leads),
        );
        // One at a time, as `migrate-dm-leads` does: Discord allows one creation per second
        // on average, and a request queued behind many others would outlive its deadline.
        drive(options.channels, 1, move |i| {
            let (http, base, token, leads) =
                (http.clone(), base.clone(), token.clone(), leads.clone());
            async move {
                let body = json!({"leadId": leads[i]});
                match http
                    .post(format!("{base}/api/discord/channels"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().as_u16() == 201 => true,
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body = r.text().await.unwrap_or_default();
                        let _ = writeln!(
                            std::io::stderr(),
                            "bench: channel creation answered {status}: {body}"
                        );
                        false
                    }
                    Err(err) => {
                        let _ =
                            writeln!(std::io::stderr(), "bench: channel creation failed: {err}");
                        false
                    }
                }
            }
        })
        .await
    };
    let channel_elapsed = started.elapsed();
    anyhow::ensure!(
        created.failures == 0,
        "{} channel creations failed",
        created.failures
    );
    let creations = sandbox.discord.channels.channels_of(guild).len();
    // 10 creations per 10 s: the first ten at once, then one window per further ten.
    let channel_minimum =
        Duration::from_secs(10 * (creations.div_ceil(10) as u64).saturating_sub(1));
    let rate_limited = sandbox.discord.limits.sent_429() - before;

    let _ = stop.send(());
    let _ = serving.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Report {
        healthz,
        send,
        channels: options.channels,
        channel_creations: creations,
        channel_elapsed,
        channel_minimum,
        rate_limited,
    })
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
