//! `batch`: a 100,000-item batch through an `IsolateSet` against rayon's
//! `par_iter` and tokio's `JoinSet` of `spawn_blocking`, each system in its
//! own process (so each one's peak RSS is its own), in one run.
//!
//! ```text
//! cargo run --release -p isolate-bench --bin batch                 # 100,000 items
//! cargo run --release -p isolate-bench --bin batch -- 20000        # fewer items
//! ```
//!
//! Each item hashes `bytes` bytes of a shared buffer (0: the systems' own
//! overhead; 1 KiB and 16 KiB: small and larger files of the batch
//! scenario) and returns the hash; the caller folds every result, as a batch
//! tool does. A child runs one warm-up batch, then five, and reports the
//! median time and its peak resident memory (`VmHWM`). `set` is bounded at
//! 64 isolates per core (`BATCH_PER_CORE=4` for four); `set-unbounded`
//! queues the whole batch in the pool at once.

use std::hint::black_box;
use std::process::{Command, Stdio};
use std::time::Duration;

use isolate_bench::measure;

/// The systems compared.
const SYSTEMS: [&str; 4] = ["set", "set-unbounded", "rayon", "tokio-joinset"];
/// Bytes hashed per item.
const WORK_BYTES: [usize; 3] = [0, 1024, 16 * 1024];
const ROUNDS: usize = 5;

static BUFFER: [u8; 16 * 1024] = {
    let mut buffer = [0_u8; 16 * 1024];
    let mut i = 0;
    while i < buffer.len() {
        buffer[i] = (i * 31 % 251) as u8;
        i += 1;
    }
    buffer
};

/// FNV-1a over `bytes` bytes of the buffer, seeded by the item.
fn work(item: u64, bytes: usize) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ black_box(item);
    for &byte in &BUFFER[..bytes] {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let (Some(system), Some(items), Some(bytes)) = (
            args.get(1),
            args.get(2).and_then(|n| n.parse().ok()),
            args.get(3).and_then(|n| n.parse().ok()),
        ) else {
            eprintln!("usage: batch --child SYSTEM ITEMS BYTES");
            std::process::exit(2);
        };
        child(system, items, bytes);
        return;
    }
    let items: u64 = args.first().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "isolate batch: {items} items, {cores} cores, each system in its own process, median of {ROUNDS} batches"
    );
    for bytes in WORK_BYTES {
        println!("\n## each item hashes {bytes} bytes\n");
        let rows: Vec<(&str, Option<(Duration, usize)>)> = SYSTEMS
            .iter()
            .map(|&system| (system, run_child(system, items, bytes)))
            .collect();
        let ours = rows[0].1;
        println!("| system | median batch | peak RSS | set ÷ system: time | set ÷ system: RSS |");
        println!("| --- | --- | --- | --- | --- |");
        for (system, measured) in &rows {
            let Some((time, rss)) = measured else {
                println!("| {system} | failed | — | — | — |");
                continue;
            };
            let (time_ratio, rss_ratio) = match ours {
                Some((our_time, our_rss)) => (
                    format!("{:.2}×", our_time.as_secs_f64() / time.as_secs_f64()),
                    format!("{:.2}×", our_rss as f64 / *rss as f64),
                ),
                None => ("—".to_owned(), "—".to_owned()),
            };
            println!(
                "| {system} | {:.1} ms | {:.1} MiB | {time_ratio} | {rss_ratio} |",
                time.as_secs_f64() * 1e3,
                *rss as f64 / (1 << 20) as f64
            );
        }
    }
}

/// Runs one system in a child process; its median batch time and peak RSS.
fn run_child(system: &str, items: u64, bytes: usize) -> Option<(Duration, usize)> {
    let exe = std::env::current_exe().ok()?;
    let output = Command::new(exe)
        .args(["--child", system, &items.to_string(), &bytes.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|l| l.starts_with("RESULT "))?;
    let mut fields = line.split_whitespace().skip(1);
    let nanos: u64 = fields.next()?.parse().ok()?;
    let rss: usize = fields.next()?.parse().ok()?;
    Some((Duration::from_nanos(nanos), rss))
}

fn child(system: &str, items: u64, bytes: usize) {
    let batch: fn(u64, usize) -> u64 = match system {
        "set" => set_bounded,
        "set-unbounded" => set_unbounded,
        "rayon" => rayon_par_iter,
        "tokio-joinset" => tokio_joinset,
        other => {
            eprintln!("unknown system {other:?}; one of {SYSTEMS:?}");
            std::process::exit(2);
        }
    };
    let expected: u64 = (0..items)
        .map(|i| work(i, bytes))
        .fold(0, u64::wrapping_add);
    let check = |folded: u64| assert_eq!(folded, expected, "{system} lost or changed results");
    check(batch(items, bytes));
    let median = measure::median(ROUNDS, || {
        let mut folded = 0;
        let time = measure::time(|| folded = batch(items, bytes));
        check(folded);
        time
    });
    println!("RESULT {} {}", median.as_nanos(), peak_rss_bytes());
}

/// The process's peak resident memory so far.
fn peak_rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| {
            kb.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// An `IsolateSet` bounded at 64 isolates per core (`BATCH_PER_CORE`
/// changes it), fed by a lazy source: the rest of the batch is not made
/// until there is room. A small bound starves the pool on tiny items: the
/// next isolate starts when the caller takes a result.
fn set_bounded(items: u64, bytes: usize) -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_core = std::env::var("BATCH_PER_CORE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    through_set(isolate::IsolateSet::bounded(per_core * cores), items, bytes)
}

/// An unbounded `IsolateSet`: every item queued in the pool at once.
fn set_unbounded(items: u64, bytes: usize) -> u64 {
    through_set(isolate::IsolateSet::new(), items, bytes)
}

fn through_set(mut set: isolate::IsolateSet<u64, u64>, items: u64, bytes: usize) -> u64 {
    // A lazy source: an item is made when there is room for it.
    set.spawn_iter((0..items).map(move |i| (i, move || work(i, bytes))));
    let mut folded = 0_u64;
    while let Some((_, result)) = set.join_next() {
        folded = folded.wrapping_add(result.expect("an item of the batch"));
    }
    folded
}

fn rayon_par_iter(items: u64, bytes: usize) -> u64 {
    use rayon::prelude::*;
    (0..items)
        .into_par_iter()
        .map(|i| work(i, bytes))
        .reduce(|| 0, u64::wrapping_add)
}

fn tokio_joinset(items: u64, bytes: usize) -> u64 {
    use std::sync::OnceLock;
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .build()
            .expect("a tokio runtime")
    });
    runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..items {
            set.spawn_blocking(move || work(i, bytes));
        }
        let mut folded = 0_u64;
        while let Some(result) = set.join_next().await {
            folded = folded.wrapping_add(result.expect("an item of the batch"));
        }
        folded
    })
}
