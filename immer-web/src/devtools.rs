//! A devtools page for time travel: the timeline of a document's changes, the state at any
//! version as a tree with what a change touched highlighted, each change's patches and
//! inverse, a change skipped or reverted (selective undo), search, and the session exported
//! and imported as a log.
//!
//! Two sources: a log file ([`Devtools::from_session`], a JSON Lines session: a first line
//! `{"base": <state>}`, then one [`HistoryEntry`] a line, as [`History::write_log`] writes
//! them), or a live document ([`Devtools::attach`]: every change a [`Hub`] commits is
//! recorded as it lands). Mount [`Devtools::router`] anywhere in an axum app; the page uses
//! relative addresses.
//!
//! Whatever the document's type, the devtools hold it as an [`immer::Json`], the persistent
//! JSON value, in a [`History`] of its versions: the entries, and a snapshot every 512
//! versions, each sharing everything it did not change with the one before. Any version is
//! the nearest snapshot and at most 256 entries applied, and the state last shown is kept
//! for the page's next requests. The demo session (10,000 entries on a 100,000-item board)
//! holds about 100 MB, and reaches any version in under 10 ms (see the benchmarks).
//!
//! [`History::write_log`]: immer::History::write_log

use std::fmt::{self, Write as _};
use std::io::BufRead;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use immer::{History, HistoryEntry, HistoryError, Json, LogError, Path, PathSegment, PointerError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::hub::{Backend, Hub};

/// A snapshot of the state is kept every this many versions: a jump starts from the nearest
/// one and applies at most half this many entries, and each snapshot holds the nodes the
/// entries since the one before copied. A list's nodes are `imbl`'s: an insertion or a
/// removal in the middle of a 100,000-element array copies about 150 KB of them (a write in
/// place, 5 KB), so a snapshot at every version would hold gigabytes; every 512, the demo
/// session's snapshots hold about 50 MB and a version takes at most 10 ms to reach.
const CHECKPOINTS: u64 = 512;

/// The devtools for one document. Cheap to clone: clones show the same timeline.
#[derive(Clone)]
pub struct Devtools {
    inner: Arc<Mutex<Session>>,
    /// Whether it follows a live document (an import would replace what it records).
    live: bool,
}

impl fmt::Debug for Devtools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let session = self.lock();
        f.debug_struct("Devtools")
            .field("source", &session.source)
            .field("entries", &session.history.entries().len())
            .finish_non_exhaustive()
    }
}

/// The recorded changes, and where they come from. The history stays at its newest version:
/// the page reads the others with `state_at`, and a revert is recorded at the newest.
struct Session {
    /// Where the changes come from, for the page's title.
    source: String,
    history: History<Json>,
    /// The state last shown, and what was asked: the page asks for several nodes of one
    /// state in a row.
    shown: Option<(Shown, Arc<Json>)>,
}

/// A state the page asks for: a version, or the newest (the version here) with an entry
/// skipped. The history only grows, so a version's state never changes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    Version(u64),
    Skipped { entry: u64, newest: u64 },
}

/// What the page asks about.
#[derive(Deserialize)]
struct At {
    /// The version whose state to show.
    version: u64,
    /// The state as if this entry (by its starting version) had not happened.
    skip: Option<u64>,
    /// A JSON Pointer into the state.
    #[serde(default)]
    path: String,
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    q: String,
}

#[derive(Deserialize)]
struct Range {
    #[serde(default)]
    from: u64,
    #[serde(default = "default_count")]
    count: usize,
}

fn default_count() -> usize {
    200
}

#[derive(Deserialize)]
struct Revert {
    entry: u64,
}

/// A node of the state for the tree: its kind, its value when it is a scalar, and a page of
/// its children.
#[derive(Serialize)]
struct Node<'a> {
    path: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a Json>,
    size: usize,
    offset: usize,
    children: Vec<Child>,
}

#[derive(Serialize)]
struct Child {
    key: serde_json::Value,
    kind: &'static str,
    preview: String,
    size: usize,
}

/// Children shown per page of a node.
const PAGE: usize = 100;

/// The number of children of an array or an object; 0 for a scalar.
fn size(value: &Json) -> usize {
    match value {
        Json::Array(a) => a.len(),
        Json::Object(o) => o.len(),
        _ => 0,
    }
}

