//! Presence: what each connection shows the others of a document (a cursor, a selection),
//! on a one-document hub and on a server of many. It appears for the others and never for
//! its author, in its canonical form and under the user the server authenticated; it goes
//! when its connection closes, unsubscribes, or stops sending it; it is bounded in bytes,
//! depth and rate; it never reaches a connection that may not read the document; and it is
//! never committed, logged or watched.

mod common;

use std::time::Duration;

use common::presence::Peer;
use common::{Board, Role, board, builder, closed, serve};
use futures_util::SinkExt;
use immer_store::Store;
use immer_web::{Limits, Server};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.presence_interval = Duration::from_millis(20);
    limits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_appears_for_the_others_in_one_form_and_goes_with_its_connection() {
    let hub = common::hub(board(2), limits());
    let (_, _, mut commits) = hub.watch_commits();
    let (url, task) = serve(&hub).await;
    let mut ann = Peer::one(&url, "editor-ann").await;
    let mut bob = Peer::one(&url, "editor-bob").await;
    let mut vic = Peer::one(&url, "viewer-vic").await;

    // Ann's state, sent with spaces and unsorted members and claiming to be someone else, is
    // shown to the others in one form, as the user the server knows.
    let sent =
        r#"{ "type": "presence", "state": { "user": "mallory", "cursor": [3, 14], "at": "t1" } }"#;
    ann.socket.send(Message::text(sent)).await.unwrap();
    let state = json!({"at": "t1", "cursor": [3, 14], "user": "mallory"});
    bob.sees(&[("editor-ann", state.clone())]).await;
    vic.sees(&[("editor-ann", state.clone())]).await;
    assert!(
        bob.presence_texts.iter().any(|t| t.contains(
            r#""user":"editor-ann","state":{"at":"t1","cursor":[3,14],"user":"mallory"}}"#
        )),
        "{:?}",
        bob.presence_texts
    );

    // A viewer, who writes nothing, shows a presence too: it is not an edit.
    vic.show(json!({"cursor": [0, 0]})).await;
    ann.sees(&[("viewer-vic", json!({"cursor": [0, 0]}))]).await;
    bob.sees(&[
        ("editor-ann", state.clone()),
        ("viewer-vic", json!({"cursor": [0, 0]})),
    ])
    .await;
    // Never its own: Ann sees only Vic's, and Vic only Ann's.
    assert!(ann.others.values().all(|(user, _)| user != "editor-ann"));
    vic.sees(&[("editor-ann", state.clone())]).await;

    // One who joins later is shown every presence right after its welcome.
    let mut cat = Peer::one(&url, "checker-cat").await;
    cat.sees(&[
        ("editor-ann", state.clone()),
        ("viewer-vic", json!({"cursor": [0, 0]})),
    ])
    .await;
    assert_eq!(hub.presences().len(), 2);

    // Cleared with null.
    vic.show(Value::Null).await;
    ann.sees(&[]).await;
    cat.sees(&[("editor-ann", state.clone())]).await;

    // Gone when its connection closes.
    ann.socket.close(None).await.unwrap();
    bob.sees(&[]).await;
    cat.sees(&[]).await;
    vic.sees(&[]).await;
    assert!(hub.presences().is_empty());

    // Never ordered: no version, nothing in the log, nothing for those who watch commits.
    assert_eq!(hub.version(), 0);
    assert!(hub.log().is_empty());
    assert!(commits.try_recv().is_err());
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presence_not_sent_again_in_time_goes_and_one_sent_again_stays_unsent() {
    let mut limits = limits();
    limits.presence_timeout = Duration::from_millis(600);
    let hub = common::hub(board(1), limits);
    let (url, task) = serve(&hub).await;
    let mut ann = Peer::one(&url, "editor-ann").await;
    let mut bob = Peer::one(&url, "editor-bob").await;
    let mut cat = Peer::one(&url, "editor-cat").await;

    // Ann sends hers again every 150 ms: it stays, and the same state again is sent to no
    // one. Cat sends hers once: it goes after the timeout.
    ann.show(json!({"cursor": 1})).await;
    cat.show(json!({"cursor": 2})).await;
    bob.sees(&[
        ("editor-ann", json!({"cursor": 1})),
        ("editor-cat", json!({"cursor": 2})),
    ])
    .await;
    let seen = bob.presence_texts.len();
    let started = tokio::time::Instant::now();
    let keep = tokio::spawn(async move {
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            ann.show(json!({"cursor": 1})).await;
        }
        ann
    });
    bob.sees(&[("editor-ann", json!({"cursor": 1}))]).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "taken away after {waited:?}"
    );
    let after = bob.during(Duration::from_millis(500)).await;
    let mut ann = keep.await.unwrap();
    assert!(
        after.iter().all(|m| m["type"] != "presence"),
        "the same state again is not sent: {after:?}"
    );
    assert_eq!(
        bob.presence_texts.len(),
        seen + 1,
        "one message: Cat's went ({:?})",
        &bob.presence_texts[seen..]
    );
    assert!(bob.others.values().all(|(user, _)| user == "editor-ann"));
    // Sent again after it went, it is shown again.
    cat.show(json!({"cursor": 3})).await;
    bob.sees(&[
        ("editor-ann", json!({"cursor": 1})),
        ("editor-cat", json!({"cursor": 3})),
    ])
    .await;
    ann.sees(&[("editor-cat", json!({"cursor": 3}))]).await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presence_too_large_too_deep_or_unsafe_is_refused_and_the_connection_goes_on() {
    let mut limits = limits();
    limits.presence_max_bytes = 100;
    limits.presence_max_depth = 3;
    let hub = common::hub(board(1), limits);
    let (url, task) = serve(&hub).await;
    let mut ann = Peer::one(&url, "editor-ann").await;
    let mut bob = Peer::one(&url, "editor-bob").await;

    ann.show(json!({"ok": true})).await;
    bob.sees(&[("editor-ann", json!({"ok": true}))]).await;

    let unsafe_key: Value = serde_json::from_str(r#"{"a":{"__proto__":{"admin":true}}}"#).unwrap();
    let refusals = [
        (json!({"text": "x".repeat(101)}), "over 100 bytes"),
        (json!({"a": [[[1]]]}), "deeper than 3"),
        (unsafe_key, "__proto__"),
        // Too long a message to hold a state of 100 bytes: refused unread.
        (
            json!({"text": "x".repeat(5_000)}),
            "the presence message is",
        ),
    ];
    for (n, (state, reason)) in refusals.iter().enumerate() {
        ann.show(state.clone()).await;
        ann.until("the refusal", |peer, _| peer.refused.len() > n)
            .await;
        assert!(ann.refused[n].contains(reason), "{}", ann.refused[n]);
    }
    // At the limit, taken; the refused ones were never shown.
    let largest = json!({"t": "x".repeat(100 - r#"{"t":""}"#.len())});
    ann.show(largest.clone()).await;
    bob.sees(&[("editor-ann", largest)]).await;
    assert!(
        bob.presence_texts
            .iter()
            .all(|t| !t.contains("__proto__") && !t.contains("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}"))
    );
    assert!(
        bob.presence_texts.iter().all(|t| !t.contains("[[[1]]]")),
        "{:?}",
        bob.presence_texts
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_shows_at_most_its_limit_of_presences() {
    let mut limits = limits();
    limits.presence_max_per_document = 2;
    let hub = common::hub(board(1), limits);
    let (url, task) = serve(&hub).await;
    let mut ann = Peer::one(&url, "editor-ann").await;
    let mut bob = Peer::one(&url, "editor-bob").await;
    let mut vic = Peer::one(&url, "viewer-vic").await;
    ann.show(json!({"n": 1})).await;
    bob.show(json!({"n": 2})).await;
    vic.sees(&[
        ("editor-ann", json!({"n": 1})),
        ("editor-bob", json!({"n": 2})),
    ])
    .await;
    // A third is refused with the reason; the two shown may still change theirs.
    vic.show(json!({"n": 3})).await;
    vic.until("the refusal", |peer, _| !peer.refused.is_empty())
        .await;
    assert!(
        vic.refused[0].contains("at most 2 presences"),
        "{}",
        vic.refused[0]
    );
    ann.show(json!({"n": 10})).await;
    vic.sees(&[
        ("editor-ann", json!({"n": 10})),
        ("editor-bob", json!({"n": 2})),
    ])
    .await;
    assert_eq!(hub.presences().len(), 2);
    // Once one goes, there is room again.
    bob.show(Value::Null).await;
    ann.sees(&[]).await;
    vic.show(json!({"n": 3})).await;
    ann.sees(&[("viewer-vic", json!({"n": 3}))]).await;
    assert_eq!(vic.refused.len(), 1);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presence_flood_closes_the_connection_and_takes_its_presence_away() {
    let mut limits = limits();
    limits.presence_per_second = 10;
    let hub = common::hub(board(1), limits);
    let (url, task) = serve(&hub).await;
    let mut ann = Peer::one(&url, "editor-ann").await;
    let mut bob = Peer::one(&url, "editor-bob").await;
    ann.show(json!({"cursor": 0})).await;
    bob.sees(&[("editor-ann", json!({"cursor": 0}))]).await;
    for n in 1..=50 {
        // The socket may be closed under the flood.
        let text = json!({"type": "presence", "state": {"cursor": n}}).to_string();
        if ann.socket.send(Message::text(text)).await.is_err() {
            break;
        }
    }
    let (code, reason) = closed(&mut ann.socket).await.expect("a close frame");
    assert_eq!(code, 1008);
    assert!(reason.contains("presence messages per second"), "{reason}");
    bob.sees(&[]).await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_updates_reach_a_reader_as_few_messages_each_presence_at_its_newest() {
    let mut limits = Limits::default();
    limits.presence_interval = Duration::from_millis(100);
    let hub = common::hub(board(1), limits);
    let (url, task) = serve(&hub).await;
    let mut reader = Peer::one(&url, "viewer-reader").await;
    let mut writers = Vec::new();
    for n in 0..10 {
        writers.push(Peer::one(&url, &format!("editor-{n}")).await);
    }
    // 10 writers, 30 updates each, as fast as the rate allows (40 at once).
    let started = tokio::time::Instant::now();
    let sends = writers.into_iter().map(|mut writer| {
        tokio::spawn(async move {
            for step in 1..=30 {
                writer.show(json!({"step": step})).await;
            }
            writer
        })
    });
    let writers = futures_util::future::join_all(sends).await;
    let expected: Vec<(String, Value)> = (0..10)
        .map(|n| (format!("editor-{n}"), json!({"step": 30})))
        .collect();
    let expected: Vec<(&str, Value)> = expected
        .iter()
        .map(|(user, state)| (user.as_str(), state.clone()))
        .collect();
    reader.sees(&expected).await;
    let elapsed = started.elapsed();
    // 300 updates, but at most one message per interval (and one at once), each presence
    // at most once in a message.
    let most = usize::try_from(elapsed.as_millis() / 100).unwrap() + 2;
    assert!(
        reader.presence_texts.len() <= most,
        "{} messages in {elapsed:?}",
        reader.presence_texts.len()
    );
    for text in &reader.presence_texts {
        let message: Value = serde_json::from_str(text).unwrap();
        let clients: Vec<u64> = message["presences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["client"].as_u64().unwrap())
            .collect();
        assert!(
            clients.windows(2).all(|pair| pair[0] < pair[1]),
            "each presence once, in order: {text}"
        );
    }
    drop(writers);
    task.abort();
}

type BoardServer = Server<Board, Role, Store>;

async fn server(dir: &tempfile::TempDir, names: &[&str]) -> (BoardServer, String) {
    let store = Store::open(dir.path().join("boards.redb")).unwrap();
    let server = builder(board(1), limits())
        // Viewers read the public boards only.
        .access(|identity, doc| {
            (identity.role != Role::Viewer || doc.starts_with("public")).then_some(identity.role)
        })
        .build_server(store);
    for name in names {
        server.create(name).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (router, listener) = (server.router(), server.listen(listener));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (server, format!("ws://{addr}/ws"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_server_of_many_presence_stays_with_its_document_and_its_readers() {
    let dir = tempfile::tempdir().unwrap();
    let (server, url) = server(&dir, &["team-a", "public-news"]).await;
    let mut ann = Peer::many(&url, "editor-ann", "team-a").await.unwrap();
    let mut bob = Peer::many(&url, "editor-bob", "team-a").await.unwrap();
    // A viewer may not read team-a: refused, it is shown nothing of it.
    let refused = Peer::many(&url, "viewer-vic", "team-a")
        .await
        .err()
        .unwrap();
    assert!(refused.contains("forbidden"), "{refused}");
    let mut vic = Peer::many(&url, "viewer-vic", "public-news").await.unwrap();
    // Ann on public-news too, over the same socket.
    let subscribe = json!({"type": "subscribe", "doc": "public-news"});
    ann.socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();

    ann.show(json!({"cursor": "a"})).await;
    let message = bob
        .until("Ann's presence", |peer, _| !peer.others.is_empty())
        .await;
    assert_eq!(message["doc"], "team-a");
    assert_eq!(
        bob.others.values().next().unwrap(),
        &("editor-ann".to_owned(), json!({"cursor": "a"}))
    );
    // On the other board, over the same socket: its own presence, seen by its readers only.
    let mut on_news = json!({"type": "presence", "doc": "public-news", "state": {"cursor": "n"}});
    ann.socket
        .send(Message::text(on_news.to_string()))
        .await
        .unwrap();
    vic.sees(&[("editor-ann", json!({"cursor": "n"}))]).await;
    let heard = bob.during(Duration::from_millis(300)).await;
    assert!(heard.iter().all(|m| m["doc"] == "team-a"), "{heard:?}");
    assert_eq!(
        bob.others.values().next().unwrap().1,
        json!({"cursor": "a"})
    );
    let news = server.document("public-news").await.unwrap();
    assert_eq!(news.presences().len(), 1);

    // Unsubscribed from team-a: gone there, kept on public-news.
    ann.send(json!({"type": "unsubscribe"})).await;
    bob.sees(&[]).await;
    let heard = vic.during(Duration::from_millis(300)).await;
    assert!(heard.iter().all(|m| m["type"] != "presence"), "{heard:?}");
    assert_eq!(news.presences().len(), 1);

    // A document deleted takes every presence with it.
    on_news["state"] = json!({"cursor": "m"});
    ann.socket
        .send(Message::text(on_news.to_string()))
        .await
        .unwrap();
    vic.sees(&[("editor-ann", json!({"cursor": "m"}))]).await;
    server.delete("public-news").await.unwrap();
    vic.until("the end of public-news", |_, m| m["type"] == "unsubscribed")
        .await;
    assert!(news.presences().is_empty(), "{:?}", news.presences());
    drop(news);
    assert!(server.document("team-a").await.unwrap().log().is_empty());
}
