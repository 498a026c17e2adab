//! Checks the IR for what cannot be drafted, before anything is generated. Every mistake is
//! reported, not only the first.

use crate::ast::{Data, Field, Input, Style, serialized};
use crate::ctxt::Ctxt;

pub(crate) fn check(cx: &Ctxt, input: &Input<'_>) {
    check_generics(cx, input);
    check_container(cx, input);
    match &input.data {
        Data::Struct(style, fields) => check_fields(cx, input, *style, fields),
        Data::Enum(variants) => {
            for variant in variants {
                check_fields(cx, input, variant.style, &variant.fields);
                if let Some((path, _)) = &variant.attrs.with {
                    cx.error_spanned_by(path, "`#[serde(with)]` gives this variant a JSON form its fields do not have, so patches cannot reach inside it; mark the enum `#[draft(leaf)]` to replace it whole");
                }
                // A unit variant has nothing inside for a path to reach: it is only ever
                // replaced whole, with the JSON serde writes.
                let tagged = input.attrs.untagged.is_none()
                    && input.attrs.leaf.is_none()
                    && variant.style != Style::Unit;
                if let (Some((path, ())), true) = (&variant.attrs.untagged, tagged) {
                    cx.error_spanned_by(path, "`#[serde(untagged)]` on one variant of a tagged enum is not supported: serde writes that variant without the enum's tag, so its fields would sit elsewhere than the patches and typed paths of the enum's representation put them; mark the whole enum `#[serde(untagged)]`, or the enum `#[draft(leaf)]` to replace it whole");
                }
            }
        }
        Data::Union(data) => cx.error_spanned_by(
            data.union_token,
            "`Draftable` cannot be derived for a union: which field is live is unknown, so there is nothing to draft; use an enum",
        ),
    }
}

fn check_generics(cx: &Ctxt, input: &Input<'_>) {
    for lifetime in input.original.generics.lifetimes() {
        cx.error_spanned_by(
            lifetime,
            "`Draftable` types own their data (snapshots are shared across threads and patches are deserialized into them); remove the lifetime parameter and use owned types such as `String` or `Arc<T>`",
        );
    }
}

fn check_container(cx: &Ctxt, input: &Input<'_>) {
    let attrs = &input.attrs;
    if let (Some((path, symbol)), None) = (&attrs.conversion, &attrs.leaf) {
        cx.error_spanned_by(
            path,
            format!("`#[serde({symbol})]` gives this type the JSON form of another type, so patch paths cannot follow its fields; add `#[draft(leaf)]` to replace it whole"),
        );
    }
    if let Some((path, crate_path)) = &attrs.crate_path {
        let absolute = crate_path.leading_colon.is_some()
            || crate_path
                .segments
                .first()
                .is_some_and(|s| s.ident == "crate");
        if !absolute {
            cx.error_spanned_by(path, "`#[draft(crate = \"...\")]` takes an absolute path, such as \"::my_crate::immer\" or \"crate::immer\"");
        }
    }
    if let (Some((path, ())), Data::Struct(_, fields)) = (&attrs.transparent, &input.data) {
        if fields.iter().filter(|f| f.is_drafted()).count() != 1 {
            cx.error_spanned_by(
                path,
                "`#[serde(transparent)]` needs exactly one field that is not skipped",
            );
        }
    }
}

fn check_fields(cx: &Ctxt, input: &Input<'_>, style: Style, fields: &[Field<'_>]) {
    let leaf_type = input.attrs.leaf.is_some();
    for field in fields {
        let attrs = &field.attrs;
        if let (Some(_), Some((skip, ()))) = (&attrs.leaf, &attrs.skip) {
            cx.error_spanned_by(skip, "a field cannot be both `leaf` and `skip`: `skip` gives it no draft at all, `leaf` a draft that replaces it whole; keep one");
        }
        if let (Some((flatten, ())), Some(_)) = (&attrs.flatten, &attrs.leaf) {
            cx.error_spanned_by(flatten, "a `#[serde(flatten)]` field's keys sit in its parent's JSON object, so it cannot be a leaf replaced whole; remove `#[draft(leaf)]`");
        }
        if let (Some((path, symbol)), true) = (&attrs.with, field.is_drafted() && !leaf_type) {
            cx.error_spanned_by(
                path,
                format!("`#[serde({symbol})]` gives this field a JSON form its type does not have, so patches cannot be applied to it; add `#[draft(skip)]` to leave it out of drafts and patches"),
            );
        }
        if let (Some((path, ())), true) = (&attrs.flatten, style != Style::Named) {
            cx.error_spanned_by(path, "`#[serde(flatten)]` works on named fields only");
        }
        // serde writes a tuple without the element when the predicate holds: the elements
        // after it move down one place, which no patch path written at compile time follows.
        // (A newtype's one field is always written: serde ignores the predicate there.)
        let written = serialized(attrs.serde_skip.as_ref());
        if let (Some((path, _)), Style::Tuple, true, false) =
            (&attrs.skip_serializing_if, style, written, leaf_type)
        {
            cx.error_spanned_by(path, "`#[serde(skip_serializing_if)]` on a tuple's element is not supported: serde leaves the element out at run time, so the tuple's length and the places of the elements after it change, and patches would name the wrong elements; use a struct with named fields, or mark the type `#[draft(leaf)]` to replace it whole");
        }
    }
    if leaf_type {
        return;
    }
    let drafted: Vec<&Field<'_>> = fields.iter().filter(|f| f.is_drafted()).collect();
    for (i, field) in drafted.iter().enumerate() {
        let name = &field.name;
        if style == Style::Named
            && drafted[..i]
                .iter()
                .any(|earlier| earlier.name == *name && earlier.attrs.flatten.is_none())
            && field.attrs.flatten.is_none()
        {
            cx.error_spanned_by(field.original, format!("two fields are named `{name}` in JSON; give one another `#[serde(rename = \"...\")]`"));
        }
        let setter = field.setter();
        if let Some(clash) = drafted.iter().find(|other| other.accessor() == setter) {
            cx.error_spanned_by(
                clash.original,
                format!("the field `{setter}` has the same name as the draft's setter of `{}`; rename one, or mark this one `#[draft(skip)]`", field.accessor()),
            );
        }
    }
}
