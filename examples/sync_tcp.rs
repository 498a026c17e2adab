//! A leader and three followers, each on its own thread, keeping one state in sync over TCP
//! on 127.0.0.1 (newline-delimited JSON). The followers make random edits at the same time;
//! at the end every replica prints its version and a hash of its state, and all agree.
//!
//! `cargo run --example sync_tcp`

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use immer::sync::{Follower, Leader, Recipient, ToFollower, ToLeader, Welcome};
use immer::{Draftable, Vector};
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    items: Vector<Item>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u64,
    text: String,
    votes: u32,
}

const FOLLOWERS: u64 = 3;
const EDITS: u64 = 200;

fn hash_of(board: &Board) -> u64 {
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(board)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// Reads newline-delimited JSON from `stream` into `channel`, tagged with `tag`.
fn read_lines<M: serde::de::DeserializeOwned + Send + 'static, Tag: Copy + Send + 'static>(
    stream: TcpStream,
    tag: Tag,
    channel: mpsc::Sender<(Tag, M)>,
) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str(&line) {
                Ok(message) => {
                    if channel.send((tag, message)).is_err() {
                        break;
                    }
                }
                Err(error) => eprintln!("dropping a malformed line: {error}"),
            }
        }
    });
}

fn send_line<M: Serialize>(stream: &mut TcpStream, message: &M) -> std::io::Result<()> {
    let mut line = serde_json::to_string(message).map_err(std::io::Error::other)?;
    line.push('\n');
    stream.write_all(line.as_bytes())
}

fn run_leader(
    listener: &TcpListener,
    base: Board,
    leader_version: &AtomicU64,
    done: &AtomicUsize,
) -> (u64, u64) {
    let mut leader = Leader::new(Arc::new(base));
    let (to_leader, inbox) = mpsc::channel::<(usize, ToLeader)>();
    let mut connections: Vec<TcpStream> = Vec::new();
    for index in 0..FOLLOWERS as usize {
        let Ok((stream, _)) = listener.accept() else {
            break;
        };
        if let Ok(reader) = stream.try_clone() {
            read_lines(reader, index, to_leader.clone());
        }
        connections.push(stream);
    }
    // Which connection holds each session: learned from the welcome sent on it.
    let mut connection_of: HashMap<u64, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::SeqCst) < FOLLOWERS as usize && Instant::now() < deadline {
        let Ok((index, message)) = inbox.recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        for out in leader.receive(message) {
            if let ToFollower::Welcome(welcome) = &out.message {
                connection_of.insert(welcome.session, index);
            }
            let targets: Vec<usize> = match out.to {
                Recipient::All => (0..connections.len()).collect(),
                Recipient::Sender => vec![index],
                Recipient::Session(session) => {
                    connection_of.get(&session).copied().into_iter().collect()
                }
            };
            for target in targets {
                let _ = send_line(&mut connections[target], &out.message);
            }
        }
        leader_version.store(leader.version(), Ordering::SeqCst);
    }
    (leader.version(), hash_of(leader.state()))
}

fn run_follower(
    client: u64,
    address: std::net::SocketAddr,
    leader_version: &AtomicU64,
    done: &AtomicUsize,
) -> (u64, u64) {
    let stream = TcpStream::connect(address).expect("the leader listens");
    let mut writer = stream.try_clone().expect("a socket can be cloned");
    let (to_me, inbox) = mpsc::channel::<((), ToFollower<Board>)>();
    read_lines(stream, (), to_me);
    // Join: the leader opens a session and sends where to start.
    send_line(&mut writer, &ToLeader::Join { client, nonce: 0 }).expect("the leader listens");
    let Ok(((), ToFollower::Welcome(welcome))) = inbox.recv() else {
        panic!("the leader answers a join with a welcome")
    };
    let welcome: Welcome<Board> = welcome;
    let mut follower = Follower::new(welcome);
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ client;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        if n == 0 { 0 } else { seed % n }
    };
    let mut edits = 0;
    let mut finished = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if edits < EDITS {
            edits += 1;
            let len = follower.state().items.len() as u64;
            let index = usize::try_from(random(len.max(1))).unwrap_or(0);
            let new_id = client * 10_000 + edits;
            match random(4) {
                0 => {
                    follower.edit(|d| {
                        let at = index.min(d.items().len());
                        let _ = d.items().insert(
                            at,
                            Item {
                                id: new_id,
                                text: format!("idea {new_id}"),
                                votes: 0,
                            },
                        );
                    });
                }
                1 => {
                    follower.edit(|d| {
                        d.items().remove(index);
                    });
                }
                2 => {
                    follower.edit(|d| {
                        if let Some(mut item) = d.items().get_mut(index) {
                            item.votes().modify(|v| *v += 1);
                        }
                    });
                }
                _ => {
                    follower.edit(|d| d.set_title(format!("board of {client}")));
                }
            }
        } else if !finished {
            finished = true;
        }
        for message in follower.poll() {
            let _ = send_line(&mut writer, &message);
        }
        let wait = if edits < EDITS { 1 } else { 20 };
        while let Ok(((), message)) = inbox.recv_timeout(Duration::from_millis(wait)) {
            follower.receive(message);
        }
        follower.take_events();
        let caught_up = follower.version() == leader_version.load(Ordering::SeqCst);
        if finished && follower.is_settled() && caught_up {
            done.fetch_add(1, Ordering::SeqCst);
            // Keep answering until every follower is done, so none waits on this one.
            while done.load(Ordering::SeqCst) < FOLLOWERS as usize && Instant::now() < deadline {
                while let Ok(((), message)) = inbox.recv_timeout(Duration::from_millis(20)) {
                    follower.receive(message);
                }
                for message in follower.poll() {
                    let _ = send_line(&mut writer, &message);
                }
            }
            break;
        }
    }
    (follower.version(), hash_of(follower.state()))
}

fn main() {
    let base = Board {
        title: "ideas".into(),
        items: (0..20)
            .map(|id| Item {
                id,
                text: format!("idea {id}"),
                votes: 0,
            })
            .collect(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port on the loopback interface");
    let address = listener.local_addr().expect("a bound address");
    let leader_version = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicUsize::new(0));

    let leader = {
        let (version, done) = (Arc::clone(&leader_version), Arc::clone(&done));
        thread::spawn(move || run_leader(&listener, base, &version, &done))
    };
    let followers: Vec<_> = (1..=FOLLOWERS)
        .map(|client| {
            let (version, done) = (Arc::clone(&leader_version), Arc::clone(&done));
            thread::spawn(move || (client, run_follower(client, address, &version, &done)))
        })
        .collect();

    let mut replicas = Vec::new();
    for handle in followers {
        let (client, (version, hash)) = handle.join().expect("a follower thread");
        replicas.push((format!("follower {client}"), version, hash));
    }
    let (version, hash) = leader.join().expect("the leader thread");
    replicas.insert(0, ("leader".to_owned(), version, hash));
    for (name, version, hash) in &replicas {
        println!("{name:<11} version {version:>4}  state hash {hash:016x}");
    }
    let all_equal = replicas.iter().all(|(_, v, h)| (*v, *h) == (version, hash));
    println!(
        "{}",
        if all_equal {
            "all replicas agree"
        } else {
            "REPLICAS DIFFER"
        }
    );
    if !all_equal {
        std::process::exit(1);
    }
}
