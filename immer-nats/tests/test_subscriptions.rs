//! Subscriptions by path on a document: a node's subscription gets its own edits and the
//! other node's changes that touch its pattern, and nothing else. That a dropped receiver
//! ends its subscription, in the follower too, is checked where the follower's subscriptions
//! are seen: `node.rs`'s unit test `a_dropped_receiver_ends_its_subscription_in_the_follower_too`.

mod common;

use std::time::Duration;

use common::{Board, Item, NatsServer, WAIT, store};
use immer_nats::Config;

fn item(id: u64) -> Item {
    Item {
        id,
        title: format!("item {id}"),
        done: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_gets_the_changes_that_touch_its_pattern() {
    let server = NatsServer::start();
    let node_a = store(&server.url(), Config::default()).await;
    let node_b = store(&server.url(), Config::default()).await;
    let start = Board {
        title: "board".to_owned(),
        items: vec![item(0), item(1)],
    };
    node_b.create("subscribed", &start).await.unwrap();
    let a = node_a
        .document::<Board>("subscribed")
        .client(1)
        .join()
        .await
        .unwrap();
    let b = node_b
        .document::<Board>("subscribed")
        .client(2)
        .join()
        .await
        .unwrap();

    let mut second_done = a.subscribe(immer::path::<Board>().items().at(1).done());
    let mut titles = a.subscribe(immer::path::<Board>().title());
    let dropped = a.subscribe(immer::path::<Board>().everything());
    drop(dropped);

    // Node A's own edit of the title, and node B's of the first item's title: neither
    // touches the second item's `done`.
    a.edit(|d| d.set_title("mine".to_owned()));
    let change = tokio::time::timeout(WAIT, titles.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(change.patches.len(), 1);
    assert_eq!(change.state.title, "mine");
    b.edit(|d| {
        d.items()
            .get_mut(0)
            .unwrap()
            .set_title("renamed".to_owned());
    });
    // Node B ticks the second item: node A gets it when it applies the log.
    b.edit(|d| d.items().get_mut(1).unwrap().set_done(true));
    let change = tokio::time::timeout(WAIT, second_done.recv())
        .await
        .unwrap()
        .unwrap();
    let paths: Vec<String> = change.patches.iter().map(|p| p.path.to_pointer()).collect();
    assert_eq!(paths, ["/items/1/done"]);
    assert!(change.state.items[1].done);

    // Removing the first item shifts the second: that touches `/items/1/done` too.
    b.edit(|d| {
        d.items().remove(0);
    });
    let change = tokio::time::timeout(WAIT, second_done.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(change.state.items.len(), 1);

    a.settle(WAIT).await.unwrap();
    b.settle(WAIT).await.unwrap();
    a.wait_for_version(b.version(), WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(second_done.try_recv().is_err(), "nothing else touched it");
    assert!(titles.try_recv().is_err(), "nothing else touched the title");
}
