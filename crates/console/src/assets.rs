//! The page and its assets, compiled into the binary.
//!
//! With `ASLAN_CONSOLE_ASSETS=DIR` set, they are read from `DIR` on every request instead, so
//! that the page can be worked on without rebuilding.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every asset: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "graph.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/graph.js"),
    ),
    (
        "views.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/views.js"),
    ),
    (
        "util.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/util.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../assets/favicon.svg"),
    ),
];

fn serve(name: &str) -> Response {
    let Some((_, content_type, content)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let body = match std::env::var_os("ASLAN_CONSOLE_ASSETS") {
        Some(dir) => std::fs::read_to_string(std::path::Path::new(&dir).join(name))
            .unwrap_or_else(|_| (*content).to_owned()),
        None => (*content).to_owned(),
    };
    (
        [
            (header::CONTENT_TYPE, *content_type),
            // Assets change with the binary; revalidating costs little on one machine.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The page: every console path serves it, and its script draws the view the path names.
pub(crate) async fn page() -> Response {
    serve("index.html")
}

/// `GET /console/assets/FILE`.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    serve(&file)
}
