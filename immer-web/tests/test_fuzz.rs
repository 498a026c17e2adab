//! A seeded fuzz test of the hub, black-box, over real WebSocket connections: honest clients
//! edit the board while attackers send random hostile changes, and after every burst each
//! view of the document must be the server's.
//!
//! - **Honest clients** (two editors, one checker) are typed followers (`common::Client`)
//!   making random legitimate edits, one at a time, each timed from `edit` to its answer.
//! - **JSON mirrors** hold the document as a JavaScript client does: the welcome's state as
//!   JSON, then every committed change's patches applied as sent, by an independent RFC 6902
//!   implementation (`json-patch`). They catch a server that commits what its typed state
//!   does not hold (unknown members, `__proto__`, list positions written as strings).
//! - **Attackers** (random roles, reconnecting when closed) send random raw messages: extra
//!   members, string and out-of-range positions, `-`, empty changes, huge and stale bases,
//!   wrong types, invalid operations, duplicate ids, stale changes of many patches, resyncs
//!   and snapshot requests.
//!
//! After each burst, once everything is quiet: every honest client's state and every
//! mirror's value is the server's, a fresh welcome is too, and no committed change is empty,
//! a viewer's, a checker's outside `/todos/*/done`, or an id committed twice. At the end the
//! honest edits' p99 latency must be under 50 ms.
//!
//! `HUB_FUZZ_SEED` sets the seed (printed at the start) and `HUB_FUZZ_BURSTS` the number of
//! bursts. The seed fixes every choice each client makes; how the clients interleave is the
//! scheduler's, so a failure may need a few runs of its seed to come back.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::{Board, Client, Role, Socket, Todo, auth, board, builder, raw, serve};
use futures_util::{SinkExt, StreamExt};
use immer::sync::FollowerEvent;
use immer_web::protocol::ClientMessage;
use immer_web::{Hub, Limits};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

/// The seed when `HUB_FUZZ_SEED` is not set.
const DEFAULT_SEED: u64 = 0x5EED_1D0C;
/// The bursts when `HUB_FUZZ_BURSTS` is not set.
const DEFAULT_BURSTS: u64 = 12;
/// Edits of each honest client per burst.
const HONEST_EDITS: usize = 20;
/// Attacking connections (each reconnects when closed).
const ATTACKERS: usize = 4;
/// Messages of each attacker per burst.
const ATTACK_MESSAGES: usize = 60;
/// The honest edits' p99 latency must stay under this while the attackers run.
const P99_TARGET: Duration = Duration::from_millis(50);
/// An honest edit not answered in this long stalled.
const EDIT_WAIT: Duration = Duration::from_secs(10);
/// How long an attacker's burst may take (it waits up to 20 s for each welcome).
const ATTACK_WAIT: Duration = Duration::from_secs(60);
/// How long settling after a burst may take.
const SETTLE_WAIT: Duration = Duration::from_secs(15);
/// How long the hub's version has to stay put to call the burst over.
const QUIET: Duration = Duration::from_millis(150);
/// Keys a JavaScript client must never be handed.
const FORBIDDEN_KEYS: [&str; 3] = ["__proto__", "constructor", "prototype"];

/// Every session opened, with its user and role: who committed what.
type Sessions = Arc<Mutex<HashMap<u64, (String, Role)>>>;

/// Where a failure happened, for the assertion messages.
#[derive(Clone, Copy)]
struct At {
    seed: u64,
    burst: u64,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HUB_FUZZ_SEED={} burst {}", self.seed, self.burst)
    }
}

/// `SplitMix64`: small, deterministic, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// An index in `0..n` (0 when `n` is 0).
    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True `percent` times in 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An independent generator for a task.
    fn fork(&mut self) -> Rng {
        Rng(self.next())
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())].clone()
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}"))
    })
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Editor => "editor",
        Role::Checker => "checker",
        Role::Viewer => "viewer",
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The next JSON text message, skipping other frames; why there is none otherwise.
async fn read_json(socket: &mut Socket, wait: Duration) -> Result<Value, String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Err(format!("nothing in {wait:?}")),
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"));
            }
            Ok(Some(Ok(Message::Close(frame)))) => return Err(format!("closed: {frame:?}")),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(error))) => return Err(format!("connection error: {error}")),
            Ok(None) => return Err("connection ended".to_owned()),
        }
    }
}

/// A JSON value in at most about 100 characters.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= 100 {
        return text;
    }
    let mut end = 90;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
}

/// Where `mirror` first differs from `server`, in words.
fn first_difference(mirror: &Value, server: &Value, at: &str) -> Option<String> {
    match (mirror, server) {
        (Value::Object(m), Value::Object(s)) => {
            let keys: BTreeSet<&String> = m.keys().chain(s.keys()).collect();
            keys.into_iter().find_map(|key| {
                let here = format!("{at}/{key}");
                match (m.get(key), s.get(key)) {
                    (Some(m), Some(s)) => first_difference(m, s, &here),
                    (Some(m), None) => Some(format!("{here}: only in the mirror, = {}", short(m))),
                    (None, Some(s)) => Some(format!("{here}: only on the server, = {}", short(s))),
                    (None, None) => None,
                }
            })
        }
        (Value::Array(m), Value::Array(s)) => m
            .iter()
            .zip(s)
            .enumerate()
            .find_map(|(n, (m, s))| first_difference(m, s, &format!("{at}/{n}")))
            .or_else(|| {
                (m.len() != s.len()).then(|| {
                    format!(
                        "{at}: {} items in the mirror, {} on the server",
                        m.len(),
                        s.len()
                    )
                })
            }),
        _ => (mirror != server).then(|| {
            format!(
                "{at}: the mirror has {}, the server {}",
                short(mirror),
                short(server)
            )
        }),
    }
}

