//! A third check of `#[derive(TypeScript)]`, written from the public docs alone (the module
//! docs of `immer::typescript` and the README), on corners the two earlier checks do not
//! reach: property and variant names that only quoting or escaping keeps apart (control
//! characters, line separators, characters Rust calls alphanumeric and JavaScript does not
//! take in an identifier), raw identifiers as variants, empty names; every enum
//! representation with every variant kind nested in lists, options and maps and inside each
//! other; unit enums of odd names as map keys, and enums that are not all names as keys of
//! empty maps; generic types whose parameters are flattened, merged into an internally
//! tagged variant or used as keys through wrappers, defaulted parameters, a parameter that
//! shares a declared type's name; several flattens at once and flattened wrappers; std's
//! rarer types; imbl's collections and `Json`.
//!
//! Each test writes serde's JSON for its values as `const vN: <type> = <json>;` beside the
//! generated `.d.ts` and compiles it with `tsc --noEmit --strict`: every value must compile.
//! JSON serde never writes for a type (a misspelled field, a wrong type, a missing field,
//! another variant's field, a wrong tag) must fail, each line on its own. Without tsc the
//! checks fail under `CI=true` and are skipped with a notice otherwise.
//!
//! Found by these tests and mended: a newtype variant whose field is skipped (serde writes a
//! unit variant), a newtype struct whose field is skipped (serde writes the field), an empty
//! struct flattened or merged beside an internal tag, flattened newtype and transparent
//! structs (and a flattened type parameter, and an internally tagged newtype of one) whose
//! content adds nothing or is an externally tagged unit variant. User types named `JsonValue`
//! or `MapKey` (the derive's own helpers) or `string` are refused by the derive (trybuild
//! `ts-reserved-name`).
//!
//! Not compiled here: `struct Shadow<Extra> { real: crate::Extra, param: Extra }`, a parameter
//! named as a type the body names by path, on which the derive fails where serde does not.

#![allow(
    clippy::option_option,
    reason = "`Option<Option<T>>` is one of serde's corners under test"
)]
#![allow(
    clippy::struct_field_names,
    clippy::enum_variant_names,
    clippy::upper_case_acronyms,
    non_camel_case_types,
    reason = "names chosen for what serde makes of them"
)]
#![allow(dead_code, reason = "skipped fields and variants are never read")]
#![allow(
    clippy::too_many_lines,
    reason = "a test's values and its table of wrong values read best in one place"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use immer::typescript::Declarations;
use immer::{Draftable, Json, TypeScript};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// The harness.

/// A seeded generator (`SplitMix64`) for the values' numbers and strings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n")
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }

    fn signed(&mut self) -> i8 {
        i8::from_le_bytes([self.byte()])
    }

    fn flag(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn string(&mut self) -> String {
        let len = self.below(5);
        (0..len).map(|_| self.pick(CHARS)).collect()
    }
}

/// Characters that need escaping in JSON or in TypeScript, or are outside the BMP.
const CHARS: &[char] = &[
    'a', 'Z', '0', ' ', '"', '\\', '\'', '`', '$', '{', '\n', '\r', '\t', '\u{0}', '\u{1b}',
    '\u{7f}', 'é', '字', '🦀', '\u{2028}', '\u{2029}', '\u{feff}',
];

/// Values of some types, written by serde, and JSON serde never writes for them, checked
/// against the generated declarations with tsc.
struct Check {
    name: &'static str,
    declarations: Declarations,
    /// (TypeScript type, JSON serde wrote).
    ok: Vec<(String, String)>,
    /// (TypeScript type, JSON, why it is wrong).
    wrong: Vec<(String, String, String)>,
}

impl Check {
    fn new(name: &'static str) -> Self {
        Check {
            name,
            declarations: Declarations::new(),
            ok: Vec::new(),
            wrong: Vec::new(),
        }
    }

    /// A value serde writes for `T`, which `T`'s type must accept.
    fn value<T: TypeScript + Serialize + ?Sized>(&mut self, value: &T) -> &mut Self {
        let ty = self.declarations.expression::<T>();
        self.ok.push((ty, json(value)));
        self
    }

    fn values<T: TypeScript + Serialize>(
        &mut self,
        values: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        for value in values {
            self.value(&value);
        }
        self
    }

    /// JSON serde never writes for `T`, which `T`'s type must reject.
    fn wrong<T: TypeScript + ?Sized>(&mut self, json: &str, why: &str) -> &mut Self {
        let ty = self.declarations.expression::<T>();
        self.wrong.push((ty, json.to_owned(), why.to_owned()));
        self
    }

    /// `value` as serde writes it with `from` replaced by `to` (which must be in it), which
    /// `T`'s type must reject.
    fn wrong_edit<T: TypeScript + Serialize>(
        &mut self,
        value: &T,
        from: &str,
        to: &str,
        why: &str,
    ) -> &mut Self {
        let base = json(value);
        assert!(base.contains(from), "{from} is not in {base}");
        self.wrong::<T>(&base.replacen(from, to, 1), why)
    }

    /// Compiles the values against the declarations: the values serde wrote must compile,
    /// and each wrong value must be an error of its own line.
    fn run(&self) {
        let Some(tsc) = tsc() else { return };
        let dir = std::env::temp_dir().join(format!(
            "immer-ts-blind2-{}-{}",
            self.name,
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let types = self.declarations.to_string();
        std::fs::write(dir.join("types.d.ts"), &types).expect("types.d.ts is writable");
        let names: Vec<&str> = self.declarations.names().collect();
        let import = format!("import type {{ {} }} from \"./types\";\n", names.join(", "));

        let mut ok = import.clone();
        for (i, (ty, value)) in self.ok.iter().enumerate() {
            writeln!(ok, "export const v{i}: {ty} = {value};").expect("a String takes writes");
        }
        std::fs::write(dir.join("ok.ts"), &ok).expect("ok.ts is writable");
        let out = run_tsc(&tsc, &dir, "ok.ts");
        let failing: Vec<String> = error_lines(&out, "ok.ts")
            .into_iter()
            .filter_map(|line| self.ok.get(line.checked_sub(2)?))
            .map(|(ty, value)| format!("  const _: {ty} = {value};"))
            .collect();
        assert!(
            out.trim().is_empty(),
            "{}: of {} values written by serde_json, these do not compile against their \
             types ({}):\n{}\n\n{types}\n{out}",
            self.name,
            self.ok.len(),
            dir.display(),
            failing.join("\n"),
        );

        if !self.wrong.is_empty() {
            let mut wrong = import;
            for (i, (ty, value, _)) in self.wrong.iter().enumerate() {
                writeln!(wrong, "export const w{i}: {ty} = {value};")
                    .expect("a String takes writes");
            }
            std::fs::write(dir.join("wrong.ts"), &wrong).expect("wrong.ts is writable");
            let out = run_tsc(&tsc, &dir, "wrong.ts");
            let lines = error_lines(&out, "wrong.ts");
            assert!(
                !lines.contains(&1) && error_lines(&out, "types.d.ts").is_empty(),
                "{}: the declarations or the import have errors:\n{out}",
                self.name
            );
            let accepted: Vec<String> = self
                .wrong
                .iter()
                .enumerate()
                .filter(|(i, _)| !lines.contains(&(i + 2)))
                .map(|(_, (ty, value, why))| format!("  const _: {ty} = {value};   // {why}"))
                .collect();
            assert!(
                accepted.is_empty(),
                "{}: the types accept JSON serde never writes ({}):\n{}\n\n{types}",
                self.name,
                dir.display(),
                accepted.join("\n"),
            );
        }
        std::fs::remove_dir_all(&dir).ok();
        eprintln!(
            "{}: {} values accepted, {} wrong values rejected",
            self.name,
            self.ok.len(),
            self.wrong.len()
        );
    }
}

/// serde's JSON, with the line and paragraph separators it writes raw escaped: the same
/// JavaScript string, but tsc counts them as line breaks, which would move the errors' lines.
/// `value`'s JSON with its field `field` replaced by `to`.
fn with_field<T: Serialize>(value: &T, field: &str, to: serde_json::Value) -> String {
    let mut object = serde_json::to_value(value).expect("serde_json writes the value");
    let slot = object
        .get_mut(field)
        .unwrap_or_else(|| panic!("no field {field}"));
    *slot = to;
    json(&object)
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value)
        .expect("serde_json writes the value")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The TypeScript compiler of the JavaScript client; `None` (with a notice) when it is not
/// installed, which fails under `CI=true`.
fn tsc() -> Option<PathBuf> {
    let tsc = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/js/node_modules/.bin/tsc");
    if tsc.is_file() {
        return Some(tsc);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tsc is missing ({}): run `npm ci` in clients/js",
        tsc.display()
    );
    eprintln!(
        "\n!!!!!!!! SKIPPED: tsc is missing ({}): run `npm ci` in clients/js !!!!!!!!\n",
        tsc.display()
    );
    None
}

fn run_tsc(tsc: &Path, dir: &Path, file: &str) -> String {
    let output = Command::new(tsc)
        .current_dir(dir)
        .args([
            "--noEmit", "--strict", "--target", "es2022", "--pretty", "false", file,
        ])
        .output()
        .expect("tsc runs");
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// The lines of `file` that tsc reports an error at (`file(line,col): error ...`).
fn error_lines(out: &str, file: &str) -> BTreeSet<usize> {
    out.lines()
        .filter_map(|line| line.strip_prefix(file)?.strip_prefix('('))
        .filter_map(|rest| rest.split(',').next()?.parse().ok())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Names.

/// Field names only quoting and escaping keep apart.
#[derive(TypeScript, Serialize)]
struct OddFields {
    #[serde(rename = "a-b")]
    dash: u8,
    #[serde(rename = "0")]
    zero: bool,
    #[serde(rename = "with space")]
    space: String,
    #[serde(rename = "quote\"d")]
    quote: u8,
    #[serde(rename = "back\\slash")]
    backslash: bool,
    #[serde(rename = "carriage\rreturn")]
    carriage: u8,
    #[serde(rename = "nul\u{0}byte")]
    nul: u8,
    #[serde(rename = "esc\u{1b}del\u{7f}")]
    escape: u8,
    #[serde(rename = "line\u{2028}para\u{2029}")]
    separators: u8,
    #[serde(rename = "bom\u{feff}")]
    bom: u8,
    #[serde(rename = "next\u{85}line")]
    next_line: u8,
    #[serde(rename = "🦀")]
    crab: u8,
    #[serde(rename = "${x}")]
    template: u8,
    #[serde(rename = "`tick`")]
    tick: u8,
    #[serde(rename = "*/ /*")]
    comment: u8,
    #[serde(rename = "x²")]
    superscript: u8,
    #[serde(rename = "٣x")]
    arabic_digit_first: u8,
    #[serde(rename = "½")]
    half: u8,
    #[serde(rename = "a\u{200c}b")]
    zero_width_non_joiner: u8,
    #[serde(rename = "a\u{200b}b")]
    zero_width_space: u8,
    #[serde(rename = "ⅻ")]
    roman: u8,
    #[serde(rename = "-1")]
    minus: u8,
    #[serde(rename = "Infinity")]
    infinity: u8,
    #[serde(rename = "toString")]
    to_string: bool,
    r#async: u8,
    r#await: u8,
    r#yield: u8,
    r#fn: u8,
    #[serde(rename(serialize = "written", deserialize = "read"))]
    split: u8,
    #[serde(alias = "other", alias = "x-y")]
    aliased: u8,
}

fn odd_fields(r: &mut Rng) -> OddFields {
    OddFields {
        dash: r.byte(),
        zero: r.flag(),
        space: r.string(),
        quote: r.byte(),
        backslash: r.flag(),
        carriage: r.byte(),
        nul: r.byte(),
        escape: r.byte(),
        separators: r.byte(),
        bom: r.byte(),
        next_line: r.byte(),
        crab: r.byte(),
        template: r.byte(),
        tick: r.byte(),
        comment: r.byte(),
        superscript: r.byte(),
        arabic_digit_first: r.byte(),
        half: r.byte(),
        zero_width_non_joiner: r.byte(),
        zero_width_space: r.byte(),
        roman: r.byte(),
        minus: r.byte(),
        infinity: r.byte(),
        to_string: r.flag(),
        r#async: r.byte(),
        r#await: r.byte(),
        r#yield: r.byte(),
        r#fn: r.byte(),
        split: r.byte(),
        aliased: r.byte(),
    }
}

/// The names above as variants of each representation.
#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum OddUnits {
    #[serde(rename = "a-b")]
    Dash,
    #[serde(rename = "quote\"d")]
    Quote,
    #[serde(rename = "back\\slash")]
    Backslash,
    #[serde(rename = "carriage\rreturn")]
    Carriage,
    #[serde(rename = "nul\u{0}")]
    Nul,
    #[serde(rename = "line\u{2028}")]
    Line,
    #[serde(rename = "${x}")]
    Template,
    #[serde(rename = "")]
    Empty,
    #[serde(rename = "0")]
    Zero,
    r#match,
    #[serde(alias = "Other")]
    Aliased,
}

const ODD_UNITS: &[OddUnits] = &[
    OddUnits::Dash,
    OddUnits::Quote,
    OddUnits::Backslash,
    OddUnits::Carriage,
    OddUnits::Nul,
    OddUnits::Line,
    OddUnits::Template,
    OddUnits::Empty,
    OddUnits::Zero,
    OddUnits::r#match,
    OddUnits::Aliased,
];

#[derive(TypeScript, Serialize)]
enum OddExternal {
    #[serde(rename = "a-b")]
    Dash(u8),
    #[serde(rename = "quote\"d")]
    Quote {
        x: u8,
    },
    #[serde(rename = "")]
    Empty(u8, bool),
    r#type {
        r#in: u8,
    },
    #[serde(rename(serialize = "written", deserialize = "read"))]
    Split(bool),
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "quote\"d\\tag", rename_all = "UPPERCASE")]
enum OddInternal {
    #[serde(rename = "carriage\rreturn")]
    Carriage {
        x: u8,
    },
    #[serde(rename = "")]
    Empty,
    r#match {
        r#loop: u8,
    },
    #[serde(rename = "nul\u{0}")]
    Nul(Extra),
    #[serde(rename(serialize = "written", deserialize = "read"))]
    Split,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "", content = "line\u{2028}")]
