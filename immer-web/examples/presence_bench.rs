//! Presence under load: `--connections` WebSocket clients (200 by default) on one document of
//! one hub, each moving its cursor `--rate` times a second (20) for `--seconds` (10), on
//! loopback. Each update carries the moment it was sent; `--sampled` receivers (20) read
//! every presence message and time each update they are shown, the others only count what
//! they receive. The hub sends what changed at most every `--interval-ms` (50, the default of
//! `Limits::presence_interval`) to each reader, each presence at its newest: an update
//! superseded within the interval is not delivered, its newer one is.
//!
//! The server runs on a runtime of its own (2 threads named `presence-srv`), the clients on
//! another (2 threads), in one process on the same cores: the server's CPU time is its
//! threads' (from `/proc/self/task`), the clients' the rest.
//!
//! `cargo run --release -p immer-web --example presence_bench`

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // figures for printing

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use immer_web::{Hub, Identity, Limits};
use tokio_tungstenite::tungstenite::Message;

struct Options {
    connections: usize,
    rate: u64,
    seconds: u64,
    sampled: usize,
    interval_ms: u64,
}

fn options() -> Options {
    let mut options = Options {
        connections: 200,
        rate: 20,
        seconds: 10,
        sampled: 20,
        interval_ms: 50,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok());
        match (pair[0].as_str(), value) {
            ("--connections", Some(v)) => options.connections = usize::try_from(v).unwrap_or(1),
            ("--rate", Some(v)) => options.rate = v.max(1),
            ("--seconds", Some(v)) => options.seconds = v.max(1),
            ("--sampled", Some(v)) => options.sampled = usize::try_from(v).unwrap_or(1),
            ("--interval-ms", Some(v)) => options.interval_ms = v,
            _ => {
                eprintln!(
                    "usage: presence_bench [--connections N] [--rate PER_SECOND] [--seconds N] [--sampled N] [--interval-ms N]"
                );
                std::process::exit(2);
            }
        }
    }
    options.sampled = options.sampled.min(options.connections);
    options
}

/// What every client adds to.
#[derive(Default)]
struct Counts {
    /// Updates sent within the measured window.
    sent: AtomicU64,
    /// Presence messages received, and the updates in them, within the window.
    messages: AtomicU64,
    updates: AtomicU64,
    bytes: AtomicU64,
    /// Delivery latencies measured by the sampled receivers, in microseconds.
    latencies: Mutex<Vec<u64>>,
}

