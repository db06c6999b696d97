//! What every request handler has: the domain's [`Services`], and what only the HTTP layer
//! uses (sessions, token issuing, the simulators, the shutdown signal for endless responses).
use std::sync::Arc;

use crate::{
    config::Settings, sandbox::Sandbox, services::Services, sessions::SessionBackend,
    tenancy::tokens::TokenIssuer,
};

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub sessions: SessionBackend,
    pub tokens: Arc<TokenIssuer>,
    /// The built-in simulators' state, in sandbox mode.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Turns `true` when the server starts shutting down, so endless responses (event
    /// streams) end and graceful shutdown can finish.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// Handlers read the services as their own fields (`state.db`) and hand `&state` to the
/// domain, which sees only the [`Services`].
impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

impl axum::extract::FromRef<AppState> for Arc<crate::metrics::Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

impl AppState {
    /// Wraps `services`; `shutdown` is the server's stop signal.
    pub fn new(services: Services, shutdown: tokio::sync::watch::Receiver<bool>) -> Self {
        let settings: &Settings = &services.settings;
        let sessions = match settings.redis_url {
            Some(_) => SessionBackend::State(services.state.clone()),
            None => SessionBackend::Sql(services.db.clone()),
        };
        let tokens = Arc::new(TokenIssuer::new(
            settings.jwt_secret.expose(),
            settings.jwt_issuer(),
        ));
        let sandbox = settings.sandbox.then(|| Arc::new(Sandbox::new(settings)));
        Self {
            services,
            sessions,
            tokens,
            sandbox,
            shutdown,
        }
    }
}
