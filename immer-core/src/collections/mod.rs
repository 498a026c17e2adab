//! Drafts of collections: lists ([`ListDraft`]), maps ([`MapDraft`]) and sets ([`SetDraft`]),
//! for the std collections and the persistent ones of `imbl`.

pub(crate) mod list;
pub(crate) mod map;
pub(crate) mod set;

use crate::error::UnserializableError;
use crate::patch::Patch;
use crate::path::Path;
use crate::place::Place;

/// Records the patch and inverse `build` makes from the value and path of `place`, if anyone
/// listens. Call it before the write, so `build` sees the old value.
#[inline]
pub(crate) fn record<P: Place>(
    place: &mut P,
    build: impl FnOnce(&P::Target, Path) -> Result<(Patch, Patch), serde_json::Error>,
) {
    if place.is_recording() {
        let change = build(place.get(), place.path())
            .map_err(|error| UnserializableError::new(place.path(), &error));
        place.record(change);
    }
}

/// Writes a value as JSON for a patch.
#[inline]
pub(crate) fn json<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::to_value(value)
}

mod sealed {
    pub trait Sealed {}
}
