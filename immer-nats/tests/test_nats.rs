//! Documents replicated through real `nats-server` processes that each test starts (a
//! missing `nats-server` fails the test: the README's test command installs it). Faults are
//! real: servers are killed with SIGKILL and restarted, connections are cut by a proxy,
//! nodes run as separate processes and crash.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    Board, Item, NatsServer, NodeOptions, NodeProcess, Outcomes, Proxy, Rng, WAIT, check_log,
    random_edit, read_log, store,
};
use immer::sync::{DropReason, FollowerEvent, RejectReason};
use immer_nats::{Config, Document, Store};

/// A fresh node that replays the whole log; then every node process, told the version it
/// reached, holds that very state.
async fn converge(admin: &Store, nodes: &mut [NodeProcess]) -> Document<Board> {
    let fresh = admin
        .document::<Board>("board")
        .client(9)
        .join()
        .await
        .unwrap();
    let version = fresh.version();
    for node in nodes.iter_mut() {
        node.say(&format!("final {version}")).await;
    }
    for node in nodes.iter_mut() {
        let state: Board = serde_json::from_str(&node.expect("STATE").await).unwrap();
        assert_eq!(state, *fresh.state(), "a node process did not converge");
    }
    fresh
}

fn initial(items: u64) -> Board {
    Board {
        title: "board".into(),
        items: (0..items)
            .map(|id| Item {
                id: 1_000_000 + id,
                title: format!("seed {id}"),
                done: false,
            })
            .collect(),
    }
}

