//! Everything that speaks to Discord. Nothing outside this module (and the sandbox) knows
//! Discord's wire format; serenity's model types describe it.
pub mod gateway;
pub mod rest;

pub use rest::{DiscordError, DiscordRest};
