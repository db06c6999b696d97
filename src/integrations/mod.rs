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

/// Integration status values, by the names the code reads them.
pub mod status {
    use super::IntegrationStatus;

    pub const ACTIVE: IntegrationStatus = IntegrationStatus::Active;
    pub const ERROR: IntegrationStatus = IntegrationStatus::Error;
    pub const REVOKED: IntegrationStatus = IntegrationStatus::Revoked;
}

/// Connection health values, by the names the code reads them.
pub mod health {
    use super::Health;

    pub const CONNECTED: Health = Health::Connected;
    pub const DEGRADED: Health = Health::Degraded;
    pub const DISCONNECTED: Health = Health::Disconnected;
}
