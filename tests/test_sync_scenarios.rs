//! The five scenarios of the sync-correctness issue, every message delivered (or held back)
//! by hand. Each failed on the protocol before sessions, snapshot answers and exact
//! inverses. Then the violations the seeded simulation of intent found: a pending remove
//! moved through a snapshot onto another item, a dropped edit's effect kept by a later
//! whole-list write, and `AfterDropped` naming an edit that was accepted.

use std::sync::Arc;

use immer::sync::{
    DropReason, Follower, FollowerEvent, Leader, Outbound, Recipient, ToFollower, ToLeader,
};
use immer::{Draftable, Vector};
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    items: Vector<Item>,
    meta: Meta,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u64,
    done: bool,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    title: String,
}

fn board(ids: &[u64]) -> Arc<Board> {
    Arc::new(Board {
        items: ids.iter().map(|&id| Item { id, done: false }).collect(),
        meta: Meta { title: "t".into() },
    })
}

fn item(id: u64) -> Item {
    Item { id, done: false }
}

fn ids(b: &Board) -> Vec<u64> {
    b.items.iter().map(|i| i.id).collect()
}

fn done_ids(b: &Board) -> Vec<u64> {
    b.items.iter().filter(|i| i.done).map(|i| i.id).collect()
}

/// Through JSON, as every message travels.
fn wire<T: Serialize + serde::de::DeserializeOwned>(message: &T) -> T {
    serde_json::from_str(&serde_json::to_string(message).unwrap()).unwrap()
}

/// The messages for `follower` among `outs`.
fn for_follower(outs: &[Outbound<Board>], follower: &Follower<Board>) -> Vec<ToFollower<Board>> {
    outs.iter()
        .filter(|o| o.to == Recipient::All || o.to == Recipient::Session(follower.session()))
        .map(|o| wire(&o.message))
        .collect()
}

fn deliver_outs(f: &mut Follower<Board>, outs: &[Outbound<Board>]) {
    let mine = for_follower(outs, f);
    deliver(f, mine);
}

fn deliver(f: &mut Follower<Board>, messages: Vec<ToFollower<Board>>) {
    for m in messages {
        f.receive(m);
    }
}

/// Polls the follower at `from`, hands what it sends to the leader and delivers every answer
/// to the followers given.
fn sync_one(leader: &mut Leader<Board>, from: usize, nodes: &mut [&mut Follower<Board>]) {
    let messages = nodes[from].poll();
    for m in messages {
        let outs = leader.receive(wire(&m));
        for n in nodes.iter_mut() {
            deliver_outs(n, &outs);
        }
    }
}

fn changes(messages: Vec<ToLeader>) -> Vec<ToLeader> {
    messages
        .into_iter()
        .filter(|m| matches!(m, ToLeader::Change(_)))
        .collect()
}

/// Every outcome the follower reported for `change_id`.
fn outcomes(events: &[FollowerEvent], change_id: u64) -> Vec<&FollowerEvent> {
    events
        .iter()
        .filter(|e| match e {
            FollowerEvent::Accepted { id: c, .. } | FollowerEvent::Dropped { id: c, .. } => {
                *c == change_id
            }
            _ => false,
        })
        .collect()
}

#[test]
fn a_refused_edit_is_reported_when_a_snapshot_arrives_before_the_refusal() {
    let mut leader = Leader::new(board(&[1, 2]));
    let mut ann = Follower::new(leader.join(1));
    let mut bob = Follower::new(leader.join(2));
    bob.edit(|d| {
        d.items().remove(1);
    });
    sync_one(&mut leader, 0, &mut [&mut bob]); // Ann does not hear of it yet
    ann.edit(|d| d.items().get_mut(1).unwrap().set_done(true));
    let mut refusal = Vec::new();
    for m in changes(ann.poll()) {
        refusal = for_follower(&leader.receive(m), &ann); // held back by the network
    }
    leader.compact(leader.version());
    let resync = ann
        .poll()
        .into_iter()
        .find(|m| matches!(m, ToLeader::Resync { .. }))
        .unwrap();
    let snapshot = for_follower(&leader.receive(resync), &ann);
    assert!(matches!(snapshot[..], [ToFollower::Snapshot(_)]));
    deliver(&mut ann, snapshot);
    deliver(&mut ann, refusal); // the refusal, late
    let events = ann.take_events();
    let reported = outcomes(&events, 1);
    assert!(
        matches!(
            reported[..],
            [FollowerEvent::Dropped {
                reason: DropReason::Rejected(_),
                ..
            }]
        ),
        "{events:?}"
    );
    assert!(ann.is_settled());
    assert_eq!(ann.state(), leader.state());
}

