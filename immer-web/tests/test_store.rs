//! The hub on the embedded durable store: clients' changes survive the server.

mod common;

use common::{Board, Client, board, builder, serve};
use immer::sync::{Backend, FollowerEvent};
use immer_store::Store;
use immer_web::Limits;

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
        server.abort();
        drop(hub);
        // Read back from the file alone.
        let document = store.document::<Board>("team-a").open().unwrap();
        let (version, title) = accepted.last().unwrap();
        assert_eq!(Backend::version(&document), *version);
        assert_eq!(&Backend::state(&document).title, title);
    }
    let refused = builder(board(1), Limits::default()).build_on_store(&store, "../boards");
    assert!(matches!(
        refused,
        Err(immer_store::Error::InvalidName { .. })
    ));
}
