//! The todo board as a web page: an axum server with the document at `/ws`, the page at `/`,
//! and the JavaScript client and Immer served from `clients/js` (its installed npm packages;
//! nothing from a CDN). Open it in two tabs and edit.
//!
//! `npm ci --prefix clients/js && cargo run -p immer-web --example web_board`
//!
//! Tokens (`?token=` in the page's address): `ann` and `bob` edit everything, `carol` may only
//! tick todos, `victor` only views. The devtools follow the board live at
//! `/devtools?token=ann` (editors only), and `/state?token=...` answers the state to anyone
//! the board lets in; both go through the hub's authentication. Every connection comes in
//! through the hub's gate (connection limits, a deadline for the upgrade). `--port N` picks
//! the port (0: any free one); the first line printed is the address.
//!
//! The board is kept in an embedded database (`immer-store`), in `board.redb` under the data
//! directory (`--data DIR`, `data` by default): stop the server, start it again, and the
//! board is as it was; every change a page was told was accepted is there.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use immer_store::{Document, Store};
use immer_web::{Devtools, Hub, Limits};

mod common;

use common::{Board, Role};

type BoardHub = Hub<Board, Role, Document<Board>>;

/// The demo's hub on the board kept in `data`.
fn hub(data: &Path) -> std::io::Result<BoardHub> {
    std::fs::create_dir_all(data)?;
    let store = Store::open(data.join("board.redb")).map_err(std::io::Error::other)?;
    common::demo_builder(Limits::default())
        .build_on_store(&store, "board")
        .map_err(std::io::Error::other)
}

/// Where the page's files are: the page beside this example, the client and Immer in
/// `clients/js`.
fn file(name: &str) -> Option<(PathBuf, &'static str)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let js = "text/javascript; charset=utf-8";
    match name {
        "" | "index.html" => Some((
            root.join("examples/web/index.html"),
            "text/html; charset=utf-8",
        )),
        "app.js" => Some((root.join("examples/web/app.js"), js)),
        "client/index.js" | "client/follower.js" | "client/lists.js" | "client/transform.js" => {
            Some((
                root.join("../clients/js").join(&name["client/".len()..]),
                js,
            ))
        }
        // Immer's browser build (its development build reads `process.env`).
        "vendor/immer.mjs" => Some((
            root.join("../clients/js/node_modules/immer/dist/immer.production.mjs"),
            js,
        )),
        _ => None,
    }
}

async fn serve_file(name: Option<UrlPath<String>>) -> Response {
    let name = name.map(|UrlPath(n)| n).unwrap_or_default();
    let Some((path, mime)) = file(&name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(body) => ([(header::CONTENT_TYPE, mime)], body).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "{}: {error} (run `npm ci --prefix clients/js`)",
                path.display()
            ),
        )
            .into_response(),
    }
}

async fn state(State(hub): State<BoardHub>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "version": hub.version(), "state": *hub.state() }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut port = 3000_u16;
    let mut data = PathBuf::from("data");
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--port", Some(p)) if p.parse::<u16>().is_ok() => port = p.parse().unwrap_or(port),
            ("--data", Some(dir)) => data = PathBuf::from(dir),
            _ => {
                eprintln!("usage: web_board [--port N] [--data DIR]");
                std::process::exit(2);
            }
        }
    }
    let hub = hub(&data)?;
    // The devtools, following the board live at /devtools.
    let devtools = Devtools::attach(&hub, "the todo board, live").map_err(std::io::Error::other)?;
    // The state for anyone the board lets in; the devtools (the whole history, reverts) for
    // editors.
    let state_route = Router::new()
        .route("/state", get(state))
        .with_state(hub.clone());
    let app = Router::new()
        .route("/", get(serve_file))
        .route("/{*name}", get(serve_file))
        .merge(hub.router())
        .merge(hub.protect(state_route, |_| true))
        .nest(
            "/devtools",
            devtools.router_with(|api| hub.protect(api, |id| id.role == Role::Editor)),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(hub.listen(listener), app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