#[test]
fn a_later_edit_lands_on_its_item_after_an_earlier_one_is_dropped() {
    let mut leader = Leader::new(board(&[1, 2, 3]));
    let mut ann = Follower::new(leader.join(1));
    let mut bob = Follower::new(leader.join(2));
    let mut cat = Follower::new(leader.join(3));
    // Ann removes item 2 and retitles, in one edit (not sent yet).
    ann.edit(|d| {
        d.items().remove(1);
        d.meta().set_title("ann".into());
    });
    // Bob inserts item 10 between 2 and 3; it commits and reaches everyone.
    bob.edit(|d| {
        let _ = d.items().insert(2, item(10));
    });
    sync_one(&mut leader, 1, &mut [&mut ann, &mut bob, &mut cat]);
    // Ann sees [1, 10, 3] and marks item 10 done (its index 1).
    let target = ann.state().items[1].id;
    assert_eq!(target, 10);
    ann.edit(|d| d.items().get_mut(1).unwrap().set_done(true));
    // Cat replaces the meta: Ann's first edit conflicts and is dropped.
    cat.edit(|d| {
        d.set_meta(Meta {
            title: "cat".into(),
        });
    });
    sync_one(&mut leader, 2, &mut [&mut ann, &mut bob, &mut cat]);
    assert_eq!(done_ids(ann.state()), [target]);
    for _ in 0..3 {
        sync_one(&mut leader, 0, &mut [&mut ann, &mut bob, &mut cat]);
    }
    assert_eq!(
        done_ids(leader.state()),
        [target],
        "{:?}",
        ids(leader.state())
    );
    let events = ann.take_events();
    assert_eq!(outcomes(&events, 1).len(), 1, "{events:?}");
    assert!(matches!(
        outcomes(&events, 2)[..],
        [FollowerEvent::Accepted { .. }]
    ));
    assert_eq!(ann.state(), leader.state());
}

/// Two removals by Bob, committed; the leader compacts past the first; a resync of Ann's at
/// version 0 gets a snapshot of version 2, which the network holds back while Ann catches
/// up to version 1 and edits.
fn snapshot_race() -> (
    Leader<Board>,
    Follower<Board>,
    Follower<Board>,
    Vec<ToFollower<Board>>,
) {
    let mut leader = Leader::new(board(&[1, 2, 3, 4]));
    let mut ann = Follower::new(leader.join(1));
    let mut bob = Follower::new(leader.join(2));
    let mut held_v1 = Vec::new();
    for _ in 0..2 {
        bob.edit(|d| {
            d.items().remove(0);
        });
        for m in changes(bob.poll()) {
            let outs = leader.receive(m);
            deliver_outs(&mut bob, &outs);
            if held_v1.is_empty() {
                held_v1 = for_follower(&outs, &ann);
            }
        }
    }
    leader.compact(1);
    let snapshot = for_follower(
        &leader.receive(ToLeader::Resync {
            session: ann.session(),
            version: 0,
        }),
        &ann,
    );
    deliver(&mut ann, held_v1); // Ann at v1: [2, 3, 4]
    (leader, ann, bob, snapshot)
}

#[test]
fn an_edit_made_after_a_snapshot_lands_on_its_item() {
    let (mut leader, mut ann, mut bob, snapshot) = snapshot_race();
    ann.edit(|d| {
        let _ = d.items().insert(2, item(10)); // between 3 and 4
    });
    let in_flight = changes(ann.poll());
    deliver(&mut ann, snapshot); // v2: [3, 4], Ann's insert still in flight
    // Ann's state is never the snapshot with her insert applied unmoved.
    let target = ann.state().items[1].id;
    ann.edit(|d| d.items().get_mut(1).unwrap().set_done(true));
    for m in in_flight {
        let outs = leader.receive(m);
        deliver_outs(&mut ann, &outs);
        deliver_outs(&mut bob, &outs);
    }
    for _ in 0..3 {
        sync_one(&mut leader, 0, &mut [&mut ann, &mut bob]);
    }
    assert_eq!(
        done_ids(leader.state()),
        [target],
        "{:?}",
        ids(leader.state())
    );
    let events = ann.take_events();
    assert!(matches!(
        outcomes(&events, 1)[..],
        [FollowerEvent::Accepted { .. }]
    ));
    assert!(matches!(
        outcomes(&events, 2)[..],
        [FollowerEvent::Accepted { .. }]
    ));
    assert_eq!(ann.state(), leader.state());
    assert!(ann.is_settled());
}

