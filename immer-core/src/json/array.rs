//! [`JsonArray`]: up to [`SMALL`] elements in one shared allocation, more on `imbl::Vector`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use imbl::Vector;

use super::Json;

/// The longest array kept in its small form. An `imbl::Vector` past its inline space holds its
/// elements in chunks of 64 slots, so below 64 elements it would allocate slots it does not
/// use; the small form allocates exactly its elements, and copies at most 64 of them on a
/// write, as the vector copies one chunk.
pub(crate) const SMALL: usize = 64;

/// A JSON array: persistent, cloned in O(1), copied on write along the path to an edit only.
///
/// Up to 64 elements it is one shared allocation of exactly its elements; past that, an
/// `imbl::Vector` (see the [module docs](super) for the costs). Which form an array has
/// depends on its length alone, and never shows but in costs.
///
/// # Examples
///
/// ```
/// use immer_core::{Json, JsonArray};
///
/// let base: JsonArray = (0..1000).collect();
/// let mut next = base.clone(); // O(1)
/// next.push("end");
/// *next.get_mut(0).unwrap() = Json::from("start");
/// assert_eq!((base.len(), next.len()), (1000, 1001));
/// assert_eq!(next.get(0), Some(&Json::from("start")));
/// assert_eq!(base.get(0), Some(&Json::from(0)));
/// ```
#[derive(Clone)]
pub struct JsonArray(Repr);

#[derive(Clone)]
enum Repr {
    Small(Arc<[Json]>),
    Large(Arc<Vector<Json>>),
}