/// A one-line preview: scalars as JSON, containers by their first members, cut at 120 bytes.
fn preview(value: &Json) -> String {
    let scalar = |v: &Json| match v {
        Json::Array(a) => format!("[{}]", a.len()),
        Json::Object(o) => format!("{{{}}}", o.len()),
        other => other.to_string(),
    };
    let out = match value {
        Json::Array(a) => format!("[{} items]", a.len()),
        Json::Object(o) => {
            let mut text = String::from("{");
            for (n, (k, v)) in o.iter().enumerate() {
                if text.len() > 80 {
                    text.push_str(", …");
                    break;
                }
                let _ = write!(text, "{}{k}: {}", if n == 0 { "" } else { ", " }, scalar(v));
            }
            text.push('}');
            text
        }
        other => scalar(other),
    };
    crate::hub::cut(out, 120, "…")
}

/// Why the devtools refuse a request: each answered with its status and `{"error": <the
/// reason>}`, which the page shows.
#[derive(Debug)]
enum Refusal {
    /// No retained entry starts at this version.
    NoEntry { version: u64 },
    /// The version is not in the timeline.
    NoVersion {
        version: u64,
        first: u64,
        newest: u64,
    },
    /// The history cannot reach the version, skip the entry, or revert it.
    History(HistoryError),
    /// The path is not a JSON Pointer.
    Pointer(PointerError),
    /// Nothing is at the path (`404`).
    NothingAt { pointer: String },
    /// An import into devtools that follow a live document (`409`).
    Live,
    /// An imported session that cannot be read.
    Session(LogError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoEntry { version } => write!(f, "there is no entry from version {version}"),
            Refusal::NoVersion {
                version,
                first,
                newest,
            } => write!(
                f,
                "version {version} is not in the timeline ({first} to {newest})"
            ),
            Refusal::History(error) => error.fmt(f),
            Refusal::Pointer(error) => error.fmt(f),
            Refusal::NothingAt { pointer } => write!(f, "nothing at {pointer}"),
            Refusal::Live => f.write_str(
                "these devtools follow a live document: import a session into devtools of their own",
            ),
            Refusal::Session(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Refusal {}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match self {
            Refusal::NothingAt { .. } => StatusCode::NOT_FOUND,
            Refusal::Live => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, axum::Json(json!({ "error": self.to_string() }))).into_response()
    }
}

impl Session {
    fn new(source: String, base: Json, first: u64) -> Self {
        Session {
            source,
            history: History::starting_at(Arc::new(base), first).with_checkpoints(CHECKPOINTS),
            shown: None,
        }
    }

    /// The state the page asks for: at a version, or the newest with an entry skipped.
    fn shown(&mut self, at: &At) -> Result<Arc<Json>, Refusal> {
        let asked = match at.skip {
            Some(entry) => Shown::Skipped {
                entry,
                newest: self.newest(),
            },
            None => Shown::Version(at.version),
        };
        if let Some((last, state)) = &self.shown {
            if *last == asked {
                return Ok(Arc::clone(state));
            }
        }
        let state = match asked {
            Shown::Skipped { entry, .. } => self.skipped(entry)?,
            Shown::Version(version) => self.state_at(version)?,
        };
        self.shown = Some((asked, Arc::clone(&state)));
        Ok(state)
    }

    fn first(&self) -> u64 {
        self.history.oldest_version()
    }

    fn newest(&self) -> u64 {
        self.history.newest_version()
    }

    /// The entry from `version`.
    fn entry(&self, version: u64) -> Result<&HistoryEntry, Refusal> {
        self.history
            .entry(version)
            .ok_or(Refusal::NoEntry { version })
    }

    fn state_at(&self, version: u64) -> Result<Arc<Json>, Refusal> {
        if version < self.first() || version > self.newest() {
            return Err(Refusal::NoVersion {
                version,
                first: self.first(),
                newest: self.newest(),
            });
        }
        self.history.state_at(version).map_err(Refusal::History)
    }

    /// The newest state with the entry from `entry` skipped.
    fn skipped(&self, entry: u64) -> Result<Arc<Json>, Refusal> {
        self.entry(entry)?;
        self.history.skipped(entry).map_err(Refusal::History)
    }

    /// Records the revert of the entry from `entry` as a new version (none when nothing is
    /// left to revert); returns the newest version.
    fn revert(&mut self, entry: u64) -> Result<u64, Refusal> {
        let label = self.entry(entry)?.label.as_deref().map_or_else(
            || format!("revert {entry}"),
            |l| format!("revert {entry}: {l}"),
        );
        let patches = self
            .history
            .revert_patches(entry)
            .map_err(Refusal::History)?;
        self.history
            .record(Some(&label), Some("devtools"), Some(now_ms()), patches)
            .map_err(Refusal::History)?;
        Ok(self.newest())
    }

