//! The todo board as a web app: a list of boards, each at its own address, kept in an
//! embedded database. An axum server of many documents (`immer_web::Server`); the pages, the
//! JavaScript client and Immer come from this repository and `clients/js` (its installed npm
//! packages; nothing from a CDN). Open a board in two tabs and edit.
//!
//! `npm ci --prefix clients/js && cargo run -p immer-web --example web_board`
//!
//! - `/` lists the boards: open one, create one by name (1 to 200 ASCII letters, digits, `-`
//!   and `_`; a bad or taken name is refused with the reason), delete one. A first board,
//!   `welcome`, is made when there is none.
//! - `/b/<name>` is the board: its todos, edited by everyone on it at once. The page opens
//!   one WebSocket to `/ws` (the client's `connectMany`: one socket carries any number of
//!   documents) and subscribes to its board; `/ws/<name>` serves the same board with the
//!   one-document protocol (the client's `connect`). Undo and redo (buttons, `Ctrl+Z`,
//!   `Ctrl+Shift+Z`, `Ctrl+Y`) take back the user's own edits only (`clients/js/undo.js`);
//!   who else is on the board, and at which todo, is its presence.
//! - `/b/<name>/react` is the same board drawn by React (`clients/js/demo`: each todo a
//!   component that re-renders only when its todo changes, through the client's
//!   `useDocument`), bundled by `npm run build:demo --prefix clients/js` into
//!   `clients/js/demo/dist`.
//! - `/b/<name>/devtools` shows the board's history live (editors only): from the first time
//!   an editor opened them since the server started; the board then stays open while the
//!   server runs (until it is deleted).
//! - The JSON API: `GET /api/boards` (the boards, and who asks), `POST /api/boards`
//!   (`{"name": ...}`: `201`, or `400`/`409` with the reason), `GET /api/boards/<name>` (its
//!   version and state), `DELETE /api/boards/<name>` (`204`). Errors are `{"error": ...}`.
//!
//! Tokens (`?token=` in a page's address, or `Authorization: Bearer` for the API; the same
//! authentication as the WebSocket's): `ann` and `bob` edit everything and create and delete
//! boards, `carol` may only tick todos, `victor` only views. Anyone with a token may list and
//! read the boards. Every connection comes in through the server's gate (connection limits,
//! a deadline for the upgrade). `--port N` picks the port (0: any free one); the first line
//! printed is the address.
//!
//! The boards are kept in `boards.redb` under the data directory (`--data DIR`, `data` by
//! default): stop the server, start it again, and every board is as it was; every change a
//! page was told was accepted is there.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path as UrlPath, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use immer_store::Store;
use immer_web::{Devtools, DocumentError, Identity, Limits, Server};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;

mod common;

use common::{Board, Role};

type BoardServer = Server<Board, Role, Store>;

/// The board made when there is none, so that the list is never empty at first.
const FIRST_BOARD: &str = "welcome";

/// What every handler reaches: the boards, and the devtools opened so far.
#[derive(Clone)]
struct App {
    server: BoardServer,
    /// The devtools of each board an editor opened them for, by name, each following its
    /// board live. Locked across attaching and deleting, so that a board deleted is never
    /// left with devtools of its old life.
    devtools: Arc<tokio::sync::Mutex<HashMap<String, Devtools>>>,
    /// The devtools page and its script, which hold nothing of a board: the same for all
    /// (served by devtools of nothing; only the page and the script are routed to them).
    devtools_page: Router,
}

/// The demo's server, on the boards kept in `data`, with a first board when there is none.
async fn server(data: &Path) -> Result<BoardServer, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(data)?;
    let store = Store::open(data.join("boards.redb"))?;
    let server = common::demo_builder(Limits::default()).build_server(store);
    if server.list().await?.is_empty() {
        server.create(FIRST_BOARD).await?;
    }
    Ok(server)
}

/// Who sent a request, as the server's authentication (the WebSocket's) verified the token
/// of its `Authorization: Bearer` header or its `?token=`.
struct Caller(Identity<Role>);