impl JsonArray {
    /// An empty array.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::JsonArray::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        JsonArray(Repr::Small(Arc::new([])))
    }

    /// The array of `elements`, in the form their number calls for.
    pub(crate) fn from_vec(elements: Vec<Json>) -> Self {
        if elements.len() <= SMALL {
            JsonArray(Repr::Small(elements.into()))
        } else {
            JsonArray(Repr::Large(Arc::new(elements.into_iter().collect())))
        }
    }

    /// The number of elements. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let array: immer_core::JsonArray = [1, 2].into_iter().collect();
    /// assert_eq!(array.len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(items) => items.len(),
            Repr::Large(items) => items.len(),
        }
    }

    /// Whether there is no element. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::JsonArray::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element at `index`, or `None` past the end.
    ///
    /// Time: O(1) small, O(log n) large.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonArray};
    ///
    /// let array: JsonArray = ["a", "b"].into_iter().collect();
    /// assert_eq!(array.get(1), Some(&Json::from("b")));
    /// assert_eq!(array.get(2), None);
    /// ```
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&Json> {
        match &self.0 {
            Repr::Small(items) => items.get(index),
            Repr::Large(items) => items.get(index),
        }
    }

    /// The element at `index`, mutably, or `None` past the end. Copies on write: a shared
    /// small array is copied whole (at most 64 reference counts), a large one along the path
    /// to `index`.
    ///
    /// Time: O(1) small, O(log n) large, plus that copy.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonArray};
    ///
    /// let mut array: JsonArray = [1, 2].into_iter().collect();
    /// *array.get_mut(0).unwrap() = Json::from(10);
    /// assert_eq!(array, serde_json::json!([10, 2]));
    /// ```
    pub fn get_mut(&mut self, index: usize) -> Option<&mut Json> {
        match &mut self.0 {
            Repr::Small(items) => {
                if index >= items.len() {
                    return None;
                }
                Arc::make_mut(items).get_mut(index)
            }
            Repr::Large(items) => {
                if index >= items.len() {
                    return None;
                }
                Arc::make_mut(items).get_mut(index)
            }
        }
    }

    /// Appends an element.
    ///
    /// Time: O(n) small (a new allocation of n + 1), O(1) amortized large.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut array = immer_core::JsonArray::new();
    /// array.push("a");
    /// assert_eq!(array, serde_json::json!(["a"]));
    /// ```
    pub fn push(&mut self, value: impl Into<Json>) {
        let len = self.len();
        // `len` is always a valid position.
        let _ = self.insert(len, value);
    }

    /// Removes the last element and returns it; `None` when empty.
    ///
    /// Time: O(n) small, O(log n) large.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut array: immer_core::JsonArray = [1, 2].into_iter().collect();
    /// assert_eq!(array.pop(), Some(2.into()));
    /// assert_eq!(array.len(), 1);
    /// ```
    pub fn pop(&mut self) -> Option<Json> {
        let last = self.len().checked_sub(1)?;
        self.remove(last)
    }

    /// Inserts `value` at `index` (`index == len` appends), shifting the elements after it.
    ///
    /// Time: O(n) small, O(log n) large.
    ///
    /// # Errors
    ///
    /// `Err(value)` when `index > len`: nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonArray};
    ///
    /// let mut array: JsonArray = ["a", "c"].into_iter().collect();
    /// array.insert(1, "b").unwrap();
    /// assert_eq!(array, serde_json::json!(["a", "b", "c"]));
    /// assert_eq!(array.insert(9, "z"), Err(Json::from("z")));
    /// ```
    pub fn insert(&mut self, index: usize, value: impl Into<Json>) -> Result<(), Json> {
        let value = value.into();
        let len = self.len();
        if index > len {
            return Err(value);
        }
        match &mut self.0 {
            Repr::Small(items) if len < SMALL => {
                let mut next = Vec::with_capacity(len + 1);
                next.extend_from_slice(&items[..index]);
                next.push(value);
                next.extend_from_slice(&items[index..]);
                *items = next.into();
            }
            Repr::Small(items) => {
                let mut next: Vector<Json> = items.iter().cloned().collect();
                next.insert(index, value);
                self.0 = Repr::Large(Arc::new(next));
            }
            Repr::Large(items) => Arc::make_mut(items).insert(index, value),
        }
        Ok(())
    }

    /// Removes the element at `index`, shifting the elements after it, and returns it;
    /// `None` (and nothing changes) past the end.
    ///
    /// Time: O(n) small, O(log n) large.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonArray};
    ///
    /// let mut array: JsonArray = ["a", "b"].into_iter().collect();
    /// assert_eq!(array.remove(0), Some(Json::from("a")));
    /// assert_eq!(array.remove(5), None);
    /// assert_eq!(array, serde_json::json!(["b"]));
    /// ```
    pub fn remove(&mut self, index: usize) -> Option<Json> {
        if index >= self.len() {
            return None;
        }
        match &mut self.0 {
            Repr::Small(items) => {
                let old = items[index].clone();
                let next: Vec<Json> = items[..index]
                    .iter()
                    .chain(&items[index + 1..])
                    .cloned()
                    .collect();
                *items = next.into();
                Some(old)
            }
            Repr::Large(items) => {
                let items_mut = Arc::make_mut(items);
                let old = items_mut.remove(index);
                if items_mut.len() <= SMALL {
                    let small: Vec<Json> = items_mut.iter().cloned().collect();
                    self.0 = Repr::Small(small.into());
                }
                Some(old)
            }
        }
    }

    /// The elements in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let array: immer_core::JsonArray = [1, 2, 3].into_iter().collect();
    /// let sum: i64 = array.iter().filter_map(|v| v.as_i64()).sum();
    /// assert_eq!(sum, 6);
    /// ```
    #[must_use]
    pub fn iter(&self) -> ArrayIter<'_> {
        ArrayIter(match &self.0 {
            Repr::Small(items) => IterRepr::Small(items.iter()),
            Repr::Large(items) => IterRepr::Large(items.iter()),
        })
    }

    /// Whether the two are one array in memory (a clone, or an array no edit copied), so
    /// equal without looking inside. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let a: immer_core::JsonArray = [1].into_iter().collect();
    /// let b = a.clone();
    /// assert!(a.ptr_eq(&b));
    /// let c: immer_core::JsonArray = [1].into_iter().collect();
    /// assert!(!a.ptr_eq(&c) && a == c);
    /// ```
    #[must_use]
    pub fn ptr_eq(&self, other: &JsonArray) -> bool {
        match (&self.0, &other.0) {
            (Repr::Small(a), Repr::Small(b)) => Arc::ptr_eq(a, b),
            (Repr::Large(a), Repr::Large(b)) => Arc::ptr_eq(a, b) || a.ptr_eq(b),
            _ => false,
        }
    }
}

