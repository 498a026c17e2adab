//! A client that speaks presence over a raw socket, to a one-document hub or a server of
//! many: what it is shown of the others' presences, and the refusals of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::{Socket, WAIT, auth, raw};

/// A connection that speaks presence: what it sees of the others' presences, by number.
pub(crate) struct Peer {
    pub(crate) socket: Socket,
    /// On a socket of many documents, the document it speaks of.
    doc: Option<String>,
    /// The others' presences shown to it: user and state, by number.
    pub(crate) others: BTreeMap<u64, (String, Value)>,
    /// Every presence message received, as sent.
    pub(crate) presence_texts: Vec<String>,
    /// Each refusal of its presence, with the reason.
    pub(crate) refused: Vec<String>,
}

impl Peer {
    /// A connection to a one-document hub, welcomed.
    pub(crate) async fn one(url: &str, token: &str) -> Peer {
        let mut socket = raw(url).await;
        socket.send(auth(token)).await.unwrap();
        let mut peer = Peer {
            socket,
            doc: None,
            others: BTreeMap::new(),
            presence_texts: Vec::new(),
            refused: Vec::new(),
        };
        peer.until("the welcome", |_, message| message["type"] == "welcome")
            .await;
        peer
    }

    /// A connection to a server of many documents, subscribed to `doc` (or refused: `None`).
    pub(crate) async fn many(url: &str, token: &str, doc: &str) -> Result<Peer, String> {
        let mut socket = raw(url).await;
        socket.send(auth(token)).await.unwrap();
        let mut peer = Peer {
            socket,
            doc: Some(doc.to_owned()),
            others: BTreeMap::new(),
            presence_texts: Vec::new(),
            refused: Vec::new(),
        };
        peer.send(json!({"type": "subscribe"})).await;
        let answer = peer
            .until("a welcome", |_, m| {
                m["type"] == "welcome" || m["type"] == "unsubscribed"
            })
            .await;
        if answer["type"] == "welcome" {
            Ok(peer)
        } else {
            Err(answer["reason"].as_str().unwrap_or_default().to_owned())
        }
    }

    /// Sends `message`, with the document's name on a socket of many.
    pub(crate) async fn send(&mut self, mut message: Value) {
        if let Some(doc) = &self.doc {
            message["doc"] = Value::String(doc.clone());
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    pub(crate) async fn show(&mut self, state: Value) {
        self.send(json!({"type": "presence", "state": state})).await;
    }

    /// Reads one message and takes what it says of presence; `None` when the socket ended or
    /// nothing came within `within`.
    pub(crate) async fn read(&mut self, within: Duration) -> Option<Value> {
        let next = tokio::time::timeout(within, self.socket.next())
            .await
            .ok()?;
        let Some(Ok(Message::Text(text))) = next else {
            return None;
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        if message["type"] == "presence" {
            self.presence_texts.push(text.to_string());
            for presence in message["presences"].as_array().unwrap() {
                let client = presence["client"].as_u64().unwrap();
                let user = presence["user"].as_str().unwrap().to_owned();
                if presence["state"].is_null() {
                    self.others.remove(&client);
                } else {
                    self.others
                        .insert(client, (user, presence["state"].clone()));
                }
            }
        }
        if message["type"] == "presenceRefused" {
            self.refused
                .push(message["reason"].as_str().unwrap().to_owned());
        }
        Some(message)
    }

    /// Reads until a message for which `done` holds (given what it has seen), within the
    /// tests' patience; that message.
    pub(crate) async fn until(
        &mut self,
        what: &str,
        done: impl Fn(&Peer, &Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(message) = self.read(left).await else {
                panic!("no {what} in time (the socket ended or was silent)");
            };
            if done(self, &message) {
                return message;
            }
        }
    }

    /// Reads until the others' presences shown are `users` with their states.
    pub(crate) async fn sees(&mut self, expected: &[(&str, Value)]) {
        let expected: Vec<(String, Value)> = expected
            .iter()
            .map(|(user, state)| ((*user).to_owned(), state.clone()))
            .collect();
        let holds = |peer: &Peer| {
            let mut shown: Vec<(String, Value)> = peer.others.values().cloned().collect();
            shown.sort_by(|a, b| a.0.cmp(&b.0));
            shown == expected
        };
        if holds(self) {
            return;
        }
        self.until("the presences expected", |peer, _| holds(peer))
            .await;
    }

    /// Every message that arrives within `window`.
    pub(crate) async fn during(&mut self, window: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + window;
        let mut messages = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return messages;
            }
            match self.read(left).await {
                Some(message) => messages.push(message),
                None => return messages,
            }
        }
    }
}
