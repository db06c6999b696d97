//! The HTTP surface: routes, extractors, the problem+json envelope, and the web app at `/`.
pub mod app;
pub mod extract;
pub mod openapi;
pub mod popup;
pub mod problem;
pub mod router;
pub mod routes;
mod state;

pub use state::AppState;
