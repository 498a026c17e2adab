//! The hub on the embedded durable store: clients' changes survive the server.

mod common;

use common::{Board, Client, Role, board, builder, serve};
use immer::sync::{Backend, FollowerEvent, RejectReason};
use immer_store::{Document, Error, Store};
use immer_web::{EditError, Identity, Limits};

/// The document `name` opened from the file, once the hub that held it is gone (its
/// connections' tasks let go of it as they end).
async fn reopen(store: &Store, name: &str) -> Document<Board> {
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        match store.document::<Board>(name).open() {
            Err(Error::InUse(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            opened => return opened.unwrap(),
        }
    }
}

#[tokio::test]
async fn accepted_changes_survive_the_server_and_a_bad_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boards.redb");
    let mut accepted = Vec::new();
    // One database handle (a process holds its file locked); each life opens the document
    // anew from it, as a restarted server does (a killed process: immer-store's tests).
    let store = Store::open(&path).unwrap();
    for life in 0..3 {
        let hub = builder(board(5), Limits::default())
            .build_on_store(&store, "team-a")
            .unwrap();
        // What earlier lives committed is there.
        assert_eq!(hub.version(), life * 4);
        let (url, server) = serve(&hub).await;
        let mut ann = Client::connect(&url, "editor-ann").await;
        for n in 0..4_u64 {
            let title = format!("life {life} edit {n}");
            let id = ann.edit(|d| d.set_title(title.clone())).await;
            ann.settle(|| 0).await;
            let Some(FollowerEvent::Accepted { version, .. }) = ann.outcome(id) else {
                panic!("edit {id} not accepted: {:?}", ann.outcome(id));
            };
            accepted.push((*version, title));
        }
        drop(ann);
        server.abort();
        drop(hub);
        // Read back from the file alone.
        let document = reopen(&store, "team-a").await;
        let (version, title) = accepted.last().unwrap();
        assert_eq!(Backend::version(&document), *version);
        assert_eq!(&Backend::state(&document).title, title);
        drop(document);
    }
    let refused = builder(board(1), Limits::default()).build_on_store(&store, "../boards");
    assert!(matches!(
        refused,
        Err(immer_store::Error::InvalidName { .. })
    ));
}

#[tokio::test]
async fn the_server_edits_as_its_own_identity_and_every_client_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("boards.redb")).unwrap();
    let hub = builder(board(3), Limits::default())
        .build_on_store(&store, "team-b")
        .unwrap();
    let (url, server) = serve(&hub).await;
    let mut ann = Client::connect(&url, "editor-ann").await;
    let job = Identity {
        user: "nightly-job".to_owned(),
        role: Role::Editor,
    };
    // Committed, durable, and at every client.
    let version = hub
        .edit(job.clone(), |d| {
            d.set_title("renamed by the server".to_owned());
        })
        .await
        .unwrap();
    assert_eq!(version, 1);
    ann.settle(|| version).await;
    assert_eq!(ann.follower.state().title, "renamed by the server");
    // Validated like a client's change.
    let refused = hub.edit(job.clone(), |d| d.set_title(String::new())).await;
    assert!(
        matches!(
            refused,
            Err(EditError::Rejected(RejectReason::Invalid { .. }))
        ),
        "{refused:?}"
    );
    // Authorized by its role.
    let viewer = Identity {
        user: "report".to_owned(),
        role: Role::Viewer,
    };
    let refused = hub.edit(viewer, |d| d.set_title("no".to_owned())).await;
    assert!(
        matches!(
            refused,
            Err(EditError::Rejected(RejectReason::Forbidden { .. }))
        ),
        "{refused:?}"
    );
    // Made against the state as the clients left it.
    ann.edit(|d| {
        d.todos().remove(0);
    })
    .await;
    ann.settle(|| 0).await;
    let second = hub
        .edit(job, |d| d.todos().get_mut(0).unwrap().set_done(true))
        .await
        .unwrap();
    assert_eq!(second, hub.version());
    ann.settle(|| second).await;
    assert!(ann.follower.state().todos[0].done);
    // Nothing to change: nothing committed.
    let same = hub
        .edit(
            Identity {
                user: "noop".to_owned(),
                role: Role::Editor,
            },
            |_| {},
        )
        .await;
    assert_eq!(same, Ok(second));
    drop(ann);
    server.abort();
    drop(hub);
    // Durable: read back from the file.
    let stored = reopen(&store, "team-b").await;
    assert_eq!(Backend::version(&stored), second);
    assert!(Backend::state(&stored).todos[0].done);
}

