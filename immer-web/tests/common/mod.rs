//! What the server's tests share: a board, a hub on a free port, and a Rust client (a
//! `Follower` over tokio-tungstenite).

#![allow(dead_code, reason = "each test file uses what it needs")]

pub(crate) mod kill;
pub(crate) mod many;
pub(crate) mod presence;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use immer::sync::{Follower, FollowerEvent, ToFollower};
use immer::{Draftable, PatchDraft, Vector};
use immer_web::protocol::{ClientMessage, ServerMessage};
use immer_web::{Backend, Hub, HubBuilder, Identity, Limits, Policy};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) const WAIT: Duration = Duration::from_secs(20);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Board {
    pub(crate) title: String,
    pub(crate) todos: Vector<Todo>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Todo {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    Editor,
    Checker,
    Viewer,
}

pub(crate) fn board(todos: usize) -> Board {
    Board {
        title: "Board".to_owned(),
        todos: (0..todos)
            .map(|n| Todo {
                id: format!("t{n}"),
                text: format!("todo {n}"),
                done: false,
            })
            .collect(),
    }
}

/// A hub over `board` with the demo's rules: tokens `editor-*` edit everything, `checker-*`
/// tick todos, `viewer-*` only view; titles may not be empty.
pub(crate) fn hub(board: Board, limits: Limits) -> Hub<Board, Role> {
    builder(board, limits).build()
}

/// The hub's configuration, to build on a backend of the test's choosing.
pub(crate) fn builder(board: Board, limits: Limits) -> HubBuilder<Board, Role> {
    Hub::builder(Arc::new(board))
        .authenticate(|token: String| async move {
            let role = match token.split('-').next() {
                Some("editor") => Role::Editor,
                Some("checker") => Role::Checker,
                Some("viewer") => Role::Viewer,
                // A verification that never ends.
                Some("slow") => std::future::pending().await,
                _ => return Err("unknown token".to_owned()),
            };
            Ok(Identity { user: token, role })
        })
        .policy(
            Policy::new()
                .allow(
                    Role::Editor,
                    "/**".parse::<immer_web::PathPattern>().unwrap(),
                )
                .allow(
                    Role::Checker,
                    "/todos/*/done".parse::<immer_web::PathPattern>().unwrap(),
                ),
        )
        .validator(|_, next: &Board, _| {
            if next.title.is_empty() {
                Err("the title may not be empty".to_owned())
            } else {
                Ok(())
            }
        })
        .limits(limits)
}

/// Serves `hub` on a free loopback port until the returned task is aborted (or the test's
/// runtime ends).
pub(crate) async fn serve<B: Backend<Board>>(
    hub: &Hub<Board, Role, B>,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let router = hub.router();
    // Through the hub's gate, as an app serves it.
    let listener = hub.listen(listener);
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (format!("ws://{addr}/ws"), task)
}

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw connection, nothing sent.
pub(crate) async fn raw(url: &str) -> Socket {
    tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .unwrap()
        .0
}

/// How a connection ended: the close frame's code and reason, or `None` without one.
pub(crate) async fn closed(socket: &mut Socket) -> Option<(u16, String)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the connection closes in time");
        match next {
            Some(Ok(Message::Close(frame))) => {
                return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

pub(crate) fn auth(token: &str) -> Message {
    let auth = ClientMessage::Auth {
        token: token.to_owned(),
        resume: None,
    };
    Message::text(serde_json::to_string(&auth).unwrap())
}

/// A Rust client: a follower fed from the server.
pub(crate) struct Client {
    pub(crate) socket: Socket,
    pub(crate) follower: Follower<Board>,
    pub(crate) events: Vec<FollowerEvent>,
    sent: Option<u64>,
}

impl Client {
    /// Connects and authenticates; panics unless welcomed.
    pub(crate) async fn connect(url: &str, token: &str) -> Client {
        let mut socket = raw(url).await;
        socket.send(auth(token)).await.unwrap();
        let welcome = match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                serde_json::from_str::<ServerMessage<Board>>(&text).unwrap()
            }
            other => panic!("no welcome: {other:?}"),
        };
        let Some(ToFollower::Welcome(welcome)) = welcome.into_follower_message() else {
            panic!("the first message is not a welcome with a state");
        };
        Client {
            socket,
            follower: Follower::new(welcome),
            events: Vec::new(),
            sent: None,
        }
    }

    /// Edits locally and sends the change when none is in flight.
    pub(crate) async fn edit<F: FnOnce(&mut PatchDraft<'_, '_, Board>)>(
        &mut self,
        recipe: F,
    ) -> u64 {
        let id = self
            .follower
            .edit(recipe)
            .expect("the recipe changes something");
        self.send_next().await;
        id
    }

    async fn send_next(&mut self) {
        for message in self.follower.poll() {
            let Some(message) = ClientMessage::from_leader_message(message) else {
                continue;
            };
            if let ClientMessage::Change { id, .. } = &message {
                if self.sent == Some(*id) {
                    continue;
                }
                self.sent = Some(*id);
            } else {
                continue;
            }
            let text = serde_json::to_string(&message).unwrap();
            self.socket.send(Message::text(text)).await.unwrap();
        }
    }

    /// Reads one message and feeds it to the follower; false when the connection ended.
    pub(crate) async fn step(&mut self) -> bool {
        let next = tokio::time::timeout(WAIT, self.socket.next())
            .await
            .expect("the server sends something in time");
        match next {
            Some(Ok(Message::Text(text))) => {
                let message: ServerMessage<Board> = serde_json::from_str(&text).unwrap();
                if let Some(message) = message.into_follower_message() {
                    self.follower.receive(message);
                }
                self.events.extend(self.follower.take_events());
                self.send_next().await;
                true
            }
            Some(Ok(_)) => true,
            Some(Err(_)) | None => false,
        }
    }

    /// Reads until every edit is answered and the follower is at `version`.
    pub(crate) async fn settle(&mut self, version: impl Fn() -> u64) {
        while !(self.follower.is_settled() && self.follower.version() >= version()) {
            assert!(self.step().await, "the connection ended before settling");
        }
    }

    /// Why edit `id` was rejected; panics unless it was.
    pub(crate) fn rejection(&self, id: u64) -> immer::sync::RejectReason {
        match self.outcome(id) {
            Some(FollowerEvent::Dropped {
                reason: immer::sync::DropReason::Rejected(reason),
                ..
            }) => reason.clone(),
            other => panic!("edit {id} was not rejected: {other:?}"),
        }
    }

    /// The outcome of edit `id`, if it has one.
    pub(crate) fn outcome(&self, id: u64) -> Option<&FollowerEvent> {
        self.events.iter().find(|e| match e {
            FollowerEvent::Accepted { id: change_id, .. }
            | FollowerEvent::Dropped { id: change_id, .. } => *change_id == id,
            _ => false,
        })
    }
}

pub(crate) fn code(code: CloseCode) -> u16 {
    u16::from(code)
}