#[test]
fn an_edit_in_flight_across_a_snapshot_has_exactly_one_outcome() {
    let (mut leader, mut ann, _bob, snapshot) = snapshot_race();
    ann.edit(|d| {
        d.items().remove(2); // item 4
    });
    let in_flight = changes(ann.poll());
    deliver(&mut ann, snapshot); // v2: [3, 4]; index 2 is out of range there
    for m in in_flight {
        let outs = leader.receive(m);
        deliver_outs(&mut ann, &outs);
    }
    for _ in 0..3 {
        sync_one(&mut leader, 0, &mut [&mut ann]);
    }
    let events = ann.take_events();
    let committed = leader
        .log()
        .find(|c| c.session == ann.session() && c.id == 1)
        .map(|c| c.version);
    match (&outcomes(&events, 1)[..], committed) {
        ([FollowerEvent::Accepted { version, .. }], Some(v)) => assert_eq!(*version, v),
        ([FollowerEvent::Dropped { .. }], None) => {}
        (reported, committed) => {
            panic!("reported {reported:?}, committed at {committed:?}: {events:?}")
        }
    }
    // The leader moved it through the removals: item 4 is gone.
    assert_eq!(ids(leader.state()), [3]);
    assert_eq!(ann.state(), leader.state());
    assert!(ann.is_settled());
}

#[test]
fn a_follower_that_rejoins_under_its_client_id_converges() {
    let mut leader = Leader::new(board(&[1]));
    let mut ann = Follower::new(leader.join(1));
    ann.edit(|d| d.items().get_mut(0).unwrap().set_done(true));
    let in_flight = changes(ann.poll()); // on the wire when Ann crashes
    drop(ann);
    // The new life joins by message, and gets a session of its own.
    let joined = leader.receive(ToLeader::Join {
        client: 1,
        nonce: 7,
    });
    let [
        Outbound {
            to: Recipient::Sender,
            message: ToFollower::Welcome(welcome),
        },
    ] = &joined[..]
    else {
        panic!("a join is answered with a welcome to its sender: {joined:?}")
    };
    assert_eq!(welcome.nonce, 7);
    let mut ann2 = Follower::new(wire(welcome));
    for m in in_flight {
        let outs = leader.receive(m);
        deliver_outs(&mut ann2, &outs);
    }
    ann2.edit(|d| {
        d.set_meta(Meta {
            title: "after the restart".into(),
        });
    });
    for _ in 0..5 {
        sync_one(&mut leader, 0, &mut [&mut ann2]);
    }
    let events = ann2.take_events();
    // The old life's change is another session's: it committed, and was not reported as
    // the new life's.
    assert!(matches!(
        outcomes(&events, 1)[..],
        [FollowerEvent::Accepted { .. }]
    ));
    assert!(ann2.is_settled(), "{events:?}");
    assert_eq!(ann2.state(), leader.state());
    assert_eq!(leader.state().meta.title, "after the restart");
    assert_eq!(done_ids(leader.state()), [1]);
}

