//! The findings of an outside probe of the hub, each against a real server on loopback: what
//! a hostile client did, and what it gets now. Raw WebSocket and TCP clients, so that nothing
//! a well-behaved client would do hides a flaw.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Board, Client, Role, Socket, Todo, WAIT, auth, board, closed, hub, raw, serve};
use futures_util::{SinkExt, StreamExt};
use immer::Vector;
use immer_web::{Devtools, Hub, Limits, close_code};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.auth_timeout = Duration::from_millis(500);
    limits
}

async fn send(socket: &mut Socket, message: &Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next text message, as JSON.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message in time");
        match message {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Close(frame))) => panic!("closed: {frame:?}"),
            Some(Ok(_)) => {}
            other => panic!("the connection ended: {other:?}"),
        }
    }
}

/// Connects and authenticates with `token`; the socket and the welcome.
async fn welcomed(url: &str, token: &str, resume: Option<u64>) -> (Socket, Value) {
    let mut socket = raw(url).await;
    let mut auth = json!({"type": "auth", "token": token});
    if let Some(session) = resume {
        auth["resume"] = json!(session);
    }
    send(&mut socket, &auth).await;
    let welcome = next(&mut socket).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (socket, welcome)
}

/// Sends change `id` and returns its answer to this connection: `committed` (of this
/// session) or `rejected`.
async fn change(socket: &mut Socket, session: &Value, id: u64, base: u64, patches: Value) -> Value {
    send(
        socket,
        &json!({"type": "change", "id": id, "base": base, "patches": patches}),
    )
    .await;
    loop {
        let message = next(socket).await;
        let ours = message["id"] == json!(id)
            && (message["type"] == "rejected"
                || (message["type"] == "committed" && message["session"] == *session));
        if ours {
            return message;
        }
    }
}

fn tick(at: &Value, done: bool) -> Value {
    json!([{"op": "replace", "path": ["todos", at, "done"], "value": done}])
}

/// Finding 1: a viewer's change of 1,000 patches at base 0, after many commits, was moved
/// through the whole log under the hub's lock before the policy refused it. Now it is refused
/// before anything moves (its path as sent), and an editor's change too costly to move is
/// refused by the move limit, not moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_costly_change_is_refused_before_it_is_moved() {
    let mut limits = limits();
    // The editor commits 1,200 changes as fast as they are answered.
    limits.messages_per_second = 100_000;
    limits.burst = 100_000;
    let hub = hub(board(20), limits);
    let (url, server) = serve(&hub).await;
    let (mut editor, welcome) = welcomed(&url, "editor-ann", None).await;
    let session = welcome["session"].clone();
    let commits = 1_200_u64;
    for id in 1..=commits {
        let answer = change(
            &mut editor,
            &session,
            id,
            id - 1,
            tick(&json!(id % 20), id % 3 == 0),
        )
        .await;
        assert_eq!(answer["type"], "committed", "{answer}");
        // The author is not told to anyone: no client links two sessions of one user.
        assert_eq!(answer["client"], 0, "{answer}");
    }
    let worst: Vec<Value> = (0..1000)
        .map(|n| json!({"op": "replace", "path": ["todos", n % 20, "done"], "value": true}))
        .collect();
    let (mut viewer, welcome) = welcomed(&url, "viewer-victor", None).await;
    let viewer_session = welcome["session"].clone();
    for id in 1..=5 {
        let started = Instant::now();
        let answer = change(&mut viewer, &viewer_session, id, 0, json!(worst)).await;
        eprintln!(
            "a viewer's 1,000 patches at base 0 after {commits} commits: answered in {:?}",
            started.elapsed()
        );
        assert_eq!(answer["type"], "rejected", "{answer}");
        // The path as sent: nothing was moved.
        assert_eq!(
            answer["reason"]["Forbidden"]["path"],
            json!(["todos", 0, "done"])
        );
    }
    // An editor's: 1,000 patches × 1,200 committed since base 0 is over the move limit.
    let answer = change(&mut editor, &session, commits + 1, 0, json!(worst)).await;
    assert_eq!(answer["type"], "rejected", "{answer}");
    assert_eq!(answer["reason"]["Limit"]["max"], json!(400_000));
    // From a recent base, the same change is committed.
    let answer = change(
        &mut editor,
        &session,
        commits + 2,
        hub.version(),
        json!(worst),
    )
    .await;
    assert_eq!(answer["type"], "committed");
    server.abort();
}

