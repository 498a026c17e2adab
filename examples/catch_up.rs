//! A follower far behind catches up: 10,000 committed changes reach a follower that has 500
//! edits of its own waiting, on a board of 100,000 todos, once with a `Vec` of todos and
//! once with an `imbl` `Vector`, for two mixes of edits. Side by side in one run:
//!
//! - `Follower::receive_all`: the pending edits and the whole run moved through each other
//!   once, the run applied in place to the confirmed state, the local state brought along
//!   (or built anew from the confirmed one with the pending edits, when that costs less);
//! - the floor: `apply_patches_mut` of the same run to a plain copy of the state, which any
//!   replica pays, whatever it does about pending edits (for `Vector`, an insert or removal
//!   in the middle costs tens of microseconds);
//! - the algorithm before it, written out here (for every incoming change: move each pending
//!   edit through it, copy the confirmed state along the change's paths, then build the
//!   local state anew by applying every pending edit to a copy), timed over its first
//!   changes and projected to all of them.
//!
//! ```sh
//! cargo run --release --example catch_up
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use immer::sync::{Committed, Follower, Leader, ToFollower};
use immer::{
    Draftable, Patch, Vector, apply_patches, apply_patches_mut, apply_with_inverse, transform,
};
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

/// How often each kind of edit is made, in percent: ticks, renames, appends, inserts at a
/// random place, removals at a random place.
#[derive(Clone, Copy)]
struct Mix {
    name: &'static str,
    tick: usize,
    rename: usize,
    append: usize,
    insert: usize,
}

/// A board in use: mostly ticks and renames, new todos mostly at the end.
const TYPICAL: Mix = Mix {
    name: "typical (45% ticks, 35% renames, 10% appends, 5% inserts, 5% removals)",
    tick: 45,
    rename: 35,
    append: 10,
    insert: 5,
};

/// Reordering all day: three edits in ten insert or remove in the middle.
const LIST_HEAVY: Mix = Mix {
    name: "list-heavy (40% ticks, 30% renames, 20% inserts, 10% removals)",
    tick: 40,
    rename: 30,
    append: 0,
    insert: 20,
};

/// One random edit of the board as a user makes it, drawn from `mix`.
macro_rules! random_edit {
    ($follower:expr, $rng:expr, $next_id:expr, $mix:expr) => {{
        let mix: Mix = $mix;
        let len = $follower.state().todos.len();
        let at = $rng.below(len);
        let kind = $rng.below(100);
        let id = $next_id;
        $follower.edit(|d| {
            if kind < mix.tick {
                d.todos().get_mut(at).unwrap().set_done(true);
            } else if kind < mix.tick + mix.rename {
                d.todos()
                    .get_mut(at)
                    .unwrap()
                    .set_text(format!("renamed {id}"));
            } else if kind < mix.tick + mix.rename + mix.append {
                d.todos().push(todo(id));
            } else if kind < mix.tick + mix.rename + mix.append + mix.insert {
                let _ = d.todos().insert(at, todo(id));
            } else {
                d.todos().remove(at);
            }
        })
    }};
}

/// The committed changes another user makes while the follower is away, written by a leader
/// of the `Vector` board (patches are the same JSON for either board).
fn committed_changes(mix: Mix) -> Vec<Committed> {
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
        random_edit!(bob, rng, 1_000_000 + n, mix);
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
    floor: Duration,
    dropped: usize,
    before_per_change: Duration,
    before_measured: usize,
}

macro_rules! run {
    ($board:ident, $name:expr, $before_changes:expr, $log:expr, $mix:expr) => {{
        let start = $board {
            title: "board".into(),
            todos: (0..TODOS).map(todo).collect(),
        };
        let mut leader = Leader::new(Arc::new(start));
        let mut ann = Follower::new(leader.join(1));
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        for n in 0..PENDING {
            random_edit!(ann, rng, 2_000_000 + n as u64, $mix);
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

        // The floor: the run applied once to a plain copy of the state.
        let mut plain = $board::clone(ann.confirmed());
        let patches: Vec<Patch> = $log
            .iter()
            .flat_map(|c| c.patches.iter().cloned())
            .collect();
        let clock = Instant::now();
        apply_patches_mut(&mut plain, &patches).expect("the run applies");
        let floor = clock.elapsed();
        drop(plain);

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
            floor,
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
    println!(
        "A follower {BEHIND} changes behind with {PENDING} pending edits on a board of {TODOS} todos"
    );
    for mix in [TYPICAL, LIST_HEAVY] {
        let log = committed_changes(mix);
        println!();
        println!("Edits: {}", mix.name);
        println!();
        println!(
            "| board | receive_all (all {BEHIND}) | floor: the run applied once | edits dropped | before: per change | before: {BEHIND} changes (projected) | before / now |"
        );
        println!("|---|---|---|---|---|---|---|");
        let figures = [
            run!(VecBoard, "Vec<Todo>", 3, log, mix),
            run!(VectorBoard, "Vector<Todo>", 40, log, mix),
        ];
        for f in figures {
            let projected = f.before_per_change * BEHIND as u32;
            println!(
                "| {} | {} | {} | {} | {} (over {} changes) | {:.1} s | {:.0}x |",
                f.board,
                ms(f.now),
                ms(f.floor),
                f.dropped,
                ms(f.before_per_change),
                f.before_measured,
                projected.as_secs_f64(),
                projected.as_secs_f64() / f.now.as_secs_f64()
            );
        }
    }
}
