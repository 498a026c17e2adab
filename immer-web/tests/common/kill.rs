//! Kill -9 during load, for any storage: 50 clients write to 20 documents through a server of
//! many documents in a process of its own, which is killed with SIGKILL at a different moment
//! each round and started again on the same data; then what the clients were told is checked
//! against what the storage holds.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use immer::sync::{Committed, FollowerEvent};
use immer_web::{Limits, Server, Storage};
use tokio::sync::watch;

use super::many::{Ended, Many};
use super::{Board, Role, Todo, board, builder};

pub(crate) const CLIENTS: usize = 50;
pub(crate) const DOCUMENTS: usize = 20;
pub(crate) const ROUNDS: u64 = 20;

pub(crate) fn doc_name(n: usize) -> String {
    format!("board-{n:02}")
}

/// The server's process: serves the documents of `storage` (made if missing) on a port of
/// its own, and says which on stdout (`listening PORT`).
pub(crate) async fn serve<S: Storage<Board>>(storage: S) {
    let mut limits = Limits::default();
    // Fifty clients as fast as they can: the rate limit is not under test here.
    limits.messages_per_second = 100_000;
    limits.burst = 100_000;
    let server: Server<Board, Role, S> = builder(board(3), limits).build_server(storage);
    let existing = server.list().await.unwrap();
    for n in 0..DOCUMENTS {
        if !existing.contains(&doc_name(n)) {
            server.create(&doc_name(n)).await.unwrap();
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening {}", listener.local_addr().unwrap().port());
    let router = server.router();
    axum::serve(server.listen(listener), router).await.unwrap();
}

/// Starts this test binary again as the server's process: the test `test` with `env` set
/// (which makes it [`serve`]); it and its address.
pub(crate) fn start(test: &str, env: &[(&str, String)]) -> (Child, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .stdout(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut process = command.spawn().unwrap();
    let stdout = process.stdout.take().unwrap();
    let (found, port) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, port)) = line.split_once("listening ") {
                let _ = found.send(port.trim().to_owned());
            }
        }
    });
    let port = port
        .recv_timeout(Duration::from_secs(60))
        .expect("the server says where it listens");
    (process, format!("ws://127.0.0.1:{port}/ws"))
}

/// What the clients were told, all together.
pub(crate) struct Told {
    /// Each accepted todo and its version, by document.
    by_document: HashMap<String, Vec<(String, u64)>>,
    /// The todos whose outcome no client learned (document, todo).
    unknown: HashSet<(String, String)>,
    pub(crate) accepted: usize,
    pub(crate) resumed: usize,
    pub(crate) resumed_after_restart: usize,
    pub(crate) kills: Vec<Duration>,
}

/// Runs the load: the server's process started with `env` (see [`start`]), [`CLIENTS`]
/// clients, [`ROUNDS`] kills; the process is killed at the end too.
pub(crate) fn load(test: &str, env: &[(&str, String)]) -> Told {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (mut process, address) = start(test, env);
    let (url, watching) = watch::channel(address);
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| runtime.spawn(run_client(i, watching.clone(), Arc::clone(&stop))))
        .collect();
    let mut kills = Vec::new();
    for round in 0..ROUNDS {
        // Killed at a different moment each round, mid-load.
        let moment = Duration::from_millis(300 + (round * 397) % 1_200);
        std::thread::sleep(moment);
        process.kill().unwrap(); // SIGKILL
        process.wait().unwrap();
        kills.push(moment);
        let (next, address) = start(test, env);
        process = next;
        url.send(address).unwrap();
    }
    // A last stretch of load on the last life, then the clients stop.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Release);
    let learned: Vec<Learned> = runtime.block_on(async {
        let mut learned = Vec::new();
        for client in clients {
            let finished = tokio::time::timeout(super::WAIT, client).await;
            learned.push(finished.expect("a client stops in time").unwrap());
        }
        learned
    });
    process.kill().unwrap();
    process.wait().unwrap();

    let dropped: Vec<&String> = learned.iter().flat_map(|l| &l.dropped).collect();
    assert!(dropped.is_empty(), "edits dropped: {dropped:?}");
    let mut told = Told {
        by_document: HashMap::new(),
        unknown: HashSet::new(),
        accepted: learned.iter().map(|l| l.accepted.len()).sum(),
        resumed: learned.iter().map(|l| l.resumed).sum(),
        resumed_after_restart: learned.iter().map(|l| l.resumed_after_restart).sum(),
        kills,
    };
    assert!(
        told.accepted > 1_000,
        "too little load to mean anything: {}",
        told.accepted
    );
    assert!(told.resumed > 0, "no session was resumed");
    for learned in learned {
        told.unknown.extend(learned.unknown);
        for (doc, todo, version) in learned.accepted {
            told.by_document
                .entry(doc)
                .or_default()
                .push((todo, version));
        }
    }
    told
}