/// Finding 2: every session was kept forever with its last rejection; 400 connections that
/// each sent one refused change with a huge path and closed took 112 MB. Now sessions are
/// forgotten after `session_idle`, at most `max_sessions` are kept, and a stored answer is
/// small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_are_bounded_and_keep_small_answers() {
    let mut limits = limits();
    limits.session_idle = Duration::from_millis(400);
    limits.max_sessions = 20;
    let hub = hub(board(3), limits);
    let (url, server) = serve(&hub).await;
    let key = "k".repeat(150_000);
    for n in 0..60 {
        let (mut socket, welcome) = welcomed(&url, &format!("editor-{n}"), None).await;
        // Refused by the document (no such field), with a 150 KB key in its path.
        let patches = json!([{"op": "replace", "path": ["todos", 0, key], "value": 1}]);
        let answer = change(&mut socket, &welcome["session"], 1, 0, patches).await;
        assert_eq!(answer["type"], "rejected");
        let size = answer.to_string().len();
        assert!(size < 2_000, "a {size}-byte answer");
        socket.close(None).await.unwrap();
        assert!(hub.sessions() <= 20, "{} sessions", hub.sessions());
    }
    // Within the idle time a session resumes; after it, it is forgotten.
    let (mut socket, welcome) = welcomed(&url, "editor-kim", None).await;
    let session = welcome["session"].as_u64().unwrap();
    socket.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (mut socket, again) = welcomed(&url, "editor-kim", Some(session)).await;
    assert_eq!(again["resumed"], true, "{again}");
    socket.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_socket, late) = welcomed(&url, "editor-kim", Some(session)).await;
    assert_eq!(late["resumed"], false, "{late}");
    assert_eq!(hub.sessions(), 1, "every idle session forgotten");
    server.abort();
}

/// Finding 3: a change with no patches was committed, so viewers made thousands of versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_with_no_patches_is_refused() {
    let hub = hub(board(3), limits());
    let (url, server) = serve(&hub).await;
    for token in ["viewer-victor", "editor-ann"] {
        let (mut socket, welcome) = welcomed(&url, token, None).await;
        for id in 1..=20 {
            let answer = change(&mut socket, &welcome["session"], id, 0, json!([])).await;
            assert_eq!(answer["type"], "rejected");
            assert_eq!(answer["reason"], json!({"Empty": {}}));
        }
    }
    assert_eq!(hub.version(), 0);
    server.abort();
}

/// Finding 4: a todo added with `junk` and `isAdmin` members was committed as sent, so
/// JavaScript clients held them (the Rust state did not), and a `__proto__` member reached
/// the clients. Now what is committed is the typed value, and `__proto__` is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_values_are_the_typed_values() {
    let hub = hub(board(2), limits());
    let (url, server) = serve(&hub).await;
    let (mut watcher, _) = welcomed(&url, "viewer-victor", None).await;
    let (mut editor, welcome) = welcomed(&url, "editor-ann", None).await;
    let session = welcome["session"].clone();
    let junk = json!({"id": "j", "text": "t", "done": false, "junk": "z".repeat(200_000), "isAdmin": true});
    let patches = json!([{"op": "add", "path": ["todos", "-"], "value": junk}]);
    let answer = change(&mut editor, &session, 1, 0, patches).await;
    assert_eq!(answer["type"], "committed", "{answer}");
    let seen = next(&mut watcher).await;
    assert_eq!(
        seen["patches"],
        json!([{"op": "add", "path": ["todos", 2], "value": {"id": "j", "text": "t", "done": false}}])
    );
    // A fresh connection's welcome and the typed state agree with what was broadcast.
    let (_fresh, welcome) = welcomed(&url, "viewer-vera", None).await;
    assert_eq!(
        welcome["state"],
        serde_json::to_value(&*hub.state()).unwrap()
    );
    assert_eq!(welcome["state"]["todos"][2], seen["patches"][0]["value"]);

    let refused = [
        json!([{"op": "add", "path": ["todos", 0], "value": {"id": "p", "text": "t", "done": false, "__proto__": {"isAdmin": true}}}]),
        json!([{"op": "replace", "path": ["todos", 0, "__proto__"], "value": 1}]),
        json!([{"op": "replace", "path": ["constructor"], "value": 1}]),
    ];
    for (n, patches) in refused.into_iter().enumerate() {
        let answer = change(&mut editor, &session, 2 + n as u64, 1, patches).await;
        assert!(answer["reason"]["Forbidden"].is_object(), "{answer}");
    }
    assert_eq!(hub.version(), 1);
    server.abort();
}

