//! The web app at `/`, on the API's origin: a GET or HEAD of any path that is not the service's
//! own (the API, its docs, the simulators, the operations endpoints) is answered with the file
//! of that name from the build embedded in the binary, or from `FRONTEND_DIR`, and with
//! `index.html` when there is none, so the app's own routes (`/leads/{id}`) load the app.
use std::{
    collections::HashMap,
    path::{Component, Path},
    sync::LazyLock,
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::{
    config::Settings,
    error::{Error, ErrorKind},
    http::AppState,
};

/// The first path segments that belong to the service, never to the app: an unknown path under
/// them stays a problem+json 404 (the router's routes; `/sandbox` only exists in sandbox mode).
const SERVICE_PATHS: &[&str] = &[
    "api",
    "sandbox",
    "docs",
    "openapi.json",
    "healthz",
    "readyz",
    "metrics",
];

/// The app's pages load only this origin's scripts, styles, images and API: Vite's build has no
/// inline script (inline styles stay allowed for the app's `style` attributes).
pub const APP_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// Vite names every file under `assets/` by a hash of its content: it never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Where the web app's files come from.
#[derive(Debug, PartialEq, Eq)]
pub enum Source<'a> {
    /// `FRONTEND_DIR`, read at request time.
    Directory(&'a Path),
    /// The build embedded in the binary.
    Embedded,
    /// The page saying the app was not built (npm was missing or failed at `cargo build`).
    NotBuilt,
}

pub fn source(settings: &Settings) -> Source<'_> {
    match &settings.frontend_dir {
        Some(dir) => Source::Directory(dir),
        None if switchboard_frontend::built() => Source::Embedded,
        None => Source::NotBuilt,
    }
}

/// The router's fallback: the app's file, or `index.html` for the app's routes; a problem+json
/// 404 for everything else, as before the app was served (other methods, the service's paths,
/// missing files, paths that could leave the app's directory).
pub async fn serve(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return not_found();
    }
    let Some(path) = relative_path(uri.path()).filter(|p| !is_service_path(p)) else {
        return not_found();
    };
    let source = source(&state.settings);
    let file = match find(&source, &path).await {
        Found::File(file) => file,
        Found::Refused => return not_found(),
        // A missing script or image must not be answered with a page.
        Found::Missing if looks_like_a_file(&path) => return not_found(),
        Found::Missing => match find(&source, "index.html").await {
            Found::File(index) => index,
            Found::Missing | Found::Refused => return not_found(),
        },
    };
    respond(file, &headers)
}

fn not_found() -> Response {
    Error::new(ErrorKind::NotFound, "not_found", "No such resource.").into_response()
}

/// The request path as a path relative to the app's root (`/` is `index.html`), or `None` when
/// it could name something outside it: it is percent-decoded first (`%2e%2e`, `%2f`), then
/// every segment must be a plain name, not `.`, `..`, empty (`//`), hidden (`.git`), or holding
/// a backslash or NUL.
fn relative_path(raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let path = decoded.strip_prefix('/')?;
    if path.is_empty() {
        return Some("index.html".to_owned());
    }
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len() - 1;
    let plain = segments.iter().enumerate().all(|(i, segment)| {
        // Only the last may be empty: `/settings/` is a route of the app.
        (!segment.is_empty() || i == last)
            && !segment.starts_with('.')
            && !segment.contains(['\\', '\0'])
    });
    let relative = Path::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    (plain && relative).then(|| path.to_owned())
}

fn is_service_path(path: &str) -> bool {
    let first = path.split('/').next().unwrap_or_default();
    SERVICE_PATHS.contains(&first)
}

/// `assets/index.js` names a file; `leads/42` and `settings/` are routes of the app.
fn looks_like_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'))
}

struct File {
    /// Relative to the app's root.
    path: String,
    bytes: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
}

enum Found {
    File(File),
    Missing,
    /// A symbolic link out of `FRONTEND_DIR`.
    Refused,
}

async fn find(source: &Source<'_>, path: &str) -> Found {
    match source {
        Source::Directory(root) => read_file(root, path).await,
        Source::Embedded | Source::NotBuilt => match switchboard_frontend::get(path) {
            Some(asset) => Found::File(File {
                path: path.to_owned(),
                bytes: Bytes::from_static(asset.bytes),
                content_type: asset.content_type,
                etag: EMBEDDED_ETAGS
                    .get(asset.path)
                    .cloned()
                    .unwrap_or_else(|| etag(asset.bytes)),
            }),
            None => Found::Missing,
        },
    }
}