#[tokio::test]
async fn an_edit_the_store_cannot_write_is_not_committed_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("boards.redb")).unwrap();
    let hub = builder(board(1), Limits::default())
        .build_on_store(&store, "gone")
        .unwrap();
    let job = Identity {
        user: "job".to_owned(),
        role: Role::Editor,
    };
    assert_eq!(
        hub.edit(job.clone(), |d| d.set_title("one".to_owned()))
            .await,
        Ok(1)
    );
    // Deleted under the open document: its next change cannot be written.
    assert!(store.delete("gone").unwrap());
    let failed = hub.edit(job, |d| d.set_title("two".to_owned())).await;
    assert!(
        matches!(failed, Err(EditError::Unanswered(_))),
        "{failed:?}"
    );
    assert_eq!((hub.version(), hub.state().title.as_str()), (1, "one"));
}

/// The next text message of `socket`, as JSON.
async fn next_json(socket: &mut common::Socket) -> serde_json::Value {
    use futures_util::StreamExt;
    loop {
        let next = tokio::time::timeout(common::WAIT, socket.next())
            .await
            .expect("a message in time");
        match next {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                return serde_json::from_str(&text).unwrap();
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_session_is_resumed_after_the_server_restarts_and_its_change_is_answered_once() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("boards.redb")).unwrap();
    let change = r#"{"type":"change","id":1,"base":0,"patches":[{"op":"replace","path":["title"],"value":"Once"}]}"#;
    // First life: a change committed, its session kept.
    let session = {
        let hub = builder(board(1), Limits::default())
            .build_on_store(&store, "team-a")
            .unwrap();
        let (url, server) = serve(&hub).await;
        let mut socket = common::raw(&url).await;
        socket.send(common::auth("editor-ann")).await.unwrap();
        let welcome = next_json(&mut socket).await;
        socket.send(Message::text(change)).await.unwrap();
        let committed = next_json(&mut socket).await;
        assert_eq!(
            (committed["type"].as_str(), committed["version"].as_u64()),
            (Some("committed"), Some(1))
        );
        server.abort();
        drop(socket);
        drop(hub);
        welcome["session"].as_u64().unwrap()
    };
    // Second life, on the same data (once the first let go of it): the session resumes (its
    // user only), and the change sent again (its answer lost with the first life) is
    // answered as it ended.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    let hub = loop {
        match builder(board(1), Limits::default()).build_on_store(&store, "team-a") {
            Err(Error::InUse(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            built => break built.unwrap(),
        }
    };
    let (url, server) = serve(&hub).await;
    let mut bob = common::raw(&url).await;
    let auth = serde_json::json!({"type": "auth", "token": "editor-bob", "resume": session});
    bob.send(Message::text(auth.to_string())).await.unwrap();
    let welcome = next_json(&mut bob).await;
    assert_eq!(welcome["resumed"], false, "another user may not resume it");
    let mut ann = common::raw(&url).await;
    let auth = serde_json::json!({"type": "auth", "token": "editor-ann", "resume": session});
    ann.send(Message::text(auth.to_string())).await.unwrap();
    let welcome = next_json(&mut ann).await;
    assert_eq!(
        (welcome["resumed"].as_bool(), welcome["session"].as_u64()),
        (Some(true), Some(session))
    );
    ann.send(Message::text(change)).await.unwrap();
    let answer = next_json(&mut ann).await;
    assert_eq!(
        (
            answer["type"].as_str(),
            answer["version"].as_u64(),
            answer["id"].as_u64()
        ),
        (Some("committed"), Some(1), Some(1)),
        "{answer}"
    );
    assert_eq!(hub.version(), 1, "not applied twice");
    // It goes on.
    let next = r#"{"type":"change","id":2,"base":1,"patches":[{"op":"replace","path":["title"],"value":"Twice"}]}"#;
    ann.send(Message::text(next)).await.unwrap();
    let answer = next_json(&mut ann).await;
    assert_eq!(answer["version"].as_u64(), Some(2), "{answer}");
    assert_eq!(hub.state().title, "Twice");
    server.abort();
}
