//! Replays the Immer oracle's random recipes through the typed draft API.
//!
//! Usage: `cargo run --release --example immer_oracle -- cases.jsonl > rust.jsonl`, then
//! `node check.js cases.jsonl rust.jsonl` (see the oracle's README). Each case's `ops` are
//! mapped onto typed drafts, with no JSON shortcut, inside one `produce_with_patches`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::Arc;

use immer::{
    Draftable, List, ListDraft, OrdMap, Place, Vector, apply_patches, produce_with_patches,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    version: u32,
    owner: Arc<User>,
    todos: Vector<Todo>,
    members: OrdMap<String, Member>,
    archived: Option<Todo>,
    settings: Settings,
    labels: Vec<String>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    email: String,
    tags: Vec<String>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u64,
    text: String,
    done: bool,
    tags: Vector<String>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Member {
    role: Role,
    active: bool,
}

#[derive(Draftable, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum Role {
    Admin,
    Editor,
    Viewer,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    theme: Theme,
    font_size: u32,
}

#[derive(Draftable, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum Theme {
    Light,
    Dark,
}

/// One step of a recipe, as gen.js writes it.
#[derive(Deserialize)]
struct Op {
    #[serde(rename = "do")]
    kind: String,
    path: Vec<Value>,
    value: Option<Value>,
    index: Option<usize>,
    len: Option<usize>,
}

type Outcome = Result<(), String>;

impl Op {
    fn value<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_value(self.value.clone().unwrap_or(Value::Null)).map_err(|e| e.to_string())
    }

    fn unsupported(&self, at: &str) -> String {
        format!("op `{}` is not defined on {at}", self.kind)
    }
}

fn key(segment: &Value) -> Result<&str, String> {
    segment
        .as_str()
        .ok_or_else(|| format!("expected a key, found {segment}"))
}

fn index(segment: &Value) -> Result<usize, String> {
    segment
        .as_u64()
        .map(|i| i as usize)
        .ok_or_else(|| format!("expected an index, found {segment}"))
}

/// List-level steps on any list: push, pop, insert, remove, truncate, reverse, clear.
fn list_step<L: List, P: Place<Target = L>>(list: &mut ListDraft<P>, op: &Op) -> Outcome
where
    L::Item: DeserializeOwned,
{
    match op.kind.as_str() {
        "push" => list.push(op.value()?),
        "pop" => {
            list.pop();
        }
        "insert" => list
            .insert(op.index.unwrap_or_default(), op.value()?)
            .map_err(|_| "insert out of range".to_owned())?,
        "remove" => {
            list.remove(op.index.unwrap_or_default())
                .ok_or("remove out of range")?;
        }
        "truncate" => list.truncate(op.len.unwrap_or_default()),
        "reverse" => list.reverse(),
        "clear" => list.clear(),
        _ => return Err(op.unsupported("a list")),
    }
    Ok(())
}

/// A list of leaves (strings): list steps, or `set` of one element.
fn leaf_list<L: List, P: Place<Target = L>>(
    list: &mut ListDraft<P>,
    path: &[Value],
    op: &Op,
) -> Outcome
where
    L::Item: DeserializeOwned,
{
    match path {
        [] => list_step(list, op),
        [i] if op.kind == "set" => list
            .set(index(i)?, op.value()?)
            .map_err(|_| "set out of range".to_owned()),
        _ => Err(op.unsupported("a list element")),
    }
}

fn board<P: Place<Target = Board>>(d: &mut BoardDraft<P>, path: &[Value], op: &Op) -> Outcome {
    let Some((first, rest)) = path.split_first() else {
        return Err(op.unsupported("the board"));
    };
    let set = op.kind == "set";
    match (key(first)?, rest) {
        ("title", []) if set => d.set_title(op.value()?),
        ("version", []) if set => d.set_version(op.value()?),
        ("owner", []) if set => d.set_owner(op.value()?),
        ("owner", rest) => return user(&mut d.owner(), rest, op),
        ("todos", []) if set => d.set_todos(op.value()?),
        ("todos", rest) => return todos(&mut d.todos(), rest, op),
        ("members", []) if set => d.set_members(op.value()?),
        ("members", rest) => return members(&mut d.members(), rest, op),
        ("archived", []) if set => d.set_archived(op.value()?),
        ("archived", []) if op.kind == "delete" => d.set_archived(None),
        ("archived", rest) => {
            let mut archived = d.archived();
            let mut todo_draft = archived.get_mut().ok_or("archived is null")?;
            return todo(&mut todo_draft, rest, op);
        }
        ("settings", []) if set => d.set_settings(op.value()?),
        ("settings", [field]) if set => match key(field)? {
            "theme" => d.settings().set_theme(op.value()?),
            "fontSize" => d.settings().set_font_size(op.value()?),
            other => return Err(format!("no settings field {other}")),
        },
        ("labels", []) if set => d.set_labels(op.value()?),
        ("labels", rest) => return leaf_list(&mut d.labels(), rest, op),
        (other, _) => {
            return Err(format!(
                "{} at board field {other}",
                op.unsupported("this path")
            ));
        }
    }
    Ok(())
}