/// Finding 5: with todos a0–a3, after another client's `remove` of `["todos","0"]`, an
/// earlier-based tick of `["todos",2,"done"]` ticked a3, and a tick of the removed todo
/// landed on a1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_written_as_a_string_is_moved_as_a_position() {
    let hub = hub(board(4), limits());
    let (url, server) = serve(&hub).await;
    let (mut editor, welcome) = welcomed(&url, "editor-ann", None).await;
    let (mut checker, checker_welcome) = welcomed(&url, "checker-carol", None).await;
    let removed = change(
        &mut editor,
        &welcome["session"],
        1,
        0,
        json!([{"op": "remove", "path": ["todos", "0"]}]),
    )
    .await;
    assert_eq!(removed["patches"][0]["path"], json!(["todos", 0]));
    let session = &checker_welcome["session"];
    let ticked = change(&mut checker, session, 1, 0, tick(&json!(2), true)).await;
    assert_eq!(ticked["patches"][0]["path"], json!(["todos", 1, "done"]));
    let done: Vec<String> = hub
        .state()
        .todos
        .iter()
        .filter(|t| t.done)
        .map(|t| t.id.clone())
        .collect();
    assert_eq!(done, ["t2"]);
    let gone = change(&mut checker, session, 2, 0, tick(&json!("0"), true)).await;
    assert_eq!(gone["type"], "rejected");
    assert!(gone["reason"]["Conflict"].is_object(), "{gone}");
    assert!(!hub.state().todos[0].done, "t1 untouched");
    server.abort();
}