impl Caller {
    /// The refusal of anyone but an editor, who alone may do `what`.
    fn unless_editor(&self, what: &str) -> Option<Response> {
        (self.0.role != Role::Editor).then(|| {
            let reason = format!("forbidden: {} may not {what}", self.0.user);
            refuse(StatusCode::FORBIDDEN, &reason)
        })
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let Some(token) = immer_web::request_token(&parts.headers, &parts.uri) else {
            let reason = "unauthorized: send a token (Authorization: Bearer, or ?token=)";
            return Err(refuse(StatusCode::UNAUTHORIZED, reason));
        };
        match app.server.authenticate(token).await {
            Ok(identity) => Ok(Caller(identity)),
            Err(reason) => Err(refuse(
                StatusCode::UNAUTHORIZED,
                &format!("unauthorized: {reason}"),
            )),
        }
    }
}

/// An API error: its status, and `{"error": reason}`.
fn refuse(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "error": reason }))).into_response()
}

/// A board that could not be opened, created, deleted or listed, in the API's words.
fn board_error(name: &str, error: &DocumentError) -> Response {
    let name: String = name.chars().take(64).collect();
    let (status, reason) = match error {
        DocumentError::InvalidName(_) => (
            StatusCode::BAD_REQUEST,
            format!(
                "{name:?} is not a board's name: a name is {}",
                immer_store::NAME_RULE
            ),
        ),
        DocumentError::NotFound(_) => {
            (StatusCode::NOT_FOUND, format!("no board is named {name:?}"))
        }
        DocumentError::Exists(_) => (
            StatusCode::CONFLICT,
            format!("a board named {name:?} exists already"),
        ),
        DocumentError::TooManyOpen(_) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    };
    refuse(status, &reason)
}

/// `GET /api/boards`: the boards' names, and who asks (the list page shows editors its
/// buttons).
async fn list(State(app): State<App>, caller: Caller) -> Response {
    match app.server.list().await {
        Ok(boards) => Json(json!({
            "user": caller.0.user,
            "role": caller.0.role,
            "boards": boards,
        }))
        .into_response(),
        Err(error) => board_error("", &error),
    }
}

#[derive(Deserialize)]
struct NewBoard {
    name: String,
}

/// `POST /api/boards` `{"name": ...}`: a new board, as the demo's first state.
async fn create(
    State(app): State<App>,
    caller: Caller,
    body: Result<Json<NewBoard>, JsonRejection>,
) -> Response {
    if let Some(refused) = caller.unless_editor("create boards") {
        return refused;
    }
    let Json(NewBoard { name }) = match body {
        Ok(body) => body,
        Err(rejection) => {
            let reason = format!("send {{\"name\": ...}}: {}", rejection.body_text());
            return refuse(StatusCode::BAD_REQUEST, &reason);
        }
    };
    match app.server.create(&name).await {
        Ok(()) => (StatusCode::CREATED, Json(json!({ "name": name }))).into_response(),
        Err(error) => board_error(&name, &error),
    }
}

/// `GET /api/boards/<name>`: the board's version and state.
async fn board(State(app): State<App>, _: Caller, UrlPath(name): UrlPath<String>) -> Response {
    match app.server.document(&name).await {
        Ok(hub) => Json(json!({
            "name": name,
            "version": hub.version(),
            "state": *hub.state(),
        }))
        .into_response(),
        Err(error) => board_error(&name, &error),
    }
}

/// `DELETE /api/boards/<name>`: everyone on it is told it was deleted.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    UrlPath(name): UrlPath<String>,
) -> Response {
    if let Some(refused) = caller.unless_editor("delete boards") {
        return refused;
    }
    let mut devtools = app.devtools.lock().await;
    let deleted = app.server.delete(&name).await;
    devtools.remove(&name);
    match deleted {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => board_error(&name, &DocumentError::NotFound(name.clone())),
        Err(error) => board_error(&name, &error),
    }
}

