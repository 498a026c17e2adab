//! Hostile and unauthorized clients against a real server on loopback: each gets a rejection
//! or a closed connection with a reason, while the server and the other clients go on and
//! nothing accepted is lost.

mod common;

use std::time::{Duration, Instant};

use common::{Board, Client, Role, Todo, WAIT, auth, board, closed, hub, raw, serve};
use futures_util::SinkExt;
use immer::sync::{FollowerEvent, RejectReason};
use immer::{Path, apply_patches};
use immer_web::{Hub, Limits, close_code};
use serde_json::json;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.auth_timeout = Duration::from_millis(300);
    limits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_a_valid_token_are_refused_with_a_reason() {
    let hub = hub(board(3), limits());
    let (url, server) = serve(&hub).await;
    let cases: [(Option<Message>, &str); 6] = [
        (
            Some(auth("slow-sam")),
            "unauthorized: the token was not verified in time",
        ),
        (Some(auth("")), "unauthorized: unknown token"),
        (Some(auth("mallory")), "unauthorized: unknown token"),
        (
            Some(Message::text(r#"{"type":"auth"}"#)),
            "unauthorized: not an auth message",
        ),
        (
            Some(Message::text(r#"{"type":"resync","version":0}"#)),
            "unauthorized: the first message must be auth",
        ),
        (None, "unauthorized: no auth message in time"),
    ];
    for (first, expected) in cases {
        let mut socket = raw(&url).await;
        if let Some(first) = first {
            socket.send(first).await.unwrap();
        }
        let (code, reason) = closed(&mut socket).await.expect("a close frame");
        assert_eq!(code, close_code::UNAUTHORIZED);
        assert!(reason.starts_with(expected), "{reason:?}");
    }
    assert_eq!(hub.connections(), 0);
    assert_eq!(hub.version(), 0);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_outside_a_role_are_rejected_and_rolled_back() {
    let hub = hub(board(3), limits());
    let (url, server) = serve(&hub).await;
    let version = || hub.version();

    // A viewer writes nothing.
    let mut viewer = Client::connect(&url, "viewer-victor").await;
    let id = viewer.edit(|d| d.title().set("mine".into())).await;
    assert_eq!(viewer.follower.state().title, "mine", "applied at once");
    viewer.settle(version).await;
    let reason = viewer.rejection(id);
    assert_eq!(
        reason,
        RejectReason::Forbidden {
            path: Path::from_pointer("/title").unwrap()
        }
    );
    assert_eq!(viewer.follower.state().title, "Board", "rolled back");

    // A checker ticks todos, and writes nothing else; the path is checked as committed.
    let mut checker = Client::connect(&url, "checker-carol").await;
    let mut editor = Client::connect(&url, "editor-ann").await;
    editor
        .edit(|d| {
            d.todos().remove(0);
        })
        .await;
    editor.settle(version).await;
    // Made against version 0, where todo 2 was at index 2. No move makes a text a
    // checker's: refused before it is moved, with the path as sent.
    let renamed = checker
        .edit(|d| d.todos().get_mut(2).unwrap().text().set("renamed".into()))
        .await;
    checker.settle(version).await;
    assert_eq!(
        checker.rejection(renamed),
        RejectReason::Forbidden {
            path: Path::from_pointer("/todos/2/text").unwrap()
        }
    );
    let ticked = checker
        .edit(|d| d.todos().get_mut(0).unwrap().done().set(true))
        .await;
    checker.settle(version).await;
    assert!(matches!(
        checker.outcome(ticked),
        Some(FollowerEvent::Accepted { .. })
    ));
    assert_eq!(hub.state().todos[0].text, "todo 1");
    assert!(hub.state().todos[0].done);

    // The validation hook's invariant holds for editors too.
    let emptied = editor.edit(|d| d.title().set(String::new())).await;
    editor.settle(version).await;
    assert!(matches!(
        editor.rejection(emptied),
        RejectReason::Invalid { message } if message == "the title may not be empty"
    ));
    for client in [&mut viewer, &mut checker, &mut editor] {
        client.settle(version).await;
        assert_eq!(**client.follower.state(), *hub.state());
    }
    server.abort();
}

/// Sends `message` as an editor and returns how the connection ended, or the rejection.
async fn attack(url: &str, message: Message) -> Result<RejectReason, Option<(u16, String)>> {
    let mut socket = raw(url).await;
    socket.send(auth("editor-mallory")).await.unwrap();
    // The welcome.
    let _ = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut socket)).await;
    if socket.send(message).await.is_err() {
        return Err(closed(&mut socket).await);
    }
    loop {
        let next = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut socket))
            .await
            .expect("an answer in time");
        match next {
            Some(Ok(Message::Text(text))) => {
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "rejected" {
                    return Ok(serde_json::from_value(value["reason"].clone()).unwrap());
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(frame.map(|f| (u16::from(f.code), f.reason.to_string())));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Err(None),
        }
    }
}

fn change(patches: &serde_json::Value) -> Message {
    Message::text(json!({"type": "change", "id": 1, "base": 0, "patches": patches}).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_are_refused_while_the_others_go_on() {
    let start = board(3);
    let hub = hub(start.clone(), limits());
    let (url, server) = serve(&hub).await;

    // A writer and an observer go on the whole time.
    let writer = tokio::spawn(write_todos(url.clone(), hub.clone(), 300));
    let mut observer = Client::connect(&url, "viewer-olga").await;

    // A 1 MB message.
    let big = "x".repeat(1 << 20);
    let ended = attack(
        &url,
        change(&json!([{"op": "replace", "path": ["title"], "value": big}])),
    );
    let (code, reason) = ended.await.unwrap_err().expect("a reason");
    assert_eq!(code, close_code::TOO_BIG, "{reason}");
    assert!(reason.contains("262144 bytes"), "{reason}");

    // 100,000 patches in one change: over the size limit here...
    let many: Vec<_> = (0..100_000)
        .map(|n| json!({"op": "replace", "path": ["todos", n % 3, "done"], "value": true}))
        .collect();
    let (code, _) = attack(&url, change(&json!(many)))
        .await
        .unwrap_err()
        .unwrap();
    assert_eq!(code, close_code::TOO_BIG);
    // ... and over the patch limit where messages may be large.
    let mut roomy = limits();
    roomy.max_message_bytes = 16 << 20;
    let roomy_hub = common::hub(start.clone(), roomy);
    let (roomy_url, roomy_server) = serve(&roomy_hub).await;
    let reason = attack(&roomy_url, change(&json!(many))).await.unwrap();
    assert_eq!(
        reason,
        RejectReason::Limit {
            limit: "patches per change".to_owned(),
            max: 1_000,
            got: 100_000
        }
    );
    assert_eq!(roomy_hub.version(), 0);
    roomy_server.abort();

    // A path 10,000 segments deep: read no further than `MAX_WIRE_PATH` + 1 segments.
    let deep = vec![json!(0); 10_000];
    let reason = attack(
        &url,
        change(&json!([{"op": "add", "path": deep, "value": 1}])),
    );
    let read = immer_web::protocol::MAX_WIRE_PATH + 1;
    assert!(matches!(
        reason.await.unwrap(),
        RejectReason::Limit { max: 32, got, .. } if got == read
    ));

    // A value nested 10,000 deep, invalid JSON, a message of another protocol, binary.
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let nested = format!(
        r#"{{"type":"change","id":1,"base":0,"patches":[{{"op":"add","path":["title"],"value":{nested}}}]}}"#
    );
    for message in [
        Message::text(nested),
        Message::text("{not json"),
        Message::text(r#"{"type":"delete-everything"}"#),
    ] {
        let (code, reason) = attack(&url, message).await.unwrap_err().unwrap();
        assert_eq!(code, close_code::INVALID);
        assert!(reason.starts_with("invalid message"), "{reason}");
    }
    let (code, _) = attack(&url, Message::binary(vec![0_u8; 16]))
        .await
        .unwrap_err()
        .unwrap();
    assert_eq!(code, close_code::UNSUPPORTED);

    // A flood.
    let mut flood = raw(&url).await;
    flood.send(auth("editor-flo")).await.unwrap();
    let resync = Message::text(r#"{"type":"resync","version":0}"#);
    for _ in 0..5_000 {
        if flood.feed(resync.clone()).await.is_err() {
            break;
        }
    }
    let _ = flood.flush().await;
    let (code, reason) = closed(&mut flood).await.expect("a reason");
    assert_eq!(code, close_code::POLICY);
    assert!(
        reason.starts_with("flood") || reason.contains("pending"),
        "{reason}"
    );

    // The others went on.
    let (writer, ids) = writer.await.unwrap();
    observer.settle(|| hub.version()).await;
    assert_nothing_lost(&hub, start, &[&writer, &observer], &ids);
    server.abort();
}

/// Connects as an editor and pushes `count` todos (`w0`, `w1`, ...), waiting for answers now
/// and then; returns the client and its edits.
async fn write_todos(url: String, hub: Hub<Board, Role>, count: usize) -> (Client, Vec<u64>) {
    let mut writer = Client::connect(&url, "editor-ann").await;
    let mut ids = Vec::new();
    for n in 0..count {
        let id = writer
            .edit(|d| {
                d.todos().push(Todo {
                    id: format!("w{n}"),
                    text: format!("written {n}"),
                    done: false,
                });
            })
            .await;
        ids.push(id);
        if n % 10 == 0 {
            writer.settle(|| hub.version()).await;
        }
    }
    writer.settle(|| hub.version()).await;
    (writer, ids)
}

/// Every write of the writer (the first client) accepted, once, in the state; every client at
/// the hub's state; the log holds only the writer's changes and replays to the state.
fn assert_nothing_lost(hub: &Hub<Board, Role>, start: Board, clients: &[&Client], ids: &[u64]) {
    let writer = clients[0];
    for &id in ids {
        assert!(
            matches!(writer.outcome(id), Some(FollowerEvent::Accepted { .. })),
            "edit {id}: {:?}",
            writer.outcome(id)
        );
    }
    let state = hub.state();
    for client in clients {
        assert_eq!(**client.follower.state(), *state);
    }
    for n in 0..ids.len() {
        assert_eq!(
            state
                .todos
                .iter()
                .filter(|t| t.id == format!("w{n}"))
                .count(),
            1
        );
    }
    // Nothing but the writer's changes is in the log, and it replays to the state.
    let mut replay = Arc::new(start);
    for committed in hub.log() {
        replay = apply_patches(&replay, &committed.patches).unwrap();
    }
    assert_eq!(*replay, *state);
    assert_eq!(hub.version(), ids.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_disconnected_and_stalls_nobody() {
    let mut limits = limits();
    limits.max_outbound = 32;
    limits.write_timeout = Duration::from_secs(30);
    // The writer sends 38 MB as fast as it is answered.
    limits.bytes_per_second = 1 << 30;
    let hub = hub(board(1), limits);
    let (url, server) = serve(&hub).await;
    let mut sloth = raw(&url).await;
    sloth.send(auth("viewer-sloth")).await.unwrap();
    let mut writer = Client::connect(&url, "editor-ann").await;
    tokio::time::timeout(WAIT, async {
        while hub.connections() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();

    // 64 KB titles: the sloth's socket fills, then its queue.
    let mut slowest = Duration::ZERO;
    for n in 0..600 {
        let title = format!("{n}{}", "x".repeat(64 * 1024));
        let started = Instant::now();
        writer.edit(move |d| d.title().set(title)).await;
        writer.settle(|| hub.version()).await;
        slowest = slowest.max(started.elapsed());
    }
    assert!(
        slowest < Duration::from_secs(5),
        "the writer waited {slowest:?} for an answer"
    );
    assert_eq!(hub.connections(), 1, "the sloth is disconnected");
    // Reading at last, the sloth finds why.
    let (code, reason) = closed(&mut sloth).await.expect("a close frame");
    assert_eq!(code, close_code::POLICY);
    assert_eq!(reason, "too slow: more than 32 messages waiting");
    assert!(
        writer
            .events
            .iter()
            .all(|e| !matches!(e, FollowerEvent::Dropped { .. }))
    );
    let _: &Board = &hub.state();
    server.abort();
}
