//! The `switchboard` binary itself, as the README tells people to run it.
use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::helpers::free_port;

fn switchboard(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    // Nothing from the developer's environment: the embedded default is what a newcomer gets.
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(dir);
    cmd
}

#[tokio::test]
async fn serve_starts_on_the_embedded_default_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut child = switchboard(dir.path())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("switchboard starts");
    let client = reqwest::Client::new();
    let started = Instant::now();
    let ready = loop {
        match client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => break r.json::<serde_json::Value>().await.ok(),
            _ if started.elapsed() > Duration::from_secs(30) => break None,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let ready = ready.expect("the service became ready");
    assert_eq!(ready["database"], "sqlite");
    assert_eq!(ready["stateStore"], "memory");
    assert!(
        dir.path().join("switchboard.db").exists(),
        "SQLite file in the working directory"
    );
    let secrets = dir.path().join(".switchboard-dev-secrets");
    assert!(secrets.exists(), "generated dev secrets are kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "dev secrets must be private to their owner"
        );
    }

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break Some(exit);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        exit.expect("exited after SIGTERM").success(),
        "graceful shutdown exits 0"
    );
}

#[test]
fn serve_refuses_real_credentials_without_production_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = switchboard(dir.path())
        .args(["serve"])
        .env("DISCORD_BOT_TOKEN", "a-real-looking-token")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JWT_SECRET") && stderr.contains("TOKEN_ENCRYPTION_KEY"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("a-real-looking-token"),
        "a secret was echoed: {stderr}"
    );
}

#[test]
fn migrate_applies_lists_and_rolls_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        let out = switchboard(dir.path()).args(args).output().expect("runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    use migration::MigratorTrait;
    let total = migration::Migrator::migrations().len();
    run(&["migrate", "up"]);
    let status = run(&["migrate", "status"]);
    assert_eq!(status.matches("Applied").count(), total, "{status}");
    run(&["migrate", "down", "-n", "1"]);
    let status = run(&["migrate", "status"]);
    assert_eq!(status.matches("Pending").count(), 1, "{status}");
    run(&["migrate"]);
    assert_eq!(
        run(&["migrate", "status"]).matches("Applied").count(),
        total
    );
}

#[test]
fn the_openapi_command_prints_the_served_spec() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = switchboard(dir.path())
        .arg("openapi")
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        switchboard::http::openapi::spec_json()
    );
}

#[tokio::test]
async fn migrate_dm_leads_runs_against_a_running_server() {
    // In sandbox mode the simulators live in the server, so the command reaches Discord through
    // the server's PUBLIC_URL, as it would reach discord.com.
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Embedded).await;
    let (account, _, lead) = crate::helpers::discord::connected(&app).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = switchboard(dir.path());
    command
        .args(["migrate-dm-leads", "--company", &account.company_id])
        .env("DATABASE_URL", app.settings.database_url.expose())
        .env("PUBLIC_URL", app.settings.public_url.as_str());
    // Waited for on another thread: this test's runtime also serves the requests it makes.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joins")
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 leads: 1 channels created, 0 already had one, 0 failed"),
        "{stdout}"
    );
    let channel = app
        .get(
            &format!("/api/discord/channels/{}", lead.id),
            &account.token,
        )
        .await;
    channel.assert_status(200);
}