/// `/b/<name>/devtools/...`: the page and its script for anyone (they show nothing of a
/// board), the API for editors, each board's devtools attached at the first use of its API.
async fn devtools(
    State(app): State<App>,
    UrlPath(params): UrlPath<HashMap<String, String>>,
    mut request: Request,
) -> Response {
    let name = params.get("name").cloned().unwrap_or_default();
    let rest = params.get("rest").map_or("", String::as_str);
    let path = match request.uri().query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    };
    let Ok(uri) = path.parse::<Uri>() else {
        return refuse(StatusCode::BAD_REQUEST, &format!("not a path: {path}"));
    };
    match rest {
        "" | "devtools.js" => {
            *request.uri_mut() = uri;
            return app.devtools_page.oneshot(request).await.into_response();
        }
        _ if !rest.starts_with("api/") => {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        _ => {}
    }
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &app).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Some(refused) = caller.unless_editor("use the devtools") {
        return refused;
    }
    let devtools = match attach(&app, &name).await {
        Ok(devtools) => devtools,
        Err(refused) => return refused,
    };
    parts.uri = uri;
    let request = Request::from_parts(parts, body);
    devtools.router().oneshot(request).await.into_response()
}

/// The devtools of board `name`, attached at their first use: from then on they follow the
/// board (which stays open while they do).
async fn attach(app: &App, name: &str) -> Result<Devtools, Response> {
    let mut attached = app.devtools.lock().await;
    if let Some(devtools) = attached.get(name) {
        return Ok(devtools.clone());
    }
    let hub = app
        .server
        .document(name)
        .await
        .map_err(|error| board_error(name, &error))?;
    let devtools = Devtools::attach(&hub, &format!("the board {name:?}, live"))
        .map_err(|error| refuse(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()))?;
    attached.insert(name.to_owned(), devtools.clone());
    Ok(devtools)
}

/// Where the pages' files are: the pages beside this example, the client and Immer in
/// `clients/js`, and the React board in `clients/js/demo` (its bundle built in `dist`).
fn file(name: &str) -> Option<(PathBuf, &'static str)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let html = "text/html; charset=utf-8";
    let js = "text/javascript; charset=utf-8";
    let demo = root.join("../clients/js/demo");
    match name {
        "boards.html" | "board.html" => Some((root.join("examples/web").join(name), html)),
        "react/index.html" => Some((demo.join("index.html"), html)),
        "react/board.js" => Some((demo.join("dist/board.js"), js)),
        "react/board.js.map" => Some((demo.join("dist/board.js.map"), "application/json")),
        "boards.js" | "board.js" => Some((root.join("examples/web").join(name), js)),
        "client/index.js"
        | "client/follower.js"
        | "client/lists.js"
        | "client/transform.js"
        | "client/undo.js" => Some((
            root.join("../clients/js").join(&name["client/".len()..]),
            js,
        )),
        // Immer's browser build (its development build reads `process.env`).
        "vendor/immer.mjs" => Some((
            root.join("../clients/js/node_modules/immer/dist/immer.production.mjs"),
            js,
        )),
        _ => None,
    }
}

async fn serve_file(name: &str) -> Response {
    let Some((path, mime)) = file(name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(body) => ([(header::CONTENT_TYPE, mime)], body).into_response(),
        Err(error) if name.starts_with("react/board.js") && error.kind() == ErrorKind::NotFound => {
            (
                StatusCode::NOT_FOUND,
                format!(
                    "{name} is not built: run `npm run build:demo` in clients/js (after `npm ci`)"
                ),
            )
                .into_response()
        }
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

/// The app: the pages, the files they load, the API, the devtools and the WebSocket
/// endpoints.
fn app(server: &BoardServer) -> Result<Router, Box<dyn std::error::Error>> {
    // A devtools of nothing, for the page and its script only.
    let nothing = Devtools::from_session("no board", &b"{\"base\": null}\n"[..])?;
    let app = App {
        server: server.clone(),
        devtools: Arc::default(),
        devtools_page: nothing.router(),
    };
    let api = Router::new()
        .route("/api/boards", get(list).post(create))
        .route("/api/boards/{name}", get(board).delete(delete))
        .route("/b/{name}/devtools", get(devtools).post(devtools))
        .route("/b/{name}/devtools/{*rest}", get(devtools).post(devtools))
        .with_state(app);
    Ok(Router::new()
        .route("/", get(|| serve_file("boards.html")))
        .route("/b/{name}", get(|| serve_file("board.html")))
        .route("/b/{name}/react", get(|| serve_file("react/index.html")))
        .route(
            "/{*file}",
            get(|UrlPath(file): UrlPath<String>| async move { serve_file(&file).await }),
        )
        .merge(api)
        .merge(server.router()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let server = server(&data).await?;
    let app = app(&server)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(server.listen(listener), app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
