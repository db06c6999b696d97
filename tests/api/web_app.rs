//! The web app served at `/` on the API's origin: the embedded build, or `FRONTEND_DIR`.
//! Not storage tests: SQLite only.
use std::path::{Path, PathBuf};

use reqwest::{Method, header};
use switchboard::http::app::APP_CSP;

use crate::helpers::{Auth, Backend, Reply, TestApp, spawn_app, spawn_app_with};

async fn get(app: &TestApp, path: &str) -> Reply {
    app.request(Method::GET, path, Auth::None, None).await
}

fn header(reply: &Reply, name: header::HeaderName) -> Option<&str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The path of the app's script, as index.html loads it.
#[track_caller]
fn script_path(index: &str) -> String {
    let start = index.find("src=\"/assets/").unwrap_or_else(|| {
        panic!(
            "index.html loads no /assets/ script: was the binary built without the web app \
             (no npm at cargo build)?\n{index}"
        )
    }) + "src=\"".len();
    let end = start + index[start..].find('"').expect("a closing quote");
    index[start..end].to_owned()
}

/// Sends `path` exactly as written (reqwest would resolve `%2e%2e` segments first).
async fn raw_get(app: &TestApp, path: &str) -> (u16, String) {
    app.raw(&format!("GET {path} HTTP/1.1"), b"").await
}

#[tokio::test]
async fn the_root_is_the_app_with_its_security_policy_and_no_cache() {
    let app = spawn_app(Backend::Embedded).await;
    let reply = get(&app, "/").await;
    reply.assert_status(200);
    assert_eq!(
        header(&reply, header::CONTENT_TYPE),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        header(&reply, header::CONTENT_SECURITY_POLICY),
        Some(APP_CSP)
    );
    assert_eq!(header(&reply, header::CACHE_CONTROL), Some("no-cache"));
    assert_eq!(
        header(&reply, header::X_CONTENT_TYPE_OPTIONS),
        Some("nosniff")
    );
    assert!(
        reply.text.contains("<title>Switchboard</title>"),
        "{}",
        reply.text
    );
    // The policy allows no inline script: every script of the page is a file.
    for tag in reply.text.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap_or_default();
        assert!(open.contains("src="), "an inline script: <script{open}>");
    }
}

#[tokio::test]
async fn the_apps_own_routes_load_the_app() {
    let app = spawn_app(Backend::Embedded).await;
    let index = get(&app, "/").await;
    for path in [
        "/leads/0192a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b",
        "/settings/integrations",
        "/settings/",
    ] {
        let reply = get(&app, path).await;
        reply.assert_status(200);
        assert_eq!(reply.text, index.text, "{path} is index.html");
        assert_eq!(
            header(&reply, header::CONTENT_SECURITY_POLICY),
            Some(APP_CSP),
            "{path}"
        );
        assert_eq!(header(&reply, header::CACHE_CONTROL), Some("no-cache"));
    }
    let head = app
        .request(Method::HEAD, "/leads/x", Auth::None, None)
        .await;
    head.assert_status(200);
    assert!(head.text.is_empty(), "a HEAD answer has no body");
}

#[tokio::test]
async fn hashed_assets_are_served_with_their_type_and_cached_for_good() {
    let app = spawn_app(Backend::Embedded).await;
    let index = get(&app, "/").await;
    let script = script_path(&index.text);
    let reply = get(&app, &script).await;
    reply.assert_status(200);
    assert_eq!(
        header(&reply, header::CONTENT_TYPE),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        header(&reply, header::CACHE_CONTROL),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        header(&reply, header::X_CONTENT_TYPE_OPTIONS),
        Some("nosniff")
    );
    let embedded = switchboard_frontend::get(script.trim_start_matches('/')).expect("embedded");
    assert_eq!(reply.text.as_bytes(), embedded.bytes);
}

