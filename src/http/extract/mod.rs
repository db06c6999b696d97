//! Extractors whose failures are all problem+json.
mod auth;
mod client;
mod json;
mod path;
mod query;

pub use auth::{AdminPrincipal, SESSION_AUTH_KEY, SessionAuth, revoked_token_key};
pub use client::ClientAddress;
pub use json::ApiJson;
pub use path::ApiPath;
pub use query::ApiQuery;
