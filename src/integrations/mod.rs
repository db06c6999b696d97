//! Connecting a company to Discord and GitHub through OAuth popups, and keeping the grants.
pub mod discord;
pub mod flow;
pub mod github;
pub mod guilds;
mod oauth;
pub mod providers;
pub mod store;

pub use providers::{
    CallbackParams, Grant, GrantDetails, IntegrationMetadata, Provider, ProviderError, Providers,
};

pub use crate::entities::{discord_connection::Health, integration::IntegrationStatus};