enum OddAdjacent {
    #[serde(rename = "${x}")]
    Template(u8),
    r#match,
    r#type {
        r#in: u8,
    },
    #[serde(rename = "0")]
    Zero(u8, u8),
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "the tag", rename = "tick`d \"struct\"")]
struct OddTaggedStruct {
    a: u8,
}

#[derive(TypeScript, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
enum RawRule {
    r#match,
    r#type(u8),
    r#fn { r#in: u8, field_name: u8 },
}

#[derive(TypeScript, Serialize)]
struct Named {
    fields: OddFields,
    units: Vec<OddUnits>,
    by_unit: BTreeMap<OddUnits, u8>,
    external: Vec<OddExternal>,
    internal: Vec<OddInternal>,
    adjacent: Vec<OddAdjacent>,
    tagged: OddTaggedStruct,
    raw: Vec<RawRule>,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Extra {
    colour: String,
    weight: Option<f64>,
}

fn extra(r: &mut Rng) -> Extra {
    Extra {
        colour: r.string(),
        weight: r.flag().then(|| f64::from(r.byte()) / 4.0),
    }
}

fn named(r: &mut Rng) -> Named {
    let by_unit = (0..r.below(5))
        .map(|_| (r.pick(ODD_UNITS), r.byte()))
        .collect();
    Named {
        fields: odd_fields(r),
        units: ODD_UNITS.to_vec(),
        by_unit,
        external: vec![
            OddExternal::Dash(r.byte()),
            OddExternal::Quote { x: r.byte() },
            OddExternal::Empty(r.byte(), r.flag()),
            OddExternal::r#type { r#in: r.byte() },
            OddExternal::Split(r.flag()),
        ],
        internal: vec![
            OddInternal::Carriage { x: r.byte() },
            OddInternal::Empty,
            OddInternal::r#match { r#loop: r.byte() },
            OddInternal::Nul(extra(r)),
            OddInternal::Split,
        ],
        adjacent: vec![
            OddAdjacent::Template(r.byte()),
            OddAdjacent::r#match,
            OddAdjacent::r#type { r#in: r.byte() },
            OddAdjacent::Zero(r.byte(), r.byte()),
        ],
        tagged: OddTaggedStruct { a: r.byte() },
        raw: vec![
            RawRule::r#match,
            RawRule::r#type(r.byte()),
            RawRule::r#fn {
                r#in: r.byte(),
                field_name: r.byte(),
            },
        ],
    }
}

