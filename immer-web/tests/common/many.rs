//! A Rust client of a server of many documents: one socket, a follower per document.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use immer::PatchDraft;
use immer::sync::{Follower, FollowerEvent, ToFollower, ToLeader};
use immer_web::protocol::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

use super::{Board, Socket, WAIT, auth};

/// The socket ended (or said nothing in time).
#[derive(Debug)]
pub(crate) struct Ended;

/// A client of many documents: one socket, a follower per document subscribed.
pub(crate) struct Many {
    pub(crate) socket: Socket,
    pub(crate) followers: HashMap<String, Follower<Board>>,
    /// Each document's session, from its last welcome.
    pub(crate) sessions: HashMap<String, u64>,
    pub(crate) events: HashMap<String, Vec<FollowerEvent>>,
    /// Each `unsubscribed` received, by document, in order.
    pub(crate) unsubscribed: Vec<(String, String)>,
    /// The last change sent of each document (each is sent once, and again on resuming).
    sent: HashMap<String, u64>,
}

impl Many {
    pub(crate) async fn connect(url: &str, token: &str) -> Many {
        Many::try_connect(url, token).await.expect("connected")
    }

    pub(crate) async fn try_connect(url: &str, token: &str) -> Result<Many, Ended> {
        let connect = tokio_tungstenite::connect_async_with_config(url, None, true);
        let (mut socket, _) = tokio::time::timeout(WAIT, connect)
            .await
            .map_err(|_| Ended)?
            .map_err(|_| Ended)?;
        socket.send(auth(token)).await.map_err(|_| Ended)?;
        Ok(Many {
            socket,
            followers: HashMap::new(),
            sessions: HashMap::new(),
            events: HashMap::new(),
            unsubscribed: Vec::new(),
            sent: HashMap::new(),
        })
    }

    /// Sends `message` for `doc`.
    pub(crate) async fn send(&mut self, message: &ClientMessage, doc: &str) {
        self.try_send(message, doc).await.expect("sent");
    }

    async fn try_send(&mut self, message: &ClientMessage, doc: &str) -> Result<(), Ended> {
        let mut value = serde_json::to_value(message).unwrap();
        value["doc"] = serde_json::Value::String(doc.to_owned());
        let text = Message::text(value.to_string());
        self.socket.send(text).await.map_err(|_| Ended)
    }

    /// Subscribes to `doc`; `Ok(resumed)` once welcomed, or the reason it was refused.
    pub(crate) async fn subscribe(
        &mut self,
        doc: &str,
        resume: Option<u64>,
    ) -> Result<bool, String> {
        self.try_subscribe(doc, resume)
            .await
            .expect("the socket stays open")
    }

    pub(crate) async fn try_subscribe(
        &mut self,
        doc: &str,
        resume: Option<u64>,
    ) -> Result<Result<bool, String>, Ended> {
        let message = ClientMessage::Subscribe {
            doc: doc.to_owned(),
            resume,
        };
        self.try_send(&message, doc).await?;
        let seen = self.unsubscribed.len();
        loop {
            let (from, welcome) = self.try_step().await?;
            if let Some((_, reason)) = self.unsubscribed[seen..].iter().find(|(d, _)| d == doc) {
                return Ok(Err(reason.clone()));
            }
            if let (true, Some(resumed)) = (from == doc, welcome) {
                return Ok(Ok(resumed));
            }
        }
    }

    /// Reads one message: its document, and for a welcome whether it resumed.
    pub(crate) async fn step(&mut self) -> (String, Option<bool>) {
        self.try_step()
            .await
            .expect("the server sends something in time")
    }

