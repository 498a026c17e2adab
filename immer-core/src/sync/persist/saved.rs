//! A follower's durable part, as the JavaScript client's `Follower.save` writes it.

use std::sync::Arc;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::patch::Patch;
use crate::sync::{ClientId, Committed, FollowerEvent, SessionId};

use super::PersistError;

/// The format [`SavedFollower`] writes (its `format` field), the same number as the
/// JavaScript client's `SAVED_FORMAT`: a saved follower of another format is refused when
/// read ([`PersistError::Format`]).
///
/// # Examples
///
/// ```
/// use immer_core::sync::{Follower, Leader, SAVED_FORMAT};
/// use std::sync::Arc;
///
/// let mut leader = Leader::new(Arc::new(0_u32));
/// let saved = serde_json::to_value(Follower::new(leader.join(1)).save()).unwrap();
/// assert_eq!(saved["format"], SAVED_FORMAT);
/// ```
pub const SAVED_FORMAT: u64 = 1;

/// A [`Follower`](crate::sync::Follower)'s durable part: what
/// [`Follower::save`](crate::sync::Follower::save) gives and
/// [`Follower::restore`](crate::sync::Follower::restore) goes on from, exactly as the saved
/// follower would have gone on.
///
/// It holds the confirmed state, its version, the client and the session; the edits not yet
/// answered, with their ids and patches; the change in flight (sent, or about to be: a
/// restored follower sends it again, and the leader answers a change it has seen as it
/// ended); the next edit's id (an id the leader may have seen is never given twice); the
/// committed changes that arrived early; whether it diverged; the events not yet taken; and
/// the batch size. It shares the follower's states (an [`Arc`] each), so making one costs
/// a copy of the pending edits' patches, not of the state.
///
/// # The JSON
///
/// Serialized as the JavaScript client's `Follower.save` writes it (`format`, `session`,
/// `version`, `confirmed`, `local`, `pending`, `inFlight`, `early`, `nextId`, `diverged`,
/// `events`, `batch`; `index.d.ts` declares it as `SavedFollower`), with `client` beside,
/// which the JavaScript client does not keep and ignores: either reads what the other
/// wrote, for the same document type. `local` (the confirmed state with the pending edits
/// applied) is written for the JavaScript client; read here, it is skipped and built anew
/// from `confirmed` and `pending`. A saved follower read with serde (inside a record of your
/// own) is checked for its format only; [`from_slice`](SavedFollower::from_slice) and
/// [`from_value`](SavedFollower::from_value) say what is wrong with one more precisely.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{Follower, Leader, SavedFollower};
/// use std::sync::Arc;
///
/// let mut leader = Leader::new(Arc::new(vec![1_u32]));
/// let mut ann = Follower::new(leader.join(7));
/// ann.edit(|d| d.push(2));
/// let bytes = ann.save().to_vec().unwrap();
/// let saved = SavedFollower::<Vec<u32>>::from_slice(&bytes).unwrap();
/// assert_eq!((saved.session(), saved.version(), saved.pending_count()), (ann.session(), 0, 1));
/// let again = Follower::restore(saved).unwrap();
/// assert_eq!(**again.state(), [1, 2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SavedFollower<T> {
    pub(crate) client: ClientId,
    pub(crate) session: SessionId,
    pub(crate) version: u64,
    pub(crate) confirmed: Arc<T>,
    pub(crate) local: Option<Arc<T>>,
    pub(crate) pending: Vec<SavedEdit>,
    pub(crate) in_flight: Option<SavedChange>,
    pub(crate) early: Vec<Committed>,
    pub(crate) next_id: u64,
    pub(crate) diverged: bool,
    pub(crate) events: Vec<FollowerEvent>,
    pub(crate) batch: usize,
}

/// An edit waiting for the leader: edits merged into one change hold `first..=id`; its
/// patches apply after the confirmed state and the edits before it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SavedEdit {
    pub(crate) first: u64,
    pub(crate) id: u64,
    pub(crate) patches: Vec<Patch>,
}

/// The change in flight; `applied`: whether its edit is in the local state (the front of
/// the pending edits), or waits out of it for the leader's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SavedChange {
    pub(crate) first: u64,
    pub(crate) change: SavedChangeMessage,
    pub(crate) applied: bool,
}