impl Default for JsonArray {
    /// An empty array.
    fn default() -> Self {
        JsonArray::new()
    }
}

impl PartialEq for JsonArray {
    /// Element by element, after an O(1) check for one array in memory.
    fn eq(&self, other: &JsonArray) -> bool {
        self.ptr_eq(other) || (self.len() == other.len() && self.iter().eq(other.iter()))
    }
}

impl Eq for JsonArray {}

impl Hash for JsonArray {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for element in self {
            element.hash(state);
        }
    }
}

impl fmt::Debug for JsonArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self).finish()
    }
}

/// Collects the elements into an array.
///
/// # Examples
///
/// ```
/// let array: immer_core::JsonArray = ["a", "b"].into_iter().collect();
/// assert_eq!(array, serde_json::json!(["a", "b"]));
/// ```
impl<T: Into<Json>> FromIterator<T> for JsonArray {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        JsonArray::from_vec(iter.into_iter().map(Into::into).collect())
    }
}

/// Appends the elements, as [`push`](JsonArray::push) does.
///
/// # Examples
///
/// ```
/// let mut array = immer_core::JsonArray::new();
/// array.extend([1, 2]);
/// assert_eq!(array, serde_json::json!([1, 2]));
/// ```
impl<T: Into<Json>> Extend<T> for JsonArray {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        let mut items: Vec<Json> = match &self.0 {
            Repr::Small(items) => items.to_vec(),
            Repr::Large(_) => {
                for value in iter {
                    self.push(value);
                }
                return;
            }
        };
        items.extend(iter.into_iter().map(Into::into));
        *self = JsonArray::from_vec(items);
    }
}

impl<'a> IntoIterator for &'a JsonArray {
    type Item = &'a Json;
    type IntoIter = ArrayIter<'a>;
    fn into_iter(self) -> ArrayIter<'a> {
        self.iter()
    }
}

/// The elements of a [`JsonArray`], in order: made by [`JsonArray::iter`].
pub struct ArrayIter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Small(std::slice::Iter<'a, Json>),
    Large(imbl::vector::Iter<'a, Json, imbl::shared_ptr::DefaultSharedPtr>),
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = &'a Json;
    fn next(&mut self) -> Option<&'a Json> {
        match &mut self.0 {
            IterRepr::Small(it) => it.next(),
            IterRepr::Large(it) => it.next(),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Small(it) => it.size_hint(),
            IterRepr::Large(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for ArrayIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Small(it) => it.next_back(),
            IterRepr::Large(it) => it.next_back(),
        }
    }
}

impl ExactSizeIterator for ArrayIter<'_> {}

impl std::iter::FusedIterator for ArrayIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_follows_the_length_both_ways() {
        let mut array: JsonArray = (0..SMALL).collect();
        assert!(matches!(array.0, Repr::Small(_)));
        array.push(SMALL);
        assert!(matches!(array.0, Repr::Large(_)));
        assert_eq!(array.len(), SMALL + 1);
        assert_eq!(array.remove(0), Some(Json::from(0)));
        assert!(matches!(array.0, Repr::Small(_)));
        let expected: JsonArray = (1..=SMALL).collect();
        assert_eq!(array, expected);
        let mut grown = JsonArray::new();
        grown.extend(0..200);
        assert!(matches!(grown.0, Repr::Large(_)));
        assert_eq!(grown.iter().next_back(), Some(&Json::from(199)));
    }

    #[test]
    fn a_write_copies_a_shared_array_and_leaves_the_original() {
        let base: JsonArray = (0..1000).collect();
        let mut next = base.clone();
        *next.get_mut(500).unwrap() = Json::from("x");
        assert_eq!(base.get(500), Some(&Json::from(500)));
        assert!(!base.ptr_eq(&next));
        assert_eq!(next.get(500), Some(&Json::from("x")));
        assert!(next.get_mut(1000).is_none());
    }
}
