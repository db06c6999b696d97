//! sea-orm entities, one per table. Queries on tenant tables go through the scoped helpers in
//! the domain modules (`leads::find_for(company_id)`), never a bare `Entity::find()`.
pub mod api_key;
pub mod audit_entry;
pub mod channel_provision;
pub mod company;
pub mod discord_category;
pub mod discord_connection;
pub mod event;
pub mod github_hook;
pub mod integration;
pub mod job;
pub mod lead;
pub mod lead_channel;
pub mod lead_link;
pub mod membership;
pub mod message;
pub mod pending_event;
pub mod routing_event;
pub mod session;
pub mod sync_log;
pub mod user;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
