//! `isolate::channel` against crossbeam-channel, flume, async-channel (its
//! blocking calls) and tokio's mpsc, on crossbeam-channel's own benchmark
//! patterns, in one process.
//!
//! `cargo run --release -p isolate-bench --bin channels [-- WORDS...]`
//!
//! With words, only the patterns whose name contains one of them run (e.g.
//! `-- unbounded`).
//!
//! Every round runs every pattern on every system, one after the other, so
//! a noisy neighbour hits them all alike; the median round is kept, and each
//! row prints isolate's time over the best peer's (the target is at most
//! 1.2). u64 messages; threads are started inside the timed region for every
//! system alike.
//!
//! After [`ROUNDS`] rounds, the systems that decide a row (isolate, and
//! every peer within [`CLOSE`] of the best one) run [`EXTRA_ROUNDS`] more,
//! interleaved as before: on the 2-core VM one process's rounds of the
//! same pattern swing 2-3x with where its threads land (the async row
//! alternates between its tasks on one worker and on two), and seven
//! samples left the verdict of a row to chance. Peers far behind keep their
//! seven; they cannot be the best.
//!
//! `SAMPLES=1` prints every row's sorted rounds to stderr; `ONLY=NAME` runs
//! one system.

use std::future::Future;
use std::time::{Duration, Instant};

/// Rounds of every pattern on every system.
const ROUNDS: usize = 7;
/// Further rounds of the systems that decide a row.
const EXTRA_ROUNDS: usize = 14;
/// A peer whose median is within this factor of the best peer's after
/// [`ROUNDS`] decides its row with isolate.
const CLOSE: f64 = 2.0;
/// Messages a round in the throughput patterns.
const MESSAGES: u64 = 500_000;
/// Round trips a round over two bounded(1) channels.
const TRIPS: u64 = 20_000;
/// Round trips a round beside one busy thread per core.
const BUSY_TRIPS: u64 = 2_000;
/// Messages a round through one bounded(1) channel.
const NARROW: u64 = 100_000;
/// Messages a round in the async patterns.
const ASYNC_MESSAGES: u64 = 200_000;

/// One blocking channel implementation, as the patterns use it.
trait Chan: 'static {
    type Tx: Send + Clone + 'static;
    type Rx: Send + 'static;
    const NAME: &'static str;
    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx);
    fn unbounded() -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, value: u64);
    fn recv(rx: &Self::Rx) -> Option<u64>;
    /// Another consumer end, where the channel has several.
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx>;
}

struct Isolate;
impl Chan for Isolate {
    type Tx = isolate::channel::Sender<u64>;
    type Rx = isolate::channel::Receiver<u64>;
    const NAME: &'static str = "isolate";
    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx) {
        isolate::channel::bounded(capacity)
    }
    fn unbounded() -> (Self::Tx, Self::Rx) {
        isolate::channel::unbounded()
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
}

struct Crossbeam;
impl Chan for Crossbeam {
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    const NAME: &'static str = "crossbeam";
    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(capacity)
    }
    fn unbounded() -> (Self::Tx, Self::Rx) {
        crossbeam_channel::unbounded()
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
}

struct Flume;
impl Chan for Flume {
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    const NAME: &'static str = "flume";
    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(capacity)
    }
    fn unbounded() -> (Self::Tx, Self::Rx) {
        flume::unbounded()
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
}

