//! Integration tests: the real server on a random loopback port, spoken to over HTTP.
//!
//! Every storage-touching test runs twice: on SQLite with in-process state, and on PostgreSQL
//! with Redis (those variants are `#[ignore]`d unless `scripts/test` provides the servers).
#[macro_use]
mod helpers;

mod api_keys;
mod architecture;
mod auth;
mod channels;
mod cli;
mod companies;
mod discord_channels;
mod discord_permissions;
mod discord_rest;
mod events;
mod faults;
mod gateway;
mod github;
mod github_payloads;
mod health;
mod hostile;
mod inbox;
mod integrations;
mod jobs;
mod leads;
mod leaving;
mod messages;
mod openapi;
mod routing;
mod sandbox;
mod sandbox_github;
mod scale_out;
mod sessions;
mod state_store;
mod tenancy;
mod validation;
mod web_app;
mod webhooks;