/// A regular file under `root` (canonical), following symbolic links only while they stay
/// inside it.
async fn read_file(root: &Path, path: &str) -> Found {
    let Ok(real) = tokio::fs::canonicalize(root.join(path)).await else {
        return Found::Missing;
    };
    if !real.starts_with(root) {
        tracing::warn!(
            path,
            "FRONTEND_DIR: a symbolic link out of the directory is not served"
        );
        return Found::Refused;
    }
    if !tokio::fs::metadata(&real).await.is_ok_and(|m| m.is_file()) {
        return Found::Missing;
    }
    match tokio::fs::read(&real).await {
        Ok(bytes) => Found::File(File {
            path: path.to_owned(),
            etag: etag(&bytes),
            bytes: Bytes::from(bytes),
            content_type: switchboard_frontend::content_type(path),
        }),
        Err(err) => {
            tracing::warn!(path, error = %err, "FRONTEND_DIR: a file could not be read");
            Found::Missing
        }
    }
}

/// The embedded files' ETags, computed once.
static EMBEDDED_ETAGS: LazyLock<HashMap<&'static str, HeaderValue>> = LazyLock::new(|| {
    switchboard_frontend::assets()
        .iter()
        .map(|asset| (asset.path, etag(asset.bytes)))
        .collect()
});

/// A strong ETag: the first 128 bits of the content's SHA-256.
fn etag(bytes: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(bytes);
    HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..16])))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// `If-None-Match` names this ETag (compared weakly, as RFC 9110 says for this header) or is `*`.
fn is_fresh(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == etag)
}

fn respond(file: File, request: &HeaderMap) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(header::ETAG, file.etag.clone());
    // index.html (and any file whose name stays the same across builds) is checked every time,
    // so a deployment is seen at the next load; a hashed asset is kept for good.
    let cache = if file.path.starts_with("assets/") {
        IMMUTABLE
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if file.content_type.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(APP_CSP),
        );
    }
    if is_fresh(request, &file.etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, Body::from(file.bytes)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_index_page() {
        assert_eq!(relative_path("/").as_deref(), Some("index.html"));
    }

    #[test]
    fn plain_paths_are_kept_as_they_are() {
        for (raw, expected) in [
            ("/assets/index-1a2b.js", "assets/index-1a2b.js"),
            (
                "/leads/0192a3b4-0000-7000-8000-000000000000",
                "leads/0192a3b4-0000-7000-8000-000000000000",
            ),
            ("/settings/", "settings/"),
            ("/caf%C3%A9.png", "café.png"),
        ] {
            assert_eq!(relative_path(raw).as_deref(), Some(expected), "{raw}");
        }
    }

    #[test]
    fn paths_that_could_leave_the_apps_directory_are_refused() {
        for raw in [
            "/../etc/passwd",
            "/assets/../../etc/passwd",
            "/..%2f..%2fetc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/assets/%2e%2e%2f%2e%2e%2fCargo.toml",
            "//etc/passwd",
            "/%2fetc/passwd",
            "/assets//x.js",
            "/./index.html",
            "/.git/config",
            "/..%5c..%5cetc%5cpasswd",
            "/index.html%00.js",
            "/%ff.js",
            "relative",
            "",
        ] {
            assert_eq!(relative_path(raw), None, "{raw} must be refused");
        }
    }

    #[test]
    fn the_services_own_paths_are_never_the_apps() {
        for path in [
            "api/nope",
            "api",
            "sandbox/discord/x",
            "docs/",
            "openapi.json",
            "healthz",
            "readyz",
            "metrics",
        ] {
            assert!(is_service_path(path), "{path}");
        }
        for path in [
            "index.html",
            "leads/42",
            "apiary",
            "documents/1",
            "assets/api.js",
        ] {
            assert!(!is_service_path(path), "{path}");
        }
    }

    #[test]
    fn a_name_with_an_extension_is_a_file_and_anything_else_a_route() {
        assert!(looks_like_a_file("assets/missing.js"));
        assert!(looks_like_a_file("favicon.ico"));
        assert!(!looks_like_a_file(
            "leads/0192a3b4-0000-7000-8000-000000000000"
        ));
        assert!(!looks_like_a_file("settings/integrations"));
        assert!(!looks_like_a_file("v1.2/settings/"));
    }

    #[test]
    fn if_none_match_matches_the_etag_in_a_list_weakly_or_as_a_star() {
        let tag = etag(b"hello");
        let ask = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::IF_NONE_MATCH,
                HeaderValue::from_str(value).expect("header value"),
            );
            is_fresh(&headers, &tag)
        };
        let exact = tag.to_str().expect("ASCII");
        assert!(ask(exact));
        assert!(ask(&format!("\"other\", W/{exact}")));
        assert!(ask("*"));
        assert!(!ask("\"other\""));
        assert!(!is_fresh(&HeaderMap::new(), &tag));
    }

    #[test]
    fn the_etag_is_strong_and_follows_the_content() {
        let tag = etag(b"hello");
        let text = tag.to_str().expect("ASCII");
        assert!(
            text.starts_with('"') && text.ends_with('"') && text.len() == 34,
            "{text}"
        );
        assert_eq!(tag, etag(b"hello"));
        assert_ne!(tag, etag(b"hello!"));
    }
}