struct AsyncChannel;
impl Chan for AsyncChannel {
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;
    const NAME: &'static str = "async-channel";
    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(capacity)
    }
    fn unbounded() -> (Self::Tx, Self::Rx) {
        async_channel::unbounded()
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send_blocking(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv_blocking().ok()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
}

/// tokio's mpsc from plain threads; its unbounded and bounded ends are
/// different types, so both live in one enum.
struct Tokio;
#[derive(Clone)]
enum TokioTx {
    Bounded(tokio::sync::mpsc::Sender<u64>),
    Unbounded(tokio::sync::mpsc::UnboundedSender<u64>),
}
enum TokioRx {
    Bounded(std::sync::Mutex<tokio::sync::mpsc::Receiver<u64>>),
    Unbounded(std::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<u64>>),
}
impl Chan for Tokio {
    type Tx = TokioTx;
    type Rx = TokioRx;
    const NAME: &'static str = "tokio mpsc";
    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        (TokioTx::Bounded(tx), TokioRx::Bounded(rx.into()))
    }
    fn unbounded() -> (Self::Tx, Self::Rx) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (TokioTx::Unbounded(tx), TokioRx::Unbounded(rx.into()))
    }
    fn send(tx: &Self::Tx, value: u64) {
        match tx {
            TokioTx::Bounded(tx) => tx.blocking_send(value).unwrap(),
            TokioTx::Unbounded(tx) => tx.send(value).unwrap(),
        }
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        // The lock is never contended: tokio's receiver has one consumer.
        match rx {
            TokioRx::Bounded(rx) => rx.lock().unwrap().blocking_recv(),
            TokioRx::Unbounded(rx) => rx.lock().unwrap().blocking_recv(),
        }
    }
    fn clone_rx(_: &Self::Rx) -> Option<Self::Rx> {
        None
    }
}

/// `senders` threads send `MESSAGES` in all, `receivers` threads take them;
/// `None` where the channel has one consumer only.
fn flow<C: Chan>(capacity: Option<usize>, senders: u64, receivers: usize) -> Option<Duration> {
    let (tx, rx) = match capacity {
        Some(capacity) => C::bounded(capacity),
        None => C::unbounded(),
    };
    let mut rxs = vec![rx];
    for _ in 1..receivers {
        rxs.push(C::clone_rx(&rxs[0])?);
    }
    let start = Instant::now();
    let sum = std::thread::scope(|scope| {
        for s in 0..senders {
            let tx = tx.clone();
            scope.spawn(move || {
                for i in 0..MESSAGES / senders {
                    C::send(&tx, s + i);
                }
            });
        }
        drop(tx);
        let takers: Vec<_> = rxs
            .into_iter()
            .map(|rx| {
                scope.spawn(move || {
                    let mut sum = 0_u64;
                    while let Some(value) = C::recv(&rx) {
                        sum = sum.wrapping_add(value);
                    }
                    sum
                })
            })
            .collect();
        takers
            .into_iter()
            .map(|taker| taker.join().unwrap())
            .fold(0_u64, u64::wrapping_add)
    });
    std::hint::black_box(sum);
    Some(start.elapsed())
}

/// `count` messages through one channel of capacity 1 (crossbeam's
/// `stress_iter` shape: every send meets a full channel).
fn narrow<C: Chan>(count: u64) -> Duration {
    let (tx, rx) = C::bounded(1);
    let start = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for i in 0..count {
                C::send(&tx, i);
            }
        });
        let mut n = 0;
        while C::recv(&rx).is_some() {
            n += 1;
        }
        assert_eq!(n, count);
    });
    start.elapsed()
}

/// `TRIPS` round trips over two bounded(1) channels.
/// `ping_pong` beside one CPU-bound thread per core (none of the
/// channel's): a waiter that yields may hand its core to one of them for a
/// whole time slice.
fn ping_pong_beside_busy_threads<C: Chan>() -> Duration {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        let time = ping_pong_trips::<C>(BUSY_TRIPS);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        time
    })
}

fn ping_pong<C: Chan>() -> Duration {
    ping_pong_trips::<C>(TRIPS)
}

fn ping_pong_trips<C: Chan>(trips: u64) -> Duration {
    let (ping_tx, ping_rx) = C::bounded(1);
    let (pong_tx, pong_rx) = C::bounded(1);
    let start = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Some(value) = C::recv(&ping_rx) {
                C::send(&pong_tx, value + 1);
            }
        });
        for i in 0..trips {
            C::send(&ping_tx, i);
            assert_eq!(C::recv(&pong_rx), Some(i + 1));
        }
        drop(ping_tx);
    });
    start.elapsed()
}

/// Runs `producer` and `consumer` as two tasks on a two-thread tokio
/// runtime and times them to the end of both.
fn on_tokio<P, Q>(runtime: &tokio::runtime::Runtime, producer: P, consumer: Q) -> Duration
where
    P: Future<Output = ()> + Send + 'static,
    Q: Future<Output = u64> + Send + 'static,
{
    let start = Instant::now();
    runtime.block_on(async move {
        let producer = tokio::spawn(producer);
        let consumer = tokio::spawn(consumer);
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), ASYNC_MESSAGES);
    });
    start.elapsed()
}