/// The change in flight as the JavaScript client sends it (`{"type": "change", "id", "base",
/// "patches"}`): its client and session are the follower's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SavedChangeMessage {
    #[serde(rename = "type", default)]
    pub(crate) kind: ChangeTag,
    pub(crate) id: u64,
    pub(crate) base: u64,
    pub(crate) patches: Vec<Patch>,
}

/// The `type` of a change message: always `"change"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ChangeTag {
    #[default]
    #[serde(rename = "change")]
    Change,
}

impl<T> SavedFollower<T> {
    /// The follower's client id.
    #[must_use]
    pub fn client(&self) -> ClientId {
        self.client
    }

    /// The follower's session: a restored follower goes on in it.
    #[must_use]
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The last confirmed version.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The state at [`version`](SavedFollower::version), as the leader has it.
    #[must_use]
    pub fn confirmed(&self) -> &Arc<T> {
        &self.confirmed
    }

    /// How many edits wait for the leader (as
    /// [`Follower::pending_count`](crate::sync::Follower::pending_count) counts them).
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.pending.len() + usize::from(self.in_flight.as_ref().is_some_and(|f| !f.applied))
    }

    /// The id of the change in flight, if one was sent (or about to be) when it was saved.
    ///
    /// A transport that saves in the background sends a change only once a saved follower
    /// holds it in flight: a follower restored from an older save could make it otherwise
    /// (another batch of edits under the same id).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
    /// let mut ann = Follower::new(leader.join(1));
    /// ann.edit(|d| d.push(1));
    /// assert_eq!(ann.save().in_flight_id(), None, "not sent yet");
    /// let out = ann.poll();
    /// let saved = ann.save();
    /// assert_eq!(saved.in_flight_id(), Some(1)); // saved: `out` may go
    /// # let _ = out;
    /// ```
    #[must_use]
    pub fn in_flight_id(&self) -> Option<u64> {
        self.in_flight.as_ref().map(|f| f.change.id)
    }

    /// The id the follower's next edit gets: every id below it may have been sent.
    #[must_use]
    pub fn next_id(&self) -> u64 {
        self.next_id
    }
}

impl<T: Serialize> SavedFollower<T> {
    /// The saved follower as JSON (see [the JSON](SavedFollower#the-json)), to store.
    ///
    /// Time: O(the state, twice while edits wait, and the pending edits).
    ///
    /// # Errors
    ///
    /// [`PersistError::Encode`] when the state has no JSON form.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(vec![1_u32]));
    /// let ann = Follower::new(leader.join(7));
    /// let json: serde_json::Value = serde_json::from_slice(&ann.save().to_vec().unwrap()).unwrap();
    /// assert_eq!(json["format"], 1);
    /// assert_eq!(json["confirmed"], serde_json::json!([1]));
    /// assert_eq!(json["inFlight"], serde_json::Value::Null);
    /// ```
    pub fn to_vec(&self) -> Result<Vec<u8>, PersistError> {
        serde_json::to_vec(self).map_err(PersistError::Encode)
    }
}

