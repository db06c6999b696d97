//! GitHub: issues and pull requests linked to a lead's conversation. Closing them resolves the
//! conversation and reopening reopens it, learned from signed webhooks or, when those go quiet,
//! by polling; each change posts a short status note in the lead's Discord channel.
pub mod client;
pub mod hooks;
pub mod links;
pub mod payload;
pub mod poll;
pub mod reference;
pub mod resolve;
pub mod signature;
pub mod view;
pub mod webhook;

pub use client::GitHubApi;
pub use reference::IssueRef;
pub use view::{HookView, LinkView, SyncLogView};

use crate::{error::Result, services::Services, tenancy::Principal};

/// Disconnects GitHub: the hooks Switchboard registered are removed first (with the grant
/// revoked they could not be), then the grant is revoked and the tokens forgotten. Links stay,
/// and are followed again once GitHub is reconnected.
pub async fn disconnect(app: &Services, principal: &Principal) -> Result<()> {
    if let Ok(row) = links::integration(&app.db, principal.company_id).await {
        hooks::remove_all(app, &row).await;
    }
    crate::integrations::flow::disconnect(app, principal, "github").await
}
