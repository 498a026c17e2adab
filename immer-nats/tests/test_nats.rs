//! Documents replicated through a real `nats-server` that each test starts.

mod common;

use std::time::Duration;

use common::{Board, Item, NatsServer, Rng, random_edit, store};
use immer::sync::FollowerEvent;
use immer_nats::Config;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_edit_and_converge() {
    let server = NatsServer::start();
    let a = store(&server.url(), Config::default()).await;
    let b = store(&server.url(), Config::default()).await;
    a.create("board", &Board::default()).await.unwrap();
    assert!(matches!(
        b.create("board", &Board::default()).await,
        Err(immer_nats::Error::Exists(_))
    ));
    let ann = a.document::<Board>("board").client(1).join().await.unwrap();
    let bob = b.document::<Board>("board").client(2).join().await.unwrap();
    ann.edit(|d| {
        d.items().push(Item {
            id: 1,
            title: "one".into(),
            done: false,
        })
    });
    bob.edit(|d| {
        d.items().push(Item {
            id: 2,
            title: "two".into(),
            done: false,
        })
    });
    ann.settle(WAIT).await.unwrap();
    bob.settle(WAIT).await.unwrap();
    eprintln!(
        "ann {} {:?} bob {} {:?}",
        ann.version(),
        ann.take_events(),
        bob.version(),
        bob.state()
    );
    ann.wait_for_version(2, WAIT).await.unwrap();
    bob.wait_for_version(2, WAIT).await.unwrap();
    assert_eq!(ann.state(), bob.state());
    assert_eq!(ann.state().items.len(), 2);
    let accepted = ann
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, FollowerEvent::Accepted { .. }))
        .count();
    assert_eq!(accepted, 1);
    assert_eq!(a.documents().await.unwrap(), ["board"]);
    let _ = Rng(1);
    let _ = random_edit;
}