/// An async spsc over bounded(64) on tokio: `None` for systems that are not
/// async peers.
fn async_spsc(name: &str, runtime: &tokio::runtime::Runtime) -> Option<Duration> {
    Some(match name {
        "isolate" => {
            let (tx, rx) = isolate::channel::bounded(64);
            on_tokio(
                runtime,
                async move {
                    for i in 0..ASYNC_MESSAGES {
                        tx.send_async(i).await.unwrap();
                    }
                },
                async move {
                    let mut n = 0;
                    while rx.recv_async().await.is_ok() {
                        n += 1;
                    }
                    n
                },
            )
        }
        "flume" => {
            let (tx, rx) = flume::bounded(64);
            on_tokio(
                runtime,
                async move {
                    for i in 0..ASYNC_MESSAGES {
                        tx.send_async(i).await.unwrap();
                    }
                },
                async move {
                    let mut n = 0;
                    while rx.recv_async().await.is_ok() {
                        n += 1;
                    }
                    n
                },
            )
        }
        "async-channel" => {
            let (tx, rx) = async_channel::bounded(64);
            on_tokio(
                runtime,
                async move {
                    for i in 0..ASYNC_MESSAGES {
                        tx.send(i).await.unwrap();
                    }
                },
                async move {
                    let mut n = 0;
                    while rx.recv().await.is_ok() {
                        n += 1;
                    }
                    n
                },
            )
        }
        "tokio mpsc" => {
            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
            on_tokio(
                runtime,
                async move {
                    for i in 0..ASYNC_MESSAGES {
                        tx.send(i).await.unwrap();
                    }
                },
                async move {
                    let mut n = 0;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    n
                },
            )
        }
        _ => return None,
    })
}

/// One pattern's timed run for every system, in the order of `SYSTEMS`.
type Row = fn(&str, &tokio::runtime::Runtime) -> Option<Duration>;

const SYSTEMS: [&str; 5] = [
    Isolate::NAME,
    Crossbeam::NAME,
    Flume::NAME,
    AsyncChannel::NAME,
    Tokio::NAME,
];

/// Dispatches a blocking pattern over the systems by name.
macro_rules! blocking_row {
    ($pattern:expr) => {
        |name: &str, _: &tokio::runtime::Runtime| -> Option<Duration> {
            fn run<C: Chan>() -> Option<Duration> {
                $pattern
            }
            match name {
                "isolate" => run::<Isolate>(),
                "crossbeam" => run::<Crossbeam>(),
                "flume" => run::<Flume>(),
                "async-channel" => run::<AsyncChannel>(),
                "tokio mpsc" => run::<Tokio>(),
                _ => None,
            }
        }
    };
}