fn user<P: Place<Target = User>>(d: &mut UserDraft<P>, path: &[Value], op: &Op) -> Outcome {
    let set = op.kind == "set";
    match path {
        [field] if set && key(field)? == "name" => d.set_name(op.value()?),
        [field] if set && key(field)? == "email" => d.set_email(op.value()?),
        [field] if set && key(field)? == "tags" => d.set_tags(op.value()?),
        [field, rest @ ..] if key(field)? == "tags" => return leaf_list(&mut d.tags(), rest, op),
        _ => return Err(op.unsupported("the owner")),
    }
    Ok(())
}

fn todos<P: Place<Target = Vector<Todo>>>(
    list: &mut ListDraft<P>,
    path: &[Value],
    op: &Op,
) -> Outcome {
    match path {
        [] => list_step(list, op),
        [i] if op.kind == "set" => list
            .set(index(i)?, op.value()?)
            .map_err(|_| "set out of range".to_owned()),
        [i, rest @ ..] => {
            let mut item = list.get_mut(index(i)?).ok_or("todo index out of range")?;
            todo(&mut item, rest, op)
        }
    }
}

fn todo<P: Place<Target = Todo>>(d: &mut TodoDraft<P>, path: &[Value], op: &Op) -> Outcome {
    let set = op.kind == "set";
    match path {
        [field] if set => match key(field)? {
            "id" => d.set_id(op.value()?),
            "text" => d.set_text(op.value()?),
            "done" => d.set_done(op.value()?),
            "tags" => d.set_tags(op.value()?),
            other => return Err(format!("no todo field {other}")),
        },
        [field, rest @ ..] if key(field)? == "tags" => return leaf_list(&mut d.tags(), rest, op),
        _ => return Err(op.unsupported("a todo")),
    }
    Ok(())
}

fn members<P: Place<Target = OrdMap<String, Member>>>(
    map: &mut immer::MapDraft<P>,
    path: &[Value],
    op: &Op,
) -> Outcome {
    match (op.kind.as_str(), path) {
        ("clear", []) => map.clear(),
        ("set", [k]) => {
            map.insert(key(k)?.to_owned(), op.value()?);
        }
        ("delete", [k]) => {
            map.remove(&key(k)?.to_owned());
        }
        ("set", [k, field]) => {
            let mut member = map.get_mut(&key(k)?.to_owned()).ok_or("no such member")?;
            match key(field)? {
                "active" => member.set_active(op.value()?),
                "role" => member.set_role(op.value()?),
                other => return Err(format!("no member field {other}")),
            }
        }
        _ => return Err(op.unsupported("the members")),
    }
    Ok(())
}

/// Which parts of the state a recipe created itself, as opposed to parts of the base.
///
/// In the JavaScript recipe an object that an op inserts (`value`) is the very object the
/// recipe goes on to mutate: Immer drafts only what came from the base, so later ops inside an
/// inserted object change that object in place, and the case records it (and Immer's patch
/// carries it) as it was at the end of the recipe. Those later ops are already inside the
/// recorded value, so the replay skips them; everything else replays op by op.
enum Shadow {
    /// Created by the recipe: its recorded value already holds every later change inside it.
    Fresh,
    /// From the base: a list, an object, or a scalar.
    List(Vec<Shadow>),
    Object(BTreeMap<String, Shadow>),
    Scalar,
}

