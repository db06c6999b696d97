//! The `switchboard` binary run as another replica of a test's app, so a test can stop it the
//! way production does: SIGTERM (a rolling deploy) or SIGKILL (a crash, the OOM killer).
use std::{
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use base64::Engine;

use super::TestApp;

/// A JWT secret that survives an environment variable (the binary reads `JWT_SECRET` as text);
/// apps whose replicas run as processes are started with it.
pub fn printable_jwt_secret(settings: &mut switchboard::config::Settings) {
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    settings.jwt_secret = switchboard::config::Secret::new(secret.into_bytes());
}

pub struct ReplicaProcess {
    child: Child,
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ReplicaProcess {
    /// Starts `switchboard serve` on `app`'s database, Redis namespace, secrets and public URL
    /// (so the same simulators), and waits until it is ready. `gateway`: whether it competes for
    /// the gateway shards. `app` must run on PostgreSQL and Redis, with a printable JWT secret.
    pub async fn start(app: &TestApp, gateway: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("switchboard.log");
        let port = super::free_port();
        let settings = &app.state.settings;
        let jwt = String::from_utf8(settings.jwt_secret.expose().clone())
            .expect("the app was started with printable_jwt_secret");
        let redis = settings
            .redis_url
            .as_ref()
            .expect("replicas as processes share Redis")
            .expose()
            .clone();
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("PUBLIC_URL", settings.public_url.as_str())
            .env("DATABASE_URL", settings.database_url.expose())
            .env("REDIS_URL", redis)
            .env("REDIS_KEY_PREFIX", &app.namespace)
            .env("JWT_SECRET", jwt)
            .env(
                "TOKEN_ENCRYPTION_KEY",
                base64::engine::general_purpose::STANDARD
                    .encode(settings.token_encryption_key.expose()),
            )
            .env("SANDBOX", "1")
            .env("DISCORD_GATEWAY", if gateway { "on" } else { "off" })
            .env(
                "DISCORD_TIMEOUT_SECS",
                settings.discord_timeout.as_secs().max(1).to_string(),
            )
            .env("RUST_LOG", "info,sqlx=warn")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("the switchboard binary starts");
        let mut replica = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(exit) = replica.child.try_wait().expect("wait") {
                panic!("the replica exited ({exit}): {}", replica.log());
            }
            let ready = client
                .get(format!("{}/readyz", replica.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return replica;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the replica was not ready in 60 s: {}",
                replica.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends the signal (`TERM`, `KILL`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal}");
    }

    /// Waits for the process to end, at most `within`.
    pub async fn exited(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(exit) = self.child.try_wait().expect("wait") {
                return Some(exit);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the process logged (for failure messages).
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = log.len().saturating_sub(6000);
        log.get(start..).unwrap_or(&log).to_owned()
    }
}

impl Drop for ReplicaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
