//! Many documents open on a node: the server holds one consumer per node, not one per open
//! document, and every document converges on every node, through a node cut off for a while
//! and a restart of the server.

mod common;

use std::time::Duration;

use common::{Board, Item, NatsServer, Proxy, WAIT, store};
use futures_util::StreamExt;
use immer_nats::{Config, Document, Store};

const DOCUMENTS: usize = 200;

fn name(i: usize) -> String {
    format!("doc-{i}")
}

/// Every document, joined by one node (at most 32 joins at a time).
async fn open_all(store: &Store, client: u64) -> Vec<Document<Board>> {
    futures_util::stream::iter(0..DOCUMENTS)
        .map(|i| {
            let store = store.clone();
            async move {
                store
                    .document::<Board>(&name(i))
                    .client(client)
                    .join()
                    .await
                    .unwrap()
            }
        })
        .buffered(32)
        .collect()
        .await
}

/// How many consumers the log's stream has, as the server says.
async fn consumer_count(url: &str, config: &Config) -> usize {
    let client = async_nats::connect(url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(&config.stream).await.unwrap();
    stream.info().await.unwrap().state.consumer_count
}

/// Waits until both nodes' copies of each document have settled and are equal.
async fn converge(a: &[Document<Board>], b: &[Document<Board>]) {
    for (x, y) in a.iter().zip(b) {
        x.settle(WAIT).await.unwrap();
        y.settle(WAIT).await.unwrap();
        let version = x.version().max(y.version());
        x.wait_for_version(version, WAIT).await.unwrap();
        y.wait_for_version(version, WAIT).await.unwrap();
        assert_eq!(x.state(), y.state(), "{}", x.name());
    }
}

fn item(id: u64) -> Item {
    Item {
        id,
        title: format!("item {id}"),
        done: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_with_two_hundred_documents_open_hold_one_consumer_each_and_converge() {
    let mut server = NatsServer::start();
    let config = Config::default();
    let proxy = Proxy::start(server.port).await;
    // Node A reaches the server through a proxy, to be cut off; node B directly.
    let node_a = store(&proxy.url(), config.clone()).await;
    let node_b = store(&server.url(), config.clone()).await;
    futures_util::stream::iter(0..DOCUMENTS)
        .for_each_concurrent(16, |i| {
            let node_b = node_b.clone();
            async move { node_b.create(&name(i), &Board::default()).await.unwrap() }
        })
        .await;
    let a = open_all(&node_a, 1).await;
    let b = open_all(&node_b, 2).await;
    let consumers = consumer_count(&server.url(), &config).await;
    assert!(
        consumers <= 2,
        "{consumers} consumers for 2 nodes with {DOCUMENTS} documents open each"
    );

    // Both nodes edit every document at once.
    for (x, y) in a.iter().zip(&b) {
        x.edit(|d| d.items().push(item(1)));
        y.edit(|d| d.items().push(item(2)));
    }
    converge(&a, &b).await;
    for x in &a {
        assert_eq!(x.state().items.len(), 2, "{}", x.name());
    }

    // Node A is cut off; node B edits every document, and A a few of its own.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for y in &b {
        y.edit(|d| d.items().push(item(3)));
    }
    for x in &a[..20] {
        x.edit(|d| d.set_title("offline".into()));
    }
    for y in &b {
        y.settle(WAIT).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.heal();
    converge(&a, &b).await;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            x.state().items.iter().any(|item| item.id == 3),
            "{}",
            x.name()
        );
        let title = if i < 20 { "offline" } else { "" };
        assert_eq!(y.state().title, title, "{}", y.name());
    }
    // The server restarts: both nodes follow the log anew, and edit on.
    server.restart();
    for y in &b {
        y.edit(|d| d.items().push(item(4)));
    }
    for x in &a[20..40] {
        x.edit(|d| d.set_title("restarted".into()));
    }
    converge(&a, &b).await;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            x.state().items.iter().any(|item| item.id == 4),
            "{}",
            x.name()
        );
        let title = match i {
            0..20 => "offline",
            20..40 => "restarted",
            _ => "",
        };
        assert_eq!(y.state().title, title, "{}", y.name());
    }
    // A reader that followed the log anew may leave its old consumer for the server to
    // remove after its inactivity threshold: at most one more per node.
    let consumers = consumer_count(&server.url(), &config).await;
    assert!(
        consumers <= 4,
        "{consumers} consumers after the cut and the restart for 2 nodes with {DOCUMENTS} documents open each"
    );
}