impl Shadow {
    fn of_base(value: &Value) -> Shadow {
        match value {
            Value::Array(items) => Shadow::List(items.iter().map(Shadow::of_base).collect()),
            Value::Object(members) => Shadow::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), Shadow::of_base(v)))
                    .collect(),
            ),
            _ => Shadow::Scalar,
        }
    }

    fn of_new(value: Option<&Value>) -> Shadow {
        match value {
            Some(Value::Array(_) | Value::Object(_)) => Shadow::Fresh,
            _ => Shadow::Scalar,
        }
    }

    fn child_mut(&mut self, segment: &Value) -> Option<&mut Shadow> {
        match (self, segment) {
            (Shadow::List(items), Value::Number(n)) => {
                items.get_mut(usize::try_from(n.as_u64()?).ok()?)
            }
            (Shadow::Object(members), Value::String(k)) => members.get_mut(k),
            _ => None,
        }
    }

    /// Walks `path`; `None` when it passes through (or ends at) a fresh part.
    fn walk(&mut self, path: &[Value]) -> Option<&mut Shadow> {
        let mut here = self;
        for segment in path {
            if matches!(here, Shadow::Fresh) {
                return None;
            }
            here = here.child_mut(segment)?;
        }
        if matches!(here, Shadow::Fresh) {
            None
        } else {
            Some(here)
        }
    }

    /// Mirrors `op` and says whether it must be replayed (false: it acts inside a part the
    /// recipe created, and the recorded values already hold its effect).
    fn track(&mut self, op: &Op) -> bool {
        let whole_path = matches!(op.kind.as_str(), "set" | "delete");
        let container_path = if whole_path {
            &op.path[..op.path.len().saturating_sub(1)]
        } else {
            &op.path[..]
        };
        let Some(container) = self.walk(container_path) else {
            return false;
        };
        match (op.kind.as_str(), container, op.path.last()) {
            ("set", Shadow::List(items), Some(Value::Number(n))) => {
                if let Some(slot) = n
                    .as_u64()
                    .and_then(|i| items.get_mut(usize::try_from(i).ok()?))
                {
                    *slot = Shadow::of_new(op.value.as_ref());
                }
            }
            ("set", Shadow::Object(members), Some(Value::String(k))) => {
                members.insert(k.clone(), Shadow::of_new(op.value.as_ref()));
            }
            ("delete", Shadow::Object(members), Some(Value::String(k))) => {
                members.remove(k);
            }
            ("push", Shadow::List(items), _) => items.push(Shadow::of_new(op.value.as_ref())),
            ("pop", Shadow::List(items), _) => {
                items.pop();
            }
            ("insert", Shadow::List(items), _) => {
                let at = op.index.unwrap_or_default().min(items.len());
                items.insert(at, Shadow::of_new(op.value.as_ref()));
            }
            ("remove", Shadow::List(items), _) if op.index.unwrap_or_default() < items.len() => {
                items.remove(op.index.unwrap_or_default());
            }
            ("truncate", Shadow::List(items), _) => items.truncate(op.len.unwrap_or_default()),
            ("reverse", Shadow::List(items), _) => items.reverse(),
            ("clear", Shadow::List(items), _) => items.clear(),
            ("clear", Shadow::Object(members), _) => members.clear(),
            _ => {}
        }
        true
    }
}

fn json_or_error<T: Serialize>(result: Result<Arc<T>, immer::PatchError>) -> Value {
    match result {
        Ok(state) => {
            serde_json::to_value(&*state).unwrap_or_else(|e| json!({ "error": e.to_string() }))
        }
        Err(error) => json!({ "error": error.to_string() }),
    }
}

fn replay(line: &str) -> Result<Value, String> {
    let case: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let id = case["id"].clone();
    let base: Arc<Board> =
        Arc::new(serde_json::from_value(case["base"].clone()).map_err(|e| format!("base: {e}"))?);
    let ops: Vec<Op> =
        serde_json::from_value(case["ops"].clone()).map_err(|e| format!("ops: {e}"))?;
    let mut failure = None;
    let mut shadow = Shadow::of_base(&case["base"]);
    let (state, patches, inverse) = produce_with_patches(&base, |d| {
        for op in ops.iter().filter(|op| shadow.track(op)) {
            if let Err(error) = board(d, &op.path, op) {
                failure.get_or_insert(error);
            }
        }
    });
    if let Some(error) = failure {
        return Ok(json!({ "id": id, "error": error }));
    }
    let immer_patches: Vec<immer::Patch> =
        serde_json::from_value(case["patches"].clone()).map_err(|e| e.to_string())?;
    let immer_inverse: Vec<immer::Patch> =
        serde_json::from_value(case["inverse"].clone()).map_err(|e| e.to_string())?;
    let result: Arc<Board> = Arc::new(
        serde_json::from_value(case["result"].clone()).map_err(|e| format!("result: {e}"))?,
    );
    Ok(json!({
        "id": id,
        "state": serde_json::to_value(&*state).map_err(|e| e.to_string())?,
        "patches": patches,
        "inverse": inverse,
        "applied": json_or_error(apply_patches(&base, &immer_patches)),
        "unapplied": json_or_error(apply_patches(&result, &immer_inverse)),
    }))
}

fn main() {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: immer_oracle CASES.jsonl > RUST.jsonl");
        std::process::exit(2);
    };
    let reader = match std::fs::File::open(&file) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => {
            eprintln!("cannot open {file}: {e}");
            std::process::exit(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failures = BTreeMap::new();
    for (n, line) in reader.lines().enumerate() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        match replay(&line) {
            Ok(record) => {
                if let Some(error) = record.get("error") {
                    failures.insert(n, error.to_string());
                }
                let _ = writeln!(out, "{record}");
            }
            Err(error) => {
                failures.insert(n, error);
            }
        }
    }
    for (n, error) in &failures {
        eprintln!("line {}: {error}", n + 1);
    }
}
