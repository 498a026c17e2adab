//! Documents kept in a file across restarts of their node's process
//! (`DocumentBuilder::persist`), against a real `nats-server` (a missing one fails the test:
//! the README's test command installs it): a node process is killed with SIGKILL while its
//! edits wait for the log and its change in flight is still on the wire, and comes back from
//! its file; every edit ends once and is in the log once.

mod common;

use std::time::{Duration, Instant};

use common::{
    Board, Item, NatsServer, NodeOptions, NodeProcess, Outcomes, Proxy, Rng, WAIT, check_log,
    random_edit, read_log, store,
};
use immer::sync::{FileStore, FollowerStore, MemoryStore, PersistError};
use immer_nats::{Config, Document, Error};

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

/// Edits `count` times in process, a little apart, and waits for every outcome.
async fn edit_for_a_while(board: &Document<Board>, seed: u64, count: u64) -> Outcomes {
    let mut rng = Rng(seed | 1);
    let mut outcomes = Outcomes {
        session: board.session(),
        ..Outcomes::default()
    };
    for n in 1..=count {
        outcomes
            .made
            .extend(random_edit(board, &mut rng, seed * 1_000_000 + n));
        outcomes.collect(board.take_events());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    board.settle(WAIT).await.unwrap();
    outcomes.collect(board.take_events());
    outcomes
}

/// Adds what a later life of a node learned to what an earlier one did: one outcome each.
fn merge(mut earlier: Outcomes, later: Outcomes) -> Outcomes {
    assert_eq!(earlier.session, later.session, "the session goes on");
    earlier.made.extend(later.made);
    for (id, outcome) in later.outcomes {
        if let Some(before) = earlier.outcomes.insert(id, outcome.clone()) {
            panic!("edit {id} told twice: {before:?} and {outcome:?}");
        }
    }
    earlier
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_with_edits_waiting_comes_back_from_its_file_and_each_lands_once() {
    let server = NatsServer::start();
    let mut config = Config::default();
    // A snapshot ahead of the saved version when the node comes back: it starts where its
    // follower was, and reads the log from there.
    config.snapshot_every = 50;
    let admin = store(&server.url(), config.clone()).await;
    let base = initial(10);
    admin.create("board", &base).await.unwrap();
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("board.json");
    let program = common::board_example();

    // The first life joins through a link that then stalls: it edits offline, and what it
    // appends waits in the link.
    let proxy = Proxy::start(server.port).await;
    let options = NodeOptions {
        wait_for_go: true,
        persist: Some(file.clone()),
        say_saved: true,
        ..NodeOptions::default()
    };
    let mut first = NodeProcess::spawn_with(&program, &proxy.url(), &config, 1, 40, 7, &options);
    first.expect("JOINED").await;
    proxy.stall();
    first.say("go").await;
    let learned: Outcomes = serde_json::from_str(&first.expect("OUTCOMES").await).unwrap();
    first.expect("SAVED").await;
    assert_eq!(learned.made.len(), 40);
    assert!(learned.outcomes.is_empty(), "offline: nothing answered");
    first.crash().await;

    // The link comes back once the process is dead: its change in flight lands, unseen.
    proxy.heal();
    let session = learned.session;
    let deadline = Instant::now() + Duration::from_secs(20);
    let landed = loop {
        let log = read_log(&server.url(), &config.stream, "board").await;
        if let Some((_, committed)) = log.iter().find(|(_, c)| c.session == session) {
            break committed.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the change in flight never landed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Another node edits before the first comes back: the saved edits move through it.
    let writer = store(&server.url(), config.clone())
        .await
        .document::<Board>("board")
        .client(2)
        .join()
        .await
        .unwrap();
    let writer_report = edit_for_a_while(&writer, 2, 60).await;

    // The next life, from the file: the same session, every saved edit decided once.
    let options = NodeOptions {
        persist: Some(file.clone()),
        ..NodeOptions::default()
    };
    let mut second = NodeProcess::spawn_with(&program, &server.url(), &config, 1, 0, 8, &options);
    second.expect("JOINED").await;
    let later: Outcomes = serde_json::from_str(&second.expect("RESULT").await).unwrap();
    let node = merge(learned, later);
    let accepted = node.outcomes.values().filter(|o| o.is_ok()).count();
    eprintln!(
        "the restarted node: {} edits, {accepted} accepted, the first change (edits up to {}) landed unseen as version {}",
        node.made.len(),
        landed.id,
        landed.version
    );
    assert!(accepted > 20, "{:?}", node.outcomes);
    // The change that landed unseen is told accepted, at the version it landed as.
    for id in landed.id.saturating_sub(255).max(1)..=landed.id {
        if node.made.contains(&id) {
            assert_eq!(
                node.outcomes.get(&id),
                Some(&Ok(landed.version)),
                "edit {id}"
            );
        }
    }

    let fresh = admin
        .document::<Board>("board")
        .client(9)
        .join()
        .await
        .unwrap();
    let version = fresh.version();
    second.say(&format!("final {version}")).await;
    let state: Board = serde_json::from_str(&second.expect("STATE").await).unwrap();
    assert_eq!(state, *fresh.state());
    writer.wait_for_version(version, WAIT).await.unwrap();
    assert_eq!(writer.state(), fresh.state());
    let log = read_log(&server.url(), &config.stream, "board").await;
    check_log(&base, &log, &fresh.state(), &[node, writer_report]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_another_document_or_client_or_that_does_not_read_is_refused() {
    let server = NatsServer::start();
    let config = Config::default();
    let admin = store(&server.url(), config.clone()).await;
    admin.create("board", &initial(1)).await.unwrap();
    admin.create("other", &initial(1)).await.unwrap();
    let kept = MemoryStore::new();
    let board = admin
        .document::<Board>("board")
        .client(1)
        .persist(kept.clone())
        .join()
        .await
        .unwrap();
    board.edit(|d| d.set_title("kept".into()));
    board.saved(WAIT).await.unwrap();
    let session = board.session();
    drop(board);
    let refused = |result: Result<Document<Board>, Error>| match result {
        Err(Error::Persist(error)) => error,
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("joined"),
    };
    let join = |name: &'static str, client: u64, store: MemoryStore| {
        admin
            .document::<Board>(name)
            .client(client)
            .persist(store)
            .join()
    };
    let error = refused(join("other", 1, kept.clone()).await);
    assert!(error.to_string().contains("\"board\""), "{error}");
    let error = refused(join("board", 2, kept.clone()).await);
    assert!(error.to_string().contains("client 1"), "{error}");
    let mut cut = MemoryStore::new();
    let bytes = kept.load().unwrap().unwrap();
    cut.save(&bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        refused(join("board", 1, cut.clone()).await),
        PersistError::Truncated(_)
    ));
    // Started fresh: a new session.
    cut.remove().unwrap();
    let fresh = join("board", 1, cut).await.unwrap();
    assert_ne!(fresh.session(), session);
    // The store that holds it: the same session, the edit shown at once and then landed.
    let again = join("board", 1, kept).await.unwrap();
    assert_eq!(again.session(), session);
    assert_eq!(again.state().title, "kept");
    again.settle(WAIT).await.unwrap();
    assert_eq!(again.confirmed().title, "kept");
    // A file store works the same way.
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("board.json");
    let board = admin
        .document::<Board>("board")
        .client(3)
        .persist(FileStore::new(&file))
        .join()
        .await
        .unwrap();
    let session = board.session();
    board.saved(WAIT).await.unwrap();
    drop(board);
    let board = admin
        .document::<Board>("board")
        .client(3)
        .persist(FileStore::new(&file))
        .join()
        .await
        .unwrap();
    assert_eq!(board.session(), session);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_again_and_again_under_load_never_logs_a_change_twice() {
    let server = NatsServer::start();
    let mut config = Config::default();
    // Snapshots: a life may come back behind the newest one.
    config.snapshot_every = 100;
    let admin = store(&server.url(), config.clone()).await;
    let base = initial(10);
    admin.create("board", &base).await.unwrap();
    let directory = tempfile::tempdir().unwrap();
    let options = NodeOptions {
        persist: Some(directory.path().join("board.json")),
        ..NodeOptions::default()
    };
    let program = common::board_example();
    // Another node edits throughout.
    let writer = store(&server.url(), config.clone())
        .await
        .document::<Board>("board")
        .client(2)
        .join()
        .await
        .unwrap();
    let writer = std::sync::Arc::new(writer);
    let writing = {
        let writer = std::sync::Arc::clone(&writer);
        tokio::spawn(async move { edit_for_a_while(&writer, 2, 400).await })
    };
    // Killed mid-load, at a different moment each time, and started again from its file.
    let mut session = None;
    for (round, moment) in [250_u64, 600, 900].into_iter().enumerate() {
        let mut node = NodeProcess::spawn_with(
            &program,
            &server.url(),
            &config,
            1,
            100_000,
            round as u64 + 1,
            &options,
        );
        node.expect("JOINED").await;
        tokio::time::sleep(Duration::from_millis(moment)).await;
        node.crash().await;
        if session.is_none() {
            let log = read_log(&server.url(), &config.stream, "board").await;
            session = log
                .iter()
                .find(|(_, c)| c.client == 1)
                .map(|(_, c)| c.session);
        }
    }
    // The last life makes a few edits more and settles.
    let mut last = NodeProcess::spawn_with(&program, &server.url(), &config, 1, 50, 9, &options);
    last.expect("JOINED").await;
    let told: Outcomes = serde_json::from_str(&last.expect("RESULT").await).unwrap();
    assert_eq!(
        Some(told.session),
        session,
        "one session through every life"
    );
    let writer_report = writing.await.unwrap();

    let fresh = admin
        .document::<Board>("board")
        .client(9)
        .join()
        .await
        .unwrap();
    let version = fresh.version();
    last.say(&format!("final {version}")).await;
    let state: Board = serde_json::from_str(&last.expect("STATE").await).unwrap();
    assert_eq!(state, *fresh.state());
    // Each change once (the node's included: none appended twice under one id, none of
    // another life's ids given to other edits), and the log replays to the state.
    let log = read_log(&server.url(), &config.stream, "board").await;
    check_log(&base, &log, &fresh.state(), &[writer_report]);
    let effective: Vec<_> = {
        let mut effective = Vec::new();
        for (_, committed) in &log {
            if committed.version == effective.len() as u64 + 1 {
                effective.push(committed.clone());
            }
        }
        effective
    };
    let mine = effective
        .iter()
        .filter(|c| c.session == told.session)
        .count();
    assert!(mine > 10, "the node's changes: {mine}");
    // What the last life was told (its own edits, and those of earlier lives it restored)
    // is what the log holds.
    for (id, outcome) in &told.outcomes {
        if let Ok(version) = outcome {
            let committed = &effective[*version as usize - 1];
            assert_eq!(
                committed.session, told.session,
                "edit {id}: version {version}"
            );
            assert!(committed.id >= *id, "edit {id}: version {version}");
        }
    }
    for id in &told.made {
        assert!(told.outcomes.contains_key(id), "edit {id} has no outcome");
    }
}
