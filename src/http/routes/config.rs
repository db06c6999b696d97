//! What the web app needs to know about this server before anyone signs in.
use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(app_config))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppConfig {
    /// Discord and GitHub are the built-in simulators (no `DISCORD_BOT_TOKEN` configured).
    sandbox: bool,
    /// The service's public base URL (`PUBLIC_URL`). OAuth popups return to it, so the web app
    /// must be opened on this origin for sign-in popups to reach it.
    public_url: String,
    /// The origin the OAuth popup's message is posted to (`FRONTEND_ORIGIN`).
    frontend_origin: String,
    /// The server's version.
    version: String,
}

/// The server's configuration, as the web app needs it
///
/// Public: answered without credentials.
#[utoipa::path(get, path = "/config", tag = "meta", security(()),
    responses((status = 200, description = "The configuration", body = AppConfig)))]
async fn app_config(State(state): State<AppState>) -> Json<AppConfig> {
    let settings = &state.settings;
    Json(AppConfig {
        sandbox: settings.sandbox,
        public_url: settings
            .public_url
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
        frontend_origin: settings.frontend_origin.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}