    pub(crate) async fn try_step(&mut self) -> Result<(String, Option<bool>), Ended> {
        let next = tokio::time::timeout(WAIT, self.socket.next())
            .await
            .map_err(|_| Ended)?;
        let Some(Ok(Message::Text(text))) = next else {
            return Err(Ended);
        };
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let doc = value["doc"]
            .as_str()
            .expect("every message names its document")
            .to_owned();
        let message: ServerMessage<Board> = serde_json::from_str(&text).unwrap();
        let mut welcomed = None;
        match message {
            ServerMessage::Unsubscribed { reason } => {
                self.followers.remove(&doc);
                self.unsubscribed.push((doc.clone(), reason));
            }
            ServerMessage::Welcome {
                session, resumed, ..
            } => {
                self.sessions.insert(doc.clone(), session);
                let message = serde_json::from_str::<ServerMessage<Board>>(&text).unwrap();
                if let Some(ToFollower::Welcome(welcome)) = message.into_follower_message() {
                    // A new session (numbering its edits from 1 again): what the earlier one
                    // had waiting is not known here.
                    self.followers.insert(doc.clone(), Follower::new(welcome));
                    self.events.remove(&doc);
                    self.sent.remove(&doc);
                } else if let Some(version) = self.followers.get(&doc).map(Follower::version) {
                    // Resumed: the change in flight again (answered once), and what was
                    // missed.
                    self.sent.remove(&doc);
                    self.flush(&doc).await?;
                    self.try_send(&ClientMessage::Resync { version }, &doc)
                        .await?;
                }
                welcomed = Some(resumed);
            }
            other => {
                if let Some(follower) = self.followers.get_mut(&doc) {
                    if let Some(message) = other.into_follower_message() {
                        follower.receive(message);
                    }
                    let events = follower.take_events();
                    self.events.entry(doc.clone()).or_default().extend(events);
                    self.flush(&doc).await?;
                }
            }
        }
        Ok((doc, welcomed))
    }

    /// Edits `doc`: the edit's id.
    pub(crate) async fn edit<F>(&mut self, doc: &str, recipe: F) -> u64
    where
        F: FnOnce(&mut PatchDraft<'_, '_, Board>),
    {
        self.try_edit(doc, recipe).await.expect("sent")
    }

    pub(crate) async fn try_edit<F>(&mut self, doc: &str, recipe: F) -> Result<u64, Ended>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, Board>),
    {
        let id = self.make_edit(doc, recipe);
        self.flush(doc).await?;
        Ok(id)
    }

    /// Edits `doc` without sending anything yet (see [`send_edits`](Many::send_edits)).
    pub(crate) fn make_edit<F>(&mut self, doc: &str, recipe: F) -> u64
    where
        F: FnOnce(&mut PatchDraft<'_, '_, Board>),
    {
        let follower = self.followers.get_mut(doc).expect("subscribed");
        follower.edit(recipe).expect("the recipe changes something")
    }

    /// Sends `doc`'s change in flight, once.
    pub(crate) async fn send_edits(&mut self, doc: &str) -> Result<(), Ended> {
        self.flush(doc).await
    }

    /// Sends `doc`'s change in flight, once.
    async fn flush(&mut self, doc: &str) -> Result<(), Ended> {
        let Some(follower) = self.followers.get_mut(doc) else {
            return Ok(());
        };
        for message in follower.poll() {
            let ToLeader::Change(change) = &message else {
                continue;
            };
            if self.sent.get(doc) == Some(&change.id) {
                continue;
            }
            self.sent.insert(doc.to_owned(), change.id);
            let message = ClientMessage::from_leader_message(message).unwrap();
            self.try_send(&message, doc).await?;
        }
        Ok(())
    }

    /// Reads until `doc` is settled at `version` or later.
    pub(crate) async fn settle(&mut self, doc: &str, version: u64) {
        while !self
            .followers
            .get(doc)
            .is_some_and(|f| f.is_settled() && f.version() >= version)
        {
            self.step().await;
        }
    }

    /// How edit `id` of `doc` ended, if it has.
    pub(crate) fn outcome(&self, doc: &str, id: u64) -> Option<&FollowerEvent> {
        self.events.get(doc)?.iter().find(|e| match e {
            FollowerEvent::Accepted { id: i, .. } | FollowerEvent::Dropped { id: i, .. } => {
                *i == id
            }
            _ => false,
        })
    }

    pub(crate) fn state(&self, doc: &str) -> &Board {
        self.followers[doc].state()
    }

    /// The types of the messages for `doc` that arrive within `for_`.
    pub(crate) async fn heard(&mut self, doc: &str, for_: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + for_;
        let mut heard = Vec::new();
        while let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout_at(deadline, self.socket.next()).await
        {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            if value["doc"] == doc {
                heard.push(value["type"].as_str().unwrap_or_default().to_owned());
            }
        }
        heard
    }
}