fn main() {
    let rows: Vec<(String, Row)> = vec![
        (
            format!("ping-pong over two bounded(1), {TRIPS} round trips"),
            blocking_row!(Some(ping_pong::<C>())),
        ),
        (
            format!("ping-pong as above beside a busy thread per core, {BUSY_TRIPS} round trips"),
            blocking_row!(Some(ping_pong_beside_busy_threads::<C>())),
        ),
        (
            format!("spsc bounded(64), {MESSAGES}"),
            blocking_row!(flow::<C>(Some(64), 1, 1)),
        ),
        (
            format!("mpsc 4 -> 1 bounded(64), {MESSAGES}"),
            blocking_row!(flow::<C>(Some(64), 4, 1)),
        ),
        (
            format!("mpmc 2 -> 2 bounded(64), {MESSAGES}"),
            blocking_row!(flow::<C>(Some(64), 2, 2)),
        ),
        (
            format!("spsc bounded(1), {NARROW}"),
            blocking_row!(Some(narrow::<C>(NARROW))),
        ),
        (
            format!("spsc unbounded, {MESSAGES}"),
            blocking_row!(flow::<C>(None, 1, 1)),
        ),
        (
            format!("mpsc 4 -> 1 unbounded, {MESSAGES}"),
            blocking_row!(flow::<C>(None, 4, 1)),
        ),
        (
            format!("async spsc bounded(64) on tokio, {ASYNC_MESSAGES}"),
            async_spsc,
        ),
    ];
    let words: Vec<String> = std::env::args().skip(1).collect();
    let rows: Vec<(String, Row)> = rows
        .into_iter()
        .filter(|(name, _)| words.is_empty() || words.iter().any(|w| name.contains(w.as_str())))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();

    let only = std::env::var("ONLY").ok();
    let mut times = vec![vec![Vec::new(); SYSTEMS.len()]; rows.len()];
    let everyone = vec![vec![true; SYSTEMS.len()]; rows.len()];
    run_rounds(
        &rows,
        &runtime,
        &mut times,
        &everyone,
        only.as_deref(),
        ROUNDS,
    );
    let deciding: Vec<Vec<bool>> = times.iter().map(|row| deciding(row)).collect();
    run_rounds(
        &rows,
        &runtime,
        &mut times,
        &deciding,
        only.as_deref(),
        EXTRA_ROUNDS,
    );

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "channels, {cores} cores, u64 messages, ms: median of {} interleaved rounds for isolate and the peers within {CLOSE}x of the best, {ROUNDS} for the others; ratio = isolate / best peer",
        ROUNDS + EXTRA_ROUNDS
    );
    println!();
    print!("| pattern |");
    for system in SYSTEMS {
        print!(" {system} |");
    }
    println!(" ratio |");
    println!("|{}", " --- |".repeat(SYSTEMS.len() + 2));
    let mut worst = 0.0_f64;
    for (r, (name, _)) in rows.iter().enumerate() {
        let medians: Vec<Option<f64>> = times[r]
            .iter_mut()
            .map(|samples| {
                samples.sort();
                if std::env::var_os("SAMPLES").is_some() {
                    let ms: Vec<String> = samples
                        .iter()
                        .map(|d| format!("{:.1}", d.as_secs_f64() * 1e3))
                        .collect();
                    eprintln!("{name}: [{}]", ms.join(", "));
                }
                samples
                    .get(samples.len() / 2)
                    .map(|median| median.as_secs_f64() * 1e3)
            })
            .collect();
        print!("| {name} |");
        for median in &medians {
            match median {
                Some(ms) => print!(" {ms:.1} |"),
                None => print!(" n/a |"),
            }
        }
        let best_peer = medians[1..]
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let ratio = medians[0].unwrap_or(f64::NAN) / best_peer;
        worst = worst.max(ratio);
        println!(" {ratio:.2} |");
    }
    println!();
    println!("worst ratio to the best peer: {worst:.2} (target <= 1.20)");
}

/// Runs `rounds` interleaved rounds of every row on the systems `chosen`
/// for it (and named by `only`, if set), adding to `times`; the order of
/// the systems turns by one each round.
fn run_rounds(
    rows: &[(String, Row)],
    runtime: &tokio::runtime::Runtime,
    times: &mut [Vec<Vec<Duration>>],
    chosen: &[Vec<bool>],
    only: Option<&str>,
    rounds: usize,
) {
    for round in 0..rounds {
        for (r, (_, row)) in rows.iter().enumerate() {
            // Each round starts the row with another system: the first to
            // run after another row finds the tokio runtime's workers
            // parked and the caches cold (isolate's async row took 2x
            // longer as the first of every round than on its own).
            for turn in 0..SYSTEMS.len() {
                let s = (round + turn) % SYSTEMS.len();
                let system = SYSTEMS[s];
                if !chosen[r][s] || only.is_some_and(|only| only != system) {
                    continue;
                }
                if let Some(time) = row(system, runtime) {
                    times[r][s].push(time);
                }
            }
        }
    }
}

/// Which systems decide a row, from its rounds so far: isolate, and the
/// peers within [`CLOSE`] of the best peer's median.
fn deciding(row: &[Vec<Duration>]) -> Vec<bool> {
    let medians: Vec<Option<f64>> = row
        .iter()
        .map(|samples| {
            let mut sorted = samples.clone();
            sorted.sort();
            sorted.get(sorted.len() / 2).map(Duration::as_secs_f64)
        })
        .collect();
    let best = medians[1..]
        .iter()
        .flatten()
        .copied()
        .fold(f64::INFINITY, f64::min);
    medians
        .iter()
        .enumerate()
        .map(|(s, median)| s == 0 || median.is_some_and(|median| median <= best * CLOSE))
        .collect()
}
