//! The server's lifetime: load TLS and bind (both checked before anything is served), run
//! the accept loop and the background tasks, and drain on SIGTERM/SIGINT. Connections go
//! through a semaphore (`--max-connections`), a bounded TLS handshake and hyper-util's
//! auto (HTTP/1.1 + h2) connection builder; `GracefulShutdown` finishes in-flight requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use super::metrics::GaugeGuard;
use super::shutdown::{Shutdown, TerminationSignals};
use super::tls::{self, CertResolver, Reloader, TlsError};
use super::{AppState, CatalogSource, ServerConfig, admin, router};

/// A client must finish the TLS handshake within this time.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// An HTTP/1.1 client must send its request headers within this time.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Concurrent h2 streams per connection.
const MAX_H2_STREAMS: u32 = 256;
/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);
/// How long a drain keeps serving open connections (each HTTP/1 answer asking the client to
/// reconnect) before it closes the idle ones.
const DRAIN_LINGER: Duration = Duration::from_secs(2);
/// How often the linger checks whether every connection has closed.
const DRAIN_POLL: Duration = Duration::from_millis(20);
/// How long the admin port may take to close once the webhook has drained.
const ADMIN_STOP_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Serve until SIGTERM or SIGINT, then drain within `shutdown_timeout`.
pub async fn serve(config: ServerConfig) -> Result<(), ServeError> {
    let provider = tls::provider();
    let key = tls::load_certified_key(&config.tls_cert, &config.tls_key, &provider)?;
    let resolver = Arc::new(CertResolver::new(key));
    let tls_config = tls::server_config(provider.clone(), resolver.clone())?;
    let acceptor = TlsAcceptor::from(Arc::new(tls_config));
    let catalog = CatalogSource::start(
        config.catalog,
        config.kubeconfig.as_deref(),
        &config.catalog_namespaces,
    )
    .await;
    super::budget::warn_without_catalog(&catalog, &config.rules.budgets);
    let state = AppState::with_catalog_sync_timeout(
        config.mode,
        config.rules.clone(),
        catalog,
        config.catalog_sync_timeout,
    );
    let listener = bind(config.listen).await?;
    let admin_listener = bind(config.admin_listen).await?;
    let (webhook_addr, admin_addr) = (local_addr(&listener), local_addr(&admin_listener));
    let signals = TerminationSignals::install().map_err(ServeError::Signals)?;

    let shutdown = Shutdown::new();
    tokio::spawn(drain_on_signal(signals, state.clone(), shutdown.clone()));
    let reloader = Reloader::new(config.tls_cert, config.tls_key, provider, resolver);
    tokio::spawn(
        reload_certificates(
            reloader,
            config.tls_reload_interval,
            state.clone(),
            shutdown.clone(),
        )
        .instrument(tracing::info_span!("tls_reload")),
    );
    let admin_stop = Shutdown::new();
    let admin_task = tokio::spawn(serve_admin(
        admin_listener,
        state.clone(),
        admin_stop.clone(),
    ));

    state.set_ready(true);
    let mode = state.mode.as_str();
    tracing::info!(webhook = %webhook_addr, admin = %admin_addr, mode, "listening");
    let app = router(state.clone());
    let limit = config.max_connections;
    let graceful = accept_loop(listener, acceptor, app, &state, &shutdown, limit).await;
    drain(graceful, config.shutdown_timeout).await;
    admin_stop.trigger();
    let _ = tokio::time::timeout(ADMIN_STOP_TIMEOUT, admin_task).await;
    tracing::info!("stopped");
    Ok(())
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|e| e.to_string(), |a| a.to_string())
}

async fn drain_on_signal(signals: TerminationSignals, state: Arc<AppState>, shutdown: Shutdown) {
    let signal = signals.recv().await;
    state.start_draining();
    tracing::info!(signal, "draining");
    shutdown.trigger();
}

async fn reload_certificates(
    reloader: Reloader,
    interval: Duration,
    state: Arc<AppState>,
    stop: Shutdown,
) {
    reloader.run(interval, &state.metrics, stop.wait()).await;
}

async fn serve_admin(listener: TcpListener, state: Arc<AppState>, stop: Shutdown) {
    let app = admin::admin_router(state);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.wait().await })
        .await;
    if let Err(err) = served {
        tracing::error!(error = %err, "admin port failed");
    }
}

/// Drain within `timeout`. First, for up to [`DRAIN_LINGER`], open connections keep being
/// served and every HTTP/1 answer carries `Connection: close`, so a client that already sent
/// its next request on a kept-alive connection gets it answered and then reconnects (to
/// another replica, once the endpoints are updated). Closing a connection the moment it
/// looks idle would drop a request already on its way: the API server does not retry a
/// POST, it applies `failurePolicy`. Then in-flight requests finish and idle connections
/// close.
async fn drain(graceful: GracefulShutdown, timeout: Duration) {
    let open = graceful.count();
    let started = tokio::time::Instant::now();
    let deadline = started + timeout;
    let linger_end = started + DRAIN_LINGER.min(timeout);
    while graceful.count() > 0 && tokio::time::Instant::now() < linger_end {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let lingering = graceful.count();
    match tokio::time::timeout_at(deadline, graceful.shutdown()).await {
        Ok(()) => tracing::info!(connections = open, idle_closed = lingering, "drained"),
        Err(_) => tracing::warn!(?timeout, "shutdown timeout: closing remaining connections"),
    }
}

/// Accept until `shutdown`; each connection runs on its own task, watched for the drain.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    state: &Arc<AppState>,
    shutdown: &Shutdown,
    max_connections: usize,
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    let limit = Arc::new(Semaphore::new(max_connections));
    let builder = Arc::new(http_builder());
    loop {
        let permit = tokio::select! {
            biased;
            _ = shutdown.wait() => break,
            permit = limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            biased;
            _ = shutdown.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    continue;
                }
            },
        };
        let connection = Connection {
            acceptor: acceptor.clone(),
            app: app.clone(),
            builder: builder.clone(),
            state: state.clone(),
            watcher: graceful.watcher(),
            _permit: permit,
        };
        let (stream, peer) = stream;
        let span = tracing::debug_span!("connection", %peer);
        tokio::spawn(connection.serve(stream).instrument(span));
    }
    graceful
}

/// The HTTP/1.1 + h2 connection builder every accepted connection is served with (public so
/// the load tool's floor server runs the very same settings).
pub fn http_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS);
    builder
}

/// One accepted TCP connection and what it needs to be served.
struct Connection {
    acceptor: TlsAcceptor,
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    state: Arc<AppState>,
    watcher: Watcher,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let metrics = &self.state.metrics;
        let _open = GaugeGuard::new(&metrics.connections_open);
        let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, self.acceptor.accept(stream));
        let tls = match handshake.await {
            Ok(Ok(tls)) => tls,
            Ok(Err(err)) => {
                metrics.tls_handshake_failures.inc();
                tracing::debug!(error = %err, "TLS handshake failed");
                return;
            }
            Err(_) => {
                metrics.tls_handshake_failures.inc();
                tracing::debug!("TLS handshake timed out");
                return;
            }
        };
        let service = TowerToHyperService::new(self.app);
        let connection = self.builder.serve_connection(TokioIo::new(tls), service);
        if let Err(err) = self.watcher.watch(connection).await {
            tracing::debug!(error = %err, "connection ended with an error");
        }
    }
}