/// Every outcome in `events` that names another edit, with the edit it names.
fn after_dropped(events: &[FollowerEvent]) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            FollowerEvent::Dropped {
                id: change_id,
                reason: DropReason::AfterDropped { id: named },
            } => Some((*change_id, *named)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_remove_waiting_across_a_snapshot_never_removes_another_item() {
    // Ann's state is [1, 2]. While her first edit is in flight, she removes item 1; Bob
    // meanwhile marks item 1 done and inserts item 3 after it, and the leader compacts.
    // The diff from Ann's [1, 2] to the snapshot's [1', 3, 2] can pair item 1 with item 3:
    // her remove must then be dropped, never moved onto item 3.
    let mut leader = Leader::new(board(&[1, 2]));
    let mut ann = Follower::new(leader.join(1));
    let mut bob = Follower::new(leader.join(2));
    ann.edit(|d| d.meta().set_title("ann".into()));
    let in_flight = changes(ann.poll());
    assert_eq!(ann.state().items[0].id, 1);
    ann.edit(|d| {
        d.items().remove(0);
    });
    bob.edit(|d| d.items().get_mut(0).unwrap().set_done(true));
    bob.edit(|d| {
        let _ = d.items().insert(1, item(3));
    });
    for _ in 0..3 {
        sync_one(&mut leader, 0, &mut [&mut bob]);
    }
    assert_eq!(ids(leader.state()), [1, 3, 2]);
    leader.compact(leader.version());
    let resync = ToLeader::Resync {
        session: ann.session(),
        version: ann.version(),
    };
    let snapshot = for_follower(&leader.receive(resync), &ann);
    assert!(matches!(snapshot[..], [ToFollower::Snapshot(_)]));
    deliver(&mut ann, snapshot);
    // Her waiting remove shows on item 1 or nowhere.
    let local = ids(ann.state());
    assert!(
        local.ends_with(&[3, 2]),
        "after the snapshot, Ann's state (her removal of item 1 waiting) is {local:?}"
    );
    for m in in_flight {
        deliver_outs(&mut ann, &leader.receive(m));
    }
    for _ in 0..4 {
        sync_one(&mut leader, 0, &mut [&mut ann]);
    }
    let events = ann.take_events();
    let committed = ids(leader.state());
    match outcomes(&events, 2)[..] {
        [FollowerEvent::Accepted { .. }] => assert_eq!(
            committed,
            [3, 2],
            "Ann's \"remove item 1\" was accepted; the leader has {committed:?}: {events:?}"
        ),
        [FollowerEvent::Dropped { .. }] => assert_eq!(committed, [1, 3, 2], "{events:?}"),
        _ => panic!("Ann's edit 2 has not exactly one outcome: {events:?}"),
    }
    assert_eq!(ann.state(), leader.state());
    assert!(ann.is_settled());
}

#[test]
fn a_dropped_edit_leaves_no_trace_in_a_later_whole_list_write() {
    // Ann, nothing sent yet: edit 1 marks item 1 done and retitles; edit 2 reverses the
    // items (one write of the whole list, made with item 1 done). Bob replaces the meta
    // first, so edit 1 conflicts and is dropped: its effect must be gone from Ann's state
    // at once, and never committed, edit 2 or not.
    let mut leader = Leader::new(board(&[1, 2]));
    let mut ann = Follower::new(leader.join(1));
    let mut bob = Follower::new(leader.join(2));
    ann.edit(|d| {
        d.items().get_mut(0).unwrap().set_done(true);
        d.meta().set_title("ann".into());
    });
    ann.edit(|d| d.items().reverse());
    bob.edit(|d| {
        d.set_meta(Meta {
            title: "bob".into(),
        });
    });
    sync_one(&mut leader, 1, &mut [&mut ann, &mut bob]);
    let mut events = ann.take_events();
    assert!(
        matches!(outcomes(&events, 1)[..], [FollowerEvent::Dropped { .. }]),
        "{events:?}"
    );
    assert_eq!(
        done_ids(ann.state()),
        [0_u64; 0],
        "edit 1 (item 1 done) was reported dropped, yet Ann's state shows it: items {:?}",
        ann.state().items
    );
    for _ in 0..3 {
        sync_one(&mut leader, 0, &mut [&mut ann, &mut bob]);
    }
    events.extend(ann.take_events());
    assert_eq!(outcomes(&events, 2).len(), 1, "{events:?}");
    let mut state = board(&[1, 2]);
    for committed in leader.log() {
        state = immer::apply_patches(&state, &committed.patches).unwrap();
        assert_eq!(
            done_ids(&state),
            [0_u64; 0],
            "Ann's dropped edit 1 (item 1 done) is committed in version {}: {events:?}",
            committed.version
        );
    }
    assert_eq!(ann.state(), leader.state());
    assert!(ann.is_settled() && bob.is_settled());
}

#[test]
fn after_dropped_never_names_an_edit_that_is_accepted() {
    // Ann's edit 1 commits, but its answer is lost; her edit 2 marks item 1 done, which Bob
    // then removes. A snapshot (after compaction) says edit 1 committed: edit 2 is dropped,
    // and not as made after a dropped edit 1.
    let mut leader = Leader::new(board(&[1, 2]));
    let mut ann = Follower::new(leader.join(1));
    let mut bob = Follower::new(leader.join(2));
    ann.edit(|d| d.items().reverse());
    for m in changes(ann.poll()) {
        leader.receive(m); // committed; the answer is lost
    }
    ann.edit(|d| d.items().get_mut(1).unwrap().set_done(true));
    let target = ann.state().items[1].id;
    let catch_up = ToLeader::Resync {
        session: bob.session(),
        version: 0,
    };
    deliver_outs(&mut bob, &leader.receive(catch_up));
    let at = bob
        .state()
        .items
        .iter()
        .position(|i| i.id == target)
        .unwrap();
    bob.edit(|d| {
        d.items().remove(at);
    });
    sync_one(&mut leader, 0, &mut [&mut bob]);
    leader.compact(leader.version());
    let resync = ToLeader::Resync {
        session: ann.session(),
        version: ann.version(),
    };
    deliver_outs(&mut ann, &leader.receive(resync));
    for _ in 0..3 {
        sync_one(&mut leader, 0, &mut [&mut ann, &mut bob]);
    }
    let events = ann.take_events();
    for (edit, named) in after_dropped(&events) {
        assert!(
            matches!(
                outcomes(&events, named)[..],
                [FollowerEvent::Dropped { .. }]
            ),
            "edit {edit} was dropped as made after edit {named}, whose outcome is {:?}: {events:?}",
            outcomes(&events, named)
        );
    }
    assert!(
        matches!(outcomes(&events, 1)[..], [FollowerEvent::Accepted { .. }]),
        "{events:?}"
    );
    assert!(
        matches!(outcomes(&events, 2)[..], [FollowerEvent::Dropped { .. }]),
        "{events:?}"
    );
    assert_eq!(done_ids(leader.state()), [0_u64; 0]);
    assert_eq!(ann.state(), leader.state());
    assert!(ann.is_settled());
}

#[test]
fn a_pending_write_stays_in_the_local_state_over_an_earlier_write_of_the_same_field() {
    // Bob retitles and his change commits first; Ann retitled too, not sent yet. Her write
    // is ordered after his, so it is what she sees once his arrives, and what commits.
    let mut leader = Leader::new(board(&[1, 2]));
    let mut ann = Follower::new(leader.join(1));
    let mut bob = Follower::new(leader.join(2));
    ann.edit(|d| d.meta().set_title("ann".into()));
    bob.edit(|d| d.meta().set_title("bob".into()));
    sync_one(&mut leader, 1, &mut [&mut ann, &mut bob]);
    assert_eq!(ann.confirmed().meta.title, "bob");
    assert_eq!(
        ann.state().meta.title,
        "ann",
        "Ann's pending write is lost under the earlier one it overwrites"
    );
    for _ in 0..3 {
        sync_one(&mut leader, 0, &mut [&mut ann, &mut bob]);
    }
    assert_eq!(leader.state().meta.title, "ann");
    assert_eq!(ann.state(), leader.state());
    assert_eq!(bob.state(), leader.state());
}

#[test]
fn a_later_write_of_the_value_a_dropped_edit_wrote_is_dropped_after_it() {
    // Ann, nothing sent yet: edit 1 writes the whole meta and marks item 1 done; edit 2
    // writes the whole meta again (made from the first). Bob replaces item 1 first, so edit 1
    // conflicts and is dropped; edit 2 may carry what edit 1 wrote, so it goes too, named as
    // made after edit 1, and neither title is ever committed.
    let mut leader = Leader::new(board(&[1, 2]));
    let mut ann = Follower::new(leader.join(1));
    let mut bob = Follower::new(leader.join(2));
    ann.edit(|d| {
        d.set_meta(Meta {
            title: "ann".into(),
        });
        d.items().get_mut(0).unwrap().set_done(true);
    });
    ann.edit(|d| {
        let title = format!("{}!", d.meta.title);
        d.set_meta(Meta { title });
    });
    bob.edit(|d| {
        let _ = d.items().set(0, item(9));
    });
    sync_one(&mut leader, 1, &mut [&mut ann, &mut bob]);
    let mut events = ann.take_events();
    assert!(
        matches!(outcomes(&events, 1)[..], [FollowerEvent::Dropped { .. }]),
        "{events:?}"
    );
    assert!(
        matches!(
            outcomes(&events, 2)[..],
            [FollowerEvent::Dropped {
                reason: DropReason::AfterDropped { id: 1 },
                ..
            }]
        ),
        "{events:?}"
    );
    assert_eq!(ann.state().meta.title, "t");
    for _ in 0..3 {
        sync_one(&mut leader, 0, &mut [&mut ann, &mut bob]);
    }
    events.extend(ann.take_events());
    assert_eq!(outcomes(&events, 2).len(), 1, "{events:?}");
    assert_eq!(leader.state().meta.title, "t");
    assert_eq!(ann.state(), leader.state());
}
