//! A follower far behind catches up: 10,000 committed changes reach a follower that has 500
//! edits of its own waiting, on a board of 100,000 todos, once with a `Vec` of todos and
//! once with an `imbl` `Vector`. Side by side in one run: `Follower::receive_all` (the
//! pending edits and the whole run moved through each other once, the run applied once to
//! the confirmed state and once to the local one) and the algorithm before it, written out
//! here (for every incoming change: move each pending edit through it, copy the confirmed
//! state along the change's paths, then build the local state anew by applying every pending
//! edit to a copy), timed over its first changes and projected to all of them.
//!
//! ```sh
//! cargo run --release --example catch_up
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use immer::sync::{Committed, Follower, Leader, ToFollower};
use immer::{Draftable, Patch, Vector, apply_patches, apply_with_inverse, transform};
use serde::{Deserialize, Serialize};

#[path = "common/mod.rs"]
mod common;

use common::{Todo, todo};

const TODOS: u64 = 100_000;
const BEHIND: usize = 10_000;
const PENDING: usize = 500;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct VecBoard {
    title: String,
    todos: Vec<Todo>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct VectorBoard {
    title: String,
    todos: Vector<Todo>,
}

/// xorshift64*: the same workload in every run, without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// One random edit of the board as a user makes it: a tick, a rename, an insert or a
/// removal at a random place.
macro_rules! random_edit {
    ($follower:expr, $rng:expr, $next_id:expr) => {{
        let len = $follower.state().todos.len();
        let at = $rng.below(len);
        let kind = $rng.below(10);
        let id = $next_id;
        $follower.edit(|d| match kind {
            0..=3 => d.todos().get_mut(at).unwrap().set_done(true),
            4..=6 => d
                .todos()
                .get_mut(at)
                .unwrap()
                .set_text(format!("renamed {id}")),
            7 | 8 => {
                let _ = d.todos().insert(at, todo(id));
            }
            _ => {
                d.todos().remove(at);
            }
        })
    }};
}

/// The committed changes another user makes while the follower is away, written by a leader
/// of the `Vector` board (patches are the same JSON for either board).
fn committed_changes() -> Vec<Committed> {
    let start = VectorBoard {
        title: "board".into(),
        todos: (0..TODOS).map(todo).collect(),
    };
    let mut leader = Leader::new(Arc::new(start));
    // Session 1 is Ann's in the runs below: Bob's changes come from session 2.
    let _ = leader.join(1);
    let mut bob = Follower::new(leader.join(2));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut n = 0;
    while leader.version() < BEHIND as u64 {
        n += 1;
        random_edit!(bob, rng, 1_000_000 + n);
        for message in bob.poll() {
            let answers = leader.receive(message);
            bob.receive_all(answers.into_iter().map(|out| out.message));
        }
    }
    assert_eq!(leader.version(), BEHIND as u64);
    leader.log().cloned().collect()
}

/// The algorithm before `receive_all`, for one incoming change of another node: each pending
/// edit moved through it, the confirmed state copied along its paths, the local state built
/// anew from the confirmed one (each pending edit applied to a copy, with its inverse).
fn before<T: Draftable>(confirmed: &mut Arc<T>, pending: &mut Vec<Vec<Patch>>, c: &Committed) {
    let mut theirs = c.patches.clone();
    pending.retain_mut(|edit| match transform(edit, &theirs) {
        Ok((mine, theirs_after)) => {
            *edit = mine;
            theirs = theirs_after;
            true
        }
        Err(_) => false,
    });
    *confirmed = apply_patches(confirmed, &c.patches).expect("the leader's change applies");
    let mut local = Arc::clone(confirmed);
    pending.retain(|edit| match apply_with_inverse(&local, edit) {
        Ok((next, _inverse)) => {
            local = next;
            true
        }
        Err(_) => false,
    });
}

struct Figures {
    board: &'static str,
    now: Duration,
    dropped: usize,
    before_per_change: Duration,
    before_measured: usize,
}

macro_rules! run {
    ($board:ident, $name:expr, $before_changes:expr, $log:expr) => {{
        let start = $board {
            title: "board".into(),
            todos: (0..TODOS).map(todo).collect(),
        };
        let mut leader = Leader::new(Arc::new(start));
        let mut ann = Follower::new(leader.join(1));
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        for n in 0..PENDING {
            random_edit!(ann, rng, 2_000_000 + n as u64);
        }
        // The change in flight, sent before Ann went away.
        let _ = ann.poll();

        // Before: the first changes, one at a time.
        let mut confirmed = Arc::clone(ann.confirmed());
        let mut pending: Vec<Vec<Patch>> = ann.pending_edits().map(|(_, p)| p.to_vec()).collect();
        let measured: usize = $before_changes;
        let clock = Instant::now();
        for c in &$log[..measured] {
            before(&mut confirmed, &mut pending, c);
        }
        let before_per_change = clock.elapsed() / measured as u32;

        // Now: the whole run at once, as a resync answers it.
        let messages: Vec<ToFollower<$board>> =
            $log.iter().cloned().map(ToFollower::Committed).collect();
        let clock = Instant::now();
        ann.receive_all(messages);
        let now = clock.elapsed();
        assert_eq!(ann.version(), BEHIND as u64);
        let dropped = PENDING - ann.pending_edits().len();

        // The local state is the confirmed one with the pending edits, and Ann's edits all
        // end once sent: she converges with the leader.
        let mut rebuilt = Arc::clone(ann.confirmed());
        for (_, patches) in ann.pending_edits() {
            rebuilt = apply_patches(&rebuilt, patches).expect("a pending edit applies");
        }
        assert!(
            rebuilt == *ann.state(),
            "the local state is confirmed + pending"
        );
        let mut replay = leader;
        for c in $log.iter().cloned() {
            replay.append(c).expect("the log appends");
        }
        for _ in 0..(2 * PENDING + 10) {
            for message in ann.poll() {
                let answers = replay.receive(message);
                ann.receive_all(answers.into_iter().map(|out| out.message));
            }
            if ann.is_settled() {
                break;
            }
        }
        assert!(ann.is_settled(), "Ann's edits all answered");
        assert!(
            ann.state() == replay.state(),
            "Ann converges with the leader"
        );
        Figures {
            board: $name,
            now,
            dropped,
            before_per_change,
            before_measured: measured,
        }
    }};
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let log = committed_changes();
    println!(
        "A follower {BEHIND} changes behind with {PENDING} pending edits on a board of {TODOS} todos"
    );
    println!(
        "| board | receive_all (all {BEHIND}) | edits dropped | before: per change | before: {BEHIND} changes (projected) | before / now |"
    );
    println!("|---|---|---|---|---|---|");
    let figures = [
        run!(VecBoard, "Vec<Todo>", 3, log),
        run!(VectorBoard, "Vector<Todo>", 40, log),
    ];
    for f in figures {
        let projected = f.before_per_change * BEHIND as u32;
        println!(
            "| {} | {} | {} | {} (over {} changes) | {:.1} s | {:.0}x |",
            f.board,
            ms(f.now),
            f.dropped,
            ms(f.before_per_change),
            f.before_measured,
            projected.as_secs_f64(),
            projected.as_secs_f64() / f.now.as_secs_f64()
        );
    }
}
