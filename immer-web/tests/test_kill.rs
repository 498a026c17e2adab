//! Kill -9 during load: 50 clients write to 20 documents through a server of many documents
//! on the embedded store, in a process of its own; the process is killed with SIGKILL at a
//! different moment each round and started again on the same data. Every change a client
//! was told was accepted is in its document at the version it was told, versions are
//! contiguous, no change is there twice, and clients reconnect and resume.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::many::{Ended, Many};
use common::{Board, Todo, board, builder};
use immer::sync::{Backend, FollowerEvent};
use immer_store::Store;
use immer_web::Limits;
use tokio::sync::watch;

const TEST: &str = "accepted_changes_survive_kill_9_during_load";
const CHILD: &str = "IMMER_WEB_KILL_CHILD";
const CLIENTS: usize = 50;
const DOCUMENTS: usize = 20;
const ROUNDS: u64 = 20;

fn doc_name(n: usize) -> String {
    format!("board-{n:02}")
}

/// The server's process: serves the store at `path` on a port of its own, and says which.
fn child(path: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::open(path).unwrap();
        let mut limits = Limits::default();
        // Fifty clients as fast as they can: the rate limit is not under test here.
        limits.messages_per_second = 100_000;
        limits.burst = 100_000;
        let server = builder(board(3), limits).build_server(store);
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
    });
}

/// Starts the server's process on `path`: it and its address.
fn start(path: &std::path::Path) -> (Child, String) {
    let mut process = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = process.stdout.take().unwrap();
    let (found, port) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line
                .rsplit("listening ")
                .next()
                .filter(|_| line.contains("listening "))
            {
                let _ = found.send(port.trim().to_owned());
            }
        }
    });
    let port = port
        .recv_timeout(Duration::from_secs(60))
        .expect("the server says where it listens");
    (process, format!("ws://127.0.0.1:{port}/ws"))
}

/// What one client learned: each todo it was told was accepted (document, version), and
/// each whose outcome it never learned (the server died, or its session with it).
#[derive(Default)]
struct Learned {
    accepted: Vec<(String, String, u64)>,
    unknown: Vec<(String, String)>,
    dropped: Vec<String>,
    resumed: usize,
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
                let id = client
                    .try_edit(doc, |d| {
                        d.todos().push(Todo {
                            id: text.clone(),
                            text,
                            done: false,
                        });
                    })
                    .await?;
                waiting = Some((doc.clone(), todo.clone(), id));
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

#[test]
fn accepted_changes_survive_kill_9_during_load() {
    if let Ok(path) = std::env::var(CHILD) {
        child(&path);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boards.redb");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (mut process, address) = start(&path);
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
        let (next, address) = start(&path);
        process = next;
        url.send(address).unwrap();
    }
    // A last stretch of load on the last life, then the clients stop.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Release);
    let learned: Vec<Learned> = runtime.block_on(async {
        let mut learned = Vec::new();
        for client in clients {
            let finished = tokio::time::timeout(common::WAIT, client).await;
            learned.push(finished.expect("a client stops in time").unwrap());
        }
        learned
    });
    process.kill().unwrap();
    process.wait().unwrap();

    // Read back from the file alone.
    let store = Store::open(&path).unwrap();
    let accepted: usize = learned.iter().map(|l| l.accepted.len()).sum();
    let resumed: usize = learned.iter().map(|l| l.resumed).sum();
    let dropped: Vec<&String> = learned.iter().flat_map(|l| &l.dropped).collect();
    assert!(dropped.is_empty(), "edits dropped: {dropped:?}");
    assert!(
        accepted > 1_000,
        "too little load to mean anything: {accepted}"
    );
    assert!(resumed > 0, "no session was resumed");
    let unknown: HashSet<(&str, &str)> = learned
        .iter()
        .flat_map(|l| &l.unknown)
        .map(|(d, t)| (d.as_str(), t.as_str()))
        .collect();
    let mut told: HashMap<String, Vec<(&str, u64)>> = HashMap::new();
    for (doc, todo, version) in learned.iter().flat_map(|l| &l.accepted) {
        told.entry(doc.clone()).or_default().push((todo, *version));
    }
    let total: u64 = (0..DOCUMENTS)
        .map(|n| check(&store, &doc_name(n), told.get(&doc_name(n)), &unknown))
        .sum();
    println!(
        "{ROUNDS} kills at {kills:?}: {accepted} changes accepted, {total} committed in all, {resumed} sessions resumed"
    );
}

/// Checks document `name` as the file holds it against what its clients were `told` (each
/// todo accepted, at a version) and the todos whose outcome was `unknown`; its version.
fn check(
    store: &Store,
    name: &str,
    told: Option<&Vec<(&str, u64)>>,
    unknown: &HashSet<(&str, &str)>,
) -> u64 {
    let document = store.document::<Board>(name).open().unwrap();
    let (version, state) = (Backend::version(&document), Backend::state(&document));
    // One todo per change: none lost, none twice.
    assert_eq!(state.todos.len() as u64, 3 + version, "{name}");
    let mut seen = HashSet::new();
    for todo in state.todos.iter().skip(3) {
        assert!(seen.insert(todo.id.as_str()), "{name}: {} twice", todo.id);
    }
    // Every accepted change is there; anything else is one whose outcome was not known.
    let told = told.map_or(&[][..], Vec::as_slice);
    let accepted: HashSet<&str> = told.iter().map(|(t, _)| *t).collect();
    for todo in &seen {
        assert!(
            accepted.contains(todo) || unknown.contains(&(name, *todo)),
            "{name}: {todo} was never sent"
        );
    }
    // Contiguous versions, each accepted change at the version its author was told.
    let log = Backend::log(&document);
    for pair in log.windows(2) {
        assert_eq!(pair[0].version + 1, pair[1].version, "{name}");
    }
    assert_eq!(log.last().map_or(version, |c| c.version), version, "{name}");
    let at: HashMap<u64, String> = log
        .iter()
        .map(|c| (c.version, serde_json::to_string(&c.patches).unwrap()))
        .collect();
    for (todo, told_version) in told {
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
    version
}