    /// The session as a log: its first version's state, then one entry a line.
    fn export(&self) -> Result<String, Refusal> {
        #[derive(Serialize)]
        struct Head<'a> {
            base: &'a Json,
            first: u64,
        }
        let base = self.state_at(self.first())?;
        let head = Head {
            base: &base,
            first: self.first(),
        };
        let mut out = serde_json::to_string(&head).unwrap_or_default();
        out.push('\n');
        out.push_str(&self.history.to_log());
        Ok(out)
    }
}

/// Reads a session: a first line `{"base": <state>}` (and optionally `"first": <version>`),
/// then one entry a line. Each entry's version must follow the one before, its patches must
/// apply to the state so far, and its inverse (when it has one) to their result.
fn read_session(source: &str, log: impl BufRead) -> Result<Session, LogError> {
    let mut session: Option<Session> = None;
    for line in HistoryEntry::log_lines(log) {
        let (number, text) = line?;
        let fail = |reason: String| LogError {
            line: number,
            reason,
        };
        let Some(session) = session.as_mut() else {
            let first_line = "is not the session's first line ({\"base\": ...})";
            let head: Json =
                serde_json::from_str(&text).map_err(|e| fail(format!("{first_line}: {e}")))?;
            let Some(base) = head.as_object().and_then(|head| head.get("base")) else {
                return Err(fail(first_line.to_owned()));
            };
            let first = head["first"].as_u64().unwrap_or(0);
            session = Some(Session::new(source.to_owned(), base.clone(), first));
            continue;
        };
        let entry = HistoryEntry::from_log_line(number, &text, Some(session.newest()))?;
        session.history.append(entry).map_err(|e| match e {
            HistoryError::Patch(e) => fail(format!("its patches do not apply: {e}")),
            HistoryError::Inverse(e) => fail(format!("its inverse does not apply: {e}")),
            other => fail(other.to_string()),
        })?;
    }
    session.ok_or(LogError {
        line: 1,
        reason: "is missing: a session starts with {\"base\": <state>}".to_owned(),
    })
}

impl Devtools {
    /// The devtools for a recorded session (see the [module docs](self)); `source` names it
    /// on the page.
    ///
    /// # Errors
    ///
    /// A [`LogError`] naming the first line that is malformed, truncated, out of order, or
    /// does not apply.
    pub fn from_session(source: &str, log: impl BufRead) -> Result<Self, LogError> {
        Ok(Devtools {
            inner: Arc::new(Mutex::new(read_session(source, log)?)),
            live: false,
        })
    }

    /// The devtools for a live document: starts from the hub's state now, and records every
    /// change the hub commits from then on (its author, as the hub authenticated them, and
    /// the time it landed).
    /// Importing a session into them is refused (`409`): it would replace what they record.
    ///
    /// # Errors
    ///
    /// When the state has no JSON form.
    pub fn attach<T, R, B>(hub: &Hub<T, R, B>, source: &str) -> Result<Self, serde_json::Error>
    where
        T: immer::Draftable + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
        R: Clone + PartialEq + Serialize + Send + Sync + 'static,
        B: Backend<T>,
    {
        let (version, state, mut commits) = hub.watch_commits();
        let base = Json::from(serde_json::to_value(&*state)?);
        let devtools = Devtools {
            inner: Arc::new(Mutex::new(Session::new(source.to_owned(), base, version))),
            live: true,
        };
        let weak = Arc::downgrade(&devtools.inner);
        tokio::spawn(async move {
            while let Some(committed) = commits.recv().await {
                let Some(inner) = weak.upgrade() else { return };
                let mut session = inner.lock().unwrap_or_else(PoisonError::into_inner);
                if committed.version != session.newest() + 1 {
                    continue;
                }
                let label = format!("change {} of session {}", committed.id, committed.session);
                // Who the hub authenticated; a session number where no one was.
                let author = committed
                    .author
                    .clone()
                    .unwrap_or_else(|| format!("session {}", committed.session));
                // A change that does not apply here is left out; the page shows the gap.
                let _ = session.history.record(
                    Some(&label),
                    Some(&author),
                    Some(now_ms()),
                    committed.patches,
                );
            }
        });
        Ok(devtools)
    }

