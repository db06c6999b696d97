//! The HTTP surface: routes, extractors and the problem+json envelope.
pub mod extract;
pub mod openapi;
pub mod popup;
pub mod problem;
pub mod router;
pub mod routes;
mod state;

pub use state::AppState;