/// Microseconds since `base`.
fn micros(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The window measured, in microseconds since the base.
#[derive(Clone, Copy)]
struct Window {
    from: u64,
    to: u64,
}

impl Window {
    fn holds(self, at: u64) -> bool {
        (self.from..self.to).contains(&at)
    }
}

async fn client(
    url: String,
    index: usize,
    options: Arc<Options>,
    base: Instant,
    window: Window,
    counts: Arc<Counts>,
) {
    let connect = tokio_tungstenite::connect_async_with_config(&url, None, true);
    let (socket, _) = connect.await.expect("connected");
    let (mut sink, mut stream) = socket.split();
    let auth = format!(r#"{{"type":"auth","token":"user-{index}"}}"#);
    sink.send(Message::text(auth)).await.unwrap();
    let sampled = index < options.sampled;
    let stop_at = base + Duration::from_micros(window.to);
    let period = Duration::from_micros(1_000_000 / options.rate);
    // Spread the clients' moves over the period.
    let offset = period * u32::try_from(index % 1000).unwrap_or(0) / 1000;
    let writer_counts = Arc::clone(&counts);
    let writer = tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut step = 0_u64;
        while Instant::now() < stop_at {
            ticks.tick().await;
            step += 1;
            let now = micros(base);
            if window.holds(now) {
                writer_counts.sent.fetch_add(1, Ordering::Relaxed);
            }
            let update = format!(
                r#"{{"type":"presence","state":{{"cursor":[{index},{step}],"sent":{now}}}}}"#
            );
            if sink.send(Message::text(update)).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let mut latencies = Vec::new();
    let drain = stop_at + Duration::from_secs(1);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(drain.into(), stream.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        let now = micros(base);
        if !window.holds(now) || !text.contains(r#""type":"presence""#) {
            continue;
        }
        counts.messages.fetch_add(1, Ordering::Relaxed);
        counts.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        if !sampled {
            let updates = text.matches(r#""client":"#).count() as u64;
            counts.updates.fetch_add(updates, Ordering::Relaxed);
            continue;
        }
        let message: serde_json::Value = serde_json::from_str(&text).unwrap();
        let presences = message["presences"].as_array().unwrap();
        counts
            .updates
            .fetch_add(presences.len() as u64, Ordering::Relaxed);
        for presence in presences {
            if let Some(sent) = presence["state"]["sent"].as_u64() {
                latencies.push(now.saturating_sub(sent));
            }
        }
    }
    counts.latencies.lock().unwrap().extend(latencies);
    let _ = writer.await;
}

/// The CPU time, in seconds, of this process's threads whose name starts with `prefix`
/// (all of them with `""`), on Linux; `None` elsewhere.
fn cpu_seconds(prefix: &str) -> Option<f64> {
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(stat) = std::fs::read_to_string(task.ok()?.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map_or("", |(_, name)| name);
        if !name.starts_with(prefix) {
            continue;
        }
        // Fields after the name's closing parenthesis: utime and stime are the 12th and 13th,
        // in clock ticks of 1/100 s on Linux.
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        total += (ticks(11)? + ticks(12)?) / 100.0;
    }
    Some(total)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at] as f64 / 1000.0
}

fn main() {
    let options = Arc::new(options());
    println!(
        "{} connections x {} presence updates/s for {} s on one document, on loopback; batches every {} ms; {} sampled receivers; {} cores",
        options.connections,
        options.rate,
        options.seconds,
        options.interval_ms,
        options.sampled,
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("presence-srv")
        .enable_all()
        .build()
        .unwrap();
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .unwrap();

    let mut limits = Limits::default();
    limits.max_connections_per_address = options.connections + 16;
    limits.max_connections = options.connections + 16;
    limits.presence_interval = Duration::from_millis(options.interval_ms);
    let hub: Hub<Vec<u32>, String> = Hub::builder(Arc::new(Vec::new()))
        .authenticate(|token: String| async move {
            Ok(Identity {
                user: token,
                role: "viewer".to_owned(),
            })
        })
        .limits(limits)
        .build();
    let url = server_runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        let (router, gate) = (hub.router(), hub.listen(listener));
        tokio::spawn(async move { axum::serve(gate, router).await.unwrap() });
        url
    });

    let base = Instant::now();
    // Two seconds to connect and settle, then the window measured.
    let warm_up = 2_000_000;
    let window = Window {
        from: warm_up,
        to: warm_up + options.seconds * 1_000_000,
    };
    let counts = Arc::new(Counts::default());
    let clients: Vec<_> = (0..options.connections)
        .map(|index| {
            client_runtime.spawn(client(
                url.clone(),
                index,
                Arc::clone(&options),
                base,
                window,
                Arc::clone(&counts),
            ))
        })
        .collect();
    // The CPU times over the window.
    std::thread::sleep(Duration::from_micros(window.from).saturating_sub(base.elapsed()));
    let (server_cpu, all_cpu) = (cpu_seconds("presence-srv"), cpu_seconds(""));
    let connected = hub.connections();
    std::thread::sleep(Duration::from_micros(window.to).saturating_sub(base.elapsed()));
    let server_cpu = cpu_seconds("presence-srv")
        .zip(server_cpu)
        .map(|(b, a)| b - a);
    let all_cpu = cpu_seconds("").zip(all_cpu).map(|(b, a)| b - a);
    client_runtime.block_on(async {
        for client in clients {
            client.await.unwrap();
        }
    });
    report(&options, &counts, connected, server_cpu.zip(all_cpu));
    drop(hub);
}

/// Prints the figures of a run: `cpu` is the server's and the whole process's CPU time over
/// the window, when measured.
fn report(options: &Options, counts: &Counts, connected: usize, cpu: Option<(f64, f64)>) {
    let seconds = options.seconds as f64;
    let mut latencies = std::mem::take(&mut *counts.latencies.lock().unwrap());
    latencies.sort_unstable();
    let sent = counts.sent.load(Ordering::Relaxed) as f64;
    let messages = counts.messages.load(Ordering::Relaxed) as f64;
    let updates = counts.updates.load(Ordering::Relaxed) as f64;
    let bytes = counts.bytes.load(Ordering::Relaxed) as f64;
    println!("connected at the start of the window: {connected}");
    println!(
        "updates sent: {:.0}/s; one message per update per reader would be {:.0} messages/s",
        sent / seconds,
        sent / seconds * (options.connections as f64 - 1.0)
    );
    println!(
        "received: {:.0} presence messages/s ({:.1} per reader per second), {:.0} updates/s in them ({:.0} per message), {:.1} MB/s",
        messages / seconds,
        messages / seconds / options.connections as f64,
        updates / seconds,
        updates / messages.max(1.0),
        bytes / seconds / 1e6
    );
    println!(
        "delivery (send to receipt, {} updates at {} receivers): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        options.sampled,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().map_or(0.0, |l| *l as f64 / 1000.0)
    );
    match cpu {
        Some((server, all)) => println!(
            "CPU over the window: server {:.2} s ({:.0}% of one core), clients and the rest {:.2} s ({:.0}%)",
            server,
            server / seconds * 100.0,
            all - server,
            (all - server) / seconds * 100.0
        ),
        None => println!("CPU: not measured (no /proc/self/task)"),
    }
}
