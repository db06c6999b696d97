//! Switchboard: lets a CRM talk to its leads on Discord, for many companies at once.
//!
//! `server` assembles the service from `services` (what the domain works with); `http` is its surface; `tenancy` and `leads` are the domain;
//! `state`, `sessions` and `db` are the storage it stands on.
pub mod audit;
pub mod bench;
pub mod change;
pub mod channels;
pub mod config;
pub mod crypto;
pub mod db;
pub mod discord;
pub mod entities;
pub mod error;
pub mod events;
pub mod github;
pub mod http;
pub mod ids;
pub mod integrations;
pub mod jobs;
pub mod leads;
pub mod messages;
pub mod metrics;
pub mod pagination;
pub mod routing;
pub mod sandbox;
pub mod server;
pub mod services;
pub mod sessions;
pub mod state;
pub mod sync_logs;
pub mod telemetry;
pub mod tenancy;
pub mod types;
pub mod webhooks;
