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
//! The state is kept as JSON, whatever the document's type, at every version: each shares
//! everything it did not change with the one before (persistent vectors and maps), so a jump
//! to any version costs nothing, and 10,000 versions of a 100,000-item board hold one copy of
//! it and the paths the changes copied.
//!
//! [`History::write_log`]: immer::History::write_log

use std::fmt::Write as _;
use std::io::BufRead;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use immer::{HistoryEntry, LogError, Path, PathSegment};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::hub::{Backend, Hub};
use crate::tree::Tree;

/// The devtools for one document. Cheap to clone: clones show the same timeline.
#[derive(Clone)]
pub struct Devtools {
    inner: Arc<Mutex<Timeline>>,
    /// Whether it follows a live document (an import would replace what it records).
    live: bool,
}

impl std::fmt::Debug for Devtools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let timeline = self.lock();
        f.debug_struct("Devtools")
            .field("source", &timeline.source)
            .field("entries", &timeline.entries.len())
            .finish_non_exhaustive()
    }
}

/// The recorded changes and the states they lead through.
struct Timeline {
    /// Where the changes come from, for the page's title.
    source: String,
    /// The version of `states[0]`.
    first: u64,
    /// The state at every version, from `first`.
    states: Vec<Tree>,
    /// `entries[i]` leads from `states[i]` to `states[i + 1]`.
    entries: Vec<HistoryEntry>,
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
struct Node {
    path: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
    size: usize,
    offset: usize,
    children: Vec<Child>,
}

#[derive(Serialize)]
struct Child {
    key: Value,
    kind: &'static str,
    preview: String,
    size: usize,
}

/// Children shown per page of a node.
const PAGE: usize = 100;

/// A one-line preview: scalars as JSON, containers by their first members, cut at 120 bytes.
fn preview(tree: &Tree) -> String {
    let scalar = |t: &Tree| match t {
        Tree::Array(a) => format!("[{}]", a.len()),
        Tree::Object(o) => format!("{{{}}}", o.len()),
        other => Value::from(other).to_string(),
    };
    let out = match tree {
        Tree::Array(a) => format!("[{} items]", a.len()),
        Tree::Object(o) => {
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

/// Why the page's request cannot be answered.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

impl Timeline {
    fn new(source: String, base: Value, first: u64) -> Self {
        Timeline {
            source,
            first,
            states: vec![Tree::from(base)],
            entries: Vec::new(),
        }
    }

    fn newest_version(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    fn newest(&self) -> &Tree {
        // There is always the first state.
        &self.states[self.states.len() - 1]
    }

    /// Records an entry that leads from the newest version, with its inverse computed from
    /// the state it met when it has none.
    fn push(&mut self, mut entry: HistoryEntry) -> Result<(), String> {
        entry.version = self.newest_version();
        let mut next = self.newest().clone();
        let inverse = next.apply(&entry.patches)?;
        if entry.inverse.is_empty() {
            entry.inverse = inverse;
        }
        self.states.push(next);
        self.entries.push(entry);
        Ok(())
    }

    fn state_at(&self, version: u64) -> Result<&Tree, Refusal> {
        version
            .checked_sub(self.first)
            .and_then(|i| self.states.get(i as usize))
            .ok_or_else(|| {
                bad(format!(
                    "version {version} is not in the timeline ({} to {})",
                    self.first,
                    self.newest_version()
                ))
            })
    }

    /// The patches that revert the entry starting at `entry`, moved through every later one.
    fn revert_patches(&self, entry: u64) -> Result<Vec<immer::Patch>, Refusal> {
        if entry < self.first || entry >= self.newest_version() {
            return Err(bad(format!("there is no entry from version {entry}")));
        }
        let index = (entry - self.first) as usize;
        let later = self.entries[index + 1..]
            .iter()
            .map(|e| e.patches.as_slice());
        immer::revert_through(&self.entries[index].inverse, later).map_err(|(n, conflict)| {
            bad(format!(
                "the entry from version {entry} cannot be reverted: {conflict}, in the entry from version {}",
                entry + 1 + n as u64
            ))
        })
    }

    /// The newest state with the entry starting at `entry` skipped.
    fn skipped(&self, entry: u64) -> Result<Tree, Refusal> {
        let patches = self.revert_patches(entry)?;
        let mut state = self.newest().clone();
        state.apply(&patches).map_err(bad)?;
        Ok(state)
    }

    fn export(&self) -> String {
        let head = json!({ "base": Value::from(&self.states[0]), "first": self.first });
        let mut out = serde_json::to_string(&head).unwrap_or_default();
        out.push('\n');
        for entry in &self.entries {
            out.push_str(&serde_json::to_string(entry).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

/// Reads a session: a first line `{"base": <state>}` (and optionally `"first": <version>`),
/// then one entry a line. Each entry's version must follow the one before, and its patches
/// apply to the state so far.
fn read_session(source: &str, log: impl BufRead) -> Result<Timeline, LogError> {
    let mut timeline: Option<Timeline> = None;
    for line in HistoryEntry::log_lines(log) {
        let (number, text) = line?;
        let fail = |reason: String| LogError {
            line: number,
            reason,
        };
        let Some(timeline) = timeline.as_mut() else {
            let first_line = "is not the session's first line ({\"base\": ...})";
            let head: Value =
                serde_json::from_str(&text).map_err(|e| fail(format!("{first_line}: {e}")))?;
            let Some(base) = head.get("base").filter(|_| head.is_object()) else {
                return Err(fail(first_line.to_owned()));
            };
            let first = head.get("first").and_then(Value::as_u64).unwrap_or(0);
            timeline = Some(Timeline::new(source.to_owned(), base.clone(), first));
            continue;
        };
        let entry = HistoryEntry::from_log_line(number, &text, Some(timeline.newest_version()))?;
        timeline
            .push(entry)
            .map_err(|e| fail(format!("its patches do not apply: {e}")))?;
    }
    timeline.ok_or(LogError {
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
    /// change the hub commits from then on (its author's session and the time it landed).
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
        let base = serde_json::to_value(&*state)?;
        let devtools = Devtools {
            inner: Arc::new(Mutex::new(Timeline::new(source.to_owned(), base, version))),
            live: true,
        };
        let weak = Arc::downgrade(&devtools.inner);
        tokio::spawn(async move {
            while let Some(committed) = commits.recv().await {
                let Some(inner) = weak.upgrade() else { return };
                let mut timeline = inner.lock().unwrap_or_else(PoisonError::into_inner);
                if committed.version != timeline.newest_version() + 1 {
                    continue;
                }
                let entry = HistoryEntry {
                    version: committed.version - 1,
                    label: Some(format!(
                        "change {} of session {}",
                        committed.id, committed.session
                    )),
                    patches: committed.patches,
                    inverse: Vec::new(),
                    author: Some(format!("session {}", committed.session)),
                    time: Some(now_ms()),
                };
                // A change that does not apply here is left out; the page shows the gap.
                let _ = timeline.push(entry);
            }
        });
        Ok(devtools)
    }

    fn lock(&self) -> MutexGuard<'_, Timeline> {
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

async fn info(State(devtools): State<Devtools>) -> Json<Value> {
    let timeline = devtools.lock();
    Json(json!({
        "source": timeline.source,
        "first": timeline.first,
        "newest": timeline.newest_version(),
        "entries": timeline.entries.len(),
    }))
}

async fn entries(State(devtools): State<Devtools>, Query(range): Query<Range>) -> Json<Value> {
    let timeline = devtools.lock();
    let start = range.from.saturating_sub(timeline.first) as usize;
    let list: Vec<Value> = timeline
        .entries
        .iter()
        .skip(start)
        .take(range.count.min(1000))
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
    Json(json!({ "newest": timeline.newest_version(), "entries": list }))
}

async fn entry(
    State(devtools): State<Devtools>,
    Query(at): Query<At>,
) -> Result<Json<Value>, Refusal> {
    let timeline = devtools.lock();
    let index = at
        .version
        .checked_sub(timeline.first)
        .and_then(|i| timeline.entries.get(i as usize))
        .ok_or_else(|| bad(format!("there is no entry from version {}", at.version)))?;
    Ok(Json(serde_json::to_value(index).unwrap_or_default()))
}

/// The state the page shows: at a version, or the newest with an entry skipped.
fn shown(timeline: &Timeline, at: &At) -> Result<Tree, Refusal> {
    match at.skip {
        Some(entry) => timeline.skipped(entry),
        // A clone shares everything.
        None => timeline.state_at(at.version).cloned(),
    }
}

async fn node(
    State(devtools): State<Devtools>,
    Query(at): Query<At>,
) -> Result<Json<Node>, Refusal> {
    let state = shown(&devtools.lock(), &at)?;
    let path = Path::from_pointer(&at.path).map_err(|e| bad(e.to_string()))?;
    let tree = state
        .at(path.segments())
        .ok_or_else(|| Refusal(StatusCode::NOT_FOUND, format!("nothing at {}", at.path)))?;
    let child = |key: Value, t: &Tree| Child {
        key,
        kind: t.kind(),
        preview: preview(t),
        size: t.size(),
    };
    let children = match tree {
        Tree::Array(a) => a
            .iter()
            .enumerate()
            .skip(at.offset)
            .take(PAGE)
            .map(|(i, t)| child(json!(i), t))
            .collect(),
        Tree::Object(o) => o
            .iter()
            .skip(at.offset)
            .take(PAGE)
            .map(|(k, t)| child(json!(k.as_ref()), t))
            .collect(),
        _ => Vec::new(),
    };
    let scalar = !matches!(tree, Tree::Array(_) | Tree::Object(_));
    Ok(Json(Node {
        path: at.path.clone(),
        kind: tree.kind(),
        value: scalar.then(|| Value::from(tree)),
        size: tree.size(),
        offset: at.offset,
        children,
    }))
}

async fn search(
    State(devtools): State<Devtools>,
    Query(at): Query<At>,
) -> Result<Json<Value>, Refusal> {
    let state = shown(&devtools.lock(), &at)?;
    let needle = at.q.to_lowercase();
    if needle.is_empty() {
        return Ok(Json(json!({ "paths": [] })));
    }
    let mut found = Vec::new();
    let mut stack: Vec<(Vec<PathSegment>, &Tree)> = vec![(Vec::new(), &state)];
    while let Some((path, tree)) = stack.pop() {
        if found.len() >= 100 {
            break;
        }
        let hit = match tree {
            Tree::String(s) => s.to_lowercase().contains(&needle),
            Tree::Number(n) => n.to_string() == needle,
            Tree::Bool(b) => b.to_string() == needle,
            _ => false,
        };
        let key_hit =
            matches!(path.last(), Some(PathSegment::Key(k)) if k.to_lowercase().contains(&needle));
        if hit || key_hit {
            found.push(Path::from(path.clone()).to_pointer());
        }
        match tree {
            Tree::Array(a) => {
                for (i, t) in a.iter().enumerate().rev() {
                    let mut p = path.clone();
                    p.push(PathSegment::Index(i));
                    stack.push((p, t));
                }
            }
            Tree::Object(o) => {
                for (k, t) in o.iter().rev() {
                    let mut p = path.clone();
                    p.push(PathSegment::Key(k.to_string()));
                    stack.push((p, t));
                }
            }
            _ => {}
        }
    }
    Ok(Json(json!({ "paths": found })))
}

async fn revert(
    State(devtools): State<Devtools>,
    Query(r): Query<Revert>,
) -> Result<Json<Value>, Refusal> {
    let mut timeline = devtools.lock();
    let patches = timeline.revert_patches(r.entry)?;
    if patches.is_empty() {
        return Ok(Json(json!({ "newest": timeline.newest_version() })));
    }
    let label = timeline.entries[(r.entry - timeline.first) as usize]
        .label
        .clone()
        .map_or_else(
            || format!("revert {}", r.entry),
            |l| format!("revert {}: {l}", r.entry),
        );
    timeline
        .push(HistoryEntry {
            version: 0,
            label: Some(label),
            patches,
            inverse: Vec::new(),
            author: Some("devtools".to_owned()),
            time: Some(now_ms()),
        })
        .map_err(bad)?;
    Ok(Json(json!({ "newest": timeline.newest_version() })))
}

async fn export(State(devtools): State<Devtools>) -> Response {
    let text = devtools.lock().export();
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

async fn import(State(devtools): State<Devtools>, body: Bytes) -> Result<Json<Value>, Refusal> {
    if devtools.live {
        return Err(Refusal(
            StatusCode::CONFLICT,
            "these devtools follow a live document: import a session into devtools of their own"
                .to_owned(),
        ));
    }
    let source = devtools.lock().source.clone();
    let timeline = read_session(&source, body.as_ref()).map_err(|e| bad(e.to_string()))?;
    let newest = timeline.newest_version();
    *devtools.lock() = timeline;
    Ok(Json(json!({ "newest": newest })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = r#"{"base": {"todos": ["a", "b"], "title": "t"}}
{"version": 0, "label": "remove a", "patches": [{"op": "remove", "path": ["todos", 0]}], "inverse": [{"op": "add", "path": ["todos", 0], "value": "a"}]}
{"version": 1, "patches": [{"op": "add", "path": ["todos", 0], "value": "z"}], "inverse": [{"op": "remove", "path": ["todos", 0]}], "author": "bob", "time": 5}
{"version": 2, "patches": [{"op": "replace", "path": ["title"], "value": "u"}], "inverse": [{"op": "replace", "path": ["title"], "value": "t"}]}
"#;

    fn value(tree: &Tree) -> Value {
        Value::from(tree)
    }

    #[test]
    fn a_session_replays_and_every_version_is_kept() {
        let timeline = read_session("test", SESSION.as_bytes()).unwrap();
        assert_eq!(timeline.newest_version(), 3);
        assert_eq!(
            value(timeline.state_at(0).ok().unwrap()),
            json!({"todos": ["a", "b"], "title": "t"})
        );
        assert_eq!(
            value(timeline.state_at(2).ok().unwrap()),
            json!({"todos": ["z", "b"], "title": "t"})
        );
        assert_eq!(
            value(timeline.newest()),
            json!({"todos": ["z", "b"], "title": "u"})
        );
        assert!(timeline.state_at(4).is_err());
        // Exported, it reads back the same.
        let again = read_session("again", timeline.export().as_bytes()).unwrap();
        assert_eq!(again.entries, timeline.entries);
        assert_eq!(again.states, timeline.states);
    }

    #[test]
    fn skipping_an_entry_keeps_the_later_ones() {
        let mut timeline = read_session("test", SESSION.as_bytes()).unwrap();
        // Without "remove a": "a" is back right before "b", where it was, as "z" (inserted
        // later before "b").
        let skipped = timeline.skipped(0).ok().unwrap();
        assert_eq!(
            value(&skipped),
            json!({"todos": ["a", "z", "b"], "title": "u"})
        );
        let patches = timeline.revert_patches(0).ok().unwrap();
        timeline
            .push(HistoryEntry {
                version: 0,
                label: None,
                patches,
                inverse: Vec::new(),
                author: None,
                time: None,
            })
            .unwrap();
        assert_eq!(value(timeline.newest()), value(&skipped));
        // The revert's inverse takes it back.
        let mut back = timeline.newest().clone();
        back.apply(&timeline.entries[3].inverse).unwrap();
        assert_eq!(&back, timeline.state_at(3).ok().unwrap());
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
            ("[1, 2]".to_owned(), 1, "is not the session's first line"),
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