impl<T: DeserializeOwned> SavedFollower<T> {
    /// Reads a saved follower from its JSON, saying what is wrong with one that does not
    /// read: cut short, not JSON, not a saved follower of this format, a field of the wrong
    /// kind, or a state of another type. Nothing is checked beyond the JSON here;
    /// [`Follower::restore`](crate::sync::Follower::restore) checks that the parts fit.
    ///
    /// Time: O(the bytes).
    ///
    /// # Errors
    ///
    /// [`PersistError::Truncated`], [`PersistError::NotJson`], [`PersistError::Format`],
    /// [`PersistError::Malformed`] or [`PersistError::State`].
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{PersistError, SavedFollower};
    ///
    /// let garbage = SavedFollower::<Vec<u32>>::from_slice(b"\x00\x01 not json");
    /// assert!(matches!(garbage, Err(PersistError::NotJson(_))));
    /// let other = SavedFollower::<Vec<u32>>::from_slice(br#"{"todos": []}"#);
    /// assert!(matches!(other, Err(PersistError::Format { found: None })));
    /// let saved = br#"{"format": 1, "session": 4, "version": 2, "confirmed": {"title": "x"},
    ///     "pending": [], "inFlight": null, "early": [], "nextId": 1, "diverged": false,
    ///     "events": [], "batch": 1}"#;
    /// let error = SavedFollower::<Vec<u32>>::from_slice(saved).unwrap_err();
    /// assert!(matches!(error, PersistError::State { .. }), "{error}");
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PersistError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(PersistError::unreadable)?;
        Self::from_value(value)
    }

    /// [`from_slice`](SavedFollower::from_slice) for JSON already read (a saved follower
    /// inside a record of your own).
    ///
    /// # Errors
    ///
    /// [`PersistError::Format`], [`PersistError::Malformed`] or [`PersistError::State`].
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{PersistError, SavedFollower};
    /// use serde_json::json;
    ///
    /// let old = SavedFollower::<u32>::from_value(json!({"format": 0}));
    /// assert!(matches!(old, Err(PersistError::Format { found: Some(f) }) if f == "0"));
    /// ```
    pub fn from_value(value: serde_json::Value) -> Result<Self, PersistError> {
        let format = value.get("format");
        if format.and_then(serde_json::Value::as_u64) != Some(SAVED_FORMAT) {
            let found = format.map(|f| f.to_string().chars().take(40).collect());
            return Err(PersistError::Format { found });
        }
        let wire: Wire<serde_json::Value> =
            serde_json::from_value(value).map_err(PersistError::Malformed)?;
        wire.into_saved(|confirmed| {
            serde_json::from_value(confirmed).map_err(|error| PersistError::State {
                type_name: std::any::type_name::<T>(),
                error,
            })
        })
    }
}

/// How a saved follower is written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireOut<'a, T> {
    format: u64,
    client: ClientId,
    session: SessionId,
    version: u64,
    confirmed: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    local: Option<&'a T>,
    pending: &'a [SavedEdit],
    in_flight: &'a Option<SavedChange>,
    early: &'a [Committed],
    next_id: u64,
    diverged: bool,
    events: &'a [FollowerEvent],
    batch: usize,
}

/// How a saved follower is read (`local` is built anew, so it is skipped).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire<S> {
    format: u64,
    /// Not kept by the JavaScript client.
    #[serde(default)]
    client: ClientId,
    session: SessionId,
    version: u64,
    confirmed: S,
    #[serde(default)]
    #[allow(dead_code, reason = "read to be skipped: it is built anew")]
    local: Option<IgnoredAny>,
    pending: Vec<SavedEdit>,
    #[serde(default)]
    in_flight: Option<SavedChange>,
    #[serde(default)]
    early: Vec<Committed>,
    next_id: u64,
    #[serde(default)]
    diverged: bool,
    #[serde(default)]
    events: Vec<FollowerEvent>,
    #[serde(default = "one")]
    batch: usize,
}

fn one() -> usize {
    1
}

impl<S> Wire<S> {
    /// The saved follower, with its state read by `state`.
    fn into_saved<T, E>(
        self,
        state: impl FnOnce(S) -> Result<T, E>,
    ) -> Result<SavedFollower<T>, E> {
        Ok(SavedFollower {
            client: self.client,
            session: self.session,
            version: self.version,
            confirmed: Arc::new(state(self.confirmed)?),
            local: None,
            pending: self.pending,
            in_flight: self.in_flight,
            early: self.early,
            next_id: self.next_id,
            diverged: self.diverged,
            events: self.events,
            batch: self.batch,
        })
    }
}

impl<T: Serialize> Serialize for SavedFollower<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireOut {
            format: SAVED_FORMAT,
            client: self.client,
            session: self.session,
            version: self.version,
            confirmed: &*self.confirmed,
            local: self.local.as_deref(),
            pending: &self.pending,
            in_flight: &self.in_flight,
            early: &self.early,
            next_id: self.next_id,
            diverged: self.diverged,
            events: &self.events,
            batch: self.batch,
        }
        .serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SavedFollower<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::<T>::deserialize(deserializer)?;
        if wire.format != SAVED_FORMAT {
            return Err(serde::de::Error::custom(format_args!(
                "not a saved follower of format {SAVED_FORMAT}: its format is {}",
                wire.format
            )));
        }
        wire.into_saved(Ok)
    }
}
