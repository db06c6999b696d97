//! Database schema for Switchboard, one file per step; the migration name is the file name.
pub use sea_orm_migration::prelude::*;

mod m20261124_000001_create_tenancy;
mod m20261124_000002_create_sessions;
mod m20261124_000003_create_leads;
mod m20261124_000004_create_integrations;
mod m20261124_000005_create_audit_log;
mod m20261124_000006_create_lead_channels;
mod m20261124_000007_create_sync_logs;
mod m20261124_000008_create_messages_and_jobs;
mod m20261124_000009_create_routing_and_events;
mod m20261124_000010_create_pending_events;
mod m20261201_000011_lead_lifecycle;
mod m20261206_000012_github_links;
mod m20261206_000013_webhook_endpoints;
mod m20261206_000014_inbox;
mod util;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_tenancy::Migration),
            Box::new(m20261124_000002_create_sessions::Migration),
            Box::new(m20261124_000003_create_leads::Migration),
            Box::new(m20261124_000004_create_integrations::Migration),
            Box::new(m20261124_000005_create_audit_log::Migration),
            Box::new(m20261124_000006_create_lead_channels::Migration),
            Box::new(m20261124_000007_create_sync_logs::Migration),
            Box::new(m20261124_000008_create_messages_and_jobs::Migration),
            Box::new(m20261124_000009_create_routing_and_events::Migration),
            Box::new(m20261124_000010_create_pending_events::Migration),
            Box::new(m20261201_000011_lead_lifecycle::Migration),
            Box::new(m20261206_000012_github_links::Migration),
            Box::new(m20261206_000013_webhook_endpoints::Migration),
            Box::new(m20261206_000014_inbox::Migration),
        ]
    }
}
