//! Structured logs with `tracing`: pretty for people, JSON for machines (`LOG_FORMAT=json`).
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::LogFormat;

/// Default filter: our own crate at info, noisy dependencies quieter (sqlx would otherwise log
/// every statement at INFO).
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,tower_sessions=warn";

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().with_target(false)).try_init(),
    };
    // Already initialised (tests start several apps in one process): keep the first.
    let _ = result;
}
