//! A server of many documents on the embedded store: one socket carries several, each
//! document is authorized, limited, opened on first use and closed when idle.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::many::Many;
use common::{Board, Role, WAIT, board, builder, closed};
use futures_util::{SinkExt, StreamExt};
use immer::sync::FollowerEvent;
use immer_store::Store;
use immer_web::protocol::ClientMessage;
use immer_web::{DocumentError, EditError, Identity, Limits, Server, Storage};
use tokio_tungstenite::tungstenite::Message;

type BoardServer = Server<Board, Role, Store>;

/// A server of the boards `names` (created), on a store in `dir`.
async fn server(dir: &tempfile::TempDir, names: &[&str], limits: Limits) -> BoardServer {
    let store = Store::open(dir.path().join("boards.redb")).unwrap();
    let server = builder(board(3), limits)
        // Viewers read the public boards only.
        .access(|identity, doc| {
            (identity.role != Role::Viewer || doc.starts_with("public")).then_some(identity.role)
        })
        .build_server(store);
    for name in names {
        server.create(name).await.unwrap();
    }
    server
}

async fn listen(server: &BoardServer) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (router, listener) = (server.router(), server.listen(listener));
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("ws://{addr}/ws"), task)
}

fn editor(user: &str) -> Identity<Role> {
    Identity {
        user: user.to_owned(),
        role: Role::Editor,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_socket_carries_many_documents_each_ordered_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &["team-a", "team-b"], Limits::default()).await;
    let (url, task) = listen(&server).await;
    let mut ann = Many::connect(&url, "editor-ann").await;
    let mut bob = Many::connect(&url, "editor-bob").await;
    assert_eq!(ann.subscribe("team-a", None).await, Ok(false));
    assert_eq!(ann.subscribe("team-b", None).await, Ok(false));
    assert_eq!(bob.subscribe("team-a", None).await, Ok(false));

    // Ann edits both boards; Bob sees team-a's edits only, each board at its own version.
    let a = ann.edit("team-a", |d| d.set_title("A".to_owned())).await;
    let b1 = ann.edit("team-b", |d| d.set_title("B".to_owned())).await;
    ann.settle("team-a", 1).await;
    ann.settle("team-b", 1).await;
    let b2 = ann
        .edit("team-b", |d| d.todos().get_mut(0).unwrap().set_done(true))
        .await;
    ann.settle("team-b", 2).await;
    for (doc, id, version) in [("team-a", a, 1), ("team-b", b1, 1), ("team-b", b2, 2)] {
        assert!(
            ann.events[doc].iter().any(|e| matches!(e, FollowerEvent::Accepted { id: i, version: v } if *i == id && *v == version)),
            "{doc} edit {id}: {:?}",
            ann.events[doc]
        );
    }
    bob.settle("team-a", 1).await;
    assert_eq!(bob.state("team-a").title, "A");
    assert!(!bob.followers.contains_key("team-b"));
    assert_eq!(server.document("team-b").await.unwrap().version(), 2);

    // An edit of the server's own, by name, reaches every subscriber of that board.
    let version = server
        .edit("team-a", editor("nightly"), |d| {
            d.set_title("Nightly".to_owned());
        })
        .await
        .unwrap();
    assert_eq!(version, 2);
    // The log says who did what, as the server authenticated them.
    let log = server.document("team-a").await.unwrap().log();
    let authors: Vec<Option<&str>> = log.iter().map(|c| c.author.as_deref()).collect();
    assert_eq!(authors, [Some("editor-ann"), Some("nightly")]);
    bob.settle("team-a", 2).await;
    ann.settle("team-a", 2).await;
    assert_eq!(bob.state("team-a").title, "Nightly");

    // Unsubscribed, Bob hears no more of team-a.
    bob.send(
        &ClientMessage::Unsubscribe {
            doc: "team-a".to_owned(),
        },
        "team-a",
    )
    .await;
    while bob.unsubscribed.is_empty() {
        bob.step().await;
    }
    assert_eq!(
        bob.unsubscribed,
        [("team-a".to_owned(), "unsubscribed".to_owned())]
    );
    ann.edit("team-a", |d| d.set_title("After".to_owned()))
        .await;
    ann.settle("team-a", 3).await;
    // (What Bob's follower sent before it heard it is answered "not subscribed".)
    let heard = bob.heard("team-a", Duration::from_millis(300)).await;
    assert!(heard.iter().all(|t| t == "unsubscribed"), "{heard:?}");

    // A change for a board not subscribed is answered so, and changes nothing.
    let change = ClientMessage::Change {
        id: 1,
        base: 0,
        patches: Vec::new(),
    };
    bob.send(&change, "team-b").await;
    while bob.unsubscribed.len() < 2 {
        bob.step().await;
    }
    assert_eq!(
        bob.unsubscribed[1],
        (
            "team-b".to_owned(),
            "not subscribed to this document".to_owned()
        )
    );

    // Unknown and bad names are refused with the reason, the socket kept.
    let missing = bob.subscribe("nowhere", None).await.unwrap_err();
    assert!(
        missing.contains("no document is named \"nowhere\""),
        "{missing}"
    );
    let ten_thousand = "x".repeat(10_000);
    for name in ["../etc", "a/b", "..", "a\0b", ten_thousand.as_str()] {
        let bad = bob.subscribe(name, None).await.unwrap_err();
        assert!(bad.contains(immer::sync::DOCUMENT_NAME_RULE), "{bad}");
        assert!(bad.len() < 300, "the name is quoted short: {bad}");
    }
    assert_eq!(bob.subscribe("team-a", None).await, Ok(false));
    assert_eq!(bob.state("team-a").title, "After");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_resumed_on_a_new_socket_and_a_message_without_a_document_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &["team-a"], Limits::default()).await;
    let (url, task) = listen(&server).await;
    let mut ann = Many::connect(&url, "editor-ann").await;
    ann.subscribe("team-a", None).await.unwrap();
    let session = ann.sessions["team-a"];
    ann.edit("team-a", |d| d.set_title("One".to_owned())).await;
    ann.settle("team-a", 1).await;
    let follower = ann.followers.remove("team-a").unwrap();
    drop(ann);

    let mut again = Many::connect(&url, "editor-ann").await;
    again.followers.insert("team-a".to_owned(), follower);
    server
        .edit("team-a", editor("nightly"), |d| {
            d.set_title("Two".to_owned());
        })
        .await
        .unwrap();
    assert_eq!(again.subscribe("team-a", Some(session)).await, Ok(true));
    again.settle("team-a", 2).await;
    assert_eq!(again.state("team-a").title, "Two");

    // Every message but the first names its document.
    let text = serde_json::to_string(&ClientMessage::Snapshot).unwrap();
    again.socket.send(Message::text(text)).await.unwrap();
    let (code, reason) = closed(&mut again.socket).await.unwrap();
    assert_eq!(code, 1007);
    assert!(reason.contains("names its document"), "{reason}");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_document_is_authorized_for_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &["public-news", "team-a"], Limits::default()).await;
    let (url, task) = listen(&server).await;
    let mut viewer = Many::connect(&url, "viewer-vic").await;
    let refused = viewer.subscribe("team-a", None).await.unwrap_err();
    assert_eq!(refused, "forbidden: viewer-vic may not read this document");
    assert_eq!(viewer.subscribe("public-news", None).await, Ok(false));
    // Read, not written: the policy gives viewers nothing to write.
    let id = viewer
        .edit("public-news", |d| d.set_title("Mine".to_owned()))
        .await;
    viewer.settle("public-news", 0).await;
    assert!(matches!(
        viewer.events["public-news"]
            .iter()
            .find(|e| matches!(e, FollowerEvent::Dropped { id: i, .. } if *i == id)),
        Some(FollowerEvent::Dropped { .. })
    ));
    assert_eq!(server.document("public-news").await.unwrap().version(), 0);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_per_socket_and_open_documents_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.max_documents_per_connection = 2;
    limits.max_open_documents = 3;
    let names = ["d1", "d2", "d3", "d4"];
    let server = server(&dir, &names, limits).await;
    let (url, task) = listen(&server).await;
    let mut ann = Many::connect(&url, "editor-ann").await;
    ann.subscribe("d1", None).await.unwrap();
    ann.subscribe("d2", None).await.unwrap();
    let refused = ann.subscribe("d3", None).await.unwrap_err();
    assert_eq!(refused, "too many documents on this connection: at most 2");

    let mut bob = Many::connect(&url, "editor-bob").await;
    bob.subscribe("d3", None).await.unwrap();
    assert_eq!(server.open_documents(), 3);
    // Every open document is in use: a fourth is refused, the others untouched.
    let refused = bob.subscribe("d4", None).await.unwrap_err();
    assert_eq!(refused, DocumentError::TooManyOpen(3).to_string());
    assert!(matches!(
        server
            .edit("d4", editor("job"), |d| d.set_title("x".to_owned()))
            .await,
        Err(EditError::Document(DocumentError::TooManyOpen(3)))
    ));
    // One let go of makes room: the one unused is closed for the new one.
    bob.send(
        &ClientMessage::Unsubscribe {
            doc: "d3".to_owned(),
        },
        "d3",
    )
    .await;
    bob.step().await;
    assert_eq!(bob.subscribe("d4", None).await, Ok(false));
    assert_eq!(server.open_documents(), 3);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_document_is_closed_and_opened_again_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.document_idle = Duration::from_millis(200);
    let server = server(&dir, &["team-a"], limits).await;
    let (url, task) = listen(&server).await;
    let mut ann = Many::connect(&url, "editor-ann").await;
    ann.subscribe("team-a", None).await.unwrap();
    ann.edit("team-a", |d| d.set_title("Kept".to_owned())).await;
    ann.settle("team-a", 1).await;
    // Subscribed: open however long.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(server.open_documents(), 1);
    drop(ann);
    // Let go of, then closed by the server on its own.
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.open_documents() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the idle document was not closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let go of (at once, off the runtime): the store holds it alone now, so a second opener
    // is not refused.
    let document = loop {
        match server.storage().document::<Board>("team-a").open() {
            Err(immer_store::Error::InUse(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            opened => break opened.unwrap(),
        }
    };
    assert_eq!(immer::sync::Backend::version(&document), 1);
    drop(document);
    let mut bob = Many::connect(&url, "editor-bob").await;
    bob.subscribe("team-a", None).await.unwrap();
    assert_eq!(bob.state("team-a").title, "Kept");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_document_ends_every_subscription_and_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &["team-a", "team-b"], Limits::default()).await;
    let (url, task) = listen(&server).await;
    let mut ann = Many::connect(&url, "editor-ann").await;
    ann.subscribe("team-a", None).await.unwrap();
    ann.subscribe("team-b", None).await.unwrap();
    assert!(server.delete("team-a").await.unwrap());
    ann.step().await;
    assert_eq!(
        ann.unsubscribed,
        [("team-a".to_owned(), "the document was deleted".to_owned())]
    );
    assert_eq!(server.list().await.unwrap(), ["team-b"]);
    assert!(matches!(
        server
            .edit("team-a", editor("job"), |d| d.set_title("x".to_owned()))
            .await,
        Err(EditError::Document(DocumentError::NotFound(_)))
    ));
    // The other board goes on, on the same socket.
    ann.edit("team-b", |d| d.set_title("B".to_owned())).await;
    ann.settle("team-b", 1).await;
    // A board made again under the same name starts anew.
    server
        .create_with("team-a", Arc::new(board(1)))
        .await
        .unwrap();
    assert_eq!(ann.subscribe("team-a", None).await, Ok(false));
    assert_eq!(ann.state("team-a").todos.len(), 1);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_of_one_document_speaks_the_one_document_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &["team-a"], Limits::default()).await;
    let (url, task) = listen(&server).await;
    let mut ann = Many::connect(&url, "editor-ann").await;
    ann.subscribe("team-a", None).await.unwrap();
    // The JavaScript client's `connect`, at the document's own address.
    let mut bob = common::Client::connect(&format!("{url}/team-a"), "editor-bob").await;
    let id = bob.edit(|d| d.set_title("Bob's".to_owned())).await;
    bob.settle(|| 1).await;
    assert!(matches!(
        bob.outcome(id),
        Some(FollowerEvent::Accepted { version: 1, .. })
    ));
    ann.settle("team-a", 1).await;
    assert_eq!(ann.state("team-a").title, "Bob's");

    // Refused with a code that says why.
    for (path, token, code, said) in [
        ("nowhere", "editor-bob", 4404, "no document is named"),
        ("team-a", "viewer-vic", 4403, "forbidden"),
    ] {
        let mut socket = common::raw(&format!("{url}/{path}")).await;
        socket.send(common::auth(token)).await.unwrap();
        let (got, reason) = closed(&mut socket).await.unwrap();
        assert_eq!(got, code, "{reason}");
        assert!(reason.contains(said), "{reason}");
    }
    // Deleted while connected: closed with 4410.
    assert!(server.delete("team-a").await.unwrap());
    let (code, reason) = closed(&mut bob.socket).await.unwrap();
    assert_eq!((code, reason.as_str()), (4410, "the document was deleted"));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_again_and_again_costs_the_welcomes_and_a_flood_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.bytes_per_second = 1_000;
    limits.burst_bytes = 100_000;
    let server = server(&dir, &[], limits).await;
    // A board whose welcome is about 30 KB.
    server
        .create_with("big", Arc::new(board(500)))
        .await
        .unwrap();
    let (url, task) = listen(&server).await;
    let mut ann = Many::connect(&url, "editor-ann").await;
    let (mut welcomes, mut size) = (0, 0);
    let (code, reason) = loop {
        assert!(welcomes < 20, "never closed after {welcomes} welcomes");
        let subscribe = ClientMessage::Subscribe {
            doc: "big".to_owned(),
            resume: None,
        };
        ann.send(&subscribe, "big").await;
        let next = tokio::time::timeout(WAIT, ann.socket.next()).await.unwrap();
        match next {
            Some(Ok(Message::Text(text))) => {
                size = text.len();
                welcomes += 1;
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                break (u16::from(frame.code), frame.reason.to_string());
            }
            other => panic!("neither a welcome nor a close frame: {other:?}"),
        }
    };
    // As many as fit the burst (and the one that did not, queued before the close); then
    // the socket is closed with the reason.
    let fit = 100_000 / size;
    assert!(
        (fit..=fit + 1).contains(&welcomes),
        "{welcomes} welcomes of {size} bytes"
    );
    assert_eq!(code, 1008);
    assert!(reason.contains("bytes per second"), "{reason}");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_unused_the_longest_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.max_open_documents = 2;
    let server = server(&dir, &["a", "b", "c"], limits).await;
    for (n, name) in ["a", "b", "a", "c"].into_iter().enumerate() {
        server
            .edit(name, editor("job"), |d| d.set_title(format!("{name}{n}")))
            .await
            .unwrap();
    }
    // "b" was used before the last use of "a".
    assert!(server.is_open("a") && server.is_open("c") && !server.is_open("b"));
    // Opened again from disk, with what it had.
    assert_eq!(server.document("b").await.unwrap().state().title, "b1");
    assert!(!server.is_open("a"));
}

