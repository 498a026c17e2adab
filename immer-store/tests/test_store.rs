//! The store against real faults: a process killed with SIGKILL while it commits, a file
//! cut short, stored data that does not read as the document's type, and names that break
//! the rule.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use immer::sync::{Backend, Change, Outbound, ToFollower, ToLeader};
use immer::{Patch, Path, PathSegment};
use immer_store::{Document, Error, Store};
use serde_json::json;

type Doc = Vec<u64>;

/// A change of `session` appending `value` to the list, made against `base`.
fn push(session: u64, id: u64, base: u64, value: u64) -> ToLeader {
    ToLeader::Change(Change {
        author: None,
        client: 1,
        session,
        id,
        base,
        patches: vec![Patch::add(
            Path::from(vec![PathSegment::Key("-".to_owned())]),
            json!(value),
        )],
    })
}

fn committed(out: &[Outbound<Doc>]) -> Option<u64> {
    out.iter().find_map(|o| match &o.message {
        ToFollower::Committed(c) => Some(c.version),
        _ => None,
    })
}

/// The child: commits `value`s 1, 2, 3, … to the document "list", from four sessions with a
/// change in flight each (so the document orders changes while earlier ones wait for the
/// disk), and prints each value and the version it was acknowledged as (released, durable),
/// until it is killed.
fn child(path: &str) {
    let store = Store::open(path).unwrap();
    let _ = store.create("list", &Doc::new());
    let mut document = store
        .document::<Doc>("list")
        .snapshot_every(50)
        .open()
        .unwrap();
    let (sink, released) = std::sync::mpsc::channel();
    document.release_to(move |messages| {
        for message in messages {
            let _ = sink.send(message);
        }
    });
    let start = Backend::version(&document);
    let mut next = 0;
    let mut values = HashMap::new();
    let mut send = |document: &mut Document<Doc>, values: &mut HashMap<_, _>, session, id| {
        next += 1;
        let value = start * 1_000_000 + next;
        values.insert((session, id), value);
        let base = Backend::version(document);
        assert!(document.receive(push(session, id, base, value)).is_empty());
    };
    for _ in 0..4 {
        let session = document.join(1).session;
        send(&mut document, &mut values, session, 1);
    }
    loop {
        let out = released.recv().unwrap();
        let ToFollower::Committed(committed) = out.message else {
            panic!("not committed: {out:?}");
        };
        // Acknowledged: only now is it told.
        println!(
            "{} {}",
            committed.version,
            values[&(committed.session, committed.id)]
        );
        send(
            &mut document,
            &mut values,
            committed.session,
            committed.id + 1,
        );
    }
}

#[test]
fn a_process_killed_while_it_commits_loses_nothing_it_acknowledged() {
    if let Ok(path) = std::env::var("IMMER_STORE_CHILD") {
        child(&path);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kill.redb");
    let mut acknowledged: Vec<(u64, u64)> = Vec::new();
    for round in 0..20_u64 {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_process_killed_while_it_commits_loses_nothing_it_acknowledged",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("IMMER_STORE_CHILD", &path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = process.stdout.take().unwrap();
        // Killed after a different number of acknowledgements each round (and at whatever
        // point of its next commit it has reached).
        let wanted = 20 + (round * 37) % 150;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut lines = BufReader::new(stdout).lines();
        // "VERSION VALUE" ends each line (the first shares its line with the test runner's).
        let ack = |line: &str| {
            let mut words = line.rsplit(' ').map(str::parse::<u64>);
            match (words.next(), words.next()) {
                (Some(Ok(value)), Some(Ok(version))) => Some((version, value)),
                _ => None,
            }
        };
        let mut seen = 0;
        while seen < wanted {
            assert!(Instant::now() < deadline, "round {round}: no progress");
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(acked) = ack(&line) {
                acknowledged.push(acked);
                seen += 1;
            }
        }
        process.kill().unwrap(); // SIGKILL
        process.wait().unwrap();
        // What it acknowledged before it died and we had not read yet counts too.
        acknowledged.extend(lines.map_while(Result::ok).filter_map(|line| ack(&line)));
        // Reopened from the file: every acknowledged value at the version it was told,
        // versions contiguous, nothing twice.
        let store = Store::open(&path).unwrap();
        let document = store.document::<Doc>("list").open().unwrap();
        let state = Backend::state(&document);
        assert_eq!(state.len() as u64, Backend::version(&document));
        for &(version, value) in &acknowledged {
            assert_eq!(
                state.get(usize::try_from(version - 1).unwrap()),
                Some(&value),
                "round {round}: version {version} acknowledged as {value}"
            );
        }
        let mut sorted = (*state).clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), state.len(), "round {round}: a value twice");
    }
    assert!(acknowledged.len() >= 20 * 20);
}

#[test]
fn a_name_that_breaks_the_rule_is_refused_with_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("names.redb")).unwrap();
    for name in ["a/b", "..", "a\0b", &"x".repeat(10_000), "", "dot.ted"] {
        let Err(Error::InvalidName { rule, .. }) = store.create(name, &Doc::new()) else {
            panic!("{name:?} accepted");
        };
        assert!(rule.contains("ASCII letters"), "{rule}");
        assert!(matches!(
            store.document::<Doc>(name).open(),
            Err(Error::InvalidName { .. })
        ));
    }
    store.create("team-a_1", &Doc::new()).unwrap();
    assert!(matches!(
        store.create("team-a_1", &Doc::new()),
        Err(Error::Exists(_))
    ));
}

