//! `aslan serve`: the AWS Step Functions API over the durable engine, on one port.
//!
//! Wiring only: open the store, start the engine (which resumes every running execution), and
//! serve the API (`POST /`) and a health check (`GET /health`) until Ctrl-C or SIGTERM.

pub mod api;
pub mod callbacks;
mod nested;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aslan_engine::TaskHandler;
use aslan_engine::durable::{self, EngineOptions};
use aslan_store::Store;
use aslan_store::memory::MemoryStore;
use aslan_store_sqlite::SqliteStore;
use axum::Router;
use axum::routing::{get, post};

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Where the embedded store lives; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// The account id in ARNs.
    pub account: String,
    /// The largest state input/output, bytes (AWS: 262,144).
    pub max_payload_bytes: Option<usize>,
    /// The most history events of a Standard execution (AWS: 25,000).
    pub max_history_events: Option<i64>,
    /// The project configuration (`aslan.toml`): where Task resources go.
    pub config: aslan_integrations::Config,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 8083)),
            data_dir: Some(PathBuf::from(".aslan")),
            account: "123456789012".into(),
            max_payload_bytes: Some(262_144),
            max_history_events: Some(25_000),
            config: aslan_integrations::Config::default(),
        }
    }
}

/// Why serving failed.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Structured logs on stderr: text by default, one JSON object per line with `json`; the level
/// comes from `RUST_LOG` (default `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Opens the store named by the options.
pub fn open_store(options: &ServeOptions) -> Result<Arc<dyn Store>, Error> {
    match &options.data_dir {
        None => Ok(Arc::new(MemoryStore::new())),
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error(format!("cannot create {}: {e}", dir.display())))?;
            let store =
                SqliteStore::open(dir.join("aslan.db")).map_err(|e| Error(e.to_string()))?;
            Ok(store)
        }
    }
}

/// Serves until Ctrl-C or SIGTERM; `ready` hears the bound address once the server listens.
pub async fn serve(
    options: ServeOptions,
    ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> Result<(), Error> {
    let store = open_store(&options)?;
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|e| Error(format!("cannot listen on {}: {e}", options.bind)))?;
    let address = listener.local_addr().map_err(|e| Error(e.to_string()))?;
    // Local functions and jobs reach this API through the variable the AWS SDKs and CLI read,
    // so a worker answers its task token here without being told where.
    let mut config = options.config.clone();
    let reachable = if address.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], address.port()))
    } else {
        address
    };
    config.set_default_environment("AWS_ENDPOINT_URL_SFN", &format!("http://{reachable}"));
    let executions = Arc::new(nested::ServerExecutions::default());
    let handler: Arc<dyn TaskHandler> = Arc::new(
        aslan_integrations::Integrations::new(&config)
            .map_err(|e| Error(e.to_string()))?
            .with_callbacks()
            .with_executions(executions.clone()),
    );
    let engine = durable::spawn(
        store.clone(),
        EngineOptions {
            max_payload_bytes: options.max_payload_bytes,
            handler,
            region: "us-east-1".into(),
            max_history_events: options.max_history_events,
        },
    )
    .await
    .map_err(|e| Error(format!("cannot start the engine: {e:?}")))?;
    let (stop_sender, stopping) = tokio::sync::watch::channel(false);
    let state = Arc::new(api::AppState {
        store,
        engine,
        account: options.account.clone(),
        definitions: Mutex::new(HashMap::new()),
        counter: std::sync::atomic::AtomicU64::new(0),
        stopping,
    });
    let _ = executions.state.set(state.clone());
    let app = Router::new()
        .route(
            "/",
            post({
                let state = state.clone();
                move |headers, body| api::handle(state.clone(), headers, body)
            }),
        )
        .route("/health", get(|| async { "ok" }))
        .merge(aslan_console::router(aslan_console::ConsoleState::new(
            state.store.clone(),
        )));
    tracing::info!(%address, data_dir = ?options.data_dir, "serving the Step Functions API");
    if let Some(ready) = ready {
        let _ = ready.send(address);
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stop_sender.send(true);
        })
        .await
        .map_err(|e| Error(e.to_string()))
}

async fn shutdown_signal() {
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
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