    fn lock(&self) -> MutexGuard<'_, Session> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The page and its API, to mount at `/` or under a prefix (`Router::nest`), open to
    /// whoever reaches them. The API shows the whole document and its history: for a server
    /// others reach, use [`router_with`](Devtools::router_with).
    pub fn router(&self) -> Router {
        self.router_with(|api| api)
    }

    /// The page and its API, with `guard` around the API (the page itself, HTML and
    /// scripts, shows nothing of the document): e.g. [`Hub::protect`](crate::Hub::protect)
    /// for a role that may read everything. The page sends the `?token=` of its own address
    /// with every request.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn app(hub: immer_web::Hub<Vec<u32>, String>, devtools: immer_web::Devtools) -> axum::Router {
    /// axum::Router::new().nest(
    ///     "/devtools",
    ///     devtools.router_with(|api| hub.protect(api, |identity| identity.role == "admin")),
    /// )
    /// # }
    /// ```
    pub fn router_with(&self, guard: impl FnOnce(Router) -> Router) -> Router {
        let api = Router::new()
            .route("/api/info", get(info))
            .route("/api/entries", get(entries))
            .route("/api/entry", get(entry))
            .route("/api/node", get(node))
            .route("/api/search", get(search))
            .route("/api/revert", post(revert))
            .route("/api/export", get(export))
            // A session can be large (a base state of 100,000 items is several megabytes).
            .route(
                "/api/import",
                post(import).layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)),
            )
            .with_state(self.clone());
        Router::new()
            .route("/", get(index))
            .route("/devtools.js", get(|| async { page(JS, PAGE_JS) }))
            .merge(guard(api))
    }
}

const JS: &str = "text/javascript; charset=utf-8";
/// The largest session the page may import, in bytes (a base state of 100,000 items and its
/// log is a few megabytes).
const IMPORT_LIMIT: usize = 64 << 20;
const PAGE_HTML: &str = include_str!("../devtools/index.html");
const PAGE_JS: &str = include_str!("../devtools/devtools.js");

/// The page, with its base address set to where it is mounted, so that its relative
/// addresses reach this router under any prefix.
async fn index(OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    let base = if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    };
    let base = base
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    let html = PAGE_HTML.replacen("<head>", &format!("<head>\n  <base href=\"{base}\">"), 1);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn page(mime: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, mime)], body).into_response()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn info(State(devtools): State<Devtools>) -> Response {
    let session = devtools.lock();
    axum::Json(json!({
        "source": session.source,
        "first": session.first(),
        "newest": session.newest(),
        "entries": session.history.entries().len(),
    }))
    .into_response()
}

async fn entries(State(devtools): State<Devtools>, Query(range): Query<Range>) -> Response {
    let session = devtools.lock();
    let list: Vec<serde_json::Value> = (range.from.max(session.first())..session.newest())
        .take(range.count.min(1000))
        .filter_map(|version| session.history.entry(version))
        .map(|e| {
            json!({
                "version": e.version,
                "label": e.label,
                "author": e.author,
                "time": e.time,
                "patches": e.patches.len(),
            })
        })
        .collect();
    axum::Json(json!({ "newest": session.newest(), "entries": list })).into_response()
}