#[test]
fn stored_data_that_does_not_read_as_the_type_names_the_document_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("types.redb")).unwrap();
    store.create("numbers", &Doc::new()).unwrap();
    store.create("other", &vec![7_u64]).unwrap();
    let mut numbers = store.document::<Doc>("numbers").open().unwrap();
    let session = numbers.join(1).session;
    for n in 1..=3 {
        numbers.try_receive(push(session, n, n - 1, n)).unwrap();
    }
    drop(numbers);
    // The snapshot (an empty list) reads as a list of strings; the first change does not.
    let Err(Error::Corrupt {
        document, version, ..
    }) = store.document::<Vec<String>>("numbers").open()
    else {
        panic!("a list of numbers read as strings");
    };
    assert_eq!((document.as_str(), version), ("numbers", 1));
    // A snapshot that does not read: named with its version.
    let Err(error @ Error::Corrupt { version: 0, .. }) = store.document::<String>("other").open()
    else {
        panic!("a list read as a string");
    };
    assert!(error.to_string().contains("\"other\""), "{error}");
    // The other documents are untouched.
    let numbers = store.document::<Doc>("numbers").open().unwrap();
    assert_eq!(*Backend::state(&numbers), vec![1, 2, 3]);
    assert_eq!(
        *Backend::state(&store.document::<Doc>("other").open().unwrap()),
        vec![7]
    );
}

#[test]
fn a_file_cut_short_is_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.redb");
    {
        let store = Store::open(&path).unwrap();
        store.create("list", &Doc::new()).unwrap();
        let mut document = store.document::<Doc>("list").open().unwrap();
        let session = document.join(1).session;
        for n in 1..=200 {
            document.try_receive(push(session, n, n - 1, n)).unwrap();
        }
    }
    let length = std::fs::metadata(&path).unwrap().len();
    for keep in [length / 2, length / 8, 100, 0] {
        let cut = dir.path().join(format!("cut-{keep}.redb"));
        std::fs::copy(&path, &cut).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&cut)
            .unwrap()
            .set_len(keep)
            .unwrap();
        // Either the file is refused with an error naming it, or it opens at a commit it
        // holds whole: never a panic, never a half-read document, never an empty store in
        // place of a file cut to nothing.
        if keep == 0 {
            let error = Store::open(&cut).expect_err("a file cut to nothing is refused");
            assert!(error.to_string().contains("cut-0"), "{error}");
            continue;
        }
        match Store::open(&cut) {
            Err(error) => assert!(error.to_string().contains("cut-"), "{error}"),
            Ok(store) => match store.document::<Doc>("list").open() {
                Ok(document) => {
                    let state = Backend::state(&document);
                    let expected: Doc = (1..=Backend::version(&document)).collect();
                    assert_eq!(*state, expected);
                }
                Err(error) => assert!(
                    matches!(error, Error::NotFound(_) | Error::Database { .. }),
                    "{error}"
                ),
            },
        }
    }
}

#[test]
fn snapshots_bound_what_opening_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("snap.redb")).unwrap();
    store.create("list", &Doc::new()).unwrap();
    let mut document = store
        .document::<Doc>("list")
        .snapshot_every(10)
        .open()
        .unwrap();
    let session = document.join(1).session;
    for n in 1..=25 {
        // Returned once durable, with its commit.
        let out = document.try_receive(push(session, n, n - 1, n)).unwrap();
        assert_eq!(committed(&out), Some(n));
    }
    drop(document);
    let document = store.document::<Doc>("list").open().unwrap();
    // Opened from the snapshot at 20 and the 5 changes after it; the 10 before it are kept
    // (a change made against one of them is moved through them, not refused), older ones
    // forgotten.
    assert_eq!(document.leader().log_start(), 10);
    assert_eq!(document.leader().log().count(), 15);
    assert_eq!(*Backend::state(&document), (1..=25).collect::<Doc>());
}

#[test]
fn a_document_is_written_by_one_document_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("once.redb")).unwrap();
    store.create("list", &Doc::new()).unwrap();
    let first = store.document::<Doc>("list").open().unwrap();
    assert!(matches!(
        store.document::<Doc>("list").open(),
        Err(Error::InUse(_))
    ));
    drop(first);
    store.document::<Doc>("list").open().unwrap();
}

#[test]
fn a_session_outlives_the_process_and_its_change_is_answered_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db.redb")).unwrap();
    store.create("list", &Vec::<u64>::new()).unwrap();
    let session = {
        let mut document = store.document::<Doc>("list").open().unwrap();
        let session = document.join(5).session;
        let gone = document.join(6).session;
        let out = document.try_receive(push(session, 1, 0, 10)).unwrap();
        assert_eq!(committed(&out), Some(1));
        Backend::close_session(&mut document, gone);
        session
    };
    // Opened again, as a restarted server does: the session is there, with its client, and
    // only it (the one closed is forgotten).
    let mut document = store.document::<Doc>("list").open().unwrap();
    assert_eq!(Backend::sessions(&document), [(session, 5)]);
    // Its change sent again (its answer was lost with the process): answered as it ended,
    // not applied twice.
    let out = document.try_receive(push(session, 1, 0, 10)).unwrap();
    assert_eq!(committed(&out), Some(1));
    assert_eq!(*Backend::state(&document), [10]);
    // It goes on; a new session is numbered after every earlier one.
    let out = document.try_receive(push(session, 2, 1, 11)).unwrap();
    assert_eq!(committed(&out), Some(2));
    assert!(document.join(7).session > session + 1);
}
