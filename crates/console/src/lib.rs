//! The web console of `aslan serve`: every state machine drawn as a graph, every execution with
//! its outcome state by state, its timeline and its history.
//!
//! [`router`] serves the page and its assets from inside the binary (no build step, nothing
//! fetched from elsewhere) and read-only JSON endpoints under `/console/api/` over the
//! [`Store`]. Starting and stopping executions go through the Step Functions API itself
//! (`POST /` with `X-Amz-Target`), from the page, so that they behave exactly as they do for
//! the AWS CLI and SDKs.
//!
//! - [`layout`]: our own layered graph layout of a definition, with nested groups for
//!   Parallel branches and Map processors.
//! - [`svg`]: draws a layout.
//! - [`runs`]: what happened to each state of an execution, from its history events.

mod api;
mod assets;
pub mod layout;
pub mod runs;
pub mod svg;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aslan_store::Store;
use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

/// What the console's handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    /// Drawn definitions by machine type and text, so a page poll does not lay out again.
    graphs: Mutex<HashMap<(String, String), Arc<api::Graph>>>,
}

impl ConsoleState {
    /// A console over `store`, the same store the API and the engine use.
    pub fn new(store: Arc<dyn Store>) -> Self {
        ConsoleState {
            inner: Arc::new(Inner {
                store,
                graphs: Mutex::new(HashMap::new()),
            }),
        }
    }
}

/// The console's routes: `GET /` (to the console), `GET /console/...` (the page and its
/// assets) and `GET /console/api/...` (JSON). Only GET routes, so it merges with the API's
/// `POST /`.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(assets::page))
        .route("/console/{*path}", get(assets::page))
        .route("/console/assets/{file}", get(assets::asset))
        .route("/console/api/overview", get(api::overview))
        .route("/console/api/state-machine", get(api::state_machine))
        .route("/console/api/layout", get(api::layout_json))
        .route("/console/api/graph.svg", get(api::graph_svg))
        .route("/console/api/executions", get(api::executions))
        .route("/console/api/execution", get(api::execution))
        .route("/console/api/progress", get(api::progress))
        .route("/console/api/{*rest}", get(api::not_found))
        .with_state(state)
}