async fn entry(State(devtools): State<Devtools>, Query(at): Query<At>) -> Response {
    let session = devtools.lock();
    match session.entry(at.version) {
        Ok(entry) => axum::Json(entry).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn node(State(devtools): State<Devtools>, Query(at): Query<At>) -> Response {
    let answer = || -> Result<Response, Refusal> {
        let state = devtools.lock().shown(&at)?;
        let path = Path::from_pointer(&at.path).map_err(Refusal::Pointer)?;
        let here = state.get_path(&path).ok_or_else(|| Refusal::NothingAt {
            pointer: at.path.clone(),
        })?;
        let child = |key: serde_json::Value, value: &Json| Child {
            key,
            kind: value.kind(),
            preview: preview(value),
            size: size(value),
        };
        let children = match here {
            Json::Array(a) => a
                .iter()
                .enumerate()
                .skip(at.offset)
                .take(PAGE)
                .map(|(i, v)| child(json!(i), v))
                .collect(),
            Json::Object(o) => o
                .iter()
                .skip(at.offset)
                .take(PAGE)
                .map(|(k, v)| child(json!(k), v))
                .collect(),
            _ => Vec::new(),
        };
        let scalar = !matches!(here, Json::Array(_) | Json::Object(_));
        Ok(axum::Json(Node {
            path: at.path.clone(),
            kind: here.kind(),
            value: scalar.then_some(here),
            size: size(here),
            offset: at.offset,
            children,
        })
        .into_response())
    };
    answer().unwrap_or_else(IntoResponse::into_response)
}

async fn search(State(devtools): State<Devtools>, Query(at): Query<At>) -> Response {
    let state = match devtools.lock().shown(&at) {
        Ok(state) => state,
        Err(refusal) => return refusal.into_response(),
    };
    let needle = at.q.to_lowercase();
    if needle.is_empty() {
        return axum::Json(json!({ "paths": [] })).into_response();
    }
    let mut found = Vec::new();
    let mut stack: Vec<(Vec<PathSegment>, &Json)> = vec![(Vec::new(), &state)];
    while let Some((path, value)) = stack.pop() {
        if found.len() >= 100 {
            break;
        }
        let hit = match value {
            Json::Str(s) => s.to_lowercase().contains(&needle),
            Json::Number(n) => n.to_string() == needle,
            Json::Bool(b) => b.to_string() == needle,
            _ => false,
        };
        let key_hit =
            matches!(path.last(), Some(PathSegment::Key(k)) if k.to_lowercase().contains(&needle));
        if hit || key_hit {
            found.push(Path::from(path.clone()).to_pointer());
        }
        match value {
            Json::Array(a) => {
                for (i, v) in a.iter().enumerate().rev() {
                    let mut p = path.clone();
                    p.push(PathSegment::Index(i));
                    stack.push((p, v));
                }
            }
            Json::Object(o) => {
                for (k, v) in o.iter().rev() {
                    let mut p = path.clone();
                    p.push(PathSegment::Key(k.to_owned()));
                    stack.push((p, v));
                }
            }
            _ => {}
        }
    }
    axum::Json(json!({ "paths": found })).into_response()
}

async fn revert(State(devtools): State<Devtools>, Query(r): Query<Revert>) -> Response {
    match devtools.lock().revert(r.entry) {
        Ok(newest) => axum::Json(json!({ "newest": newest })).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn export(State(devtools): State<Devtools>) -> Response {
    let text = match devtools.lock().export() {
        Ok(text) => text,
        Err(refusal) => return refusal.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"session.jsonl\"",
            ),
        ],
        text,
    )
        .into_response()
}

async fn import(State(devtools): State<Devtools>, body: Bytes) -> Response {
    if devtools.live {
        return Refusal::Live.into_response();
    }
    let source = devtools.lock().source.clone();
    match read_session(&source, body.as_ref()) {
        Ok(session) => {
            let newest = session.newest();
            *devtools.lock() = session;
            axum::Json(json!({ "newest": newest })).into_response()
        }
        Err(error) => Refusal::Session(error).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const SESSION: &str = r#"{"base": {"todos": ["a", "b"], "title": "t"}}
{"version": 0, "label": "remove a", "patches": [{"op": "remove", "path": ["todos", 0]}], "inverse": [{"op": "add", "path": ["todos", 0], "value": "a"}]}
{"version": 1, "patches": [{"op": "add", "path": ["todos", 0], "value": "z"}], "inverse": [{"op": "remove", "path": ["todos", 0]}], "author": "bob", "time": 5}
{"version": 2, "patches": [{"op": "replace", "path": ["title"], "value": "u"}], "inverse": [{"op": "replace", "path": ["title"], "value": "t"}]}
"#;

    fn value(session: &Session, version: u64) -> Value {
        Value::from(&*session.state_at(version).unwrap())
    }

    #[test]
    fn a_session_replays_and_every_version_is_kept() {
        let session = read_session("test", SESSION.as_bytes()).unwrap();
        assert_eq!((session.first(), session.newest()), (0, 3));
        assert_eq!(
            value(&session, 0),
            json!({"todos": ["a", "b"], "title": "t"})
        );
        assert_eq!(
            value(&session, 2),
            json!({"todos": ["z", "b"], "title": "t"})
        );
        assert_eq!(
            value(&session, 3),
            json!({"todos": ["z", "b"], "title": "u"})
        );
        assert!(matches!(
            session.state_at(4),
            Err(Refusal::NoVersion { version: 4, .. })
        ));
        assert_eq!(session.entry(1).unwrap().author.as_deref(), Some("bob"));
        // Exported, it reads back the same.
        let again = read_session("again", session.export().unwrap().as_bytes()).unwrap();
        assert!(again.history.entries().eq(session.history.entries()));
        for version in 0..=3 {
            assert_eq!(value(&again, version), value(&session, version));
        }
    }

    #[test]
    fn a_long_session_reaches_every_version_from_its_snapshots() {
        let mut log = String::from("{\"base\": {\"n\": 0, \"list\": []}, \"first\": 7}\n");
        for i in 0..100_u64 {
            let line = json!({
                "version": 7 + i,
                "patches": [
                    {"op": "replace", "path": ["n"], "value": i + 1},
                    {"op": "add", "path": ["list", "-"], "value": {"i": i}},
                ],
                "inverse": [],
            });
            let _ = writeln!(log, "{line}");
        }
        let session = read_session("long", log.as_bytes()).unwrap();
        assert_eq!((session.first(), session.newest()), (7, 107));
        for version in 7..=107 {
            let state = session.state_at(version).unwrap();
            assert_eq!(state["n"], version - 7);
            assert_eq!(state["list"].as_array().map(immer::JsonArray::len), {
                Some(usize::try_from(version - 7).unwrap())
            });
        }
        // The computed inverse of each entry takes it back.
        assert_eq!(
            session.entry(50).unwrap().inverse.len(),
            2,
            "{:?}",
            session.entry(50)
        );
    }

    #[test]
    fn skipping_an_entry_keeps_the_later_ones() {
        let mut session = read_session("test", SESSION.as_bytes()).unwrap();
        // Without "remove a": "a" is back right before "b", where it was, as "z" (inserted
        // later before "b").
        let skipped = session.skipped(0).unwrap();
        assert_eq!(
            Value::from(&*skipped),
            json!({"todos": ["a", "z", "b"], "title": "u"})
        );
        assert_eq!(session.revert(0).unwrap(), 4);
        assert_eq!(session.state_at(4).unwrap(), skipped);
        let revert = session.entry(3).unwrap();
        assert_eq!(revert.label.as_deref(), Some("revert 0: remove a"));
        assert_eq!(revert.author.as_deref(), Some("devtools"));
        // The revert's inverse takes it back.
        let back = immer::apply_patches(&skipped, &revert.inverse).unwrap();
        assert_eq!(back, session.state_at(3).unwrap());
        // No such entry; an entry that cannot be reverted.
        assert_eq!(
            session.skipped(9).unwrap_err().to_string(),
            "there is no entry from version 9"
        );
        let conflict = read_session(
            "conflict",
            format!(
                "{}{}",
                SESSION,
                r#"{"version": 3, "patches": [{"op": "remove", "path": ["todos", 0]}], "inverse": []}"#
            )
            .as_bytes(),
        )
        .unwrap();
        let refused = conflict.skipped(1).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("the entry from version 1 cannot be reverted"),
            "{refused}"
        );
    }

    #[test]
    fn a_bad_line_is_refused_with_its_number() {
        let lines: Vec<&str> = SESSION.lines().collect();
        let cases = [
            (
                format!("{}\n{}\n{{\"version\": 1, \"pat", lines[0], lines[1]),
                3,
                "is not a history entry",
            ),
            (
                format!("{}\n{}\n{}", lines[0], lines[1], lines[1]),
                3,
                "has version 0, but the line before ends at version 1",
            ),
            (
                format!("{}\n{}", lines[0], lines[3]),
                2,
                "has version 2, but the line before ends at version 0",
            ),
            (
                format!(
                    "{}\n{{\"version\": 0, \"patches\": [{{\"op\": \"remove\", \"path\": [\"nope\"]}}], \"inverse\": []}}",
                    lines[0]
                ),
                2,
                "its patches do not apply",
            ),
            (
                format!(
                    "{}\n{{\"version\": 0, \"patches\": [{{\"op\": \"remove\", \"path\": [\"title\"]}}], \"inverse\": [{{\"op\": \"remove\", \"path\": [\"title\"]}}]}}",
                    lines[0]
                ),
                2,
                "its inverse does not apply",
            ),
            ("[1, 2]".to_owned(), 1, "is not the session's first line"),
            (
                "{\"first\": 2}".to_owned(),
                1,
                "is not the session's first line",
            ),
            (String::new(), 1, "is missing"),
        ];
        for (text, line, reason) in cases {
            let Err(error) = read_session("bad", text.as_bytes()) else {
                panic!("accepted: {text}");
            };
            assert_eq!(error.line, line, "{text}");
            assert!(error.reason.starts_with(reason), "{}", error.reason);
        }
    }
}