#[tokio::test]
async fn a_missing_file_is_a_404_not_the_app() {
    let app = spawn_app(Backend::Embedded).await;
    get(&app, "/assets/missing.js")
        .await
        .assert_problem(404, "not_found");
    get(&app, "/favicon.ico")
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_services_own_paths_stay_problem_json_404s() {
    let app = spawn_app(Backend::Embedded).await;
    for path in [
        "/api/nope",
        "/api",
        "/sandbox/nope",
        "/healthz/nope",
        "/%61pi/nope",
    ] {
        let reply = get(&app, path).await;
        assert!(!reply.text.contains("<html"), "{path}: {}", reply.text);
        reply.assert_problem(404, "not_found");
    }
    // Other methods on the app's routes answer as before the app was served.
    app.request(Method::POST, "/leads/x", Auth::None, None)
        .await
        .assert_problem(404, "not_found");
    app.request(Method::DELETE, "/", Auth::None, None)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_matching_if_none_match_is_answered_304_without_a_body() {
    let app = spawn_app(Backend::Embedded).await;
    let first = get(&app, "/").await;
    let etag = header(&first, header::ETAG).expect("an ETag").to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong ETag: {etag}"
    );
    let again = |tag: &str| {
        app.send(
            app.client
                .get(app.url("/"))
                .header(header::IF_NONE_MATCH, tag),
            Auth::None,
            None,
        )
    };
    let cached = again(&etag).await;
    cached.assert_status(304);
    assert!(cached.text.is_empty());
    assert_eq!(header(&cached, header::ETAG), Some(etag.as_str()));
    again("\"something-else\"").await.assert_status(200);

    let script = script_path(&first.text);
    let asset = get(&app, &script).await;
    let asset_etag = header(&asset, header::ETAG).expect("an ETag");
    assert_ne!(asset_etag, etag);
    app.send(
        app.client
            .get(app.url(&script))
            .header(header::IF_NONE_MATCH, asset_etag),
        Auth::None,
        None,
    )
    .await
    .assert_status(304);
}

/// A `FRONTEND_DIR` (`app/` in a temporary directory, a secret beside it) and a server on it.
async fn app_on_a_directory() -> (TestApp, tempfile::TempDir, PathBuf) {
    let outer = tempfile::tempdir().expect("temp dir");
    let dir = outer.path().join("app");
    std::fs::create_dir_all(dir.join("assets")).expect("mkdir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>From the directory</title>",
    )
    .expect("write");
    std::fs::write(
        dir.join("assets/app-1a2b.js"),
        "console.log('from the directory');",
    )
    .expect("write");
    std::fs::write(outer.path().join("secret.txt"), "TOP-SECRET").expect("write");
    let root = dir.canonicalize().expect("canonical");
    let served = root.clone();
    let app = spawn_app_with(Backend::Embedded, move |s| s.frontend_dir = Some(served)).await;
    (app, outer, root)
}

#[tokio::test]
async fn frontend_dir_is_served_instead_of_the_embedded_app_and_read_at_request_time() {
    let (app, _outer, root) = app_on_a_directory().await;
    let index = get(&app, "/").await;
    index.assert_status(200);
    assert!(index.text.contains("From the directory"), "{}", index.text);
    assert_eq!(
        header(&index, header::CONTENT_SECURITY_POLICY),
        Some(APP_CSP)
    );
    let deep = get(&app, "/leads/0192a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b").await;
    assert_eq!(deep.text, index.text);

    let script = get(&app, "/assets/app-1a2b.js").await;
    script.assert_status(200);
    assert_eq!(script.text, "console.log('from the directory');");
    assert_eq!(
        header(&script, header::CONTENT_TYPE),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        header(&script, header::CACHE_CONTROL),
        Some("public, max-age=31536000, immutable")
    );
    get(&app, "/assets/missing.js")
        .await
        .assert_problem(404, "not_found");

    std::fs::write(
        root.join("index.html"),
        "<!doctype html><title>Rebuilt</title>",
    )
    .expect("write");
    let rebuilt = get(&app, "/").await;
    assert!(rebuilt.text.contains("Rebuilt"), "{}", rebuilt.text);
    assert_ne!(
        header(&rebuilt, header::ETAG),
        header(&index, header::ETAG),
        "a changed file has another ETag"
    );
}

#[tokio::test]
async fn paths_out_of_frontend_dir_are_refused() {
    let (app, _outer, root) = app_on_a_directory().await;
    for path in [
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/../secret.txt",
        "/..%5csecret.txt",
        "//secret.txt",
        "/..%2f..%2f..%2f..%2f..%2f..%2fetc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    ] {
        let (status, response) = raw_get(&app, path).await;
        assert_eq!(status, 404, "{path}: {response}");
        assert!(!response.contains("TOP-SECRET"), "{path}: {response}");
        assert!(!response.contains("root:"), "{path}: {response}");
        assert!(
            response.contains("application/problem+json"),
            "{path}: {response}"
        );
    }

    // A symbolic link inside the directory that leads out of it is not followed.
    symlink(&root.join("../secret.txt"), &root.join("leak.txt"));
    symlink(Path::new("/etc"), &root.join("etc"));
    for path in ["/leak.txt", "/etc/passwd", "/etc/hostname"] {
        let (status, response) = raw_get(&app, path).await;
        assert_eq!(status, 404, "{path}: {response}");
        assert!(!response.contains("TOP-SECRET"), "{path}: {response}");
    }
    // One that stays inside is.
    symlink(&root.join("assets/app-1a2b.js"), &root.join("alias.js"));
    get(&app, "/alias.js").await.assert_status(200);
}

#[tokio::test]
async fn paths_out_of_the_embedded_app_are_refused_too() {
    let app = spawn_app(Backend::Embedded).await;
    for path in ["/..%2f..%2fetc/passwd", "/%2e%2e/%2e%2e/etc/passwd"] {
        let (status, response) = raw_get(&app, path).await;
        assert_eq!(status, 404, "{path}: {response}");
        assert!(
            response.contains("application/problem+json"),
            "{path}: {response}"
        );
    }
}

fn symlink(target: &Path, link: &Path) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, link).expect("symlink");
    #[cfg(not(unix))]
    let _ = (target, link);
}
