//! The composition root: binds the listener, builds the services and the HTTP state, and runs
//! everything `serve` starts (HTTP, workers, gateway) under one shutdown signal. Nothing else
//! wires the parts together.
use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;

use crate::{config::Settings, http::AppState, integrations::flow, services::Services};

/// A bound, ready-to-run server. Binding first lets callers (tests) learn the port.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Server {
    /// Binds the listener; when `PUBLIC_URL` was not set, it follows the actual port (so a
    /// development server on a chosen or random port links to itself).
    pub async fn bind(mut settings: Settings, namespace: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind_addr)
            .await
            .with_context(|| format!("binding {}", settings.bind_addr))?;
        let addr = listener.local_addr()?;
        if !settings.public_url_explicit
            && settings.public_url.port_or_known_default() != Some(addr.port())
            && settings
                .public_url
                .host_str()
                .is_some_and(|h| h == "127.0.0.1" || h == "localhost")
        {
            let _ = settings.public_url.set_port(Some(addr.port()));
        }
        settings.apply_sandbox();
        let services = Services::connect(settings, namespace).await?;
        let (stopping, shutdown) = tokio::sync::watch::channel(false);
        let state = AppState::new(services, shutdown);
        Ok(Self {
            listener,
            state,
            stopping,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let sessions = self.state.sessions.clone();
        let db = self.state.db.clone();
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                every.tick().await;
                if let Err(err) = sessions.delete_expired().await {
                    tracing::warn!(error = %err, "could not delete expired sessions");
                }
                if let Err(err) = crate::events::prune(&db).await {
                    tracing::warn!(error = %err, "could not delete old events");
                }
            }
        });
        let services = self.state.services.clone();
        let refresher_state = services.clone();
        let refresher = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                if let Err(err) = flow::refresh_due(&refresher_state).await {
                    tracing::warn!(error = %err, "refreshing provider tokens failed");
                }
            }
        });
        let leftover_events = services.events.clone();
        let leftovers = tokio::spawn(async move {
            // Events of a replica that stopped between a commit and giving them ids.
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                every.tick().await;
                if let Err(err) = leftover_events.sequence_leftovers().await {
                    tracing::warn!(error = %err, "giving pending events their ids failed");
                }
            }
        });
        let worker = tokio::spawn(crate::messages::worker(services.clone()));
        let cleanups = tokio::spawn(crate::channels::cleanup::worker(services.clone()));
        let provisioning = tokio::spawn(crate::channels::provision_worker(services.clone()));
        let invalidations = tokio::spawn(services.routing.clone().listen());
        let github_poller = tokio::spawn(crate::github::poll::worker(services.clone()));
        let webhook_sender = tokio::spawn(crate::webhooks::deliver::worker(services.clone()));
        let gateway = services.settings.gateway.then(|| {
            tokio::spawn(crate::discord::gateway::run(
                services.clone(),
                self.stopping.subscribe(),
            ))
        });
        let stopping = self.stopping;
        let limits = ConnectionLimits {
            max_connections: self.state.settings.max_connections,
            header_read_timeout: self.state.settings.header_read_timeout,
            drain: self.state.settings.shutdown_drain,
        };
        let router = crate::http::router::build(self.state);
        let result = serve(self.listener, router, limits, async move {
            shutdown.await;
            // Event streams end now; other requests finish.
            let _ = stopping.send(true);
        })
        .await;
        sweeper.abort();
        leftovers.abort();
        refresher.abort();
        worker.abort();
        cleanups.abort();
        provisioning.abort();
        invalidations.abort();
        github_poller.abort();
        webhook_sender.abort();
        if let Some(mut gateway) = gateway {
            // The shards close their sessions and give their leases back (`stopping` is true
            // by now), so a replica taking over need not wait for the leases to expire.
            if tokio::time::timeout(std::time::Duration::from_secs(5), &mut gateway)
                .await
                .is_err()
            {
                gateway.abort();
            }
        }
        result.context("serving HTTP")
    }
}

struct ConnectionLimits {
    max_connections: usize,
    header_read_timeout: std::time::Duration,
    drain: std::time::Duration,
}

/// Accepts connections until `shutdown`, then lets in-flight requests finish for at most the
/// drain time before closing what is left. A client gets `header_read_timeout` to send its
/// request headers (a half-sent request cannot hold a connection, or shutdown, forever), and
/// the process holds at most `max_connections` at once (the rest wait in the listen queue).
async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::{conn::auto, graceful::GracefulShutdown},
        service::TowerToHyperService,
    };
    use tower::ServiceExt;

    /// The largest request head (request line and headers) read.
    const MAX_REQUEST_HEAD_BYTES: usize = 32 * 1024;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // A request's line and headers: at most 32 KiB (hyper answers 431 beyond, and beyond
        // its 100 headers), not hyper's default of about 400 KiB.
        .max_buf_size(MAX_REQUEST_HEAD_BYTES);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request.map(axum::body::Body::new)
            },
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            drain_secs = limits.drain.as_secs(),
            "connections still open after the drain time; closing them"
        );
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