/// A TCP connection from `ip` to `addr`.
async fn tcp_from(ip: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((ip, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Whether the server closes `tcp` within `within` (what it said first, if anything).
async fn closed_by_server(tcp: &mut TcpStream, within: Duration) -> Option<String> {
    let mut said = Vec::new();
    let read = tokio::time::timeout(within, tcp.read_to_end(&mut said)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&said).into_owned())
}

/// Finding 6: connections that never finished the upgrade stayed open forever (and under a
/// descriptor limit locked every client out). Now each must send its upgrade within
/// `handshake_timeout`, and connections are bounded in all and per address, answered with a
/// reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_must_upgrade_in_time_and_are_bounded() {
    let mut limits = limits();
    limits.handshake_timeout = Duration::from_millis(300);
    limits.max_connections = 40;
    limits.max_connections_per_address = 30;
    let hub = hub(board(1), limits);
    let (url, server) = serve(&hub).await;
    let addr: SocketAddr = url["ws://".len()..url.len() - "/ws".len()].parse().unwrap();

    // Silent ones, and one that trickles its request a byte at a time.
    let mut silent = Vec::new();
    for _ in 0..25 {
        silent.push(tcp_from([127, 0, 0, 1], addr).await);
    }
    let mut trickler = tcp_from([127, 0, 0, 1], addr).await;
    let trickle = tokio::spawn(async move {
        for byte in b"GET /ws HTTP/1.1\r\nHost: x\r\n".iter().cycle().take(200) {
            if trickler.write_all(&[*byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    });
    for tcp in &mut silent {
        assert!(
            closed_by_server(tcp, Duration::from_secs(3))
                .await
                .is_some(),
            "closed in time"
        );
    }
    assert!(
        tokio::time::timeout(WAIT, trickle).await.unwrap().unwrap(),
        "the trickler is cut off"
    );
    tokio::time::timeout(WAIT, async {
        while hub.open_connections() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every connection released");

    // 30 from one address; the 31st from it is refused with the reason.
    let mut held = Vec::new();
    for _ in 0..30 {
        held.push(tcp_from([127, 0, 0, 1], addr).await);
    }
    let mut over = tcp_from([127, 0, 0, 1], addr).await;
    let said = closed_by_server(&mut over, Duration::from_secs(3))
        .await
        .expect("answered");
    assert!(said.starts_with("HTTP/1.1 429"), "{said}");
    assert!(said.contains("limit of 30 connections"), "{said}");
    // 10 more from another address fill the server; one more from a third is refused.
    for _ in 0..10 {
        held.push(tcp_from([127, 0, 0, 2], addr).await);
    }
    let mut full = tcp_from([127, 0, 0, 3], addr).await;
    let said = closed_by_server(&mut full, Duration::from_secs(3))
        .await
        .expect("answered");
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("limit of 40 connections"), "{said}");
    drop(held);
    // Once they are gone, an honest client gets in.
    tokio::time::timeout(WAIT, async {
        while hub.open_connections() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("released");
    let mut client = Client::connect(&url, "editor-ann").await;
    client.edit(|d| d.title().set("in".into())).await;
    client.settle(|| hub.version()).await;
    server.abort();
}

/// Finding 7: the outbound queue was bounded in messages only, so viewers asking for 50
/// snapshots a second of a large board and never reading took hundreds of megabytes. Now a
/// snapshot costs its size in the client's byte rate, and the queue is bounded in bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_cost_their_size_and_the_queue_is_bounded_in_bytes() {
    let mut big = board(0);
    big.todos = (0..1000)
        .map(|n| Todo {
            id: format!("t{n}"),
            text: format!("{n} {}", "x".repeat(100)),
            done: false,
        })
        .collect::<Vector<_>>();
    let size = serde_json::to_string(&big).unwrap().len();

    // The byte rate: 1 MiB a second, 8 MiB at once.
    let hub = hub(big.clone(), limits());
    let (url, server) = serve(&hub).await;
    let (mut greedy, _) = welcomed(&url, "viewer-greedy", None).await;
    let mut editor = Client::connect(&url, "editor-ann").await;
    // Asks for 150 snapshots in three seconds (6 MB a second), reading nothing, then reads.
    for _ in 0..150 {
        if greedy
            .send(Message::text(r#"{"type":"snapshot"}"#))
            .await
            .is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ended = closed(&mut greedy).await;
    let (code, reason) = ended.expect("a close frame");
    assert_eq!(code, close_code::POLICY);
    assert!(
        reason.contains("bytes per second"),
        "{reason} (a {size}-byte state)"
    );
    editor.edit(|d| d.title().set("still here".into())).await;
    editor.settle(|| hub.version()).await;
    server.abort();

    // The queue: at most 1 MiB waiting for a client that does not read.
    let mut limits = limits();
    limits.bytes_per_second = 1 << 30;
    limits.burst_bytes = 1 << 30;
    limits.max_outbound_bytes = 1 << 20;
    let hub = hub_with(big, limits);
    let (url, server) = serve(&hub).await;
    let (mut sloth, _) = welcomed(&url, "viewer-sloth", None).await;
    for _ in 0..300 {
        if sloth
            .send(Message::text(r#"{"type":"snapshot"}"#))
            .await
            .is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (code, reason) = closed(&mut sloth).await.expect("a close frame");
    assert_eq!(code, close_code::POLICY);
    assert_eq!(reason, "too slow: more than 1048576 bytes waiting");
    server.abort();
}

fn hub_with(board: Board, limits: Limits) -> Hub<Board, Role> {
    hub(board, limits)
}

/// An HTTP request's status line and body.
async fn http(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Finding 8: the example served its state and the devtools' API (import included) to
/// anyone. `Hub::protect` lets only whom the hub would let in through, and live devtools
/// refuse an import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_endpoints_answer_only_whom_the_hub_lets_in() {
    let hub = hub(board(2), limits());
    let devtools = Devtools::attach(&hub, "test").unwrap();
    let app = axum::Router::new().nest(
        "/devtools",
        devtools.router_with(|api| hub.protect(api, |id| id.role == Role::Editor)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gate = hub.listen(listener);
    let server = tokio::spawn(async move { axum::serve(gate, app).await.unwrap() });
    let get = |path: &str, token: &str| {
        let auth = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {token}\r\n")
        };
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n")
    };
    assert!(
        http(addr, &get("/devtools/api/info", ""))
            .await
            .starts_with("HTTP/1.1 401")
    );
    assert!(
        http(addr, &get("/devtools/api/info", "nobody"))
            .await
            .starts_with("HTTP/1.1 401")
    );
    assert!(
        http(addr, &get("/devtools/api/info", "viewer-v"))
            .await
            .starts_with("HTTP/1.1 403")
    );
    assert!(
        http(addr, &get("/devtools/api/info", "editor-e"))
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        http(addr, &get("/devtools/api/info?token=editor-e", ""))
            .await
            .starts_with("HTTP/1.1 200")
    );
    let body = "{\"base\": {\"title\": \"x\", \"todos\": []}}\n";
    let import = |token: &str| {
        format!(
            "POST /devtools/api/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    assert!(
        http(addr, &import("viewer-v"))
            .await
            .starts_with("HTTP/1.1 403")
    );
    let answer = http(addr, &import("editor-e")).await;
    assert!(answer.starts_with("HTTP/1.1 409"), "{answer}");
    server.abort();
}

/// The minor findings: pings were outside the rate limit; a 1 MB first message was answered
/// 4401 instead of 1009; two connections of one user could share one live session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_count_big_first_messages_are_too_big_and_a_session_has_one_connection() {
    let mut limits = limits();
    limits.messages_per_second = 10;
    limits.burst = 20;
    let hub = hub(board(1), limits);
    let (url, server) = serve(&hub).await;

    let (mut pinger, _) = welcomed(&url, "viewer-p", None).await;
    for _ in 0..100 {
        if pinger.send(Message::Ping(vec![1].into())).await.is_err() {
            break;
        }
    }
    let (code, reason) = closed(&mut pinger).await.expect("a close frame");
    assert_eq!(
        (code, reason.as_str()),
        (
            close_code::POLICY,
            "flood: more than 10 messages per second"
        )
    );

    let mut big = raw(&url).await;
    let text = format!(r#"{{"type":"auth","token":"{}"}}"#, "a".repeat(1 << 20));
    let _ = big.send(Message::text(text)).await;
    let (code, _) = closed(&mut big).await.expect("a close frame");
    assert_eq!(code, close_code::TOO_BIG);

    let (mut first, welcome) = welcomed(&url, "editor-sam", None).await;
    let session = welcome["session"].as_u64().unwrap();
    let (mut second, again) = welcomed(&url, "editor-sam", Some(session)).await;
    assert_eq!(again["resumed"], true);
    let (code, reason) = closed(&mut first).await.expect("a close frame");
    assert_eq!(code, close_code::SESSION_TAKEN, "{reason}");
    // The session goes on, on the second connection.
    let answer = change(
        &mut second,
        &again["session"],
        1,
        0,
        json!([{"op": "replace", "path": ["title"], "value": "mine"}]),
    )
    .await;
    assert_eq!(answer["type"], "committed");
    assert_eq!(hub.connections(), 1);
    let _ = auth;
    server.abort();
}