#[test]
fn odd_names_are_quoted_and_escaped_as_serde_writes_them() {
    let mut r = Rng(0xB11D_0001);
    let mut check = Check::new("names");
    for _ in 0..24 {
        check.value(&named(&mut r));
    }
    for unit in ODD_UNITS {
        check.value(unit);
        check.value(&BTreeMap::from([(unit.clone(), r.byte())]));
    }
    check.value(
        &ODD_UNITS
            .iter()
            .map(|unit| (unit.clone(), r.byte()))
            .collect::<BTreeMap<_, _>>(),
    );
    let fields = OddFields {
        zero: false,
        ..odd_fields(&mut r)
    };
    for (from, to, why) in [
        (r#""a-b":"#, r#""a_b":"#, "a misspelled name"),
        (r#""0":"#, r#""00":"#, "0 and 00 are two names"),
        (r#""quote\"d":"#, r#""quote'd":"#, "the other quote"),
        (
            r#""back\\slash":"#,
            r#""back\\\\slash":"#,
            "two backslashes",
        ),
        (
            r#""carriage\rreturn":"#,
            r#""carriage\nreturn":"#,
            "a newline for a carriage return",
        ),
        (r#""nul\u0000byte":"#, r#""nulbyte":"#, "the NUL left out"),
        (
            r#""nul\u0000byte":"#,
            r#""nul\\u0000byte":"#,
            "an escape kept as text",
        ),
        (
            "\"bom\u{feff}\":",
            r#""bom":"#,
            "the byte order mark left out",
        ),
        ("\"next\u{85}line\":", r#""nextline":"#, "NEL left out"),
        (r#""${x}":"#, r#""x":"#, "a template's text"),
        (r#""x²":"#, r#""x2":"#, "a superscript"),
        (
            "\"a\u{200c}b\":",
            r#""ab":"#,
            "a zero-width non-joiner left out",
        ),
        (
            "\"a\u{200b}b\":",
            "\"a\u{200c}b\":",
            "another zero-width character",
        ),
        (r#""Infinity":"#, r#""infinity":"#, "a misspelled name"),
        (r#""async":"#, r#""r#async":"#, "a raw identifier's r#"),
        (r#""written":"#, r#""read":"#, "the deserialize name"),
        (r#""written":"#, r#""split":"#, "the Rust name"),
        (
            r#""aliased":"#,
            r#""other":"#,
            "an alias is read, not written",
        ),
    ] {
        check.wrong_edit(&fields, from, to, why);
    }
    check.wrong_edit(&fields, r#""0":false"#, r#""0":0"#, "0 is a boolean");
    check
        .wrong::<OddUnits>(r#""Dash""#, "the Rust name")
        .wrong::<OddUnits>(r#""r#match""#, "a raw identifier's r#")
        .wrong::<OddUnits>(r#""Match""#, "the case")
        .wrong::<OddUnits>(r#""Other""#, "an alias")
        .wrong::<OddUnits>(r#""nul""#, "the NUL left out")
        .wrong::<OddUnits>(r#""line""#, "the line separator left out")
        .wrong::<OddUnits>(r#"" ""#, "a space for the empty name")
        .wrong::<OddUnits>(r#""carriage\nreturn""#, "a newline for a carriage return")
        .wrong::<BTreeMap<OddUnits, u8>>(r#"{"r#match": 1}"#, "a raw identifier's r#")
        .wrong::<BTreeMap<OddUnits, u8>>(r#"{"Other": 1}"#, "an alias")
        .wrong::<BTreeMap<OddUnits, u8>>(r#"{"": "1"}"#, "a value of the wrong type")
        .wrong::<OddExternal>(r#"{"a_b": 1}"#, "a misspelled variant")
        .wrong::<OddExternal>(r#"{"": [1]}"#, "one element of two")
        .wrong::<OddExternal>(r#"{"": 1}"#, "a tuple variant is a sequence")
        .wrong::<OddExternal>(r#"{"type": {"r#in": 1}}"#, "a raw identifier's r#")
        .wrong::<OddExternal>(r#"{"r#type": {"in": 1}}"#, "a raw identifier's r#")
        .wrong::<OddExternal>(r#"{"read": true}"#, "the deserialize name")
        .wrong::<OddExternal>(r#"{"quote'd": {"x": 1}}"#, "the other quote")
        .wrong::<OddInternal>(r#"{"quote\"d\\tag": "match", "loop": 1}"#, "the rule")
        .wrong::<OddInternal>(
            r#"{"quote\"d\\tag": "MATCH", "LOOP": 1}"#,
            "fields keep their names",
        )
        .wrong::<OddInternal>(
            r#"{"quote\"d\tag": "MATCH", "loop": 1}"#,
            "a tab for a backslash",
        )
        .wrong::<OddInternal>(r#"{"quote\"d\\tag": "read"}"#, "the deserialize name")
        .wrong::<OddInternal>(r#"{"quote\"d\\tag": "SPLIT"}"#, "the rule over a rename")
        .wrong::<OddInternal>(
            r#"{"quote\"d\\tag": "nul\u0000"}"#,
            "the newtype's fields missing",
        )
        .wrong::<OddInternal>(
            r#"{"quote\"d\\tag": "", "x": 1}"#,
            "another variant's field",
        )
        .wrong::<OddInternal>(
            r#"{"quote\"d\\tag": "carriage\rreturn"}"#,
            "a field missing",
        )
        .wrong::<OddAdjacent>(
            r#"{"": "match", "line\u2028": null}"#,
            "a unit has no content",
        )
        .wrong::<OddAdjacent>(r#"{"": "${x}"}"#, "the content missing")
        .wrong::<OddAdjacent>(r#"{"": "${x}", "line": 1}"#, "the separator left out")
        .wrong::<OddAdjacent>(r#"{"tag": "match"}"#, "the tag's name")
        .wrong::<OddAdjacent>(r#"{"": "0", "line\u2028": [1]}"#, "one element of two")
        .wrong::<OddAdjacent>(r#"{"": 0, "line\u2028": [1, 2]}"#, "a tag is a string")
        .wrong::<OddTaggedStruct>(r#"{"the tag": "OddTaggedStruct", "a": 1}"#, "the Rust name")
        .wrong::<OddTaggedStruct>(r#"{"a": 1}"#, "the tag missing")
        .wrong::<RawRule>(r#""match""#, "the rule")
        .wrong::<RawRule>(r#""r#match""#, "a raw identifier's r#")
        .wrong::<RawRule>(r#"{"TYPE": "1"}"#, "a number")
        .wrong::<RawRule>(
            r#"{"FN": {"IN": 1, "field_name": 1}}"#,
            "the rule is not the fields'",
        )
        .wrong::<RawRule>(
            r#"{"FN": {"in": 1, "FIELD-NAME": 1}}"#,
            "the rule is not the fields'",
        );
    check.run();
}

// ---------------------------------------------------------------------------------------------
// Enums: each representation with every variant kind, nested in each other and in lists,
// options and maps.

#[derive(TypeScript, Serialize, Clone)]
struct UnitStruct;

#[derive(TypeScript, Serialize, Clone)]
struct EmptyStruct {}

#[derive(TypeScript, Serialize, Clone)]
struct TupleStruct(u8, bool);

/// A newtype struct whose only field is skipped: serde writes it as a tuple struct of none.
#[derive(TypeScript, Serialize, Clone)]
struct SkippedNewtype(#[serde(skip)] u8);

#[derive(TypeScript, Serialize, Clone)]
enum Ext {
    Unit,
    Newtype(u8),
    Tuple(u8, String),
    Struct {
        a: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<u8>,
    },
    EmptyTuple(),
    EmptyStruct {},
    NewUnitStruct(UnitStruct),
    NewEmptyStruct(EmptyStruct),
    NewTupleStruct(TupleStruct),
    NewSkippedNewtype(SkippedNewtype),
    OnlySkipped(#[serde(skip)] u8),
    AllSkipped(#[serde(skip)] u8, #[serde(skip)] u8),
    NewInt(Box<Int>),
    NewAdj(Box<Adj>),
    NewUnt(Box<Unt>),
    NewOptionOption(Option<Option<u8>>),
    #[serde(rename_all = "UPPERCASE")]
    OwnRule {
        field_name: u8,
    },
    #[serde(skip)]
    Hidden(u8),
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(tag = "t")]
struct TaggedStruct {
    a: u8,
}

#[derive(TypeScript, Serialize, Clone)]
struct NewtypeOf(Extra);

#[derive(TypeScript, Serialize, Clone)]
#[serde(transparent)]
struct TransparentOf {
    extra: Extra,
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(untagged)]
enum UntStructs {
    A { x: u8 },
    B { y: bool },
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(tag = "type")]
enum Int {
    Unit,
    Struct {
        a: u8,
    },
    EmptyStruct {},
    NewStruct(Extra),
    NewEmptyStruct(EmptyStruct),
    NewMap(BTreeMap<Colour, u8>),
    NewTagged(TaggedStruct),
    NewBox(Box<Extra>),
    NewNewtypeStruct(NewtypeOf),
    NewTransparent(TransparentOf),
    NewAdj(Adj),
    NewUntStructs(UntStructs),
    NewJson(Json),
    WithFlats {
        n: u8,
        #[serde(flatten)]
        extra: Extra,
        #[serde(flatten)]
        tagged: TaggedStruct,
        #[serde(flatten)]
        maybe: Option<Other>,
        #[serde(flatten)]
        untagged: UntStructs,
    },
    WithFlatMap {
        s: String,
        #[serde(flatten)]
        rest: BTreeMap<String, String>,
    },
    #[serde(rename_all = "kebab-case")]
    OwnRule {
        field_name: u8,
    },
    OnlySkipped(#[serde(skip)] u8),
    #[serde(skip)]
    Hidden,
    #[serde(other)]
    Unknown,
}

#[derive(TypeScript, Serialize, Clone)]
struct Other {
    other: Vec<u8>,
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(tag = "t", content = "c")]
enum Adj {
    Unit,
    Newtype(Option<u8>),
    Tuple(u8, bool),
    Struct {
        s: String,
    },
    EmptyTuple(),
    EmptyStruct {},
    NewUnitStruct(UnitStruct),
    NewUnit(()),
    NewEmptyStruct(EmptyStruct),
    NewExt(Box<Ext>),
    NewInt(Box<Int>),
    NewOptionOption(Option<Option<bool>>),
    AllSkipped(#[serde(skip)] u8, #[serde(skip)] u8),
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    OwnRule {
        field_name: u8,
    },
    OnlySkipped(#[serde(skip)] u8),
    #[serde(skip_serializing)]
    NotWritten(u8),
    #[serde(other)]
    Unknown,
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(untagged)]
enum Unt {
    Unit,
    NewUnitStruct(UnitStruct),
    NewUnit(()),
    EmptyTuple(),
    EmptyStruct {},
    Newtype(String),
    Tuple(u8, bool),
    Struct {
        #[serde(rename = "S")]
        s: u8,
    },
    NewExt(Box<Ext>),
    NewInt(Box<Int>),
    NewAdj(Box<Adj>),
    OnlySkipped(#[serde(skip)] u8),
    #[serde(skip)]
    Hidden(u8),
}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Colour {
    Red,
    #[serde(rename = "sky blue")]
    Sky,
}

fn ext(r: &mut Rng, depth: u32) -> Ext {
    // `NewSkippedNewtype` and `OnlySkipped` have tests of their own below.
    let variant = r.below(if depth > 2 { 11 } else { 15 });
    match variant {
        0 => Ext::Unit,
        1 => Ext::Newtype(r.byte()),
        2 => Ext::Tuple(r.byte(), r.string()),
        3 => Ext::Struct {
            a: r.flag(),
            b: r.flag().then(|| r.byte()),
        },
        4 => Ext::EmptyTuple(),
        5 => Ext::EmptyStruct {},
        6 => Ext::NewUnitStruct(UnitStruct),
        7 => Ext::NewEmptyStruct(EmptyStruct {}),
        8 => Ext::NewTupleStruct(TupleStruct(r.byte(), r.flag())),
        9 => Ext::AllSkipped(r.byte(), r.byte()),
        10 => Ext::NewOptionOption(r.pick(&[None, Some(None), Some(Some(7))])),
        11 => Ext::OwnRule {
            field_name: r.byte(),
        },
        12 => Ext::NewInt(Box::new(int(r, depth + 1))),
        13 => Ext::NewAdj(Box::new(adj(r, depth + 1))),
        _ => Ext::NewUnt(Box::new(unt(r, depth + 1))),
    }
}

fn colours(r: &mut Rng) -> BTreeMap<Colour, u8> {
    (0..r.below(3))
        .map(|_| (r.pick(&[Colour::Red, Colour::Sky]), r.byte()))
        .collect()
}

fn unt_structs(r: &mut Rng) -> UntStructs {
    if r.flag() {
        UntStructs::A { x: r.byte() }
    } else {
        UntStructs::B { y: r.flag() }
    }
}

fn json_value(r: &mut Rng, depth: u32) -> serde_json::Value {
    match r.below(if depth > 2 { 4 } else { 6 }) {
        0 => serde_json::Value::Null,
        1 => r.flag().into(),
        2 => (f64::from(r.byte()) - 100.5).into(),
        3 => r.string().into(),
        4 => (0..r.below(3)).map(|_| json_value(r, depth + 1)).collect(),
        _ => serde_json::Value::Object(
            (0..r.below(3))
                .map(|_| (r.string(), json_value(r, depth + 1)))
                .collect(),
        ),
    }
}

fn int(r: &mut Rng, depth: u32) -> Int {
    // `NewEmptyStruct` has a test of its own below.
    match r.below(if depth > 2 { 16 } else { 17 }) {
        0 => Int::Unit,
        1 => Int::Struct { a: r.byte() },
        2 => Int::EmptyStruct {},
        3 => Int::NewStruct(extra(r)),
        4 => Int::Struct { a: 0 },
        5 => Int::NewMap(colours(r)),
        6 => Int::NewTagged(TaggedStruct { a: r.byte() }),
        7 => Int::NewBox(Box::new(extra(r))),
        8 => Int::NewNewtypeStruct(NewtypeOf(extra(r))),
        9 => Int::NewTransparent(TransparentOf { extra: extra(r) }),
        10 => Int::NewUntStructs(unt_structs(r)),
        11 => {
            // serde writes an object or null in the tag's object, and refuses anything else.
            let object = serde_json::Value::Object(
                (0..r.below(3))
                    .map(|_| (format!("k{}", r.string()), json_value(r, 2)))
                    .collect(),
            );
            Int::NewJson(Json::from(r.pick(&[serde_json::Value::Null, object])))
        }
        12 => Int::WithFlats {
            n: r.byte(),
            extra: extra(r),
            tagged: TaggedStruct { a: r.byte() },
            maybe: r.flag().then(|| Other {
                other: vec![r.byte()],
            }),
            untagged: unt_structs(r),
        },
        13 => Int::WithFlatMap {
            s: r.string(),
            rest: (0..r.below(3))
                .map(|_| (format!("k{}", r.string()), r.string()))
                .collect(),
        },
        14 => Int::OwnRule {
            field_name: r.byte(),
        },
        15 => Int::Unknown,
        _ => Int::NewAdj(adj(r, depth + 1)),
    }
}

fn adj(r: &mut Rng, depth: u32) -> Adj {
    match r.below(if depth > 2 { 14 } else { 16 }) {
        0 => Adj::Unit,
        1 => Adj::Newtype(r.flag().then(|| r.byte())),
        2 => Adj::Tuple(r.byte(), r.flag()),
        3 => Adj::Struct { s: r.string() },
        4 => Adj::EmptyTuple(),
        5 => Adj::EmptyStruct {},
        6 => Adj::NewUnitStruct(UnitStruct),
        7 => Adj::NewUnit(()),
        8 => Adj::NewEmptyStruct(EmptyStruct {}),
        9 => Adj::NewOptionOption(r.pick(&[None, Some(None), Some(Some(true))])),
        10 => Adj::AllSkipped(r.byte(), r.byte()),
        11 => Adj::OwnRule {
            field_name: r.byte(),
        },
        12 => Adj::Unknown,
        13 => Adj::Newtype(None),
        14 => Adj::NewExt(Box::new(ext(r, depth + 1))),
        _ => Adj::NewInt(Box::new(int(r, depth + 1))),
    }
}

fn unt(r: &mut Rng, depth: u32) -> Unt {
    match r.below(if depth > 2 { 8 } else { 11 }) {
        0 => Unt::Unit,
        1 => Unt::NewUnitStruct(UnitStruct),
        2 => Unt::NewUnit(()),
        3 => Unt::EmptyTuple(),
        4 => Unt::EmptyStruct {},
        5 => Unt::Newtype(r.string()),
        6 => Unt::Tuple(r.byte(), r.flag()),
        7 => Unt::Struct { s: r.byte() },
        8 => Unt::NewExt(Box::new(ext(r, depth + 1))),
        9 => Unt::NewInt(Box::new(int(r, depth + 1))),
        _ => Unt::NewAdj(Box::new(adj(r, depth + 1))),
    }
}

/// The four representations nested in lists, options and maps.
#[derive(TypeScript, Serialize)]
struct Nests {
    ext: Vec<Option<BTreeMap<String, Ext>>>,
    int: Option<Vec<Int>>,
    adj: BTreeMap<String, Vec<Adj>>,
    unt: Vec<Option<Unt>>,
    pairs: Vec<(Ext, Int, Adj, Unt)>,
}

fn nests(r: &mut Rng) -> Nests {
    Nests {
        ext: (0..r.below(3))
            .map(|_| {
                r.flag()
                    .then(|| (0..r.below(3)).map(|_| (r.string(), ext(r, 1))).collect())
            })
            .collect(),
        int: r
            .flag()
            .then(|| (0..r.below(3)).map(|_| int(r, 1)).collect()),
        adj: (0..r.below(3))
            .map(|_| (r.string(), (0..r.below(3)).map(|_| adj(r, 1)).collect()))
            .collect(),
        unt: (0..r.below(3))
            .map(|_| r.flag().then(|| unt(r, 1)))
            .collect(),
        pairs: (0..r.below(2))
            .map(|_| (ext(r, 1), int(r, 1), adj(r, 1), unt(r, 1)))
            .collect(),
    }
}

#[test]
fn every_representation_and_variant_kind_nested_in_each_other() {
    let mut r = Rng(0xB11D_0002);
    let mut check = Check::new("enums");
    for _ in 0..60 {
        check.value(&nests(&mut r));
    }
    for _ in 0..40 {
        check.value(&ext(&mut r, 0));
        check.value(&adj(&mut r, 0));
        check.value(&unt(&mut r, 0));
    }
    check
        .wrong::<Ext>(r#"{"Unit": null}"#, "a unit is its name")
        .wrong::<Ext>(r#""Newtype""#, "a newtype's content missing")
        .wrong::<Ext>(r#"{"Tuple": [1]}"#, "one element of two")
        .wrong::<Ext>(r#"{"Struct": {"b": 1}}"#, "a field missing")
        .wrong::<Ext>(r#"{"Struct": {"a": true, "c": 1}}"#, "a misspelled field")
        .wrong::<Ext>(r#"{"EmptyTuple": {}}"#, "an empty tuple is []")
        .wrong::<Ext>(r#"{"EmptyStruct": []}"#, "an empty struct is {}")
        .wrong::<Ext>(r#"{"EmptyStruct": {"a": 1}}"#, "an empty struct has no fields")
        .wrong::<Ext>(r#"{"NewUnitStruct": {}}"#, "a unit struct is null")
        .wrong::<Ext>(r#"{"OnlySkipped": 1}"#, "the skipped field")
        .wrong::<Ext>(r#"{"AllSkipped": [1, 2]}"#, "the skipped fields")
        .wrong::<Ext>(r#"{"NewOptionOption": [null]}"#, "Some(None) is null")
        .wrong::<Ext>(r#"{"OwnRule": {"field_name": 1}}"#, "the variant's rule")
        .wrong::<Ext>(r#"{"Hidden": 1}"#, "a skipped variant")
        .wrong::<Ext>(r#"{"NewInt": {"type": "Struct"}}"#, "a field missing inside")
        .wrong::<Ext>(r#"{"NewAdj": {"t": "Tuple", "c": [1, 1]}}"#, "a wrong type inside")
        .wrong::<Ext>(r#"{"NewUnt": {"s": 1}}"#, "a renamed field inside")
        .wrong::<Int>(r#"{"type": "Hidden"}"#, "a skipped variant")
        .wrong::<Int>(r#"{"type": "Struct", "a": 1, "colour": "c"}"#, "another variant's field")
        .wrong::<Int>(r#"{"type": "EmptyStruct", "a": 1}"#, "an empty struct variant's field")
        .wrong::<Int>(r#"{"type": "NewStruct", "colour": "c"}"#, "a field missing")
        .wrong::<Int>(r#"{"type": "NewMap", "Blue": 1}"#, "a key no variant has")
        .wrong::<Int>(r#"{"type": "NewTagged", "a": 1}"#, "the struct's own tag missing")
        .wrong::<Int>(r#"{"type": "NewTagged", "t": "NewTagged", "a": 1}"#, "the struct's own tag")
        .wrong::<Int>(r#"{"type": "NewBox", "NewBox": {"colour": "c", "weight": 1}}"#, "nested")
        .wrong::<Int>(r#"{"type": "NewNewtypeStruct", "colour": 1, "weight": 1}"#, "a wrong type")
        .wrong::<Int>(r#"{"type": "NewTransparent", "extra": {"colour": "c", "weight": 1}}"#, "transparent")
        .wrong::<Int>(r#"{"type": "NewAdj", "t": "Unit", "c": null}"#, "a unit has no content")
        .wrong::<Int>(r#"{"type": "NewAdj"}"#, "the inner tag missing")
        .wrong::<Int>(r#"{"type": "NewUntStructs"}"#, "no variant's fields")
        .wrong::<Int>(r#"{"type": "NewJson", "k": undefined}"#, "undefined is no JSON")
        .wrong::<Int>(
            r#"{"type": "WithFlats", "n": 1, "colour": "c", "weight": null, "a": 1, "y": true}"#,
            "the flattened tagged struct's tag missing",
        )
        .wrong::<Int>(
            r#"{"type": "WithFlats", "n": 1, "colour": "c", "weight": null, "t": "TaggedStruct", "a": 1}"#,
            "the flattened untagged enum's fields missing",
        )
        .wrong::<Int>(
            r#"{"type": "WithFlats", "n": 1, "colour": "c", "weight": null, "t": "TaggedStruct", "a": 1, "y": true, "other": null}"#,
            "a flattened Option's field is never null",
        )
        .wrong::<Int>(
            r#"{"type": "WithFlats", "n": 1, "extra": {"colour": "c", "weight": null}, "t": "TaggedStruct", "a": 1, "y": true}"#,
            "flattened, not nested",
        )
        .wrong::<Int>(r#"{"type": "WithFlatMap", "s": "s", "k": 1}"#, "the map's values are strings")
        .wrong::<Int>(r#"{"type": "WithFlatMap"}"#, "s missing")
        .wrong::<Int>(r#"{"type": "OwnRule", "field_name": 1}"#, "the variant's rule")
        .wrong::<Int>(r#"{"type": "unknown"}"#, "other is written by its name")
        .wrong::<Adj>(r#"{"t": "Unit", "c": null}"#, "a unit has no content")
        .wrong::<Adj>(r#"{"t": "Newtype"}"#, "the content missing, even when None")
        .wrong::<Adj>(r#"{"t": "EmptyTuple"}"#, "an empty tuple's content is []")
        .wrong::<Adj>(r#"{"t": "EmptyStruct"}"#, "an empty struct's content is {}")
        .wrong::<Adj>(r#"{"t": "NewUnitStruct"}"#, "a unit struct's content is null")
        .wrong::<Adj>(r#"{"t": "NewUnit"}"#, "()'s content is null")
        .wrong::<Adj>(r#"{"t": "NewEmptyStruct", "c": null}"#, "an empty struct is {}")
        .wrong::<Adj>(r#"{"t": "AllSkipped", "c": null}"#, "no elements are []")
        .wrong::<Adj>(r#"{"t": "OwnRule", "c": {"fieldName": 1}}"#, "the variant's rule")
        .wrong::<Adj>(r#"{"t": "NotWritten", "c": 1}"#, "a skip_serializing variant")
        .wrong::<Adj>(r#"{"t": "Unknown", "c": null}"#, "other is a unit")
        .wrong::<Adj>(r#"{"t": "NewExt", "c": "Newtype"}"#, "a newtype inside")
        .wrong::<Unt>(r#"{"Unit": null}"#, "an untagged unit is null")
        .wrong::<Unt>("[1]", "no such tuple")
        .wrong::<Unt>(r#"{"s": 1}"#, "the renamed field")
        // Not `{"t": "OnlySkipped", "c": 1}`: `Adj::OnlySkipped` is `{ t: "OnlySkipped" }` (serde
        // writes it as a unit variant), and TypeScript does not check a property (`c`) another
        // member of a union has.
        .wrong::<Unt>(r#"{"Struct": {"S": 1}}"#, "untagged writes no name")
        .wrong::<Unt>("5", "no variant is a number")
        .wrong::<Unt>("true", "no variant is a boolean")
        .wrong::<Nests>(r#"{"ext": [], "int": [], "adj": {}, "unt": []}"#, "pairs missing")
        .wrong::<Nests>(
            r#"{"ext": [{"k": "Newtype"}], "int": null, "adj": {}, "unt": [], "pairs": []}"#,
            "a newtype in a map in a list",
        )
        .wrong::<Nests>(
            r#"{"ext": [], "int": [null], "adj": {}, "unt": [], "pairs": []}"#,
            "the list's items are not optional",
        )
        .wrong::<Nests>(
            r#"{"ext": [], "int": null, "adj": {"k": {"t": "Unit"}}, "unt": [], "pairs": []}"#,
            "a map of lists",
        )
        .wrong::<Nests>(
            r#"{"ext": [], "int": null, "adj": {}, "unt": [], "pairs": [["Unit", {"type": "Unit"}, {"t": "Unit"}]]}"#,
            "three of four",
        );
    check.run();
}

#[derive(TypeScript, Serialize)]
#[serde(untagged)]
enum UntSkip {
    Number(u8),
    OnlySkipped(#[serde(skip)] u8),
}

/// serde writes a newtype variant whose field is skipped as a unit variant: `Ext::OnlySkipped(7)`
/// is `"OnlySkipped"`, `Adj::OnlySkipped(7)` is `{"t":"OnlySkipped"}` and
/// `UntSkip::OnlySkipped(7)` is `null` (the internally tagged `{"type":"OnlySkipped"}` is typed
/// right). The types say a tuple of none: `{ OnlySkipped: [] }`, `{ t: "OnlySkipped"; c: [] }`
/// and `number | []`.
#[test]
fn newtype_variant_with_skipped_field_is_a_unit_variant() {
    let mut check = Check::new("skipped-newtype-variant");
    check
        .value(&Ext::OnlySkipped(7))
        .value(&Adj::OnlySkipped(7))
        .value(&UntSkip::OnlySkipped(7))
        .value(&Int::OnlySkipped(7));
    assert_eq!(
        check.ok.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        [
            r#""OnlySkipped""#,
            r#"{"t":"OnlySkipped"}"#,
            "null",
            r#"{"type":"OnlySkipped"}"#
        ]
    );
    check.run();
}

/// serde writes a newtype struct whose field is skipped as the field all the same (`skip` is
/// not read on a newtype struct's field): `SkippedNewtype(7)` is `7`, but the type is `[]`.
#[test]
fn newtype_struct_with_skipped_field_is_written_as_its_field() {
    let mut check = Check::new("skipped-newtype-struct");
    check
        .value(&SkippedNewtype(7))
        .value(&Ext::NewSkippedNewtype(SkippedNewtype(7)));
    assert_eq!(check.ok[0].1, "7");
    check.run();
}

// ---------------------------------------------------------------------------------------------
// Enums as map keys, and enums with no variant serde writes.

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(tag = "t")]
enum IntUnits {
    A,
    B,
}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(tag = "t", content = "c")]
enum AdjUnits {
    A,
    B,
}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(untagged)]
enum UntUnits {
    A,
    B,
}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum MixedUnits {
    A,
    #[serde(untagged)]
    B,
}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
enum SkipUnits {
    FirstOne,
    #[serde(skip)]
    Skipped,
    #[serde(skip_serializing)]
    NotWritten,
    #[serde(rename = "x y")]
    Renamed,
    #[serde(rename(serialize = "written", deserialize = "read"))]
    Split,
    #[serde(alias = "other")]
    Aliased,
}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum KeySkippedNewtype {
    A,
    B(#[serde(skip)] u8),
}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Never {}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum NoneWritten {
    #[serde(skip)]
    A,
    #[serde(skip_serializing)]
    B(u8),
}

#[derive(TypeScript, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(tag = "t")]
enum NoneWrittenInternal {
    #[serde(skip)]
    A,
}

#[derive(TypeScript, Serialize)]
struct Keyed {
    internal: BTreeMap<IntUnits, u8>,
    adjacent: BTreeMap<AdjUnits, u8>,
    untagged: BTreeMap<UntUnits, u8>,
    mixed: BTreeMap<MixedUnits, u8>,
    skips: BTreeMap<SkipUnits, u8>,
    skipped_newtype: BTreeMap<KeySkippedNewtype, u8>,
    never: BTreeMap<Never, u8>,
    never_list: Vec<Never>,
    never_option: Option<Never>,
    none_written: BTreeMap<NoneWritten, u8>,
    none_written_list: Vec<NoneWritten>,
    none_internal: Vec<NoneWrittenInternal>,
    boxed: BTreeMap<Box<SkipUnits>, u8>,
    reversed: BTreeMap<std::cmp::Reverse<SkipUnits>, u8>,
    ord_map: immer::OrdMap<SkipUnits, u8>,
    hash_map: immer::imbl::HashMap<SkipUnits, u8>,
    std_hash_map: std::collections::HashMap<SkipUnits, u8>,
}

const SKIP_UNITS: &[SkipUnits] = &[
    SkipUnits::FirstOne,
    SkipUnits::Renamed,
    SkipUnits::Split,
    SkipUnits::Aliased,
];

fn keyed(r: &mut Rng) -> Keyed {
    fn some<K: Ord + Clone>(r: &mut Rng, keys: &[K]) -> BTreeMap<K, u8> {
        (0..r.below(keys.len() + 1))
            .map(|_| (r.pick(keys), r.byte()))
            .collect()
    }
    let skips = some(r, SKIP_UNITS);
    Keyed {
        // Only an empty map: serde_json writes no key for these.
        internal: BTreeMap::new(),
        adjacent: BTreeMap::new(),
        untagged: BTreeMap::new(),
        mixed: some(r, &[MixedUnits::A]),
        skips: skips.clone(),
        skipped_newtype: some(r, &[KeySkippedNewtype::A, KeySkippedNewtype::B(1)]),
        never: BTreeMap::new(),
        never_list: Vec::new(),
        never_option: None,
        none_written: BTreeMap::new(),
        none_written_list: Vec::new(),
        none_internal: Vec::new(),
        boxed: skips
            .iter()
            .map(|(k, v)| (Box::new(k.clone()), *v))
            .collect(),
        reversed: skips
            .iter()
            .map(|(k, v)| (std::cmp::Reverse(k.clone()), *v))
            .collect(),
        ord_map: skips.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        hash_map: skips.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        std_hash_map: skips.iter().map(|(k, v)| (k.clone(), *v)).collect(),
    }
}

#[test]
fn enums_as_map_keys_and_enums_without_values() {
    let mut r = Rng(0xB11D_0003);
    let mut check = Check::new("keys");
    for _ in 0..30 {
        check.value(&keyed(&mut r));
    }
    check.value(&SKIP_UNITS.to_vec());
    let base = keyed(&mut Rng(1));
    let mut with_keys = base;
    with_keys.skips = SKIP_UNITS.iter().map(|k| (k.clone(), 1)).collect();
    with_keys.boxed = SKIP_UNITS
        .iter()
        .map(|k| (Box::new(k.clone()), 2))
        .collect();
    with_keys.reversed = SKIP_UNITS
        .iter()
        .map(|k| (std::cmp::Reverse(k.clone()), 3))
        .collect();
    with_keys.ord_map = SKIP_UNITS.iter().map(|k| (k.clone(), 4)).collect();
    with_keys.hash_map = SKIP_UNITS.iter().map(|k| (k.clone(), 5)).collect();
    with_keys.std_hash_map = SKIP_UNITS.iter().map(|k| (k.clone(), 6)).collect();
    with_keys.mixed = BTreeMap::from([(MixedUnits::A, 7)]);
    check.value(&with_keys);
    for field in [
        "skips",
        "boxed",
        "reversed",
        "ord_map",
        "hash_map",
        "std_hash_map",
    ] {
        for (key, why) in [
            ("FirstOne", "the Rust name"),
            ("skipped", "a skipped variant"),
            ("not-written", "a skip_serializing variant"),
            ("renamed", "the rule over a rename"),
            ("read", "the deserialize name"),
            ("other", "an alias"),
        ] {
            let wrong = with_field(&with_keys, field, serde_json::json!({ key: 1 }));
            check.wrong::<Keyed>(&wrong, why);
        }
        let wrong = with_field(&with_keys, field, serde_json::json!({ "x y": "1" }));
        check.wrong::<Keyed>(&wrong, "a value of the wrong type");
    }
    check
        .wrong::<Vec<SkipUnits>>(r#"["skipped"]"#, "a skipped variant")
        .wrong::<Vec<Never>>("[null]", "no value")
        .wrong::<Vec<Never>>(r#"["A"]"#, "no value")
        .wrong::<Option<Never>>("1", "no value")
        .wrong::<Vec<NoneWritten>>(r#"["A"]"#, "a skipped variant")
        .wrong::<Vec<NoneWritten>>(r#"[{"B": 1}]"#, "a skip_serializing variant")
        .wrong::<Vec<NoneWrittenInternal>>(r#"[{"t": "A"}]"#, "a skipped variant")
        // `BTreeMap<Never, u8>` with a key is not checked: its type `{ [key in Never]?: number }`
        // is `{}`, which TypeScript checks no excess properties against.
        .wrong::<BTreeMap<SkipUnits, u8>>(r#"{"written": "1"}"#, "a value of the wrong type");
    check.run();
}

// ---------------------------------------------------------------------------------------------
// Generics.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Envelope<T> {
    envelope_id: u32,
    #[serde(flatten)]
    body: T,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "t")]
enum Msg<T> {
    Data(T),
    Stop,
}

#[derive(
    Draftable, TypeScript, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
struct Wrapper<T> {
    inner: T,
}

#[derive(TypeScript, Serialize)]
struct Keys<K: Ord, V> {
    plain: BTreeMap<K, V>,
    wrapped: BTreeMap<Wrapper<K>, V>,
    boxed: BTreeMap<Box<K>, V>,
    reversed: BTreeMap<std::cmp::Reverse<K>, V>,
    nested: Vec<BTreeMap<K, BTreeMap<K, V>>>,
    optional: Option<BTreeMap<K, V>>,
    ord_map: immer::OrdMap<K, V>,
}

#[derive(TypeScript, Serialize)]
struct FlatKeyed<K: Ord> {
    name: String,
    #[serde(flatten)]
    rest: BTreeMap<K, String>,
}

#[derive(TypeScript, Serialize)]
struct Pair<A, B> {
    first: A,
    second: B,
}

#[derive(TypeScript, Serialize)]
struct Twice {
    a: Pair<u8, String>,
    b: Pair<String, u8>,
    c: Vec<Pair<Colour, Option<bool>>>,
    d: Wrapper<Option<Wrapper<u8>>>,
    e: Pair<Pair<u8, Colour>, Option<Pair<String, ()>>>,
    f: Keys<Colour, u8>,
    g: Keys<u32, Colour>,
    h: FlatKeyed<Colour>,
    i: Defaulted,
    j: Defaulted<bool>,
    k: Shapes<Option<u8>>,
}

#[derive(TypeScript, Serialize)]
struct Defaulted<T = u8, U = String>
where
    T: Clone,
{
    t: T,
    u: Vec<U>,
}

#[derive(TypeScript, Serialize)]
struct Shapes<T> {
    array: [T; 2],
    tuple: (T, Option<T>),
    result: Result<T, Vec<T>>,
    #[serde(skip)]
    skipped: std::marker::PhantomData<T>,
    phantom: std::marker::PhantomData<T>,
}

/// A const parameter, which serde's JSON does not show.
#[derive(TypeScript, Serialize)]
struct ConstParameter<const N: usize> {
    items: Vec<u8>,
}

#[derive(TypeScript, Serialize)]
struct Borrowed<'a, T> {
    text: &'a str,
    cow: std::borrow::Cow<'a, str>,
    items: &'a [T],
}

#[derive(TypeScript, Serialize)]
enum GenExt<A, B> {
    U,
    N(A),
    T(A, B),
    S { a: Option<A>, b: Vec<B> },
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "k", content = "v")]
enum GenAdj<A> {
    U,
    N(A),
    T(A, A),
}

#[derive(TypeScript, Serialize)]
#[serde(untagged)]
enum GenUnt<A, B> {
    A(A),
    B { b: B },
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "kind")]
struct TaggedGen<T> {
    value: T,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "t")]
enum GenFlat<T> {
    S {
        a: u8,
        #[serde(flatten)]
        rest: T,
    },
}

// A parameter named as a type the body names by its path (`struct Shadow<Extra> { real:
// crate::Extra, param: Extra }`) is not compiled here: the derive fails on it (`cannot find
// type `__TypeScriptParameterExtra` in the crate root`), where serde takes it.

#[derive(TypeScript, Serialize, Clone)]
enum Small {
    Plain,
    Wrapped(u8),
    Fields { f: bool },
}

const COLOURS: &[Colour] = &[Colour::Red, Colour::Sky];

fn keys<K: Ord + Clone, V: Clone>(
    r: &mut Rng,
    keys: &[K],
    mut value: impl FnMut(&mut Rng) -> V,
) -> Keys<K, V> {
    let mut map = |r: &mut Rng| -> BTreeMap<K, V> {
        (0..r.below(keys.len() + 1))
            .map(|_| (r.pick(keys), value(r)))
            .collect()
    };
    Keys {
        plain: map(r),
        wrapped: map(r)
            .into_iter()
            .map(|(k, v)| (Wrapper { inner: k }, v))
            .collect(),
        boxed: map(r).into_iter().map(|(k, v)| (Box::new(k), v)).collect(),
        reversed: map(r)
            .into_iter()
            .map(|(k, v)| (std::cmp::Reverse(k), v))
            .collect(),
        nested: (0..r.below(3))
            .map(|_| {
                let inner: Vec<_> = (0..r.below(3)).map(|_| (r.pick(keys), map(r))).collect();
                inner.into_iter().collect()
            })
            .collect(),
        optional: r.flag().then(|| map(r)),
        ord_map: map(r).into_iter().collect(),
    }
}

fn twice(r: &mut Rng) -> Twice {
    Twice {
        a: Pair {
            first: r.byte(),
            second: r.string(),
        },
        b: Pair {
            first: r.string(),
            second: r.byte(),
        },
        c: (0..r.below(3))
            .map(|_| Pair {
                first: r.pick(COLOURS),
                second: r.pick(&[None, Some(true), Some(false)]),
            })
            .collect(),
        d: Wrapper {
            inner: r.flag().then(|| Wrapper { inner: r.byte() }),
        },
        e: Pair {
            first: Pair {
                first: r.byte(),
                second: r.pick(COLOURS),
            },
            second: r.flag().then(|| Pair {
                first: r.string(),
                second: (),
            }),
        },
        f: keys(r, COLOURS, Rng::byte),
        g: keys(r, &[0, 1, u32::MAX], |r| r.pick(COLOURS)),
        h: FlatKeyed {
            name: r.string(),
            rest: (0..r.below(3))
                .map(|_| (r.pick(COLOURS), r.string()))
                .collect(),
        },
        i: Defaulted {
            t: r.byte(),
            u: vec![r.string()],
        },
        j: Defaulted {
            t: r.flag(),
            u: vec![],
        },
        k: Shapes {
            array: [r.flag().then(|| r.byte()), None],
            tuple: (Some(r.byte()), r.pick(&[None, Some(None), Some(Some(3))])),
            result: if r.flag() {
                Ok(Some(r.byte()))
            } else {
                Err(vec![None, Some(1)])
            },
            skipped: std::marker::PhantomData,
            phantom: std::marker::PhantomData,
        },
    }
}

fn small(r: &mut Rng) -> Small {
    match r.below(3) {
        0 => Small::Plain,
        1 => Small::Wrapped(r.byte()),
        _ => Small::Fields { f: r.flag() },
    }
}

/// `small` but never `Plain`, which the tests of flattened type parameters below have.
fn small_not_plain(r: &mut Rng) -> Small {
    match small(r) {
        Small::Plain => Small::Wrapped(0),
        other => other,
    }
}

#[test]
fn generics_nested_defaulted_and_keyed_by_their_parameters() {
    let mut r = Rng(0xB11D_0004);
    let mut check = Check::new("generics");
    for _ in 0..40 {
        check.value(&twice(&mut r));
        let items: Vec<u8> = (0..r.below(3)).map(|_| r.byte()).collect();
        let text = r.string();
        check.value(&Borrowed {
            text: &text,
            cow: std::borrow::Cow::Owned(r.string()),
            items: &items,
        });
        check.value(&match r.below(4) {
            0 => GenExt::U,
            1 => GenExt::N(r.byte()),
            2 => GenExt::T(r.byte(), r.pick(COLOURS)),
            _ => GenExt::S {
                a: r.flag().then(|| r.byte()),
                b: vec![r.pick(COLOURS)],
            },
        });
        check.value(&match r.below(3) {
            0 => GenAdj::U,
            1 => GenAdj::N(UnitStruct),
            _ => GenAdj::T(UnitStruct, UnitStruct),
        });
        check.value(&if r.flag() {
            GenUnt::<u8, String>::A(r.byte())
        } else {
            GenUnt::B { b: r.string() }
        });
        check.value(&TaggedGen {
            value: r.flag().then(|| r.byte()),
        });
        check.value(&GenFlat::S {
            a: r.byte(),
            rest: extra(&mut r),
        });
        check.value(&Envelope {
            envelope_id: 1,
            body: Some(extra(&mut r)),
        });
        check.value(&Envelope {
            envelope_id: 2,
            body: small_not_plain(&mut r),
        });
        check.value(&Msg::Data(extra(&mut r)));
        check.value(&Msg::Data(small_not_plain(&mut r)));
        check.value(&Msg::<Extra>::Stop);
        check.value(&keys(&mut r, ODD_UNITS, Rng::flag));
        check.value(&keys(&mut r, &['a', '"', '🦀'], Rng::string));
        check.value(&keys(&mut r, &[true, false], Rng::byte));
        check.value(&keys(&mut r, &[i64::MIN, -1, 0], Rng::byte));
        check.value(&ConstParameter::<3> {
            items: vec![r.byte()],
        });
    }
    let twice = twice(&mut Rng(7));
    let f = Keys {
        plain: BTreeMap::from([(Colour::Red, 1)]),
        wrapped: BTreeMap::from([(Wrapper { inner: Colour::Red }, 1)]),
        boxed: BTreeMap::from([(Box::new(Colour::Red), 1)]),
        reversed: BTreeMap::from([(std::cmp::Reverse(Colour::Red), 1)]),
        nested: vec![BTreeMap::from([(
            Colour::Red,
            BTreeMap::from([(Colour::Sky, 1)]),
        )])],
        optional: Some(BTreeMap::from([(Colour::Red, 1)])),
        ord_map: immer::OrdMap::from(vec![(Colour::Red, 1)]),
    };
    let twice = Twice { f, ..twice };
    check.value(&twice);
    for field in [
        "plain", "wrapped", "boxed", "reversed", "optional", "ord_map",
    ] {
        let mut wrong = serde_json::to_value(&twice).expect("JSON");
        wrong["f"][field] = serde_json::json!({"Blue": 1});
        check.wrong::<Twice>(&json(&wrong), "a key no variant of Colour has");
        wrong["f"][field] = serde_json::json!({"Red": "1"});
        check.wrong::<Twice>(&json(&wrong), "a value of the wrong type");
    }
    for (from, to, why) in [
        (
            r#""Red":{"sky blue":1}"#,
            r#""Red":{"Blue":1}"#,
            "a key of an inner map",
        ),
        (r#"[{"Red":{"#, r#"[{"Blue":{"#, "a key of an outer map"),
    ] {
        check.wrong_edit(&twice, from, to, why);
    }
    for (field, value, why) in [
        (
            "a",
            serde_json::json!({"first": "1", "second": "s"}),
            "A is a number",
        ),
        (
            "b",
            serde_json::json!({"first": 1, "second": 1}),
            "A is a string here",
        ),
        (
            "c",
            serde_json::json!([{"first": "Blue", "second": null}]),
            "not a Colour",
        ),
        ("c", serde_json::json!([{"first": "Red"}]), "second missing"),
        ("d", serde_json::json!({"inner": 1}), "transparent"),
        ("d", serde_json::json!("1"), "a number"),
        (
            "e",
            serde_json::json!({"first": {"first": 1, "second": "Red"}, "second": {"first": "s", "second": 1}}),
            "() is null",
        ),
        (
            "g",
            serde_json::json!({"plain": {"1": 1}, "wrapped": {}, "boxed": {}, "reversed": {}, "nested": [], "optional": null, "ord_map": {}}),
            "V is Colour",
        ),
        (
            "h",
            serde_json::json!({"name": "n", "Blue": "s"}),
            "a key no variant of Colour has",
        ),
        (
            "h",
            serde_json::json!({"name": "n", "Red": 1}),
            "the flattened map's values are strings",
        ),
        (
            "h",
            serde_json::json!({"name": "n", "rest": {}}),
            "flattened, not nested",
        ),
        (
            "i",
            serde_json::json!({"t": true, "u": []}),
            "the default T is u8",
        ),
        (
            "i",
            serde_json::json!({"t": 1, "u": [1]}),
            "the default U is String",
        ),
        ("j", serde_json::json!({"t": 1, "u": []}), "T is bool"),
        (
            "k",
            serde_json::json!({"array": [1, 2, 3], "tuple": [1, null], "result": {"Ok": 1}, "phantom": null}),
            "three of two",
        ),
        (
            "k",
            serde_json::json!({"array": [1, 2], "tuple": [1], "result": {"Ok": 1}, "phantom": null}),
            "one of two",
        ),
        (
            "k",
            serde_json::json!({"array": [1, 2], "tuple": [1, null], "result": {"Err": 1}, "phantom": null}),
            "Err is a list",
        ),
        (
            "k",
            serde_json::json!({"array": [1, 2], "tuple": [1, null], "result": {"Ok": 1}}),
            "PhantomData is null, not missing",
        ),
        (
            "k",
            serde_json::json!({"array": [1, 2], "tuple": [1, null], "result": {"Ok": 1}, "phantom": null, "skipped": null}),
            "a skipped field",
        ),
    ] {
        check.wrong::<Twice>(&with_field(&twice, field, value), why);
    }
    check
        .wrong::<ConstParameter<3>>(r#"{"items": [true]}"#, "numbers")
        .wrong::<Borrowed<u8>>(r#"{"text": "t", "cow": "c", "items": ["1"]}"#, "T is u8")
        .wrong::<Borrowed<u8>>(r#"{"text": "t", "cow": {"Owned": "c"}, "items": []}"#, "a Cow is its content")
        .wrong::<GenExt<u8, Colour>>(r#"{"N": "1"}"#, "A is u8")
        .wrong::<GenExt<u8, Colour>>(r#"{"T": [1, "Blue"]}"#, "B is Colour")
        .wrong::<GenExt<u8, Colour>>(r#"{"S": {"a": 1}}"#, "b missing")
        .wrong::<GenExt<u8, Colour>>(r#"{"U": null}"#, "a unit is its name")
        .wrong::<GenAdj<UnitStruct>>(r#"{"k": "N"}"#, "the content missing")
        .wrong::<GenAdj<UnitStruct>>(r#"{"k": "N", "v": {}}"#, "a unit struct is null")
        .wrong::<GenAdj<UnitStruct>>(r#"{"k": "T", "v": [null]}"#, "one of two")
        .wrong::<GenUnt<u8, String>>(r#""s""#, "A is u8")
        .wrong::<GenUnt<u8, String>>(r#"{"b": 1}"#, "B is String")
        .wrong::<GenUnt<u8, String>>(r#"{"B": {"b": "s"}}"#, "untagged writes no name")
        .wrong::<TaggedGen<Option<u8>>>(r#"{"value": 1}"#, "the tag missing")
        .wrong::<TaggedGen<Option<u8>>>(r#"{"kind": "TaggedGen<u8>", "value": 1}"#, "the tag is the name")
        .wrong::<GenFlat<Extra>>(r#"{"t": "S", "a": 1, "rest": {"colour": "c", "weight": null}}"#, "flattened, not nested")
        .wrong::<GenFlat<Extra>>(r#"{"t": "S", "a": 1, "colour": "c"}"#, "weight missing")
        // Not `{"envelope_id": 1, "colour": "c"}` for `Envelope<Option<Extra>>`: a flattened
        // `Option<Extra>` is `Extra | {}`, and `{}` takes some of `Extra`'s fields alone (a limit
        // the module docs state).
        .wrong::<Envelope<Option<Extra>>>(r#"{"envelope_id": 1, "body": null}"#, "flattened, not nested")
        .wrong::<Envelope<Small>>(r#"{"envelope_id": 1, "Wrapped": "1"}"#, "a number")
        .wrong::<Envelope<Small>>(r#"{"envelope_id": 1}"#, "the variant missing")
        .wrong::<Msg<Extra>>(r#"{"t": "Data"}"#, "the content missing")
        .wrong::<Msg<Extra>>(r#"{"t": "Data", "Data": {"colour": "c", "weight": null}}"#, "merged, not nested")
        .wrong::<Msg<Small>>(r#"{"t": "Data", "Wrapped": true}"#, "a number")
        .wrong::<Keys<OddUnits, bool>>(r#"{"plain": {"match": 1}, "wrapped": {}, "boxed": {}, "reversed": {}, "nested": [], "optional": null, "ord_map": {}}"#, "V is bool")
        .wrong::<Keys<OddUnits, bool>>(r#"{"plain": {"Match": true}, "wrapped": {}, "boxed": {}, "reversed": {}, "nested": [], "optional": null, "ord_map": {}}"#, "a key no variant has");
    check.run();
}

/// A flattened type parameter is intersected as it is (`export type Envelope<T> =
/// { envelope_id: number } & T;`), so the arguments serde writes nothing for make it `never`:
/// a `None` (`Envelope<Extra | null>`, serde writes `{"envelope_id":1}`), a unit struct
/// (`Envelope<UnitStruct>`, `& null`), `()` (`Envelope<null>`) and an empty struct
/// (`& { [key: string]: never }`, which makes `envelope_id` `never`). A flattened
/// `Option<Extra>` field of a concrete type is `Extra | {}` and right.
#[test]
fn generic_flattened_parameter_that_adds_nothing() {
    let mut check = Check::new("generic-flatten-nothing");
    check
        .value(&Envelope::<Option<Extra>> {
            envelope_id: 1,
            body: None,
        })
        .value(&Envelope {
            envelope_id: 2,
            body: UnitStruct,
        })
        .value(&Envelope {
            envelope_id: 3,
            body: (),
        })
        .value(&Envelope {
            envelope_id: 4,
            body: EmptyStruct {},
        })
        .value(&GenFlat::<Option<Extra>>::S { a: 5, rest: None });
    assert_eq!(
        check.ok.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        [
            r#"{"envelope_id":1}"#,
            r#"{"envelope_id":2}"#,
            r#"{"envelope_id":3}"#,
            r#"{"envelope_id":4}"#,
            r#"{"t":"S","a":5}"#
        ]
    );
    check.run();
}

/// A flattened type parameter that is an externally tagged enum: serde writes a unit variant
/// as its name with `null`, `{"envelope_id":1,"Plain":null}`, but the type is
/// `{ envelope_id: number } & Small`, whose unit member is `{ ... } & "Plain"`. (The same
/// enum flattened in a concrete type is typed right.)
#[test]
fn generic_flattened_external_unit_variant() {
    let mut check = Check::new("generic-flatten-unit-variant");
    check.value(&Envelope {
        envelope_id: 1,
        body: Small::Plain,
    });
    assert_eq!(check.ok[0].1, r#"{"envelope_id":1,"Plain":null}"#);
    check.run();
}

/// An internally tagged newtype variant of a type parameter is `{ t: "Data" } & T`, so the
/// arguments serde writes as the tag alone (or the tag and a key) are rejected: `Msg<()>` and
/// `Msg<UnitStruct>` (`{"t":"Data"}`, typed `& null`), `Msg<EmptyStruct>` (`{"t":"Data"}`,
/// whose tag the index signature of `never` rejects) and `Msg<Small>` with `Small::Plain`
/// (`{"t":"Data","Plain":null}`, typed `& "Plain"`).
#[test]
fn internally_tagged_generic_newtype_of_unit_like() {
    let mut check = Check::new("generic-internal-unit");
    check
        .value(&Msg::Data(()))
        .value(&Msg::Data(UnitStruct))
        .value(&Msg::Data(EmptyStruct {}))
        .value(&Msg::Data(Small::Plain));
    assert_eq!(
        check.ok.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        [
            r#"{"t":"Data"}"#,
            r#"{"t":"Data"}"#,
            r#"{"t":"Data"}"#,
            r#"{"t":"Data","Plain":null}"#
        ]
    );
    check.run();
}

// ---------------------------------------------------------------------------------------------
// Flatten: several at once, flattened wrappers, flatten inside flatten.

#[derive(TypeScript, Serialize)]
struct FA {
    fa: u8,
}

#[derive(TypeScript, Serialize)]
#[serde(rename_all = "UPPERCASE")]
struct FB {
    fb: String,
    #[serde(flatten)]
    fc: FC,
}

#[derive(TypeScript, Serialize)]
struct FC {
    fc: bool,
    #[serde(flatten)]
    deep: Option<FD>,
}

#[derive(TypeScript, Serialize)]
struct FD {
    #[serde(rename = "f-d")]
    fd: Vec<u8>,
}

#[derive(TypeScript, Serialize)]
struct FE {
    fe: u8,
}

#[derive(TypeScript, Serialize)]
struct FF {
    ff: Option<u8>,
}

#[derive(TypeScript, Serialize)]
struct FG {
    fg: u8,
}

#[derive(TypeScript, Serialize)]
struct FNew(FH);

#[derive(TypeScript, Serialize)]
struct FH {
    fh: u8,
}

#[derive(TypeScript, Serialize)]
#[serde(transparent)]
struct FTrans {
    inner: FI,
}

#[derive(TypeScript, Serialize)]
struct FI {
    fi: u8,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "ftag")]
struct FTagged {
    ft: u8,
}

#[derive(TypeScript, Serialize, Clone)]
enum FSmall {
    FWrapped(u8),
    FFields { ffield: bool },
    FUnit,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "fk")]
enum FInt {
    FIntUnit,
    FIntStruct { fis: u8 },
    FIntNew(FJ),
}

#[derive(TypeScript, Serialize)]
struct FJ {
    fj: u8,
}

#[derive(TypeScript, Serialize)]
struct FK {
    fkk: u8,
}

impl FK {
    fn is_zero(&self) -> bool {
        self.fkk == 0
    }
}

#[derive(TypeScript, Serialize)]
struct FL {
    fl: u8,
}

#[derive(TypeScript, Serialize)]
struct Flats {
    id: u8,
    #[serde(flatten)]
    a: FA,
    #[serde(flatten)]
    b: FB,
    #[serde(flatten)]
    option_option: Option<Option<FE>>,
    #[serde(flatten)]
    option_box: Option<Box<FF>>,
    #[serde(flatten)]
    boxed: Box<FG>,
    #[serde(flatten)]
    newtype: FNew,
    #[serde(flatten)]
    transparent: FTrans,
    #[serde(flatten)]
    tagged: FTagged,
    #[serde(flatten)]
    small: Option<FSmall>,
    #[serde(flatten)]
    internal: Option<FInt>,
    #[serde(flatten, skip_serializing_if = "FK::is_zero")]
    skippable: FK,
    #[serde(flatten)]
    reversed: std::cmp::Reverse<FL>,
    #[serde(flatten)]
    unit: (),
    #[serde(flatten)]
    unit_option: Option<UnitStruct>,
    #[serde(flatten)]
    colours: BTreeMap<Colour, u8>,
}

fn flats(r: &mut Rng) -> Flats {
    Flats {
        id: r.byte(),
        a: FA { fa: r.byte() },
        b: FB {
            fb: r.string(),
            fc: FC {
                fc: r.flag(),
                deep: r.flag().then(|| FD { fd: vec![r.byte()] }),
            },
        },
        option_option: r
            .pick(&[0_u8, 1, 2])
            .checked_sub(1)
            .map(|n| (n == 1).then(|| FE { fe: r.byte() })),
        option_box: r.flag().then(|| {
            Box::new(FF {
                ff: r.flag().then(|| r.byte()),
            })
        }),
        boxed: Box::new(FG { fg: r.byte() }),
        newtype: FNew(FH { fh: r.byte() }),
        transparent: FTrans {
            inner: FI { fi: r.byte() },
        },
        tagged: FTagged { ft: r.byte() },
        small: match r.below(4) {
            0 => None,
            1 => Some(FSmall::FWrapped(r.byte())),
            2 => Some(FSmall::FFields { ffield: r.flag() }),
            _ => Some(FSmall::FUnit),
        },
        internal: match r.below(4) {
            0 => None,
            1 => Some(FInt::FIntUnit),
            2 => Some(FInt::FIntStruct { fis: r.byte() }),
            _ => Some(FInt::FIntNew(FJ { fj: r.byte() })),
        },
        skippable: FK {
            fkk: r.pick(&[0, 0, 1, 2]),
        },
        reversed: std::cmp::Reverse(FL { fl: r.byte() }),
        unit: (),
        unit_option: r.flag().then_some(UnitStruct),
        colours: colours(r),
    }
}

#[derive(TypeScript, Serialize)]
struct FlatJson {
    id: u8,
    #[serde(flatten)]
    rest: Json,
}

#[derive(TypeScript, Serialize)]
struct FlatOrdMap {
    id: String,
    #[serde(flatten)]
    rest: immer::OrdMap<String, String>,
    #[serde(flatten)]
    more: Option<BTreeMap<String, String>>,
}

#[test]
fn several_flattens_at_once_of_wrappers_options_and_enums() {
    let mut r = Rng(0xB11D_0005);
    let mut check = Check::new("flatten");
    for _ in 0..120 {
        check.value(&flats(&mut r));
    }
    for _ in 0..20 {
        let object: serde_json::Map<String, serde_json::Value> = (0..r.below(3))
            .map(|_| (format!("k{}", r.string()), json_value(&mut r, 1)))
            .collect();
        let rest = if r.flag() {
            serde_json::Value::Object(object)
        } else {
            serde_json::Value::Null
        };
        check.value(&FlatJson {
            id: r.byte(),
            rest: Json::from(rest),
        });
        check.value(&FlatOrdMap {
            id: r.string(),
            rest: (0..r.below(3))
                .map(|_| (format!("k{}", r.string()), r.string()))
                .collect(),
            more: r.flag().then(|| {
                (0..r.below(3))
                    .map(|_| (format!("m{}", r.string()), r.string()))
                    .collect()
            }),
        });
    }
    let mut full = flats(&mut Rng(3));
    full.b.fc.deep = Some(FD { fd: vec![1] });
    full.option_option = Some(Some(FE { fe: 2 }));
    full.option_box = Some(Box::new(FF { ff: Some(3) }));
    full.small = Some(FSmall::FWrapped(4));
    full.internal = Some(FInt::FIntStruct { fis: 5 });
    full.skippable = FK { fkk: 6 };
    full.colours = BTreeMap::from([(Colour::Red, 7)]);
    check.value(&full);
    for (from, to, why) in [
        (r#""fa":"#, r#""FA":"#, "a flattened struct keeps its names"),
        (r#""FB":"#, r#""fb":"#, "the flattened struct's rule"),
        (
            r#""fc":"#,
            r#""FC":"#,
            "the rule does not reach a flattened struct's fields",
        ),
        (r#""f-d":[1]"#, r#""f-d":null"#, "a list"),
        (r#""fe":2"#, r#""fe":null"#, "a number"),
        (r#""ff":3"#, r#""ff":"3""#, "a number or null"),
        (r#""fg":"#, r#""boxed":"#, "a box is its content"),
        (r#""fh":"#, r#""newtype":"#, "a newtype struct is its field"),
        (r#""fi":"#, r#""inner":"#, "transparent"),
        (
            r#""ftag":"FTagged","#,
            "",
            "the flattened struct's tag missing",
        ),
        (
            r#""ftag":"FTagged""#,
            r#""ftag":"FA""#,
            "the flattened struct's tag",
        ),
        (r#""FWrapped":4"#, r#""FWrapped":"4""#, "a number"),
        (
            r#""FWrapped":4"#,
            r#""FUnit":4"#,
            "a unit variant's value is null",
        ),
        (
            r#""fk":"FIntStruct""#,
            r#""fk":"FIntNew""#,
            "another variant's tag",
        ),
        (r#""fkk":6"#, r#""fkk":"6""#, "a number"),
        (r#""fl":"#, r#""reversed":"#, "Reverse is its content"),
        (r#""Red":7"#, r#""Blue":7"#, "a key no variant has"),
        (r#""Red":7"#, r#""Red":"7""#, "a number"),
    ] {
        check.wrong_edit(&full, from, to, why);
    }
    for (field, value, why) in [
        (
            "b",
            serde_json::json!({"FB": "s", "fc": true}),
            "flattened, not nested",
        ),
        (
            "option_option",
            serde_json::Value::Null,
            "flattened, not nested",
        ),
        ("small", serde_json::Value::Null, "flattened, not nested"),
        ("unit", serde_json::Value::Null, "flattened, not nested"),
    ] {
        let mut wrong = serde_json::to_value(&full).expect("JSON");
        wrong[field] = value;
        check.wrong::<Flats>(&json(&wrong), why);
    }
    // Leaving out `f-d` or `fe`, the fields of a flattened `Some`, is JSON serde writes for
    // `None`. Leaving out `fis` and keeping its tag `"fk":"FIntStruct"` is not checked: the
    // flattened `Option<FInt>` is `FInt | {}`, and TypeScript checks no excess property (the
    // tag) against the `{}` member.
    let written = serde_json::to_value(&full).expect("JSON");
    for field in ["id", "fa", "FB", "fc", "fg", "fh", "fi", "ft", "fl"] {
        let mut wrong = written.clone();
        wrong
            .as_object_mut()
            .expect("an object")
            .remove(field)
            .expect("the field is written");
        check.wrong::<Flats>(&json(&wrong), "a flattened field missing");
    }
    check
        .wrong::<FlatJson>(r#"{"rest": {}}"#, "id missing")
        .wrong::<FlatOrdMap>(r#"{"id": "i", "k": 1}"#, "the map's values are strings")
        .wrong::<FlatOrdMap>(r#"{"id": "i", "more": null}"#, "flattened, not nested");
    check.run();
}

#[derive(TypeScript, Serialize)]
struct FlatBoxed {
    id: u8,
    #[serde(flatten)]
    small: Box<Small>,
    #[serde(flatten)]
    option: Box<Option<FE>>,
    #[serde(flatten)]
    unit: Box<UnitStruct>,
}

#[test]
fn flattened_boxes_of_what_may_add_nothing() {
    let mut r = Rng(0xB11D_0006);
    let mut check = Check::new("flatten-boxes");
    for _ in 0..20 {
        check.value(&FlatBoxed {
            id: r.byte(),
            small: Box::new(small(&mut r)),
            option: Box::new(r.flag().then(|| FE { fe: r.byte() })),
            unit: Box::new(UnitStruct),
        });
    }
    check
        .wrong::<FlatBoxed>(r#"{"id": 1}"#, "the enum's key missing")
        .wrong::<FlatBoxed>(r#"{"id": 1, "Plain": 1}"#, "a unit variant's value is null")
        .wrong::<FlatBoxed>(r#"{"id": 1, "Plain": null, "fe": null}"#, "a number")
        .wrong::<FlatBoxed>(r#"{"id": 1, "small": "Plain"}"#, "flattened, not nested");
    check.run();
}

#[derive(TypeScript, Serialize)]
struct FlatEmpty {
    id: u8,
    #[serde(flatten)]
    empty: EmptyStruct,
}

/// An empty struct is `{ [key: string]: never }`, which is right alone, but serde writes
/// nothing for it when it is flattened or merged into an internally tagged variant, and the
/// intersection makes every other field `never`: `FlatEmpty { id: 1, empty: EmptyStruct {} }`
/// is `{"id":1}`, typed `{ id: number } & EmptyStruct`; `Int::NewEmptyStruct(EmptyStruct {})`
/// is `{"type":"NewEmptyStruct"}`, typed `{ type: "NewEmptyStruct" } & EmptyStruct`.
#[test]
fn empty_struct_flattened_or_merged_beside_a_tag() {
    let mut check = Check::new("empty-struct");
    check
        .value(&FlatEmpty {
            id: 1,
            empty: EmptyStruct {},
        })
        .value(&Int::NewEmptyStruct(EmptyStruct {}));
    assert_eq!(check.ok[0].1, r#"{"id":1}"#);
    assert_eq!(check.ok[1].1, r#"{"type":"NewEmptyStruct"}"#);
    check.run();
}

#[derive(TypeScript, Serialize)]
#[serde(transparent)]
struct TOpt {
    inner: Option<FE>,
}

#[derive(TypeScript, Serialize)]
struct NSmall(Small);

#[derive(TypeScript, Serialize)]
struct NUnit(UnitStruct);

#[derive(TypeScript, Serialize)]
struct FlatNewtypes {
    id: u8,
    #[serde(flatten)]
    option: TOpt,
    #[serde(flatten)]
    small: NSmall,
    #[serde(flatten)]
    unit: NUnit,
    #[serde(flatten)]
    reversed: std::cmp::Reverse<Option<FF>>,
}

#[derive(TypeScript, Serialize)]
struct FlatWrapped {
    id: u8,
    #[serde(flatten)]
    small: Wrapper<Small>,
    #[serde(flatten)]
    option: Wrapper<Option<FE>>,
    #[serde(flatten)]
    unit: Wrapper<UnitStruct>,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "type")]
enum IntOfNewtypes {
    Unit(NUnit),
    Small(NSmall),
}

/// A newtype or transparent struct is declared as its field's type (`NSmall = Small`,
/// `TOpt = FE | null`, `NUnit = UnitStruct`, `Wrapper<T> = T`), and flattened (or merged into an
/// internally tagged variant) it is intersected by that name, not as its field would be
/// flattened (`Option<FE>` flattened alone is `FE | {}`, `Small` `{ Plain: null } | ...`, a unit
/// struct `{}`). So what serde writes is rejected: `FlatNewtypes` with `None`, `Small::Plain`
/// and a unit struct is `{"id":1,"Plain":null}`, typed `{ id: number } & TOpt & NSmall & NUnit
/// & (FF | null)`, which is `never` (the last from `Reverse<Option<FF>>`; a `Box` is right);
/// `FlatWrapped` likewise through the generic `Wrapper<T>`; `IntOfNewtypes::Unit(NUnit(
/// UnitStruct))` is `{"type":"Unit"}`, typed `{ type: "Unit" } & NUnit`.
#[test]
fn flattened_newtype_structs_of_what_adds_nothing() {
    let mut check = Check::new("flattened-newtypes");
    check
        .value(&FlatNewtypes {
            id: 1,
            option: TOpt { inner: None },
            small: NSmall(Small::Plain),
            unit: NUnit(UnitStruct),
            reversed: std::cmp::Reverse(None),
        })
        .value(&FlatNewtypes {
            id: 2,
            option: TOpt {
                inner: Some(FE { fe: 1 }),
            },
            small: NSmall(Small::Wrapped(1)),
            unit: NUnit(UnitStruct),
            reversed: std::cmp::Reverse(Some(FF { ff: None })),
        })
        .value(&FlatWrapped {
            id: 3,
            small: Wrapper {
                inner: Small::Plain,
            },
            option: Wrapper { inner: None },
            unit: Wrapper { inner: UnitStruct },
        })
        .value(&FlatWrapped {
            id: 4,
            small: Wrapper {
                inner: Small::Wrapped(1),
            },
            option: Wrapper {
                inner: Some(FE { fe: 1 }),
            },
            unit: Wrapper { inner: UnitStruct },
        })
        .value(&IntOfNewtypes::Unit(NUnit(UnitStruct)))
        .value(&IntOfNewtypes::Small(NSmall(Small::Plain)))
        .value(&IntOfNewtypes::Small(NSmall(Small::Wrapped(1))));
    assert_eq!(
        check.ok.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        [
            r#"{"id":1,"Plain":null}"#,
            r#"{"id":2,"fe":1,"Wrapped":1,"ff":null}"#,
            r#"{"id":3,"Plain":null}"#,
            r#"{"id":4,"Wrapped":1,"fe":1}"#,
            r#"{"type":"Unit"}"#,
            r#"{"type":"Small","Plain":null}"#,
            r#"{"type":"Small","Wrapped":1}"#,
        ]
    );
    check.run();
}

// ---------------------------------------------------------------------------------------------
// Std's rarer types.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::num::{NonZero, Saturating, Wrapping};
use std::ops::{Bound, Range, RangeFrom, RangeInclusive, RangeTo};

#[derive(TypeScript, Serialize)]
struct NVec(Vec<Option<String>>);

#[derive(TypeScript, Serialize)]
struct NMap(BTreeMap<Colour, Vec<u8>>);

#[derive(TypeScript, Serialize)]
#[serde(transparent)]
struct TMap {
    map: BTreeMap<u32, Option<bool>>,
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(into = "String")]
struct IntoString {
    n: u8,
}

impl From<IntoString> for String {
    fn from(value: IntoString) -> String {
        format!("#{}", value.n)
    }
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(into = "Option<Vec<u8>>")]
enum IntoOption {
    Nothing,
    Some(u8),
}

impl From<IntoOption> for Option<Vec<u8>> {
    fn from(value: IntoOption) -> Self {
        match value {
            IntoOption::Nothing => None,
            IntoOption::Some(n) => Some(vec![n]),
        }
    }
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(into = "Pair<u8, String>")]
struct IntoPair(u8);

impl From<IntoPair> for Pair<u8, String> {
    fn from(value: IntoPair) -> Self {
        Pair {
            first: value.0,
            second: value.0.to_string(),
        }
    }
}

#[derive(TypeScript, Serialize)]
struct StdRare {
    boxed_str: Box<str>,
    arc_slice: std::sync::Arc<[u8]>,
    rc_str: std::rc::Rc<str>,
    deque: std::collections::VecDeque<Option<i8>>,
    tuple_options: (Option<u8>, Option<()>, Option<Option<bool>>),
    one_unit: ((),),
    none: [String; 0],
    one: [String; 1],
    sixteen: [Option<u8>; 16],
    seventeen: [bool; 17],
    nested_arrays: [[u8; 2]; 2],
    letter: char,
    big: u128,
    small: i128,
    single: f32,
    double: f64,
    option_option: Option<Option<u8>>,
    option_unit: Option<()>,
    option_option_unit: Option<Option<()>>,
    result_unit: Result<(), ()>,
    result: Result<Option<u8>, Vec<String>>,
    bound_unit: Bound<()>,
    bounds: (Bound<u8>, Bound<String>),
    range_char: Range<char>,
    range_inclusive: RangeInclusive<Option<u8>>,
    range_from: RangeFrom<i8>,
    range_to: RangeTo<u8>,
    phantom: std::marker::PhantomData<String>,
    wrapping: Wrapping<i8>,
    saturating: Saturating<u16>,
    reverse: Reverse<Option<String>>,
    cell: Cell<Option<u8>>,
    ref_cell: RefCell<BTreeMap<String, u8>>,
    unit_struct: UnitStruct,
    newtype_vec: NVec,
    newtype_map: NMap,
    transparent_map: TMap,
    into_string: IntoString,
    into_option: IntoOption,
    into_pair: IntoPair,
    system_time: std::time::SystemTime,
    duration: std::time::Duration,
    non_zero: NonZero<u16>,
    non_zero_i128: NonZero<i128>,
    cow_bytes: std::borrow::Cow<'static, [u8]>,
    path: Box<std::path::Path>,
    socket: std::net::SocketAddrV6,
    ipv6: std::net::Ipv6Addr,
    bool_keys: std::collections::HashMap<bool, u8>,
    i128_keys: BTreeMap<i128, u8>,
    u128_keys: BTreeMap<u128, u8>,
    char_keys: BTreeMap<char, u8>,
    unit_keys: BTreeMap<(), u8>,
}

const FLOATS_32: &[f32] = &[
    0.0,
    -0.0,
    1.5,
    -1e-45,
    f32::MIN_POSITIVE,
    f32::MAX,
    f32::MIN,
    f32::EPSILON,
];

const FLOATS_64: &[f64] = &[
    0.0,
    -0.0,
    0.1,
    -5e-324,
    f64::MIN_POSITIVE,
    f64::MAX,
    f64::MIN,
    1e21,
    123_456_789.123,
];

fn bound<T>(r: &mut Rng, value: T) -> Bound<T> {
    match r.below(3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(value),
        _ => Bound::Excluded(value),
    }
}

fn std_rare(r: &mut Rng) -> StdRare {
    let unsigned = u128::from(r.next() >> 12);
    let signed = i128::from(r.next() >> 12) - (1 << 51);
    let mut sixteen = [None; 16];
    for slot in &mut sixteen {
        *slot = r.flag().then(|| r.byte());
    }
    StdRare {
        boxed_str: r.string().into_boxed_str(),
        arc_slice: (0..r.below(3)).map(|_| r.byte()).collect(),
        rc_str: r.string().into(),
        deque: (0..r.below(4))
            .map(|_| r.flag().then(|| r.signed()))
            .collect(),
        tuple_options: (
            r.flag().then(|| r.byte()),
            r.flag().then_some(()),
            r.pick(&[None, Some(None), Some(Some(true))]),
        ),
        one_unit: ((),),
        none: [],
        one: [r.string()],
        sixteen,
        seventeen: [r.flag(); 17],
        nested_arrays: [[r.byte(), r.byte()], [r.byte(), r.byte()]],
        letter: r.pick(CHARS),
        big: unsigned,
        small: signed,
        single: r.pick(FLOATS_32),
        double: r.pick(FLOATS_64),
        option_option: r.pick(&[None, Some(None), Some(Some(9))]),
        option_unit: r.flag().then_some(()),
        option_option_unit: r.pick(&[None, Some(None), Some(Some(()))]),
        result_unit: if r.flag() { Ok(()) } else { Err(()) },
        result: if r.flag() {
            Ok(r.flag().then(|| r.byte()))
        } else {
            Err(vec![r.string()])
        },
        bound_unit: bound(r, ()),
        bounds: (bound(r, 3), bound(r, "s".to_owned())),
        range_char: r.pick(CHARS)..r.pick(CHARS),
        range_inclusive: r.flag().then(|| r.byte())..=None,
        range_from: r.signed()..,
        range_to: ..r.byte(),
        phantom: std::marker::PhantomData,
        wrapping: Wrapping(r.signed()),
        saturating: Saturating(u16::MAX),
        reverse: Reverse(r.flag().then(|| r.string())),
        cell: Cell::new(r.flag().then(|| r.byte())),
        ref_cell: RefCell::new(BTreeMap::from([(r.string(), r.byte())])),
        unit_struct: UnitStruct,
        newtype_vec: NVec(vec![None, Some(r.string())]),
        newtype_map: NMap(colours(r).into_iter().map(|(k, v)| (k, vec![v])).collect()),
        transparent_map: TMap {
            map: BTreeMap::from([(u32::MAX, None), (0, Some(r.flag()))]),
        },
        into_string: IntoString { n: r.byte() },
        into_option: if r.flag() {
            IntoOption::Nothing
        } else {
            IntoOption::Some(r.byte())
        },
        into_pair: IntoPair(r.byte()),
        system_time: std::time::UNIX_EPOCH + std::time::Duration::from_millis(r.next() >> 24),
        duration: std::time::Duration::from_nanos(r.next() >> 8),
        non_zero: NonZero::new(u16::from(r.byte()) + 1).expect("not zero"),
        non_zero_i128: NonZero::new(signed | 1).expect("not zero"),
        cow_bytes: std::borrow::Cow::Owned(vec![r.byte()]),
        path: std::path::PathBuf::from(r.string()).into_boxed_path(),
        socket: std::net::SocketAddrV6::new(std::net::Ipv6Addr::LOCALHOST, 8080, 1, 2),
        ipv6: std::net::Ipv6Addr::UNSPECIFIED,
        bool_keys: std::collections::HashMap::from([(r.flag(), 1)]),
        i128_keys: BTreeMap::from([(signed, 1), (-1, 2)]),
        u128_keys: BTreeMap::from([(unsigned, 1)]),
        char_keys: BTreeMap::from([(r.pick(CHARS), 1)]),
        unit_keys: BTreeMap::new(),
    }
}

#[test]
fn std_rare_types_and_edge_numbers() {
    let mut r = Rng(0xB11D_0007);
    let mut check = Check::new("std");
    for _ in 0..80 {
        check.value(&std_rare(&mut r));
    }
    for c in CHARS {
        check.value(c);
    }
    check.values(FLOATS_32.iter().copied());
    check.values(FLOATS_64.iter().copied());
    check.values([0_u128, 1, (1 << 53) - 1]);
    check.values([0_i128, -1, -(1 << 53) + 1]);
    let base = std_rare(&mut Rng(5));
    for (field, value, why) in [
        ("boxed_str", serde_json::json!(["s"]), "a string"),
        ("arc_slice", serde_json::json!("s"), "a list of numbers"),
        ("deque", serde_json::json!([true]), "numbers or null"),
        (
            "tuple_options",
            serde_json::json!([1, null]),
            "two of three",
        ),
        (
            "tuple_options",
            serde_json::json!([1, {}, null]),
            "() is null",
        ),
        (
            "one_unit",
            serde_json::json!(null),
            "a one-tuple is a sequence",
        ),
        ("none", serde_json::json!([""]), "an empty array"),
        (
            "one",
            serde_json::json!("s"),
            "an array of one is a sequence",
        ),
        ("one", serde_json::json!(["s", "t"]), "two of one"),
        (
            "sixteen",
            serde_json::Value::from(vec![serde_json::Value::Null; 15]),
            "fifteen of sixteen",
        ),
        (
            "sixteen",
            serde_json::Value::from(vec![serde_json::Value::Null; 17]),
            "seventeen of sixteen",
        ),
        ("seventeen", serde_json::json!([1]), "booleans"),
        (
            "nested_arrays",
            serde_json::json!([[1, 2], [3]]),
            "one of two inside",
        ),
        ("letter", serde_json::json!(97), "a char is a string"),
        ("big", serde_json::json!("1"), "a u128 is a number"),
        ("single", serde_json::json!("1.5"), "a number"),
        (
            "option_option",
            serde_json::json!([null]),
            "Some(None) is null",
        ),
        ("option_unit", serde_json::json!([]), "() is null"),
        ("result_unit", serde_json::json!({"Ok": []}), "() is null"),
        (
            "result_unit",
            serde_json::json!("Ok"),
            "Ok(()) is not a unit variant",
        ),
        ("result", serde_json::json!({"Err": "s"}), "Err is a list"),
        // `{"Ok": 1, "Err": ["s"]}` is not checked: TypeScript checks no excess property across
        // the members of a union, `{ Ok: T } | { Err: E }`.
        (
            "bound_unit",
            serde_json::json!("Included"),
            "Included(()) is not a unit",
        ),
        (
            "bound_unit",
            serde_json::json!({"Unbounded": null}),
            "a unit variant is its name",
        ),
        (
            "bounds",
            serde_json::json!(["Unbounded", {"Included": 1}]),
            "String",
        ),
        (
            "range_char",
            serde_json::json!({"start": "a"}),
            "end missing",
        ),
        (
            "range_char",
            serde_json::json!(["a", "b"]),
            "a range is a struct",
        ),
        (
            "range_inclusive",
            serde_json::json!({"start": 1, "end": "x"}),
            "numbers or null",
        ),
        (
            "range_from",
            serde_json::json!({"start": 1, "end": 2}),
            "only start",
        ),
        ("range_to", serde_json::json!({"start": 1}), "only end"),
        (
            "phantom",
            serde_json::json!("String"),
            "PhantomData is null",
        ),
        (
            "wrapping",
            serde_json::json!([1]),
            "Wrapping is its content",
        ),
        (
            "saturating",
            serde_json::json!({"0": 1}),
            "Saturating is its content",
        ),
        (
            "reverse",
            serde_json::json!(["s"]),
            "Reverse is its content",
        ),
        (
            "cell",
            serde_json::json!({"value": 1}),
            "Cell is its content",
        ),
        ("ref_cell", serde_json::json!({"k": "1"}), "numbers"),
        (
            "unit_struct",
            serde_json::json!({}),
            "a unit struct is null",
        ),
        ("newtype_vec", serde_json::json!([1]), "strings or null"),
        (
            "newtype_map",
            serde_json::json!({"Blue": []}),
            "a key no variant has",
        ),
        (
            "transparent_map",
            serde_json::json!({"map": {}}),
            "transparent",
        ),
        (
            "transparent_map",
            serde_json::json!({"1": 1}),
            "booleans or null",
        ),
        (
            "into_string",
            serde_json::json!({"n": 1}),
            "into writes a String",
        ),
        (
            "into_option",
            serde_json::json!("Nothing"),
            "into writes an Option",
        ),
        (
            "into_option",
            serde_json::json!(1),
            "into writes an Option of a list",
        ),
        ("into_pair", serde_json::json!([1]), "into writes a Pair"),
        (
            "into_pair",
            serde_json::json!({"first": 1, "second": 2}),
            "second is a String",
        ),
        (
            "system_time",
            serde_json::json!({"secs": 1, "nanos": 2}),
            "SystemTime's names",
        ),
        (
            "duration",
            serde_json::json!({"secs_since_epoch": 1, "nanos_since_epoch": 2}),
            "Duration's names",
        ),
        ("non_zero", serde_json::json!("1"), "a number"),
        ("cow_bytes", serde_json::json!("s"), "bytes are numbers"),
        ("path", serde_json::json!(["a"]), "a path is a string"),
        (
            "socket",
            serde_json::json!({"ip": "::1", "port": 1}),
            "a string",
        ),
        ("bool_keys", serde_json::json!({"true": true}), "numbers"),
        ("char_keys", serde_json::json!({"a": "1"}), "numbers"),
    ] {
        check.wrong::<StdRare>(&with_field(&base, field, value), why);
    }
    check.run();
}

// ---------------------------------------------------------------------------------------------
// imbl's collections and Json.

#[derive(TypeScript, Serialize)]
struct Persistent {
    vector: immer::Vector<Option<u8>>,
    nested: immer::Vector<immer::Vector<String>>,
    by_name: immer::OrdMap<String, immer::Vector<u8>>,
    by_number: immer::OrdMap<u32, bool>,
    by_colour: immer::OrdMap<Colour, Option<u8>>,
    by_odd: immer::OrdMap<OddUnits, u8>,
    colours: immer::OrdSet<Colour>,
    names: immer::OrdSet<String>,
    hash_map: immer::imbl::HashMap<String, Ext>,
    hash_set: immer::imbl::HashSet<i64>,
    of_wrapped: immer::OrdMap<Wrapper<Colour>, immer::OrdSet<Wrapper<Colour>>>,
    json: Json,
    value: serde_json::Value,
    option_json: Option<Json>,
    json_map: BTreeMap<String, Json>,
    json_list: Vec<serde_json::Value>,
    ord_json: immer::OrdMap<String, Json>,
    vector_json: immer::Vector<Json>,
}

fn persistent(r: &mut Rng) -> Persistent {
    let j = |r: &mut Rng| json_value(r, 0);
    Persistent {
        vector: (0..r.below(4))
            .map(|_| r.flag().then(|| r.byte()))
            .collect(),
        nested: (0..r.below(3))
            .map(|_| (0..r.below(3)).map(|_| r.string()).collect())
            .collect(),
        by_name: (0..r.below(3))
            .map(|_| (r.string(), immer::Vector::from(vec![r.byte()])))
            .collect(),
        by_number: (0..r.below(3))
            .map(|_| (r.pick(&[0, 7, u32::MAX]), r.flag()))
            .collect(),
        by_colour: (0..r.below(3))
            .map(|_| (r.pick(COLOURS), r.flag().then(|| r.byte())))
            .collect(),
        by_odd: (0..r.below(4))
            .map(|_| (r.pick(ODD_UNITS), r.byte()))
            .collect(),
        colours: (0..r.below(3)).map(|_| r.pick(COLOURS)).collect(),
        names: (0..r.below(3)).map(|_| r.string()).collect(),
        hash_map: (0..r.below(3)).map(|_| (r.string(), ext(r, 1))).collect(),
        hash_set: (0..r.below(3))
            .map(|_| r.pick(&[i64::MIN, -1, 0, i64::MAX]))
            .collect(),
        of_wrapped: (0..r.below(3))
            .map(|_| {
                let set: immer::OrdSet<_> = (0..r.below(3))
                    .map(|_| Wrapper {
                        inner: r.pick(COLOURS),
                    })
                    .collect();
                (
                    Wrapper {
                        inner: r.pick(COLOURS),
                    },
                    set,
                )
            })
            .collect(),
        json: Json::from(j(r)),
        value: j(r),
        option_json: r.flag().then(|| Json::from(j(r))),
        json_map: (0..r.below(3))
            .map(|_| (r.string(), Json::from(j(r))))
            .collect(),
        json_list: (0..r.below(3)).map(|_| j(r)).collect(),
        ord_json: (0..r.below(3))
            .map(|_| (r.string(), Json::from(j(r))))
            .collect(),
        vector_json: (0..r.below(3)).map(|_| Json::from(j(r))).collect(),
    }
}

#[test]
fn persistent_collections_and_json() {
    let mut r = Rng(0xB11D_0008);
    let mut check = Check::new("persistent");
    for _ in 0..80 {
        check.value(&persistent(&mut r));
    }
    for value in [
        serde_json::json!(u64::MAX),
        serde_json::json!(i64::MIN),
        serde_json::json!(-0.0),
        serde_json::json!(1e300),
        serde_json::json!({"": {"\u{2028}": [[], {}, null]}}),
        serde_json::json!("\u{0}\"\\\u{7f}"),
    ] {
        check.value(&Json::from(value.clone()));
        check.value(&value);
    }
    let base = persistent(&mut Rng(11));
    for (field, value, why) in [
        ("vector", serde_json::json!(["1"]), "numbers or null"),
        ("vector", serde_json::json!({"0": 1}), "a Vector is a list"),
        ("nested", serde_json::json!(["s"]), "a list of lists"),
        ("by_name", serde_json::json!({"k": 1}), "a Vector is a list"),
        ("by_number", serde_json::json!({"1": 1}), "booleans"),
        (
            "by_colour",
            serde_json::json!({"Blue": 1}),
            "a key no variant has",
        ),
        (
            "by_colour",
            serde_json::json!({"Red": "1"}),
            "numbers or null",
        ),
        ("by_odd", serde_json::json!({"Dash": 1}), "the Rust name"),
        ("colours", serde_json::json!(["Blue"]), "no such variant"),
        (
            "colours",
            serde_json::json!({"Red": true}),
            "a set is a list",
        ),
        ("names", serde_json::json!([1]), "strings"),
        (
            "hash_map",
            serde_json::json!({"k": "Newtype"}),
            "a newtype has content",
        ),
        ("hash_set", serde_json::json!(["1"]), "numbers"),
        (
            "of_wrapped",
            serde_json::json!({"Red": ["Blue"]}),
            "no such variant in the set",
        ),
        (
            "of_wrapped",
            serde_json::json!({"Blue": []}),
            "no such variant as a key",
        ),
        (
            "of_wrapped",
            serde_json::json!({"Red": [{"inner": "Red"}]}),
            "transparent",
        ),
        ("json_list", serde_json::json!({}), "a list"),
        ("json_map", serde_json::json!([]), "a map"),
        ("ord_json", serde_json::json!("s"), "a map"),
        ("vector_json", serde_json::json!({}), "a list"),
    ] {
        check.wrong::<Persistent>(&with_field(&base, field, value), why);
    }
    let mut missing = serde_json::to_value(&base).expect("JSON");
    missing
        .as_object_mut()
        .expect("an object")
        .remove("option_json");
    check
        .wrong::<Persistent>(&json(&missing), "an Option is written, null")
        .wrong::<Json>("undefined", "undefined is no JSON")
        .wrong::<Json>(r#"{"a": [undefined]}"#, "undefined is no JSON")
        .wrong::<serde_json::Value>(r#"{"a": () => 1}"#, "a function is no JSON");
    check.run();
}

// ---------------------------------------------------------------------------------------------
// Untagged variants inside tagged enums.

#[derive(TypeScript, Serialize)]
#[serde(tag = "t")]
enum IntPartly {
    A {
        x: u8,
    },
    #[serde(untagged)]
    Text(String),
    #[serde(untagged)]
    Loose {
        y: bool,
    },
    #[serde(untagged)]
    Nothing,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "t", content = "c", rename_all = "lowercase")]
enum AdjPartly {
    A(u8),
    #[serde(untagged)]
    Text(String),
    #[serde(untagged)]
    Pair(u8, bool),
    #[serde(untagged)]
    Loose {
        y: bool,
    },
}

#[derive(TypeScript, Serialize)]
#[serde(rename_all_fields = "camelCase")]
enum ExtPartly {
    A(u8),
    #[serde(untagged)]
    Pair(u8, bool),
    #[serde(untagged)]
    Loose {
        field_name: bool,
    },
    #[serde(untagged)]
    Ext(Small),
}

#[test]
fn untagged_variants_inside_tagged_enums() {
    let mut r = Rng(0xB11D_0009);
    let mut check = Check::new("partly-untagged");
    for _ in 0..10 {
        check
            .value(&IntPartly::A { x: r.byte() })
            .value(&IntPartly::Text(r.string()))
            .value(&IntPartly::Loose { y: r.flag() })
            .value(&IntPartly::Nothing)
            .value(&AdjPartly::A(r.byte()))
            .value(&AdjPartly::Text(r.string()))
            .value(&AdjPartly::Pair(r.byte(), r.flag()))
            .value(&AdjPartly::Loose { y: r.flag() })
            .value(&ExtPartly::A(r.byte()))
            .value(&ExtPartly::Pair(r.byte(), r.flag()))
            .value(&ExtPartly::Loose {
                field_name: r.flag(),
            })
            .value(&ExtPartly::Ext(small(&mut r)));
    }
    check
        .wrong::<IntPartly>(
            r#"{"t": "Text", "0": "s"}"#,
            "an untagged variant has no tag",
        )
        .wrong::<IntPartly>(
            r#"{"t": "Loose", "y": true}"#,
            "an untagged variant has no tag",
        )
        .wrong::<IntPartly>(r#"{"t": "Nothing"}"#, "an untagged unit is null")
        .wrong::<IntPartly>(r#"{"x": 1}"#, "the tag missing")
        .wrong::<AdjPartly>(
            r#"{"t": "text", "c": "s"}"#,
            "an untagged variant has no tag",
        )
        .wrong::<AdjPartly>(
            r#"{"t": "pair", "c": [1, true]}"#,
            "an untagged variant has no tag",
        )
        .wrong::<AdjPartly>(r#"{"c": {"y": true}}"#, "untagged is the content alone")
        .wrong::<AdjPartly>(r#"{"t": "A", "c": 1}"#, "the rule")
        .wrong::<ExtPartly>(r#"{"Pair": [1, true]}"#, "an untagged variant has no name")
        .wrong::<ExtPartly>(r#"{"field_name": true}"#, "rename_all_fields")
        .wrong::<ExtPartly>(r#"{"Ext": "Plain"}"#, "an untagged variant has no name")
        .wrong::<ExtPartly>(r#"{"A": "1"}"#, "a number");
    check.run();
}
