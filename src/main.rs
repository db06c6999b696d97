use std::{io::Write, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use switchboard::ids::CompanyId;
use switchboard::{
    config::{self, SecretSource, Settings},
    db,
    http::{app, openapi},
    server::{Server, shutdown_signal},
    telemetry,
};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Lets a CRM talk to its leads on Discord"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default).
    Serve,
    /// Apply, roll back or list database migrations (DATABASE_URL).
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Give every active lead that is reached by direct messages (a Discord user id, no
    /// channel) its own channel, at Discord's rate. Safe to rerun: finished leads are skipped.
    MigrateDmLeads {
        /// Only this company (its id); all companies with a connected server otherwise.
        #[arg(long)]
        company: Option<CompanyId>,
    },
    /// Measure send-message, inbound routing and channel creation against the simulator, each
    /// beside a ceiling measured in the same run (a few minutes: channel creation runs at
    /// Discord's real pace).
    Bench {
        /// Messages to send (and `GET /healthz` requests for the ceiling).
        #[arg(long, default_value_t = 2000)]
        messages: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 20)]
        concurrency: usize,
        /// Lead channels to create in one Discord server.
        #[arg(long, default_value_t = 200)]
        channels: usize,
        /// Inbound messages to route and store (and rows to insert directly for the ceiling).
        #[arg(long, default_value_t = 5000)]
        inbound: usize,
        /// Events to deliver to a webhook endpoint on loopback (and requests to send the same
        /// receiver directly for the ceiling).
        #[arg(long, default_value_t = 1000)]
        webhooks: usize,
        /// Measure on this database (an empty or scratch one: the run adds two companies);
        /// a temporary SQLite file by default.
        #[arg(long)]
        database_url: Option<String>,
        /// Use this Redis as the state store; in-process by default.
        #[arg(long)]
        redis_url: Option<String>,
        /// Also run this many replicas on the database and Redis given (both needed), sending
        /// at Discord's real limits.
        #[arg(long, default_value_t = 1)]
        replicas: usize,
        /// Messages the replicas send.
        #[arg(long, default_value_t = 3000)]
        replica_messages: usize,
        /// Also measure `switchboard serve`'s memory idle and with this many leads (0 skips).
        #[arg(long, default_value_t = 10_000)]
        rss_leads: usize,
    },
    /// Print the OpenAPI document, or write it to a file.
    Openapi {
        /// Write here instead of standard output (e.g. openapi/openapi.json).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Clone, Copy)]
enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// Roll back the last `steps` migrations.
    Down {
        #[arg(long, short = 'n', default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate { action } => migrate(action.unwrap_or(MigrateAction::Up)).await,
        Command::Openapi { output } => write_openapi(output),
        Command::MigrateDmLeads { company } => migrate_dm_leads(company).await,
        Command::Bench {
            messages,
            concurrency,
            channels,
            inbound,
            webhooks,
            database_url,
            redis_url,
            replicas,
            replica_messages,
            rss_leads,
        } => {
            let options = switchboard::bench::Options {
                messages,
                concurrency: concurrency.max(1),
                channels,
                inbound,
                webhooks,
                database_url,
                redis_url,
                replicas,
                replica_messages,
            };
            bench(options, rss_leads).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    telemetry::init(settings.log_format);
    if settings.sandbox {
        tracing::warn!(
            "SANDBOX MODE: Discord and GitHub are the built-in simulators, not the real platforms \
             (set DISCORD_BOT_TOKEN and friends for production)"
        );
    }
    if settings.secrets_source == SecretSource::DevFile {
        tracing::warn!(
            file = config::DEV_SECRETS_FILE,
            "using generated development secrets (JWT_SECRET, TOKEN_ENCRYPTION_KEY) kept in a local file; \
             set them explicitly for production"
        );
    }
    let server = Server::bind(settings.clone(), &settings.redis_key_prefix).await?;
    tracing::info!(
        addr = %server.local_addr()?,
        public_url = %settings.public_url,
        database = if settings.is_postgres() { "postgres" } else { "sqlite" },
        state_store = server.state().state.backend(),
        "switchboard listening; API docs at {}docs",
        settings.public_url
    );
    log_web_app(&server.state().settings);
    server.run(shutdown_signal()).await
}

/// Where the web app is, and which one it is.
fn log_web_app(settings: &Settings) {
    let url = &settings.public_url;
    match app::source(settings) {
        app::Source::Embedded => {
            tracing::info!("web app at {url} (the build embedded in the binary)")
        }
        app::Source::Directory(dir) => tracing::info!(
            frontend_dir = %dir.display(),
            "web app at {url} (read from FRONTEND_DIR)"
        ),
        app::Source::NotBuilt => {
            tracing::info!("web app at {url} (not built: a page saying so)");
            tracing::warn!(
                "the web app was not built into this binary (npm was missing or its build failed \
                 at cargo build; its warnings said why): install Node.js 20.19 or later, then \
                 `touch frontend/package.json` and build again, or set FRONTEND_DIR"
            );
        }
    }
}

async fn migrate(action: MigrateAction) -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    telemetry::init(config::LogFormat::Pretty);
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| config::DEFAULT_DATABASE_URL.to_owned());
    let db = db::connect(&url)
        .await
        .context("connecting to the database")?;
    let mut out = std::io::stdout().lock();
    match action {
        MigrateAction::Up => {
            Migrator::up(&db, None).await?;
            writeln!(out, "database is up to date")?;
        }
        MigrateAction::Down { steps } => {
            Migrator::down(&db, Some(steps)).await?;
            writeln!(out, "rolled back {steps} migration(s)")?;
        }
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(&db).await? {
                writeln!(
                    out,
                    "{:<10} {}",
                    migration.status().to_string(),
                    migration.name()
                )?;
            }
        }
    }
    Ok(())
}