/// The store, slow to open a document: to catch what happens meanwhile.
struct Slow {
    store: Store,
    delay: Duration,
}

impl Storage<Board> for Slow {
    type Backend = immer_store::Document<Board>;

    async fn open(
        &self,
        name: &str,
        checks: immer::sync::Checks<Board>,
    ) -> Result<Self::Backend, DocumentError> {
        tokio::time::sleep(self.delay).await;
        Storage::<Board>::open(&self.store, name, checks).await
    }

    fn later(
        backend: &Self::Backend,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<immer::sync::Outbound<Board>>> {
        <Store as Storage<Board>>::later(backend)
    }

    async fn create(&self, name: &str, state: Arc<Board>) -> Result<(), DocumentError> {
        Storage::<Board>::create(&self.store, name, state).await
    }

    async fn delete(&self, name: &str) -> Result<bool, DocumentError> {
        Storage::<Board>::delete(&self.store, name).await
    }

    async fn list(&self) -> Result<Vec<String>, DocumentError> {
        Storage::<Board>::list(&self.store).await
    }
}

async fn slow_server(
    dir: &tempfile::TempDir,
    names: &[&str],
    limits: Limits,
) -> Server<Board, Role, Slow> {
    let store = Store::open(dir.path().join("boards.redb")).unwrap();
    let server = builder(board(3), limits).build_server(Slow {
        store,
        delay: Duration::from_millis(300),
    });
    for name in names {
        server.create(name).await.unwrap();
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_given_up_half_way_holds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.max_open_documents = 1;
    let server = slow_server(&dir, &["a", "b"], limits).await;
    // The caller goes away while "a" opens.
    let edit = server.edit("a", editor("job"), |d| d.set_title("A".to_owned()));
    assert!(
        tokio::time::timeout(Duration::from_millis(50), edit)
            .await
            .is_err()
    );
    // Nothing of it stands in the way of another.
    server
        .edit("b", editor("job"), |d| d.set_title("B".to_owned()))
        .await
        .unwrap();
    assert!(server.is_open("b"));
    assert_eq!(server.open_documents(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_deleted_while_it_opens_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = slow_server(&dir, &["a"], Limits::default()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (router, listener) = (server.router(), server.listen(listener));
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let mut ann = Many::connect(&url, "editor-ann").await;
    let subscribing = tokio::spawn(async move {
        let answer = ann.subscribe("a", None).await;
        (ann, answer)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(server.delete("a").await.unwrap());
    let (_ann, answer) = subscribing.await.unwrap();
    let reason = answer.unwrap_err();
    assert!(
        reason.contains("deleted") || reason.contains("no document"),
        "{reason}"
    );
    assert!(!server.is_open("a"));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_hub_keeps_its_document_open_and_a_let_go_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.document_idle = Duration::ZERO;
    let server = server(&dir, &["a"], limits).await;
    let hub = server.document("a").await.unwrap();
    assert_eq!(server.close_idle(), 0);
    assert!(server.is_open("a"));
    drop(hub);
    assert_eq!(server.close_idle(), 1);
    // Opened again from disk, no second opener in the way.
    server
        .edit("a", editor("job"), |d| d.set_title("Again".to_owned()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_the_server_ended_count_no_more_and_one_user_cannot_push_out_another() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.max_documents_per_connection = 1;
    limits.max_sessions_per_user = 2;
    limits.max_sessions = 4;
    let server = server(&dir, &["a", "b"], limits).await;
    let (url, task) = listen(&server).await;

    // Bob's session waits to be resumed.
    let mut bob = Many::connect(&url, "editor-bob").await;
    bob.subscribe("b", None).await.unwrap();
    let bobs = bob.sessions["b"];
    drop(bob);

    // Ann subscribes again and again, and unsubscribes: her sessions make room among her own.
    let mut ann = Many::connect(&url, "editor-ann").await;
    for _ in 0..10 {
        ann.subscribe("b", None).await.unwrap();
        ann.send(
            &ClientMessage::Unsubscribe {
                doc: "b".to_owned(),
            },
            "b",
        )
        .await;
        while !ann
            .unsubscribed
            .iter()
            .any(|(d, r)| d == "b" && r == "unsubscribed")
        {
            ann.step().await;
        }
        ann.unsubscribed.clear();
    }
    let mut bob = Many::connect(&url, "editor-bob").await;
    assert_eq!(bob.subscribe("b", Some(bobs)).await, Ok(true));

    // At most one document on Ann's socket: one the server deleted is not counted.
    ann.subscribe("a", None).await.unwrap();
    assert!(server.delete("a").await.unwrap());
    while ann.unsubscribed.is_empty() {
        ann.step().await;
    }
    assert_eq!(ann.subscribe("b", None).await, Ok(false));
    task.abort();
}
