//! Two servers, each with its own WebSocket clients, share one document in NATS JetStream
//! (a real `nats-server -js` the test starts): every edit reaches every client of both, the
//! policy and the validation hook hold on either server, and a server that joins later
//! replays the same state. Presence crosses between servers over core NATS, never in the
//! stream, and a server that goes silent has its presences taken away in time.

mod common;
#[path = "../../immer-nats/tests/common/mod.rs"]
mod nats;

use std::time::Duration;

use common::presence::Peer;
use common::{Board, Client, Role, Todo, board, builder, serve};
use immer::sync::{FollowerEvent, RejectReason};
use immer::{Path, apply_patches};
use immer_nats::Config;
use immer_web::{Hub, JetStream, Limits};
use std::sync::Arc;

fn config() -> Config {
    let mut config = Config::default();
    "WEB".clone_into(&mut config.stream);
    config.snapshot_every = 50;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_a_document_through_jetstream() {
    let server = nats::NatsServer::start();
    let (start, hub_a, hub_b) = Box::pin(two_servers(&server.url(), &server.url(), config())).await;
    assert_eq!(
        *hub_b.state(),
        start,
        "the second server joins the existing document"
    );
    let (url_a, task_a) = serve(&hub_a).await;
    let (url_b, task_b) = serve(&hub_b).await;

    let mut ann = Client::connect(&url_a, "editor-ann").await;
    let mut bob = Client::connect(&url_b, "editor-bob").await;
    let mut ids = (Vec::new(), Vec::new());
    for n in 0..100 {
        ids.0.push(
            ann.edit(|d| {
                d.todos().push(Todo {
                    id: format!("a{n}"),
                    text: format!("ann {n}"),
                    done: false,
                });
            })
            .await,
        );
        ids.1.push(
            bob.edit(|d| {
                let first = d.todos().remove(0);
                if let Some(first) = first {
                    d.todos().push(first);
                }
                d.todos().push(Todo {
                    id: format!("b{n}"),
                    text: format!("bob {n}"),
                    done: false,
                });
            })
            .await,
        );
        if n % 10 == 0 {
            ann.settle(|| hub_a.version()).await;
        }
    }
    let version = || hub_a.version().max(hub_b.version());
    ann.settle(version).await;
    bob.settle(version).await;
    ann.settle(version).await;

    // Every edit has exactly one outcome; the state is the same everywhere.
    one_outcome_each(&ann, &ids.0);
    one_outcome_each(&bob, &ids.1);
    let state = hub_a.state();
    assert_eq!(*hub_b.state(), *state);
    assert_eq!(**ann.follower.state(), *state);
    assert_eq!(**bob.follower.state(), *state);
    for n in 0..100 {
        for id in [format!("a{n}"), format!("b{n}")] {
            assert!(state.todos.iter().filter(|t| t.id == id).count() <= 1);
        }
    }
    assert_eq!(state.todos.len(), 3 + 200 - dropped(&ann) - dropped(&bob));

    // The policy and the validation hook hold on either server.
    let mut victor = Client::connect(&url_b, "viewer-victor").await;
    let id = victor.edit(|d| d.title().set("mine".into())).await;
    victor.settle(|| hub_b.version()).await;
    assert_eq!(
        victor.rejection(id),
        RejectReason::Forbidden {
            path: Path::from_pointer("/title").unwrap()
        }
    );
    let id = ann.edit(|d| d.title().set(String::new())).await;
    ann.settle(|| hub_a.version()).await;
    assert!(matches!(ann.rejection(id), RejectReason::Invalid { .. }));
    assert_eq!(ann.follower.state().title, "Board");

    // A server that joins later replays the same state; the log replays to it.
    let store_c = nats::store(&server.url(), config()).await;
    let hub_c = builder(board(0), Limits::default())
        .build_on_jetstream(&store_c, "board")
        .await
        .unwrap();
    assert_eq!(*hub_c.state(), *hub_a.state());
    assert_eq!(hub_c.version(), hub_a.version());
    let log = nats::read_log(&server.url(), "WEB", "board").await;
    let mut replay = Arc::new(start);
    let mut version = 0;
    for (_, committed) in log {
        if committed.version == version + 1 {
            replay = apply_patches(&replay, &committed.patches).unwrap();
            version += 1;
        }
    }
    assert_eq!(*replay, *hub_a.state());
    task_a.abort();
    task_b.abort();
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Two servers on the document `board` of the stream, through NATS at `url_a` and `url_b`: the
/// first creates it with three todos, the second joins it. Returns the first state too.
async fn two_servers(
    url_a: &str,
    url_b: &str,
    config: Config,
) -> (
    Board,
    Hub<Board, Role, JetStream<Board>>,
    Hub<Board, Role, JetStream<Board>>,
) {
    let store_a = nats::store(url_a, config.clone()).await;
    let store_b = nats::store(url_b, config).await;
    let start = board(3);
    let hub_a = builder(start.clone(), Limits::default())
        .build_on_jetstream(&store_a, "board")
        .await
        .unwrap();
    let hub_b = builder(board(0), Limits::default())
        .build_on_jetstream(&store_b, "board")
        .await
        .unwrap();
    (start, hub_a, hub_b)
}

fn one_outcome_each(client: &Client, ids: &[u64]) {
    for id in ids {
        let outcomes = client
            .events
            .iter()
            .filter(|e| match e {
                FollowerEvent::Accepted { id: change_id, .. }
                | FollowerEvent::Dropped { id: change_id, .. } => change_id == id,
                _ => false,
            })
            .count();
        assert_eq!(outcomes, 1, "edit {id}");
    }
}

fn dropped(client: &Client) -> usize {
    client
        .events
        .iter()
        .filter(|e| matches!(e, FollowerEvent::Dropped { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_cut_off_across_a_compaction_catches_up_from_the_snapshot() {
    let server = nats::NatsServer::start();
    let proxy = nats::Proxy::start(server.port).await;
    let mut config = config();
    config.snapshot_every = 20;
    config.compact = true;
    let (_, hub_a, hub_b) = Box::pin(two_servers(&server.url(), &proxy.url(), config)).await;
    let (url_a, task_a) = serve(&hub_a).await;
    let (url_b, task_b) = serve(&hub_b).await;
    let mut ann = Client::connect(&url_a, "editor-ann").await;
    let mut bob = Client::connect(&url_b, "editor-bob").await;

    // Bob's server loses NATS; Bob edits (his change waits in his server's queue) while Ann
    // makes 100 changes, with snapshots and the log purged behind them.
    proxy.cut();
    let offline = bob
        .edit(|d| {
            d.todos()
                .get_mut(0)
                .unwrap()
                .set_text("bob, offline".into());
        })
        .await;
    for n in 0..100 {
        ann.edit(|d| {
            d.todos().push(Todo {
                id: format!("a{n}"),
                text: format!("ann {n}"),
                done: false,
            });
        })
        .await;
        ann.settle(|| hub_a.version()).await;
    }
    let log = nats::read_log(&server.url(), "WEB", "board").await;
    assert!(
        log.first().is_some_and(|(_, c)| c.version > 1),
        "the log was purged past Bob's server's position"
    );

    // Back online: Bob's server catches up from the snapshot; Bob's edit has one outcome.
    proxy.heal();
    let version = || hub_a.version();
    tokio::time::timeout(Duration::from_secs(30), async {
        while hub_b.version() < hub_a.version() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("Bob's server catches up");
    bob.settle(|| hub_b.version().max(version())).await;
    ann.settle(|| hub_b.version().max(version())).await;
    one_outcome_each(&bob, &[offline]);
    let state = hub_a.state();
    assert_eq!(*hub_b.state(), *state);
    assert_eq!(**bob.follower.state(), *state);
    assert_eq!(**ann.follower.state(), *state);
    assert_eq!(state.todos.len(), 103);
    match bob.outcome(offline) {
        Some(FollowerEvent::Accepted { .. }) => assert_eq!(state.todos[0].text, "bob, offline"),
        _ => assert_eq!(state.todos[0].text, "todo 0"),
    }
    task_a.abort();
    task_b.abort();
}

const KILL_TEST: &str = "accepted_changes_survive_kill_9_of_the_server_process_on_jetstream";
const KILL_CHILD: &str = "IMMER_WEB_KILL_NATS";

/// Kill -9 during load on JetStream: the server process of many documents (its node of
/// each) is killed with SIGKILL 20 times under the load of 50 clients on 20 documents, and
/// started again; the NATS server stays. Checked as on the embedded store
/// (`test_kill.rs`), against the documents as a fresh node reads them from the log; and,
/// as there, clients resume their sessions on the server's next life.
#[test]
fn accepted_changes_survive_kill_9_of_the_server_process_on_jetstream() {
    use common::kill::{DOCUMENTS, ROUNDS, doc_name, load, serve};
    if let Ok(url) = std::env::var(KILL_CHILD) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let store = nats::store(&url, config()).await;
            serve(store).await;
        });
        return;
    }
    let server = nats::NatsServer::start();
    let told = load(KILL_TEST, &[(KILL_CHILD, server.url())]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let total: u64 = runtime.block_on(async {
        let store = nats::store(&server.url(), config()).await;
        let mut total = 0;
        for n in 0..DOCUMENTS {
            let name = doc_name(n);
            let document = store.document::<Board>(&name).join().await.unwrap();
            document
                .wait_for_version(document.version(), Duration::from_secs(20))
                .await
                .unwrap();
            let version = document.version();
            told.check(&name, version, &document.state(), &document.log());
            total += version;
        }
        total
    });
    // Every server derives the sessions from the log: clients resume them on the next life.
    assert!(
        told.resumed_after_restart > 0,
        "no session was resumed after a restart"
    );
    println!(
        "{ROUNDS} kills at {:?}: {} changes accepted, {total} committed in all, {} sessions resumed ({} on a new life of the server)",
        told.kills, told.accepted, told.resumed, told.resumed_after_restart
    );
}

const RESUME_TEST: &str = "a_session_survives_kill_9_of_its_server_on_jetstream";
const RESUME_CHILD: &str = "IMMER_WEB_RESUME_NATS";

/// A client's session outlives the process of its server: each server derives the
/// sessions from the log, so a client whose server is killed with SIGKILL (with a change in
/// flight and edits waiting behind it) resumes its session on the server started again, or
/// on another server of the same document. Its change in flight is answered once, the edits
/// after it are committed once, and none is lost with its session; no other user may resume
/// it.
#[test]
fn a_session_survives_kill_9_of_its_server_on_jetstream() {
    use common::kill::{serve, start};
    if let Ok(url) = std::env::var(RESUME_CHILD) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let store = nats::store(&url, config()).await;
            serve(store).await;
        });
        return;
    }
    let server = nats::NatsServer::start();
    let env = [(RESUME_CHILD, server.url())];
    let start = || {
        let (process, address) = start(RESUME_TEST, &env);
        (Process(process), address)
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // On the server's next life.
    let (first, address) = start();
    runtime.block_on(resume_after_kill(
        "board-00",
        "editor-ann",
        first,
        address,
        start,
    ));
    // On another server of the document, running all along.
    let (first, address) = start();
    let other = start();
    runtime.block_on(resume_after_kill(
        "board-01",
        "editor-bob",
        first,
        address,
        || other,
    ));
}

/// A server's process, killed with SIGKILL when dropped (a failed test leaves none behind).
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `user` edits `doc` through the server `first` at `address`: one change committed, one in
/// flight when the server is killed, four made while it is gone; then resumes on the server
/// `next` gives and checks that every edit is committed once.
async fn resume_after_kill(
    doc: &str,
    user: &str,
    first: Process,
    address: String,
    next: impl FnOnce() -> (Process, String),
) {
    use common::many::Many;
    let push = |todo: &str| {
        let todo = todo.to_owned();
        move |d: &mut immer::PatchDraft<'_, '_, Board>| {
            d.todos().push(Todo {
                id: todo.clone(),
                text: todo,
                done: false,
            });
        }
    };
    let mut client = Many::connect(&address, user).await;
    assert_eq!(client.subscribe(doc, None).await, Ok(false));
    let mut ids = vec![client.edit(doc, push("x0")).await];
    client.settle(doc, 0).await;
    let session = client.sessions[doc];
    // In flight when its server is killed (it may land or not), then four more offline.
    ids.push(client.edit(doc, push("x1")).await);
    drop(first);
    for n in 2..6 {
        ids.push(client.make_edit(doc, push(&format!("x{n}"))));
    }
    let (_server, address) = next();
    // Another user may not resume it.
    let mut eve = Many::connect(&address, "editor-eve").await;
    assert_eq!(eve.subscribe(doc, Some(session)).await, Ok(false));
    let mut again = Many::connect(&address, user).await;
    again.followers = std::mem::take(&mut client.followers);
    again.events = std::mem::take(&mut client.events);
    assert_eq!(
        again.subscribe(doc, Some(session)).await,
        Ok(true),
        "the session is resumed"
    );
    assert_eq!(again.sessions[doc], session);
    again.settle(doc, 0).await;
    for id in &ids {
        assert!(
            matches!(
                again.outcome(doc, *id),
                Some(FollowerEvent::Accepted { .. })
            ),
            "edit {id}: {:?}",
            again.events[doc]
        );
        let outcomes = again.events[doc]
            .iter()
            .filter(|e| matches!(e, FollowerEvent::Accepted { id: i, .. } | FollowerEvent::Dropped { id: i, .. } if i == id))
            .count();
        assert_eq!(outcomes, 1, "edit {id}");
    }
    let state = again.state(doc);
    for n in 0..6 {
        let todo = format!("x{n}");
        let count = state.todos.iter().filter(|t| t.id == todo).count();
        assert_eq!(count, 1, "{todo} in {:?}", state.todos);
    }
}

/// The last sequence of stream `stream`: what was ever appended to it.
async fn last_sequence(url: &str, stream: &str) -> u64 {
    let client = async_nats::connect(url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(stream).await.unwrap();
    stream.info().await.unwrap().state.last_sequence
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_crosses_servers_outside_the_log_and_goes_with_a_silent_server() {
    let nats_server = nats::NatsServer::start();
    let nats_url = nats_server.url();
    let mut limits = Limits::default();
    limits.presence_interval = Duration::from_millis(20);
    limits.presence_timeout = Duration::from_secs(2);

    // Server B: a hub of the document.
    let store_b = nats::store(&nats_url, config()).await;
    let hub_b = builder(board(1), limits.clone())
        .build_on_jetstream(&store_b, "board")
        .await
        .unwrap();
    let (url_b, task_b) = serve(&hub_b).await;
    // Server A: a server of many documents on the same stream, on a runtime of its own, so
    // that it can stop at once, as a crashed process does: no word to the others.
    let runtime_a = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (url, limits_a) = (nats_url.clone(), limits.clone());
    let url_a = runtime_a
        .spawn(async move {
            let store_a = nats::store(&url, config()).await;
            let server_a = builder(board(1), limits_a).build_server(store_a);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (router, gate) = (server_a.router(), server_a.listen(listener));
            tokio::spawn(async move { axum::serve(gate, router).await.unwrap() });
            format!("ws://{addr}/ws/board")
        })
        .await
        .unwrap();
    let appended = last_sequence(&nats_url, "WEB").await;

    let mut ann = Peer::one(&url_a, "editor-ann").await;
    let mut bob = Peer::one(&url_b, "editor-bob").await;
    let mut cat = Peer::one(&url_b, "viewer-cat").await;
    ann.show(serde_json::json!({"cursor": "a"})).await;
    bob.show(serde_json::json!({"cursor": "b"})).await;
    // Across servers, as the user each server authenticated; never one's own.
    ann.sees(&[("editor-bob", serde_json::json!({"cursor": "b"}))])
        .await;
    bob.sees(&[("editor-ann", serde_json::json!({"cursor": "a"}))])
        .await;
    cat.sees(&[
        ("editor-ann", serde_json::json!({"cursor": "a"})),
        ("editor-bob", serde_json::json!({"cursor": "b"})),
    ])
    .await;
    assert_eq!(hub_b.presences().len(), 2);

    // A server that opens the document later asks: shown the others' at once, well before
    // their next heartbeat.
    let store_c = nats::store(&nats_url, config()).await;
    let hub_c = builder(board(1), limits.clone())
        .build_on_jetstream(&store_c, "board")
        .await
        .unwrap();
    let (url_c, task_c) = serve(&hub_c).await;
    let mut dan = Peer::one(&url_c, "editor-dan").await;
    dan.sees(&[
        ("editor-ann", serde_json::json!({"cursor": "a"})),
        ("editor-bob", serde_json::json!({"cursor": "b"})),
    ])
    .await;

    // Closed on one server, gone on the others.
    ann.socket.close(None).await.unwrap();
    bob.sees(&[]).await;
    dan.sees(&[("editor-bob", serde_json::json!({"cursor": "b"}))])
        .await;

    // Server A stops without a word: its presences go after the timeout, not before.
    let mut eve = Peer::one(&url_a, "editor-eve").await;
    eve.show(serde_json::json!({"cursor": "e"})).await;
    bob.sees(&[("editor-eve", serde_json::json!({"cursor": "e"}))])
        .await;
    let stopped = tokio::time::Instant::now();
    runtime_a.shutdown_background();
    bob.sees(&[]).await;
    let gone = stopped.elapsed();
    assert!(
        gone >= Duration::from_secs(1) && gone < Duration::from_secs(10),
        "a silent server's presence went after {gone:?} (the timeout is 2 s)"
    );
    dan.sees(&[("editor-bob", serde_json::json!({"cursor": "b"}))])
        .await;

    // A presence kept alive across servers stays past the timeout (and the same state again
    // is sent to no one).
    bob.show(serde_json::json!({"cursor": "b2"})).await;
    dan.sees(&[("editor-bob", serde_json::json!({"cursor": "b2"}))])
        .await;
    let keep = tokio::spawn(async move {
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            bob.show(serde_json::json!({"cursor": "b2"})).await;
        }
        bob
    });
    let heard = dan.during(Duration::from_secs(3)).await;
    assert!(
        heard.iter().all(|m| m["type"] != "presence"),
        "nothing changed: {heard:?}"
    );
    assert_eq!(dan.others.len(), 1);
    drop(keep.await.unwrap());

    // Nothing of it in the stream.
    assert_eq!(last_sequence(&nats_url, "WEB").await, appended);
    assert_eq!(hub_b.version(), 0);
    task_b.abort();
    task_c.abort();
}