impl Told {
    /// Checks document `name` as the storage holds it (its version, state and the log it
    /// still holds) against what its clients were told: one todo per change, none twice,
    /// every accepted todo there (at the version its author was told, where the log still
    /// holds it), anything else one whose outcome was not known, versions contiguous.
    pub(crate) fn check(&self, name: &str, version: u64, state: &Board, log: &[Committed]) {
        let told = self.by_document.get(name);
        let unknown = &self.unknown;
        // One todo per change: none lost, none twice.
        assert_eq!(state.todos.len() as u64, 3 + version, "{name}");
        let mut seen = HashSet::new();
        for todo in state.todos.iter().skip(3) {
            assert!(seen.insert(todo.id.as_str()), "{name}: {} twice", todo.id);
        }
        // Every accepted change is there; anything else is one whose outcome was not known.
        let told = told.map_or(&[][..], Vec::as_slice);
        let accepted: HashSet<&str> = told.iter().map(|(t, _)| t.as_str()).collect();
        for todo in &seen {
            assert!(
                accepted.contains(todo) || unknown.contains(&(name.to_owned(), (*todo).to_owned())),
                "{name}: {todo} was never sent"
            );
        }
        // Contiguous versions, each accepted change at the version its author was told.
        for pair in log.windows(2) {
            assert_eq!(pair[0].version + 1, pair[1].version, "{name}");
        }
        assert_eq!(log.last().map_or(version, |c| c.version), version, "{name}");
        let at: HashMap<u64, String> = log
            .iter()
            .map(|c| (c.version, serde_json::to_string(&c.patches).unwrap()))
            .collect();
        for (todo, told_version) in told {
            let todo = &todo.as_str();
            assert!(seen.contains(todo), "{name}: accepted {todo} is missing");
            assert!(
                *told_version <= version,
                "{name}: {todo} told version {told_version}"
            );
            if let Some(patches) = at.get(told_version) {
                assert!(
                    patches.contains(&format!("\"{todo}\"")),
                    "{name}: version {told_version} is not {todo}: {patches}"
                );
            }
        }
    }
}

/// What one client learned: each todo it was told was accepted (document, version), and
/// each whose outcome it never learned (the server died, or its session with it).
#[derive(Default)]
pub(crate) struct Learned {
    accepted: Vec<(String, String, u64)>,
    unknown: Vec<(String, String)>,
    dropped: Vec<String>,
    resumed: usize,
    /// Sessions resumed on a new life of the server (kept by the store across the kill).
    resumed_after_restart: usize,
}

/// One client: two documents on one socket; pushes todos one at a time, now and then drops
/// its socket with an edit in flight and resumes; reconnects whenever the server is gone.
async fn run_client(
    index: usize,
    mut url: watch::Receiver<String>,
    stop: Arc<AtomicBool>,
) -> Learned {
    let docs = [
        doc_name(index % DOCUMENTS),
        doc_name((index + 7) % DOCUMENTS),
    ];
    let mut learned = Learned::default();
    let mut rng = index as u64 * 0x9e37_79b9 + 1;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut carried: Option<Many> = None;
    // The edit in flight when the socket ended: its document, todo and id.
    let mut waiting: Option<(String, String, u64)> = None;
    let mut n = 0_u64;
    // The address of the server's life this client last subscribed on.
    let mut life = String::new();
    while !stop.load(Ordering::Acquire) {
        // Connect (again), carrying the followers over to resume their sessions.
        let address = url.borrow_and_update().clone();
        let Ok(mut client) = Many::try_connect(&address, &format!("editor-c{index}")).await else {
            let _ = tokio::time::timeout(Duration::from_millis(50), url.changed()).await;
            continue;
        };
        let mut resumed = HashSet::new();
        let mut subscribed = true;
        let mut sessions = HashMap::new();
        if let Some(earlier) = carried.take() {
            client.followers = earlier.followers;
            client.events = earlier.events;
            sessions = earlier.sessions;
        }
        for doc in &docs {
            let resume = sessions.get(doc).copied();
            match client.try_subscribe(doc, resume).await {
                Ok(Ok(true)) => {
                    resumed.insert(doc.clone());
                }
                Ok(Ok(false)) => {}
                _ => subscribed = false,
            }
        }
        learned.resumed += resumed.len();
        if !subscribed {
            carried = Some(client);
            continue;
        }
        if !life.is_empty() && life != address {
            learned.resumed_after_restart += resumed.len();
        }
        life = address;
        let ended: Result<(), Ended> = async {
            // A session resumed answers its change in flight, once; a new session (the
            // server restarted) cannot say how it ended.
            if let Some((doc, todo, id)) = waiting.take() {
                if resumed.contains(&doc) {
                    waiting = Some((doc.clone(), todo.clone(), id));
                    while client.outcome(&doc, id).is_none() {
                        client.try_step().await?;
                    }
                    waiting = None;
                    learned.record(&doc, todo, client.outcome(&doc, id));
                } else {
                    learned.unknown.push((doc, todo));
                }
            }
            // Edit until the socket ends (or this client drops it).
            while !stop.load(Ordering::Acquire) {
                let doc = &docs[usize::from(n % 2 == 1)];
                let todo = format!("c{index}-{n}");
                n += 1;
                let text = todo.clone();
                // Made first, then sent: an edit made is waiting, whether its send reaches
                // the server now or on the resumed session.
                let id = client.make_edit(doc, |d| {
                    d.todos().push(Todo {
                        id: text.clone(),
                        text,
                        done: false,
                    });
                });
                waiting = Some((doc.clone(), todo.clone(), id));
                client.send_edits(doc).await?;
                // Now and then, dropped with the edit in flight: resumed on a new socket.
                if next() % 16 == 0 {
                    return Err(Ended);
                }
                while client.outcome(doc, id).is_none() {
                    client.try_step().await?;
                }
                waiting = None;
                learned.record(doc, todo, client.outcome(doc, id));
            }
            Ok(())
        }
        .await;
        if ended.is_ok() {
            break;
        }
        carried = Some(client);
    }
    if let Some((doc, todo, _)) = waiting {
        learned.unknown.push((doc, todo));
    }
    learned
}

impl Learned {
    fn record(&mut self, doc: &str, todo: String, outcome: Option<&FollowerEvent>) {
        match outcome {
            Some(FollowerEvent::Accepted { version, .. }) => {
                self.accepted.push((doc.to_owned(), todo, *version));
            }
            other => self.dropped.push(format!("{todo}: {other:?}")),
        }
    }
}