/// The first `max` lines of `lines`, and how many more there are.
fn listing(lines: &[String], max: usize) -> String {
    let mut text = String::new();
    for line in lines.iter().take(max) {
        let _ = writeln!(text, "  {line}");
    }
    if lines.len() > max {
        let _ = writeln!(text, "  ... and {} more", lines.len() - max);
    }
    text
}

// ---------------------------------------------------------------------------------------------
// JSON mirrors: the document as a JavaScript client holds it.

/// A committed change as a mirror received it.
struct Commit {
    version: u64,
    session: u64,
    id: u64,
    patches: Vec<Value>,
}

/// A connection that holds the document as JSON, applying every committed change as sent.
struct Mirror {
    name: String,
    socket: Socket,
    value: Value,
    version: u64,
    /// The committed changes received since the last check.
    commits: Vec<Commit>,
    /// Committed changes that are not in the form a JavaScript client can take as is.
    problems: Vec<String>,
}

impl Mirror {
    async fn connect(url: &str, token: &str) -> Mirror {
        let mut socket = raw(url).await;
        socket.send(auth(token)).await.unwrap();
        let welcome = read_json(&mut socket, common::WAIT)
            .await
            .unwrap_or_else(|e| panic!("{token}: no welcome: {e}"));
        assert_eq!(welcome["type"], "welcome", "{token}: {}", short(&welcome));
        Mirror {
            name: token.to_owned(),
            socket,
            value: welcome["state"].clone(),
            version: welcome["version"].as_u64().expect("a version"),
            commits: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn take(&mut self, message: &Value) {
        if message["type"] != "committed" {
            let problem = format!("{}: unexpected message {}", self.name, short(message));
            self.problems.push(problem);
            return;
        }
        let version = message["version"].as_u64().unwrap_or(0);
        if version != self.version + 1 {
            let problem = format!("after version {} came version {version}", self.version);
            self.problems.push(problem);
        }
        self.version = version;
        let patches = message["patches"].as_array().cloned().unwrap_or_default();
        for (n, patch) in patches.iter().enumerate() {
            let mut flaws = Vec::new();
            let applied = rfc6902(&self.value, patch, &mut flaws).and_then(|op| {
                json_patch::patch(&mut self.value, &[op]).map_err(|e| e.to_string())
            });
            flaws.extend(applied.err());
            let patch = short(patch);
            for flaw in flaws {
                let problem = format!("version {version}, patch {n} {patch}: {flaw}");
                self.problems.push(problem);
            }
        }
        self.commits.push(Commit {
            version,
            session: message["session"].as_u64().unwrap_or(u64::MAX),
            id: message["id"].as_u64().unwrap_or(u64::MAX),
            patches,
        });
    }

    /// Reads committed changes until `stop` fires.
    async fn follow(mut self, mut stop: oneshot::Receiver<()>) -> Mirror {
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return self,
                next = self.socket.next() => match next {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str(&text) {
                        Ok(message) => self.take(&message),
                        Err(e) => self.problems.push(format!("not JSON: {e}")),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        self.problems.push(format!("{} was closed: {frame:?}", self.name));
                        let _ = stop.await;
                        return self;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        self.problems.push(format!("{}'s connection ended", self.name));
                        let _ = stop.await;
                        return self;
                    }
                },
            }
        }
    }

    /// Reads until at `version`.
    async fn catch_up(&mut self, version: u64) -> Result<(), String> {
        while self.version < version {
            let message = read_json(&mut self.socket, SETTLE_WAIT)
                .await
                .map_err(|e| {
                    format!(
                        "{} stopped at version {} of {version}: {e}",
                        self.name, self.version
                    )
                })?;
            self.take(&message);
        }
        Ok(())
    }
}

/// An Immer patch as sent (`path` an array of keys and positions) as an RFC 6902 operation
/// that does what a JavaScript client does with it, and what is wrong with it (`flaws`): a
/// list position that is not a number, a forbidden key. `Err` for what no client can apply:
/// an operation Immer does not take, a path that is not an array of keys and positions.
fn rfc6902(
    document: &Value,
    patch: &Value,
    flaws: &mut Vec<String>,
) -> Result<json_patch::PatchOperation, String> {
    let op = patch["op"].as_str().unwrap_or("");
    if !matches!(op, "add" | "remove" | "replace") {
        return Err(format!("operation {op:?} is not Immer's"));
    }
    let segments = patch["path"].as_array().ok_or("no path array")?;
    let mut pointer = String::new();
    let mut at = Some(document);
    for segment in segments {
        let key = match segment {
            Value::Number(n) => n.to_string(),
            Value::String(key) => key.clone(),
            other => return Err(format!("path segment {other}")),
        };
        match (at, segment) {
            (Some(Value::Array(_)), Value::Number(n)) if n.is_u64() => {}
            (Some(Value::Array(_)), other) => {
                flaws.push(format!("list position written as {other}"));
            }
            _ if FORBIDDEN_KEYS.contains(&key.as_str()) => {
                flaws.push(format!("key {key:?} in the path"));
            }
            _ => {}
        }
        at = at.and_then(|v| match v {
            Value::Array(items) => key.parse::<usize>().ok().and_then(|n| items.get(n)),
            other => other.get(&key),
        });
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
    }
    let mut operation = json!({"op": op, "path": pointer});
    if op != "remove" {
        let value = patch.get("value").ok_or("no value")?;
        if let Some(key) = forbidden_key(value) {
            flaws.push(format!("key {key:?} in the value"));
        }
        operation["value"] = value.clone();
    }
    serde_json::from_value(operation).map_err(|e| e.to_string())
}