/// Edits `count` times in process, a little apart, collecting outcomes.
async fn edit_for_a_while(board: Arc<Document<Board>>, seed: u64, count: u64) -> Outcomes {
    let mut rng = Rng(seed | 1);
    let mut outcomes = Outcomes {
        session: board.session(),
        ..Outcomes::default()
    };
    for n in 1..=count {
        outcomes
            .made
            .extend(random_edit(&board, &mut rng, seed * 1_000_000 + n));
        outcomes.collect(board.take_events());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    board.settle(WAIT).await.unwrap();
    outcomes.collect(board.take_events());
    outcomes
}

/// Two in-process nodes, each on its own connection, editing `edits` times in tasks of their
/// own (seeds `seed + 1` and `seed + 2`).
async fn start_writers(
    urls: &str,
    config: &Config,
    seed: u64,
    edits: u64,
) -> (
    Vec<Arc<Document<Board>>>,
    Vec<tokio::task::JoinHandle<Outcomes>>,
) {
    let mut boards = Vec::new();
    let mut tasks = Vec::new();
    for client in 1..=2 {
        let store = store(urls, config.clone()).await;
        let board = Arc::new(
            store
                .document::<Board>("board")
                .client(client)
                .join()
                .await
                .unwrap(),
        );
        boards.push(Arc::clone(&board));
        tasks.push(tokio::spawn(edit_for_a_while(board, client + seed, edits)));
    }
    (boards, tasks)
}

/// Waits for the writers' outcomes; a fresh node joined through `url` replays the log, every
/// writer shows its state, and the log's laws hold. Returns the fresh node and how many stale
/// messages the log holds.
async fn converge_and_check(
    url: &str,
    config: &Config,
    base: &Board,
    boards: &[Arc<Document<Board>>],
    tasks: Vec<tokio::task::JoinHandle<Outcomes>>,
) -> (Document<Board>, usize) {
    let mut reports = Vec::new();
    for task in tasks {
        reports.push(task.await.unwrap());
    }
    let fresh = store(url, config.clone())
        .await
        .document::<Board>("board")
        .client(9)
        .join()
        .await
        .unwrap();
    for board in boards {
        board.wait_for_version(fresh.version(), WAIT).await.unwrap();
        assert_eq!(board.state(), fresh.state());
    }
    let log = read_log(url, &config.stream, "board").await;
    let stale = check_log(base, &log, &fresh.state(), &reports);
    (fresh, stale)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_processes_make_a_thousand_edits_each_and_converge() {
    let server = NatsServer::start();
    let config = Config::default();
    let admin = store(&server.url(), config.clone()).await;
    let base = initial(20);
    admin.create("board", &base).await.unwrap();
    let mut nodes: Vec<NodeProcess> = (1..=3)
        .map(|client| {
            NodeProcess::spawn(
                &common::board_example(),
                &server.url(),
                &config,
                client,
                1000,
                7 * client,
            )
        })
        .collect();
    let mut reports = Vec::new();
    for node in &mut nodes {
        let report: Outcomes = serde_json::from_str(&node.expect("RESULT").await).unwrap();
        assert_eq!(report.made.len(), 1000);
        assert!(report.outcomes.values().filter(|o| o.is_ok()).count() > 500);
        reports.push(report);
    }
    let fresh = converge(&admin, &mut nodes).await;
    let version = fresh.version();
    let log = read_log(&server.url(), &config.stream, "board").await;
    assert_eq!(log.len() as u64, version);
    assert_eq!(
        check_log(&base, &log, &fresh.state(), &reports),
        0,
        "no stale append on one server"
    );
    let accepted: usize = reports
        .iter()
        .map(|r| r.outcomes.values().filter(|o| o.is_ok()).count())
        .sum();
    println!(
        "3 processes x 1000 edits: {accepted} accepted in {version} appends, {} dropped",
        3000 - accepted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_resume_after_the_server_is_killed_and_restarted() {
    let mut server = NatsServer::start();
    let config = Config::default();
    let base = initial(10);
    let admin = store(&server.url(), config.clone()).await;
    admin.create("board", &base).await.unwrap();
    let (boards, tasks) = Box::pin(start_writers(&server.url(), &config, 0, 400)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = boards[0].version();
    server.kill();
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.restart();
    let (fresh, _) = Box::pin(converge_and_check(
        &server.url(),
        &config,
        &base,
        &boards,
        tasks,
    ))
    .await;
    assert!(
        before > 0 && fresh.version() > before,
        "edits before and after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_server_cluster_loses_a_server_and_writes_go_on() {
    let mut servers = NatsServer::cluster(3);
    let urls = servers
        .iter()
        .map(NatsServer::url)
        .collect::<Vec<_>>()
        .join(",");
    let mut config = Config::default();
    config.replicas = 3;
    let base = initial(10);
    let admin = store(&urls, config.clone()).await;
    admin.create("board", &base).await.unwrap();
    let (boards, tasks) = Box::pin(start_writers(&urls, &config, 10, 300)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = boards[0].version();
    servers[0].kill();
    let (fresh, stale) = Box::pin(converge_and_check(
        &servers[1].url(),
        &config,
        &base,
        &boards,
        tasks,
    ))
    .await;
    assert!(fresh.version() > before, "writes went on after the kill");
    assert_eq!(
        stale as u64,
        fresh.stale_skipped(),
        "the fresh node skipped the same"
    );
    println!(
        "cluster: {} changes, {stale} stale appends skipped",
        fresh.version()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_node_restarts_from_a_snapshot_and_an_offline_one_catches_up_across_compaction() {
    let server = NatsServer::start();
    let mut config = Config::default();
    config.snapshot_every = 50;
    config.compact = true;
    let admin = store(&server.url(), config.clone()).await;
    admin.create("board", &initial(10)).await.unwrap();

    // A node offline behind a proxy, with edits waiting.
    let proxy = Proxy::start(server.port).await;
    let offline_store = store(&proxy.url(), config.clone()).await;
    let offline = offline_store
        .document::<Board>("board")
        .client(3)
        .join()
        .await
        .unwrap();
    let mut offline_outcomes = Outcomes {
        session: offline.session(),
        ..Outcomes::default()
    };
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut rng = Rng(99);
    for n in 1..=5 {
        offline_outcomes
            .made
            .extend(random_edit(&offline, &mut rng, 3_000_000 + n));
    }
    let offline_version = offline.version();

    // A node process edits and crashes; another edits throughout.
    let mut crashing = NodeProcess::spawn(
        &common::board_example(),
        &server.url(),
        &config,
        1,
        100_000,
        5,
    );
    crashing.expect("EDITED 300").await;
    crashing.crash().await;
    let writer = store(&server.url(), config.clone()).await;
    let writer = Arc::new(
        writer
            .document::<Board>("board")
            .client(2)
            .join()
            .await
            .unwrap(),
    );
    let report = edit_for_a_while(Arc::clone(&writer), 2, 200).await;

    // The log was purged up to a snapshot past the offline node's version.
    let log = read_log(&server.url(), &config.stream, "board").await;
    let first = log.first().map_or(writer.version() + 1, |(_, c)| c.version);
    assert!(
        first > offline_version + 1,
        "compacted: the log starts at {first}"
    );

    // The crashed node's next life starts from the snapshot and the tail.
    let mut restarted =
        NodeProcess::spawn(&common::board_example(), &server.url(), &config, 1, 50, 6);
    let joined: u64 = restarted.expect("JOINED").await.parse().unwrap();
    assert!(joined + 1 >= first);
    let restarted_report: Outcomes =
        serde_json::from_str(&restarted.expect("RESULT").await).unwrap();

    // The offline node comes back and catches up from the snapshot.
    proxy.heal();
    offline.settle(WAIT).await.unwrap();
    offline_outcomes.collect(offline.take_events());
    for id in &offline_outcomes.made {
        assert!(
            offline_outcomes.outcomes.contains_key(id),
            "offline edit {id} has an outcome"
        );
    }

    let fresh = converge(&admin, std::slice::from_mut(&mut restarted)).await;
    let version = fresh.version();
    for board in [&offline, &*writer] {
        board.wait_for_version(version, WAIT).await.unwrap();
        assert_eq!(board.state(), fresh.state());
    }
    // Every accepted edit still in the log is where its author was told.
    let log = read_log(&server.url(), &config.stream, "board").await;
    let first = log.first().map_or(version + 1, |(_, c)| c.version);
    for node in [&report, &restarted_report, &offline_outcomes] {
        for (id, outcome) in &node.outcomes {
            if let Ok(v) = outcome {
                if *v >= first {
                    let committed = &log[(*v - first) as usize].1;
                    assert_eq!(
                        (committed.session, committed.version),
                        (node.session, *v),
                        "edit {id}"
                    );
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validation_hook_keeps_an_invalid_change_out_of_the_log() {
    let server = NatsServer::start();
    let config = Config::default();
    let admin = store(&server.url(), config.clone()).await;
    admin.create("board", &initial(3)).await.unwrap();
    let no_forbidden = |_: &Board, next: &Board, _client: u64| match next
        .items
        .iter()
        .find(|i| i.title.contains("forbidden"))
    {
        Some(item) => Err(format!("item {} has a forbidden title", item.id)),
        None => Ok(()),
    };
    let ann = admin
        .document::<Board>("board")
        .client(1)
        .validator(no_forbidden)
        .join()
        .await
        .unwrap();
    let bob = store(&server.url(), config.clone())
        .await
        .document::<Board>("board")
        .client(2)
        .validator(no_forbidden)
        .join()
        .await
        .unwrap();
    let bad = ann
        .edit(|d| {
            d.items().get_mut(0).unwrap().set_title("forbidden".into());
        })
        .unwrap();
    ann.settle(WAIT).await.unwrap();
    // After its outcome (an edit sent in the same change would be refused with it).
    let good = ann.edit(|d| d.set_title("renamed".into())).unwrap();
    ann.settle(WAIT).await.unwrap();
    let events = ann.take_events();
    assert!(events.iter().any(|e| matches!(
        e,
        FollowerEvent::Dropped {
            id: change_id,
            reason: DropReason::Rejected(RejectReason::Invalid { message }),
        } if *change_id == bad && message.contains("forbidden")
    )));
    assert!(
        events.iter().any(
            |e| matches!(e, FollowerEvent::Accepted { id: change_id, .. } if *change_id == good)
        )
    );
    assert_eq!(ann.state().items[0].title, "seed 0", "rolled back");
    bob.wait_for_version(ann.version(), WAIT).await.unwrap();
    assert_eq!(bob.state(), ann.state());
    assert_eq!(bob.state().title, "renamed");
    let log = read_log(&server.url(), &config.stream, "board").await;
    assert!(log.iter().all(|(_, c)| {
        !serde_json::to_string(&c.patches)
            .unwrap()
            .contains("forbidden")
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_created_listed_and_deleted() {
    let server = NatsServer::start();
    let store = store(&server.url(), Config::default()).await;
    store.create("b", &Board::default()).await.unwrap();
    store.create("a", &initial(2)).await.unwrap();
    assert!(matches!(
        store.create("a", &Board::default()).await,
        Err(immer_nats::Error::Exists(_))
    ));
    assert!(matches!(
        store.create("no spaces", &Board::default()).await,
        Err(immer_nats::Error::InvalidName(_))
    ));
    assert_eq!(store.documents().await.unwrap(), ["a", "b"]);
    let a = store.document::<Board>("a").join().await.unwrap();
    assert_eq!(*a.state(), initial(2));
    a.edit(|d| d.set_title("x".into()));
    a.settle(WAIT).await.unwrap();
    store.delete("a").await.unwrap();
    assert_eq!(store.documents().await.unwrap(), ["b"]);
    assert!(matches!(
        store.document::<Board>("a").join().await,
        Err(immer_nats::Error::NotFound(_))
    ));
    assert!(matches!(
        store.delete("a").await,
        Err(immer_nats::Error::NotFound(_))
    ));
}

/// The chaos run, without the chaos: a node whose link stalls (the proxy stops
/// forwarding, nothing is closed) while it has a few hundred edits waiting and the three
/// other nodes make 5,000 changes. Healed, it reads what it missed, moves its edits through
/// it and appends them; every node settles within 5 s of the heal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_node_with_edits_waiting_settles_within_five_seconds_of_the_heal() {
    const CHANGES: u64 = 5000;
    const STALLED_EDITS: u64 = 300;
    const BOUND: Duration = Duration::from_secs(5);
    let server = NatsServer::start();
    let config = Config::default();
    let admin = store(&server.url(), config.clone()).await;
    let base = initial(20);
    admin.create("board", &base).await.unwrap();
    let proxy = Proxy::start(server.port).await;
    let program = common::board_example();
    // Three writers, one change per edit, each letting at most 16 edits wait, until the log
    // holds 5,000 changes.
    let writer = NodeOptions {
        batch: Some(1),
        window: Some(16),
        until_version: Some(CHANGES),
        wait_for_go: true,
        ..NodeOptions::default()
    };
    let mut nodes: Vec<NodeProcess> = (1..=3)
        .map(|client| {
            let url = server.url();
            NodeProcess::spawn_with(
                &program,
                &url,
                &config,
                client,
                100_000,
                11 * client,
                &writer,
            )
        })
        .collect();
    let stalled = NodeOptions {
        wait_for_go: true,
        ..NodeOptions::default()
    };
    nodes.push(NodeProcess::spawn_with(
        &program,
        &proxy.url(),
        &config,
        4,
        STALLED_EDITS,
        44,
        &stalled,
    ));
    for node in &mut nodes {
        node.expect("JOINED").await;
    }

    proxy.stall();
    nodes[3].say("go").await;
    nodes[3].expect(&format!("EDITED {STALLED_EDITS}")).await;
    for node in &mut nodes[..3] {
        node.say("go").await;
    }
    let mut reports = Vec::new();
    for node in &mut nodes[..3] {
        let report: Outcomes = serde_json::from_str(&node.expect("RESULT").await).unwrap();
        reports.push(report);
    }

    let healed = std::time::Instant::now();
    proxy.heal();
    let report: Outcomes = serde_json::from_str(&nodes[3].expect("RESULT").await).unwrap();
    let settled = healed.elapsed();
    assert_eq!(report.made.len() as u64, STALLED_EDITS);
    reports.push(report);
    let fresh = converge(&admin, &mut nodes).await;
    let version = fresh.version();
    let converged = healed.elapsed();
    println!(
        "stalled node, {STALLED_EDITS} edits waiting, {CHANGES} changes behind: settled \
         {settled:.2?} after the heal; all four nodes equal at version {version} after \
         {converged:.2?}"
    );
    let log = read_log(&server.url(), &config.stream, "board").await;
    check_log(&base, &log, &fresh.state(), &reports);
    assert!(
        converged <= BOUND,
        "every node settled {converged:.2?} after the heal (the stalled node {settled:.2?}); \
         the bound is {BOUND:?}"
    );
}
