//! Two servers, each with its own WebSocket clients, share one document in NATS JetStream
//! (a real `nats-server -js` the test starts): every edit reaches every client of both, the
//! policy and the validation hook hold on either server, and a server that joins later
//! replays the same state.

mod common;
#[path = "../../immer-nats/tests/common/mod.rs"]
mod nats;

use std::time::Duration;

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
/// (`test_kill.rs`), against the documents as a fresh node reads them from the log.
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
    println!(
        "{ROUNDS} kills at {:?}: {} changes accepted, {total} committed in all, {} sessions resumed",
        told.kills, told.accepted, told.resumed
    );
}