async fn migrate_dm_leads(company: Option<CompanyId>) -> anyhow::Result<()> {
    let mut settings = Settings::from_env()?;
    telemetry::init(settings.log_format);
    settings.apply_sandbox();
    let app = switchboard::services::Services::connect(settings, "switchboard").await?;
    // The channels are made by the background queue; this process works on it too.
    let worker = tokio::spawn(switchboard::channels::provision_worker(app.clone()));
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {bar:40} {pos}/{len} leads  {elapsed} (eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let summary = switchboard::channels::migrate_dm_leads(&app, company, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await;
    worker.abort();
    let summary = summary?;
    bar.finish_and_clear();
    writeln!(
        std::io::stdout().lock(),
        "{} leads: {} channels created, {} already had one, {} failed (sync log {})",
        summary.considered,
        summary.created,
        summary.existing,
        summary.failed,
        summary.sync_log_id
    )?;
    if summary.failed > 0 {
        anyhow::bail!(
            "{} leads could not get a channel; see the sync log's errors and run again",
            summary.failed
        );
    }
    Ok(())
}

async fn bench(options: switchboard::bench::Options, rss_leads: usize) -> anyhow::Result<()> {
    let concurrency = options.concurrency;
    let memory = if rss_leads > 0 {
        Some(
            switchboard::bench::memory(
                options.database_url.as_deref(),
                options.redis_url.as_deref(),
                rss_leads,
                |step| {
                    let _ = writeln!(std::io::stderr(), "bench: {step}");
                },
            )
            .await?,
        )
    } else {
        None
    };
    let report = switchboard::bench::run(options, |step| {
        let _ = writeln!(std::io::stderr(), "bench: {step}");
    })
    .await?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let (h, s) = (&report.healthz, &report.send);
    let (i, c) = (&report.inbound, &report.inbound_ceiling);
    let mut out = std::io::stdout().lock();
    writeln!(out, "Database: {}", report.database)?;
    writeln!(out)?;
    writeln!(out, "| measurement | result | ceiling (same run) | ratio |")?;
    writeln!(out, "|---|---|---|---|")?;
    writeln!(
        out,
        "| send-message throughput ({} requests, {} at once) | {:.0}/s | GET /healthz {:.0}/s | {:.2} |",
        s.requests,
        concurrency,
        s.per_second(),
        h.per_second(),
        s.per_second() / h.per_second()
    )?;
    writeln!(
        out,
        "| send-message p50 / p99 | {:.1} / {:.1} ms | {:.1} / {:.1} ms | p99 ×{:.1} |",
        ms(s.p50),
        ms(s.p99),
        ms(h.p50),
        ms(h.p99),
        ms(s.p99) / ms(h.p99).max(0.001)
    )?;
    if let Some(cpu) = report.send_cpu {
        writeln!(
            out,
            "| CPU time per message sent (the whole process: server, simulator and load driver) | {:.2} ms | | |",
            ms(cpu) / s.requests.max(1) as f64
        )?;
    }
    writeln!(
        out,
        "| inbound messages routed and stored ({} messages, {} at once) | {:.0}/s | direct inserts of the same rows {:.0}/s | {:.2} |",
        i.requests,
        concurrency,
        i.per_second(),
        c.per_second(),
        i.per_second() / c.per_second()
    )?;
    writeln!(
        out,
        "| inbound p50 / p99 | {:.2} / {:.2} ms | {:.2} / {:.2} ms | p99 ×{:.1} |",
        ms(i.p50),
        ms(i.p99),
        ms(c.p50),
        ms(c.p99),
        ms(i.p99) / ms(c.p99).max(0.001)
    )?;
    let (w, wc) = (&report.webhooks, &report.webhooks_ceiling);
    writeln!(
        out,
        "| webhook events delivered, signed, to a loopback receiver ({} events, {} changes at once) | {:.0}/s | the receiver sent to directly {:.0}/s | {:.2} |",
        w.requests,
        concurrency,
        w.per_second(),
        wc.per_second(),
        w.per_second() / wc.per_second()
    )?;
    if let Some(m) = &memory {
        writeln!(
            out,
            "| `switchboard serve` resident memory, idle / with {} leads created and listed | {:.1} / {:.1} MiB | | |",
            m.leads,
            m.idle_kib as f64 / 1024.0,
            m.loaded_kib as f64 / 1024.0
        )?;
    }
    if let Some(r) = &report.replicas {
        writeln!(
            out,
            "| {} replicas sending {} messages to {} channels at Discord's real limits (60 at once) | {:.1}/s | Discord's global limit {:.0}/s | {:.2} |",
            r.replicas,
            r.load.requests,
            r.channels,
            r.load.per_second(),
            switchboard::bench::DISCORD_GLOBAL_PER_SECOND,
            r.load.per_second() / switchboard::bench::DISCORD_GLOBAL_PER_SECOND
        )?;
        writeln!(
            out,
            "| 429s from the simulator during the replica run; messages posted / sent | {}; {} / {} ({} failed) | 0; each once | |",
            r.rate_limited, r.posted, r.load.requests, r.load.failures
        )?;
    }
    if report.channels > 0 {
        writeln!(
            out,
            "| {} lead channels in one server ({} creations with categories) | {:.1} s | Discord's minimum {:.0} s | {:.3} |",
            report.channels,
            report.channel_creations,
            report.channel_elapsed.as_secs_f64(),
            report.channel_minimum.as_secs_f64(),
            report.channel_minimum.as_secs_f64() / report.channel_elapsed.as_secs_f64()
        )?;
        writeln!(
            out,
            "| 429s from the simulator during channel creation | {} | 0 | |",
            report.rate_limited
        )?;
        let answers: Vec<String> = report
            .channel_answers
            .iter()
            .map(|(status, n)| format!("{n}× {status}"))
            .collect();
        writeln!(
            out,
            "| channel requests answered (all at once) | {} | non-2xx: {} | |",
            answers.join(", "),
            report.channel_non_2xx
        )?;
    }
    writeln!(
        out,
        "| failed sends / health checks / routings / direct inserts / webhook events / direct posts | {} / {} / {} / {} / {} / {} | 0 | |",
        s.failures, h.failures, i.failures, c.failures, w.failures, wc.failures
    )?;
    Ok(())
}

fn write_openapi(output: Option<PathBuf>) -> anyhow::Result<()> {
    let json = openapi::spec_json();
    match output {
        Some(path) => {
            std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))
        }
        None => std::io::stdout()
            .lock()
            .write_all(json.as_bytes())
            .context("writing to stdout"),
    }
}
