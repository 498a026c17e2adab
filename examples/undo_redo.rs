//! Undo, redo, a jump back in time, and a session log replayed elsewhere.
//! `cargo run --example undo_redo`

use std::sync::Arc;

use immer::{Draftable, History, Vector};
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Canvas {
    name: String,
    shapes: Vector<Shape>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Circle {
        x: i32,
        y: i32,
        radius: u32,
    },
    Rect {
        x: i32,
        y: i32,
        width: u32,
        height: u32,
    },
}

fn describe(canvas: &Canvas) -> String {
    let shapes: Vec<String> = canvas
        .shapes
        .iter()
        .map(|s| match s {
            Shape::Circle { radius, .. } => format!("circle r={radius}"),
            Shape::Rect { width, height, .. } => format!("rect {width}x{height}"),
        })
        .collect();
    format!("{}: [{}]", canvas.name, shapes.join(", "))
}

fn main() {
    let base = Arc::new(Canvas {
        name: "untitled".into(),
        shapes: Vector::new(),
    });
    let mut history = History::new(Arc::clone(&base));

    history.commit(Some("add circle"), |d| {
        d.shapes().push(Shape::Circle {
            x: 0,
            y: 0,
            radius: 5,
        });
    });
    history.commit(Some("add rect"), |d| {
        d.shapes().push(Shape::Rect {
            x: 1,
            y: 1,
            width: 4,
            height: 2,
        });
    });
    history.commit(Some("grow circle"), |d| {
        if let Some(mut shape) = d.shapes().get_mut(0) {
            if let ShapeVariantDraft::Circle(mut circle) = shape.variant() {
                circle.radius().modify(|r| *r *= 2);
            }
        }
    });
    // Several steps, one undo entry.
    let mut tx = history.transaction(Some("rename and tidy"));
    tx.draft().set_name("logo".into());
    tx.draft()
        .shapes()
        .sort_by_key(|s| matches!(s, Shape::Rect { .. }));
    tx.commit();
    println!("v{}: {}", history.version(), describe(history.current()));

    history.undo().expect("entries recorded here always undo");
    println!(
        "undo -> v{}: {}",
        history.version(),
        describe(history.current())
    );
    history.undo().expect("entries recorded here always undo");
    println!(
        "undo -> v{}: {}",
        history.version(),
        describe(history.current())
    );
    history.redo().expect("entries recorded here always redo");
    println!(
        "redo -> v{}: {}",
        history.version(),
        describe(history.current())
    );
    history.goto(1).expect("version 1 is retained");
    println!(
        "goto -> v{}: {}",
        history.version(),
        describe(history.current())
    );
    history
        .goto(history.newest_version())
        .expect("the newest version is retained");

    // What changed between two versions, as patches another node could apply.
    let back = history.patches_between(4, 2).expect("both retained");
    println!(
        "patches from v4 back to v2: {}",
        serde_json::to_string(&back).unwrap_or_default()
    );

    // The session as JSON Lines: replayed from the same base on another machine.
    let log = history.to_log();
    println!("log ({} lines):\n{log}", log.lines().count());
    let mut replayed =
        History::from_log(Arc::clone(&base), log.as_bytes()).expect("the log replays");
    for version in 0..=replayed.newest_version() {
        replayed.goto(version).expect("retained");
        history.goto(version).expect("retained");
        assert_eq!(replayed.current(), history.current());
    }
    println!(
        "replayed {} versions; every one equals the original",
        replayed.newest_version() + 1
    );

    // A log that does not fit is an error that names the line.
    let tampered = log.replacen("\"radius\"", "\"radius_\"", 1);
    if let Err(error) = History::from_log(base, tampered.as_bytes()) {
        println!("a tampered log is refused: {error}");
    }
}
