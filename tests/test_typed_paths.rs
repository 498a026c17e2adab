//! Typed paths print exactly the patterns serde's names give: renames, `rename_all`, the four
//! enum representations, newtypes, `flatten`, maps, sets, `Option`, tuples, generics; and the
//! patterns they print match the paths of the patches the same edits record.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use immer::{Draftable, PathPattern, TypedPath, produce_with_patches};
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Board {
    title: String,
    todos: Vec<Todo>,
    #[serde(rename = "by_owner")]
    owners: HashMap<String, Owner>,
    tags: BTreeSet<String>,
    pinned: Option<Todo>,
    shape: Shape,
    tagged: Tagged,
    adjacent: Adjacent,
    untagged: Untagged,
    size: Meters,
    pair: (u8, Todo),
    #[serde(flatten)]
    meta: Meta,
    #[draft(leaf)]
    colour: Colour,
    #[serde(skip)]
    #[draft(skip)]
    cache: u32,
    scores: BTreeMap<u8, u32>,
    grid: [Vec<bool>; 2],
    extra: immer::Json,
    boxed: Box<Todo>,
    shared: Arc<Option<Todo>>,
    generic: Wrapper<Todo>,
}

#[derive(Draftable, immer::TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    done: bool,
    #[serde(rename = "label")]
    text: String,
    due_date: Option<u32>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Owner {
    display_name: String,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Shape {
    Circle { radius: f64 },
    Rect(f64, f64),
    Label(Todo),
    Empty,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Tagged {
    Circle {
        radius: f64,
    },
    #[serde(rename = "todo")]
    Todo(Todo),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c", rename_all_fields = "camelCase")]
enum Adjacent {
    Circle { radius_cm: f64 },
    Rect(f64, f64),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Circle { radius: f64 },
    Todo(Todo),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meters(f64);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    author: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Colour(u8, u8, u8);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Wrapper<T> {
    items: Vec<T>,
    first: Option<T>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Pair(String, Vec<u8>);

fn text(pattern: impl Into<PathPattern>) -> String {
    pattern.into().to_string()
}

#[test]
fn fields_print_their_serde_names() {
    let board = || immer::path::<Board>();
    assert_eq!(text(board()), "");
    assert_eq!(text(board().title()), "/title");
    assert_eq!(text(board().todos()), "/todos");
    assert_eq!(text(board().todos().any().done()), "/todos/*/done");
    assert_eq!(text(board().todos().at(3).text()), "/todos/3/label");
    assert_eq!(text(board().todos().any().due_date()), "/todos/*/due_date");
    assert_eq!(text(board().pinned().due_date()), "/pinned/due_date");
    assert_eq!(text(board().meta().author()), "/author");
    assert_eq!(text(board().colour()), "/colour");
    assert_eq!(text(board().size()), "/size");
    assert_eq!(text(board().boxed().done()), "/boxed/done");
    assert_eq!(text(board().shared().text()), "/shared/label");
    assert_eq!(
        text(board().generic().items().any().text()),
        "/generic/items/*/label"
    );
    assert_eq!(
        text(board().generic().first().done()),
        "/generic/first/done"
    );
    assert_eq!(text(immer::path::<Pair>()._1().at(0)), "/1/0");
}

#[test]
fn collections_name_their_elements() {
    let board = || immer::path::<Board>();
    assert_eq!(text(board().owners().any()), "/by_owner/*");
    assert_eq!(
        text(board().owners().key("ada").display_name()),
        "/by_owner/ada/DISPLAY_NAME"
    );
    assert_eq!(text(board().owners().key("a/b~c")), "/by_owner/a~1b~0c");
    assert_eq!(text(board().scores().key(&7)), "/scores/7");
    assert_eq!(text(board().tags().at(1)), "/tags/1");
    assert_eq!(text(board().grid().at(1).any()), "/grid/1/*");
    assert_eq!(text(board().pair()._0()), "/pair/0");
    assert_eq!(text(board().pair()._1().done()), "/pair/1/done");
    assert_eq!(text(board().extra().key("x").at(2).any()), "/extra/x/2/*");
}

#[test]
fn enums_follow_their_representation() {
    let board = || immer::path::<Board>();
    assert_eq!(
        text(board().shape().circle().radius()),
        "/shape/circle/radius"
    );
    assert_eq!(text(board().shape().rect()._1()), "/shape/rect/1");
    assert_eq!(text(board().shape().label().done()), "/shape/label/done");
    assert_eq!(text(board().tagged().circle().radius()), "/tagged/radius");
    assert_eq!(text(board().tagged().todo().text()), "/tagged/label");
    assert_eq!(
        text(board().adjacent().circle().radius_cm()),
        "/adjacent/c/radiusCm"
    );
    assert_eq!(text(board().adjacent().rect()._0()), "/adjacent/c/0");
    assert_eq!(
        text(board().untagged().circle().radius()),
        "/untagged/radius"
    );
    assert_eq!(text(board().untagged().todo().done()), "/untagged/done");
}

#[test]
fn everything_and_pattern_end_a_path() {
    let todos = immer::path::<Board>().todos();
    assert_eq!(todos.clone().everything().to_string(), "/todos/**");
    assert_eq!(todos.pattern(), "/todos".parse().unwrap());
    assert_eq!(immer::path::<Board>().everything().to_string(), "/**");
    let done = immer::path::<Board>().todos().any().done();
    assert_eq!(TypedPath::pattern(&done).to_string(), "/todos/*/done");
    assert_eq!(TypedPath::everything(done).to_string(), "/todos/*/done/**");
    // What a typed path prints parses back to the same pattern.
    let owner = text(immer::path::<Board>().owners().key("a/b").display_name());
    assert_eq!(owner.parse::<PathPattern>().unwrap().to_string(), owner);
}

fn board() -> Board {
    let todo = Todo {
        done: false,
        text: "milk".into(),
        due_date: None,
    };
    Board {
        title: "t".into(),
        todos: vec![todo.clone(), todo.clone()],
        owners: HashMap::from([(
            "ada".to_owned(),
            Owner {
                display_name: "Ada".into(),
            },
        )]),
        tags: BTreeSet::new(),
        pinned: Some(todo.clone()),
        shape: Shape::Circle { radius: 1.0 },
        tagged: Tagged::Circle { radius: 1.0 },
        adjacent: Adjacent::Circle { radius_cm: 1.0 },
        untagged: Untagged::Circle { radius: 1.0 },
        size: Meters(1.0),
        pair: (1, todo.clone()),
        meta: Meta { author: "a".into() },
        colour: Colour(0, 0, 0),
        cache: 0,
        scores: BTreeMap::new(),
        grid: [vec![false], vec![false]],
        extra: immer::Json::Null,
        boxed: Box::new(todo.clone()),
        shared: Arc::new(None),
        generic: Wrapper {
            items: vec![todo],
            first: None,
        },
    }
}

/// The patterns of typed paths match the paths of the patches that the same places record.
#[test]
fn typed_paths_match_the_recorded_patches() {
    let base = Arc::new(board());
    let (_, patches, _) = produce_with_patches(&base, |d| {
        d.todos().get_mut(1).unwrap().set_done(true);
        d.owners()
            .get_mut("ada")
            .unwrap()
            .set_display_name("Lovelace".into());
        if let ShapeVariantDraft::Circle(mut c) = d.shape().variant() {
            c.set_radius(2.0);
        }
        if let AdjacentVariantDraft::Circle(mut c) = d.adjacent().variant() {
            c.set_radius_cm(2.0);
        }
        if let TaggedVariantDraft::Circle(mut c) = d.tagged().variant() {
            c.set_radius(2.0);
        }
        d.meta().set_author("b".into());
        d.pair()._1().set_done(true);
    });
    let paths = [
        text(immer::path::<Board>().todos().at(1).done()),
        text(immer::path::<Board>().owners().key("ada").display_name()),
        text(immer::path::<Board>().shape().circle().radius()),
        text(immer::path::<Board>().adjacent().circle().radius_cm()),
        text(immer::path::<Board>().tagged().circle().radius()),
        text(immer::path::<Board>().meta().author()),
        text(immer::path::<Board>().pair()._1().done()),
    ];
    let recorded: Vec<String> = patches.iter().map(|p| p.path.to_pointer()).collect();
    assert_eq!(recorded, paths);
    for (patch, path) in patches.iter().zip(&paths) {
        assert!(path.parse::<PathPattern>().unwrap().matches(&patch.path));
    }
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Keyword {
    Type { pattern: String, everything: u8 },
    Move(u8, u8),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Generic<T, const N: usize> {
    values: Vec<T>,
}

/// A field named like a node's own methods keeps its name; the node's `pattern` and
/// `everything` are then reached through `TypedPath`. A keyword variant's method is raw.
#[test]
fn names_that_meet_the_nodes_own_methods() {
    let typed = immer::path::<Keyword>().r#type();
    assert_eq!(text(typed.clone().pattern()), "/Type/pattern");
    assert_eq!(text(typed.clone().everything()), "/Type/everything");
    assert_eq!(TypedPath::pattern(&typed).to_string(), "/Type");
    assert_eq!(text(immer::path::<Keyword>().r#move()._1()), "/Move/1");
    assert_eq!(
        text(immer::path::<Generic<Todo, 2>>().values().at(1).done()),
        "/values/1/done"
    );
}

#[test]
fn the_path_macro_writes_the_builder_calls() {
    assert_eq!(text(immer::path!(Board: todos[*].done)), "/todos/*/done");
    assert_eq!(text(immer::path!(Board: todos[3].text)), "/todos/3/label");
    assert_eq!(text(immer::path!(Board: todos.**)), "/todos/**");
    assert_eq!(
        text(immer::path!(Board: shape.circle.radius)),
        "/shape/circle/radius"
    );
    assert_eq!(text(immer::path!(Board: pair._1.done)), "/pair/1/done");
    assert_eq!(text(immer::path!(Board)), "");
    let i = 2;
    assert_eq!(text(immer::path!(Board: grid[i - 1][*])), "/grid/1/*");
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Tree<T> {
    value: T,
    children: Vec<Tree<T>>,
}

#[test]
fn recursive_generic_types_have_paths_all_the_way_down() {
    assert_eq!(
        text(
            immer::path::<Tree<Todo>>()
                .children()
                .any()
                .children()
                .at(0)
                .value()
                .text()
        ),
        "/children/*/children/0/value/label"
    );
}

/// A type parameter with a default: the path type still takes the root parameter.
#[derive(Draftable, immer::TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Defaulted<T = Todo> {
    item: T,
    items: Vec<T>,
}

/// An enum with a defaulted parameter, for its variant path types.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum DefaultedChoice<T = Todo> {
    One { item: T },
    Two(T, T),
}

#[test]
fn types_with_defaulted_parameters_have_paths() {
    assert_eq!(
        text(immer::path::<Defaulted>().items().any().text()),
        "/items/*/label"
    );
    assert_eq!(text(immer::path::<Defaulted<u8>>().item()), "/item");
    assert_eq!(
        text(immer::path::<DefaultedChoice>().one().item().done()),
        "/One/item/done"
    );
    assert_eq!(
        text(immer::path::<DefaultedChoice<u8>>().two()._1()),
        "/Two/1"
    );
    let declarations = immer::typescript::Declarations::new()
        .add::<Defaulted>()
        .to_string();
    assert!(
        declarations.contains("export type Defaulted<T> = { item: T; items: T[] };"),
        "{declarations}"
    );
    assert_eq!(
        immer::typescript::Declarations::new().expression::<Defaulted>(),
        "Defaulted<Todo>"
    );
}

/// Generated path types print as the runtime's do: `Debug` names the type and the pattern,
/// `Display` is the pattern.
#[test]
fn generated_paths_have_debug_and_display() {
    let todo = immer::path::<Board>().todos().at(3);
    assert_eq!(format!("{todo:?}"), r#"TodoPath("/todos/3")"#);
    assert_eq!(todo.to_string(), "/todos/3");
    let list = immer::path::<Board>().todos();
    assert_eq!(format!("{list:?}"), r#"ListPath("/todos")"#);
    assert_eq!(list.to_string(), "/todos");
    let circle = immer::path::<Board>().shape().circle();
    assert_eq!(format!("{circle:?}"), r#"ShapeCirclePath("/shape/circle")"#);
    assert_eq!(circle.to_string(), "/shape/circle");
    assert_eq!(format!("{:?}", immer::path::<Board>()), r#"BoardPath("")"#);
}
