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

/// Integration status values.
pub mod status {
    pub const ACTIVE: &str = "active";
    pub const ERROR: &str = "error";
    pub const REVOKED: &str = "revoked";
}

/// Discord connection health values.
pub mod health {
    pub const CONNECTED: &str = "connected";
    pub const DEGRADED: &str = "degraded";
    pub const DISCONNECTED: &str = "disconnected";
}