/// A forbidden key anywhere in `value`.
fn forbidden_key(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, value)| {
            if FORBIDDEN_KEYS.contains(&key.as_str()) {
                Some(key.as_str())
            } else {
                forbidden_key(value)
            }
        }),
        Value::Array(items) => items.iter().find_map(forbidden_key),
        _ => None,
    }
}

/// What is wrong with the committed changes given who made them: an empty change, a
/// viewer's, a checker's outside `/todos/*/done`, an id of a session committed twice.
fn check_commits(
    commits: &[Commit],
    sessions: &Sessions,
    ids: &mut HashSet<(u64, u64)>,
) -> Vec<String> {
    let sessions = lock(sessions);
    let mut problems = Vec::new();
    for commit in commits {
        let who = sessions.get(&commit.session);
        let name = who.map_or("an unknown session", |(user, _)| user.as_str());
        let v = commit.version;
        if commit.patches.is_empty() {
            problems.push(format!(
                "version {v}: an empty change of {name} was committed"
            ));
        }
        if !ids.insert((commit.session, commit.id)) {
            let id = commit.id;
            problems.push(format!(
                "version {v}: change {id} of {name} committed twice"
            ));
        }
        match who {
            None => problems.push(format!(
                "version {v}: committed for unknown session {}",
                commit.session
            )),
            Some((_, Role::Viewer)) => {
                let patches = short(&Value::Array(commit.patches.clone()));
                problems.push(format!("version {v}: viewer {name} committed {patches}"));
            }
            Some((_, Role::Checker)) => {
                for patch in &commit.patches {
                    let segments = patch["path"].as_array().map_or(&[][..], Vec::as_slice);
                    let at_done = matches!(segments, [t, Value::Number(_), d]
                        if t == "todos" && d == "done");
                    let tick = matches!(patch["op"].as_str(), Some("add" | "replace"))
                        && at_done
                        && patch["value"].is_boolean();
                    if !tick {
                        let patch = short(patch);
                        problems.push(format!("version {v}: checker {name} committed {patch}"));
                    }
                }
            }
            Some((_, Role::Editor)) => {}
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Honest clients: typed followers making legitimate edits.

/// A typed client making random legitimate edits.
struct Honest {
    name: String,
    role: Role,
    client: Client,
    /// Events of `client` looked at.
    seen: usize,
    /// Edits made, for unique names.
    made: u64,
    /// Committed changes its typed state could not take.
    diverged: Vec<String>,
}

impl Honest {
    async fn connect(url: &str, token: &str, role: Role, sessions: &Sessions) -> Honest {
        let client = Client::connect(url, token).await;
        let session = client.follower.session();
        lock(sessions).insert(session, (token.to_owned(), role));
        Honest {
            name: token.to_owned(),
            role,
            client,
            seen: 0,
            made: 0,
            diverged: Vec::new(),
        }
    }

    /// Reads one message; a divergence is noted and answered with a snapshot request (the
    /// shared client sends only changes).
    async fn pump(&mut self) -> Result<(), String> {
        if !self.client.step().await {
            return Err(format!("{} was disconnected", self.name));
        }
        while self.seen < self.client.events.len() {
            if let FollowerEvent::Diverged { version, error } = &self.client.events[self.seen] {
                self.diverged.push(format!(
                    "{}: committed version {version} does not apply to its typed state: {error}",
                    self.name
                ));
                let snapshot = serde_json::to_string(&ClientMessage::Snapshot).unwrap();
                let sent = self.client.socket.send(Message::text(snapshot)).await;
                sent.map_err(|e| format!("{}: {e}", self.name))?;
            }
            self.seen += 1;
        }
        Ok(())
    }

    /// Whether edit `id` has been answered (accepted or dropped).
    fn answered(&self, id: u64) -> bool {
        self.client.events.iter().rev().any(|e| {
            matches!(e, FollowerEvent::Accepted { id: change_id, .. }
                | FollowerEvent::Dropped { id: change_id, .. } if *change_id == id)
        })
    }

    /// Reads until every edit is answered and the follower is at `version`.
    async fn settle(&mut self, version: u64) -> Result<(), String> {
        let name = self.name.clone();
        let settled = async {
            while !(self.client.follower.is_settled() && self.client.follower.version() >= version)
            {
                self.pump().await?;
            }
            Ok::<(), String>(())
        };
        tokio::time::timeout(SETTLE_WAIT, settled)
            .await
            .map_err(|_| format!("{name} did not settle at version {version} in {SETTLE_WAIT:?}"))?
    }

    /// Makes `edits` edits one at a time, each answered before the next; their latencies.
    async fn burst(
        mut self,
        mut rng: Rng,
        edits: usize,
    ) -> Result<(Honest, Vec<Duration>), String> {
        let mut latencies = Vec::with_capacity(edits);
        for _ in 0..edits {
            tokio::time::sleep(Duration::from_millis(rng.below(4))).await;
            let started = Instant::now();
            let name = self.name.clone();
            let answered = async {
                // Sending is timed too: a hub that stops reading stalls it.
                let Some(id) = self.edit(&mut rng).await else {
                    return Ok(None);
                };
                while !self.answered(id) {
                    self.pump().await?;
                }
                Ok::<_, String>(Some(id))
            };
            let answered = tokio::time::timeout(EDIT_WAIT, answered)
                .await
                .map_err(|_| {
                    format!("stalled: an edit of {name} was not answered in {EDIT_WAIT:?}")
                })??;
            if answered.is_none() {
                continue;
            }
            latencies.push(started.elapsed());
        }
        self.client.events.clear();
        self.seen = 0;
        Ok((self, latencies))
    }

    /// One random edit its role may make, on its state now; its id.
    async fn edit(&mut self, rng: &mut Rng) -> Option<u64> {
        self.made += 1;
        let tag = format!("{} {}", self.name, self.made);
        let state = Arc::clone(self.client.follower.state());
        let len = state.todos.len();
        let i = rng.index(len);
        if self.role == Role::Checker {
            let done = !state.todos.get(i)?.done;
            let id = self
                .client
                .edit(move |d| d.todos().get_mut(i).unwrap().done().set(done));
            return Some(id.await);
        }
        let kind = match len {
            0..8 => 4,
            41.. => 6,
            _ => rng.below(10),
        };
        let id = match kind {
            0..=2 => {
                let done = !state.todos[i].done;
                self.client
                    .edit(move |d| d.todos().get_mut(i).unwrap().done().set(done))
                    .await
            }
            3 => {
                let edit = move |d: &mut immer::PatchDraft<'_, '_, Board>| {
                    d.todos().get_mut(i).unwrap().text().set(tag);
                };
                self.client.edit(edit).await
            }
            4 | 5 => {
                let at = rng.index(len + 1);
                let todo = Todo {
                    id: tag.replace(' ', "-"),
                    text: tag,
                    done: rng.chance(30),
                };
                self.client
                    .edit(move |d| {
                        let _ = d.todos().insert(at, todo);
                    })
                    .await
            }
            6 => {
                self.client
                    .edit(move |d| {
                        d.todos().remove(i);
                    })
                    .await
            }
            7 | 8 => {
                // A move: out at `i`, in at another place.
                let to = (i + 1 + rng.index(len - 1)) % len;
                self.client
                    .edit(move |d| {
                        let mut todos = d.todos();
                        let todo = todos.remove(i).unwrap();
                        let _ = todos.insert(to, todo);
                    })
                    .await
            }
            _ => self.client.edit(move |d| d.title().set(tag)).await,
        };
        Some(id)
    }
}

// ---------------------------------------------------------------------------------------------
// Attackers: random raw messages.

/// What the attackers did, over the run.
#[derive(Default)]
struct Tally {
    sent: u64,
    rejected: u64,
    committed: u64,
    connections: u64,
    closes: HashMap<String, u64>,
}

/// A connection sending random hostile messages, reconnecting (with a random role) when
/// closed.
struct Attacker {
    n: usize,
    url: String,
    rng: Rng,
    sessions: Sessions,
    socket: Option<Socket>,
    session: u64,
    /// The newest version it saw, and the length of the list then (roughly).
    version: u64,
    len: usize,
    /// The last version that replaced the whole document or list: a change made before it
    /// conflicts with it, one made after it can be old and still go through the versions
    /// since.
    reset: u64,
    next_id: u64,
    tally: Tally,
    /// Things the server did that it must not.
    problems: Vec<String>,
}

impl Attacker {
    fn new(n: usize, url: &str, rng: Rng, sessions: &Sessions) -> Attacker {
        Attacker {
            n,
            url: url.to_owned(),
            rng,
            sessions: Arc::clone(sessions),
            socket: None,
            session: 0,
            version: 0,
            len: 0,
            reset: 0,
            next_id: 0,
            tally: Tally::default(),
            problems: Vec::new(),
        }
    }

    /// Connects with a random role, now and then resuming a session (its own or another's).
    async fn connect(&mut self) -> bool {
        let role = self.rng.pick(&[Role::Editor, Role::Checker, Role::Viewer]);
        let user = format!("{}-attacker{}", role_name(role), self.n);
        let mut message = json!({"type": "auth", "token": user});
        if self.rng.chance(15) {
            let known: Vec<u64> = lock(&self.sessions).keys().copied().collect();
            let session = if self.rng.chance(50) {
                self.session
            } else {
                self.rng.pick(&known)
            };
            message["resume"] = json!(session);
        }
        let mut socket = raw(&self.url).await;
        if socket
            .send(Message::text(message.to_string()))
            .await
            .is_err()
        {
            return false;
        }
        let Ok(welcome) = read_json(&mut socket, common::WAIT).await else {
            return false;
        };
        if welcome["type"] != "welcome" {
            return false;
        }
        self.tally.connections += 1;
        let session = welcome["session"].as_u64().unwrap_or(0);
        {
            let mut sessions = lock(&self.sessions);
            if welcome["resumed"] == true {
                if sessions.get(&session).map(|(u, _)| u) != Some(&user) {
                    self.problems
                        .push(format!("{user} resumed session {session}, not its own"));
                }
            } else if let Some((other, _)) = sessions.insert(session, (user.clone(), role)) {
                self.problems
                    .push(format!("{user} got session {session}, {other}'s"));
            }
        }
        self.session = session;
        self.version = welcome["version"].as_u64().unwrap_or(0);
        if let Some(todos) = welcome["state"]["todos"].as_array() {
            self.len = todos.len();
        }
        self.next_id = 0;
        self.socket = Some(socket);
        true
    }

    /// Sends `messages` random messages, reading what comes between them.
    async fn run(mut self, messages: usize) -> Attacker {
        for _ in 0..messages {
            if self.socket.is_none() && !self.connect().await {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let message = self.message();
            let socket = self.socket.as_mut().unwrap();
            if socket.send(message).await.is_err() {
                self.socket = None;
                continue;
            }
            self.tally.sent += 1;
            let gap = Duration::from_millis(self.rng.below(8));
            self.read_for(gap).await;
        }
        // Its messages handled before the burst ends: a snapshot comes after all of them.
        if let Some(mut socket) = self.socket.take() {
            let snapshot = Message::text(r#"{"type":"snapshot"}"#);
            if socket.send(snapshot).await.is_ok() {
                while let Ok(message) = read_json(&mut socket, common::WAIT).await {
                    if message["type"] == "snapshot" {
                        break;
                    }
                }
            }
            let _ = socket.close(None).await;
        }
        self
    }

    /// Reads what the server sends for `gap` (at least once).
    async fn read_for(&mut self, gap: Duration) {
        let until = tokio::time::Instant::now() + gap;
        while let Some(socket) = self.socket.as_mut() {
            let text = match tokio::time::timeout_at(until, socket.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    let reason = frame.map_or_else(String::new, |f| {
                        let reason = f.reason.split(':').next().unwrap_or("").to_owned();
                        format!("{} {reason}", u16::from(f.code))
                    });
                    *self.tally.closes.entry(reason).or_default() += 1;
                    self.socket = None;
                    return;
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_)) | None) => {
                    self.socket = None;
                    return;
                }
            };
            let Ok(message) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            self.take(&message);
        }
    }

    fn take(&mut self, message: &Value) {
        match message["type"].as_str() {
            Some("committed") => {
                self.version = self.version.max(message["version"].as_u64().unwrap_or(0));
                if message["session"] == self.session {
                    self.tally.committed += 1;
                }
                for patch in message["patches"].as_array().into_iter().flatten() {
                    let depth = patch["path"].as_array().map_or(1, Vec::len);
                    if depth == 0 || patch["path"] == json!(["todos"]) {
                        self.reset = self.version;
                    }
                    let is_item = depth == 2;
                    match patch["op"].as_str() {
                        Some("add") if is_item => self.len += 1,
                        Some("remove") if is_item => self.len = self.len.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            Some("rejected") => self.tally.rejected += 1,
            Some("snapshot") => {
                self.version = message["version"].as_u64().unwrap_or(self.version);
                if let Some(todos) = message["state"]["todos"].as_array() {
                    self.len = todos.len();
                }
            }
            _ => {}
        }
    }

    /// A random message.
    fn message(&mut self) -> Message {
        let text = match self.rng.below(100) {
            0..70 => {
                let count = 1 + self.rng.below(3);
                let patches: Vec<Value> = (0..count).map(|_| self.patch()).collect();
                self.change(&patches)
            }
            70..78 => {
                let version = self.version;
                let version =
                    self.rng
                        .pick(&[0, version, version + 5, version.saturating_sub(3), u64::MAX]);
                json!({"type": "resync", "version": version})
            }
            78..86 => json!({"type": "snapshot"}),
            86..93 => self.change(&[]),
            93..97 => self.stale_change(),
            97 => self.replay(),
            _ => return self.malformed(),
        };
        Message::text(text.to_string())
    }

    fn change(&mut self, patches: &[Value]) -> Value {
        let id = match self.rng.below(100) {
            0..85 => {
                self.next_id += 1;
                self.next_id
            }
            85..95 => 1 + self.rng.below(self.next_id.max(1)),
            95..99 => 0,
            _ => u64::MAX,
        };
        let v = self.version;
        let base = match self.rng.below(100) {
            0..70 => v,
            70..78 => 0,
            78..83 => u64::MAX,
            83..88 => v + 1000,
            88..95 => v.saturating_sub(1 + self.rng.below(10)),
            _ => v + 1,
        };
        json!({"type": "change", "id": id, "base": base, "patches": patches})
    }

    /// A change of hundreds of patches, mostly made long ago (often just after the last
    /// reset, so that it goes through every version since): ticks, members no type has
    /// (at the root, where nothing conflicts with them, or in todos). Nothing may stall the
    /// others while the hub takes it apart.
    fn stale_change(&mut self) -> Value {
        let count = 100 + self.rng.below(901);
        let len = self.len.max(1) as u64;
        let kind = self.rng.below(3);
        let patches: Vec<Value> = (0..count)
            .map(|n| match kind {
                0 => json!({"op": "replace", "path": ["todos", n % len, "done"], "value": true}),
                1 => json!({"op": "add", "path": [format!("junk{n}")], "value": n}),
                _ => json!({"op": "add", "path": ["todos", n % len, "isAdmin"], "value": true}),
            })
            .collect();
        self.next_id += 1;
        let v = self.version;
        let base = match self.rng.below(100) {
            0..45 => self.reset,
            45..65 => 0,
            65..85 => v.saturating_sub(1 + self.rng.below(200)).max(self.reset),
            _ => v,
        };
        json!({"type": "change", "id": self.next_id, "base": base, "patches": patches})
    }

    /// A valid-looking change under an id already used.
    fn replay(&mut self) -> Value {
        let patch =
            json!({"op": "replace", "path": ["title"], "value": format!("replayed {}", self.n)});
        let id = self.next_id.max(1);
        json!({"type": "change", "id": id, "base": self.version, "patches": [patch]})
    }

    /// A message that breaks the protocol: the connection is closed.
    fn malformed(&mut self) -> Message {
        match self.rng.below(5) {
            0 => Message::text("{not json"),
            1 => Message::text(r#"{"type":"delete-everything"}"#),
            2 => Message::text(r#"{"type":"auth","token":"editor-again"}"#),
            3 => Message::text(r#"{"type":"change","id":"1","base":0,"patches":[]}"#),
            _ => Message::binary(vec![1_u8, 2, 3]),
        }
    }

    /// A list position: valid, as a string, `-`, out of range; rarely negative or fractional
    /// (no position at all: the message is invalid and the connection closed).
    fn position(&mut self) -> Value {
        let len = self.len as u64;
        match self.rng.below(60) {
            0..32 => json!(self.rng.below(len + 1)),
            32..42 => json!(self.rng.below(len + 1).to_string()),
            42..47 => json!("-"),
            47..54 => json!(len + 1 + self.rng.below(100)),
            54..58 => json!(u64::MAX),
            58 => json!(-1),
            _ => json!(1.5),
        }
    }

    /// A todo, often with extra members, now and then with wrong types.
    fn todo(&mut self) -> Value {
        let tag = format!("attack {} {}", self.n, self.rng.below(1_000_000));
        let mut todo = json!({"id": tag.replace(' ', "-"), "text": tag, "done": false});
        let extras = [
            (30, "junk", json!("j".repeat(1 + self.rng.index(4096)))),
            (30, "isAdmin", json!(true)),
            (20, "__proto__", json!({"isAdmin": true})),
            (10, "constructor", json!({"prototype": {"isAdmin": true}})),
            (5, "prototype", json!({"isAdmin": true})),
            (8, "done", json!("yes")),
            (5, "text", json!(42)),
            (3, "id", Value::Null),
        ];
        for (percent, key, value) in extras {
            if self.rng.chance(percent) {
                todo[key] = value;
            }
        }
        if self.rng.chance(3) {
            todo.as_object_mut().unwrap().remove("done");
        }
        todo
    }

    /// A member key a todo does not have.
    fn extra_key(&mut self) -> &'static str {
        self.rng
            .pick(&["isAdmin", "junk", "__proto__", "constructor", "prototype"])
    }

    /// A random patch, mostly at the list's items.
    fn patch(&mut self) -> Value {
        let at = self.position();
        let todo = self.todo();
        match self.rng.below(48) {
            0..6 => json!({"op": "add", "path": ["todos", at], "value": todo}),
            6..9 => json!({"op": "replace", "path": ["todos", at], "value": todo}),
            9..12 => json!({"op": "remove", "path": ["todos", at]}),
            12..18 => {
                let done = self.rng.pick(&[
                    json!(true),
                    json!(false),
                    json!("yes"),
                    json!(1),
                    Value::Null,
                ]);
                json!({"op": "replace", "path": ["todos", at, "done"], "value": done})
            }
            18..21 => {
                let text =
                    self.rng
                        .pick(&[json!("renamed"), json!(7), json!({"a": 1}), Value::Null]);
                json!({"op": "replace", "path": ["todos", at, "text"], "value": text})
            }
            21..24 => {
                let key = self.extra_key();
                let op = self.rng.pick(&["add", "replace"]);
                let value = json!({"isAdmin": true, "junk": "j".repeat(self.rng.index(2048))});
                json!({"op": op, "path": ["todos", at, key], "value": value})
            }
            24..27 => {
                let title = self
                    .rng
                    .pick(&[json!("pwned"), json!(""), json!(7), Value::Null]);
                json!({"op": "replace", "path": ["title"], "value": title})
            }
            27..30 => {
                let paths = [
                    json!(["isAdmin"]),
                    json!(["__proto__", "isAdmin"]),
                    json!(["constructor", "prototype", "isAdmin"]),
                    json!(["todos", "__proto__"]),
                    json!(["__proto__"]),
                ];
                let path = paths[self.rng.index(paths.len())].clone();
                json!({"op": "add", "path": path, "value": {"isAdmin": true}})
            }
            // Rare: it resets the board, and every change made before it conflicts with it.
            30 => {
                let mut state = json!({"title": "replaced", "todos": [todo]});
                if self.rng.chance(50) {
                    state["isAdmin"] = json!(true);
                }
                if self.rng.chance(30) {
                    state["__proto__"] = json!({"isAdmin": true});
                }
                json!({"op": "replace", "path": [], "value": state})
            }
            31..34 => {
                let op = self.rng.pick(&["move", "copy", "test"]);
                json!({"op": op, "from": ["todos", 0], "path": ["todos", at], "value": todo})
            }
            34..37 => {
                let path = self.rng.pick(&[
                    json!(["title"]),
                    json!(["todos"]),
                    json!(["todos", at, "id"]),
                ]);
                json!({"op": "remove", "path": path})
            }
            37..40 => {
                // Into a todo others may be removing, and below its leaves.
                let below = self.rng.pick(&[
                    json!(["todos", at, "text", 0]),
                    json!(["todos", at, "junk", "x"]),
                    json!(["todos", at, "done", "x"]),
                ]);
                json!({"op": "add", "path": below, "value": "deep"})
            }
            _ => {
                let id = format!("a{}-{}", self.n, self.rng.below(1_000_000));
                let plain = json!({"id": id, "text": "plain", "done": false});
                json!({"op": "add", "path": ["todos", at], "value": plain})
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run.

/// Waits until the hub's version has not moved for [`QUIET`]; the version.
async fn quiet(hub: &Hub<Board, Role>, at: At) -> u64 {
    let deadline = Instant::now() + SETTLE_WAIT;
    let mut last = hub.version();
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let version = hub.version();
        if version != last {
            (last, since) = (version, Instant::now());
        } else if since.elapsed() >= QUIET {
            return version;
        }
        assert!(
            Instant::now() < deadline,
            "{at}: the hub's version still moves {SETTLE_WAIT:?} after the burst ended"
        );
    }
}

/// One burst: the honest clients, the mirrors and the attackers at once; the honest edits'
/// latencies.
async fn burst(
    at: At,
    rng: &mut Rng,
    honest: &mut Vec<Honest>,
    mirrors: &mut Vec<Mirror>,
    attackers: &mut Vec<Attacker>,
) -> Vec<Duration> {
    let mut followers = Vec::new();
    for mirror in mirrors.drain(..) {
        let (stop, stopped) = oneshot::channel();
        followers.push((stop, tokio::spawn(mirror.follow(stopped))));
    }
    let editing: Vec<_> = honest
        .drain(..)
        .map(|h| tokio::spawn(h.burst(rng.fork(), HONEST_EDITS)))
        .collect();
    let attacking: Vec<_> = attackers
        .drain(..)
        .map(|a| tokio::spawn(a.run(ATTACK_MESSAGES)))
        .collect();
    let mut latencies = Vec::new();
    let mut stalled = Vec::new();
    for task in editing {
        match task.await.expect("an honest client's task panicked") {
            Ok((h, l)) => {
                honest.push(h);
                latencies.extend(l);
            }
            Err(e) => stalled.push(e),
        }
    }
    for task in attacking {
        let attacker = tokio::time::timeout(ATTACK_WAIT, task)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{at}: an attacker was not done in {ATTACK_WAIT:?}: the hub stopped answering"
                )
            });
        attackers.push(attacker.expect("an attacker's task panicked"));
    }
    for (stop, task) in followers {
        let _ = stop.send(());
        mirrors.push(task.await.expect("a mirror's task panicked"));
    }
    assert!(
        stalled.is_empty(),
        "{at}: honest clients were stalled or disconnected by the attackers:\n{}",
        listing(&stalled, 10)
    );
    latencies
}

/// After a burst: every view of the document is the server's, and nothing was committed
/// that must not be.
async fn check(
    at: At,
    hub: &Hub<Board, Role>,
    url: &str,
    honest: &mut [Honest],
    mirrors: &mut [Mirror],
    sessions: &Sessions,
    ids: &mut HashSet<(u64, u64)>,
) -> u64 {
    let mut version = quiet(hub, at).await;
    let state = loop {
        for h in honest.iter_mut() {
            h.settle(version)
                .await
                .unwrap_or_else(|e| panic!("{at}: {e}"));
        }
        for m in mirrors.iter_mut() {
            m.catch_up(version)
                .await
                .unwrap_or_else(|e| panic!("{at}: {e}"));
        }
        let state = hub.state();
        let now = hub.version();
        if now == version {
            break state;
        }
        version = now;
    };
    for h in honest.iter() {
        assert!(
            h.diverged.is_empty(),
            "{at}: a typed client could not apply what the server committed:\n{}",
            listing(&h.diverged, 10)
        );
        assert_eq!(
            **h.client.follower.state(),
            *state,
            "{at}: {}'s typed state is not the server's at version {version}",
            h.name
        );
    }
    let expected = serde_json::to_value(&*state).unwrap();
    for m in mirrors.iter() {
        assert!(
            m.value == expected,
            "{at}: clients diverge from the server: the JSON mirror {} (the welcome's state, then \
             every committed patch applied as sent, as a JavaScript client does) is not the \
             server's state at version {version}: at {}\n{} committed patch(es) a JavaScript \
             client cannot take as sent:\n{}",
            m.name,
            first_difference(&m.value, &expected, "").unwrap_or_default(),
            m.problems.len(),
            listing(&m.problems, 10)
        );
        assert!(
            m.problems.is_empty(),
            "{at}: the server committed patches a JavaScript client cannot take as sent ({}):\n{}",
            m.name,
            listing(&m.problems, 10)
        );
    }
    let mut fresh = raw(url).await;
    fresh
        .send(auth(&format!("viewer-fresh{}", at.burst)))
        .await
        .unwrap();
    let welcome = read_json(&mut fresh, common::WAIT)
        .await
        .unwrap_or_else(|e| panic!("{at}: no welcome: {e}"));
    assert_eq!(
        welcome["version"], version,
        "{at}: a fresh welcome's version"
    );
    assert!(
        welcome["state"] == expected,
        "{at}: a fresh welcome's state is not the server's: at {}",
        first_difference(&welcome["state"], &expected, "").unwrap_or_default()
    );
    let _ = fresh.close(None).await;
    let problems = check_commits(&mirrors[0].commits, sessions, ids);
    assert!(
        problems.is_empty(),
        "{at}: the hub committed what it must not:\n{}",
        listing(&problems, 10)
    );
    for m in mirrors.iter_mut() {
        m.commits.clear();
    }
    version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attackers_neither_diverge_nor_stall_the_honest_clients() {
    let seed = env_u64("HUB_FUZZ_SEED", DEFAULT_SEED);
    let bursts = env_u64("HUB_FUZZ_BURSTS", DEFAULT_BURSTS);
    eprintln!("hub fuzz: HUB_FUZZ_SEED={seed} HUB_FUZZ_BURSTS={bursts}");
    let mut limits = Limits::default();
    limits.auth_timeout = Duration::from_secs(2);
    let hub = builder(board(20), limits).build();
    let (url, server) = serve(&hub).await;
    let sessions = Sessions::default();
    let mut rng = Rng(seed);
    let mut honest = vec![
        Honest::connect(&url, "editor-ann", Role::Editor, &sessions).await,
        Honest::connect(&url, "editor-bob", Role::Editor, &sessions).await,
        Honest::connect(&url, "checker-carol", Role::Checker, &sessions).await,
    ];
    // One mirror for the whole run (its commits are the ones checked), one per burst.
    let mut mirrors = vec![Mirror::connect(&url, "viewer-mirror").await];
    let mut attackers: Vec<Attacker> = (0..ATTACKERS)
        .map(|n| Attacker::new(n, &url, rng.fork(), &sessions))
        .collect();
    let mut latencies = Vec::new();
    let mut ids = HashSet::new();
    let started = Instant::now();
    for n in 0..bursts {
        let at = At { seed, burst: n };
        mirrors.push(Mirror::connect(&url, &format!("viewer-mirror{n}")).await);
        latencies.extend(burst(at, &mut rng, &mut honest, &mut mirrors, &mut attackers).await);
        let version = check(
            at,
            &hub,
            &url,
            &mut honest,
            &mut mirrors,
            &sessions,
            &mut ids,
        )
        .await;
        eprintln!(
            "burst {n}: version {version}, {} honest edits so far, {:?}",
            latencies.len(),
            started.elapsed()
        );
        let mut done = mirrors.pop().unwrap();
        let _ = done.socket.close(None).await;
    }
    report(seed, &attackers);
    latencies.sort();
    let rank = |q: usize| latencies[(latencies.len() * q).div_ceil(100).max(1) - 1];
    let (p50, p99, max) = (rank(50), rank(99), latencies[latencies.len() - 1]);
    eprintln!(
        "honest edits: {} answered, p50 {p50:?}, p99 {p99:?}, max {max:?}",
        latencies.len()
    );
    assert!(
        p99 < P99_TARGET,
        "HUB_FUZZ_SEED={seed}: the honest edits' p99 latency is {p99:?} (p50 {p50:?}, max {max:?}) \
         while the attackers run, over the target of {P99_TARGET:?}"
    );
    for mut h in honest {
        let _ = h.client.socket.close(None).await;
    }
    for mut m in mirrors {
        let _ = m.socket.close(None).await;
    }
    server.abort();
}

/// What the attackers did, and anything the server did that it must not.
fn report(seed: u64, attackers: &[Attacker]) {
    let mut total = Tally::default();
    let mut problems = Vec::new();
    for a in attackers {
        total.sent += a.tally.sent;
        total.rejected += a.tally.rejected;
        total.committed += a.tally.committed;
        total.connections += a.tally.connections;
        for (reason, count) in &a.tally.closes {
            *total.closes.entry(reason.clone()).or_default() += count;
        }
        problems.extend(a.problems.iter().cloned());
    }
    eprintln!(
        "attackers: {} messages on {} connections, {} rejected, {} committed, closed: {:?}",
        total.sent, total.connections, total.rejected, total.committed, total.closes
    );
    assert!(
        problems.is_empty(),
        "HUB_FUZZ_SEED={seed}: sessions crossed users:\n{}",
        listing(&problems, 10)
    );
}
