//! Everything that speaks to Discord. Nothing outside this module (and the sandbox) knows
//! Discord's wire format or serenity: serenity's model types describe the wire here, and
//! [`model`] gives the rest of the product its own types.
pub mod gateway;
pub mod model;
pub mod rest;

pub use model::{Inbound, Source};
pub use rest::{DiscordError, DiscordRest};
