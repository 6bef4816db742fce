//! The scenarios and the systems compared on them. Each function here runs
//! in a child process of its own and returns the line to report: the value
//! first (what the ratios use), then any detail.

use std::hint::black_box;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use isolate_bench::measure::{
    cpu_ns, median, peak_rss_bytes, rss_bytes, threads, time, with_peak_threads,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scenario {
    RoundTrip,
    Await,
    Burst,
    Cpu,
    Nested,
    Memory,
    Idle,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum System {
    Isolate,
    IsolateMacro,
    ThreadSpawn,
    SpawnBlocking,
    Blocking,
    RayonSpawn,
    RayonScope,
}

impl Scenario {
    pub(crate) const ALL: [Scenario; 7] = [
        Scenario::RoundTrip,
        Scenario::Await,
        Scenario::Burst,
        Scenario::Cpu,
        Scenario::Nested,
        Scenario::Memory,
        Scenario::Idle,
    ];

    /// The scenarios of the contended mode: latency and throughput.
    pub(crate) const CONTENDED: [Scenario; 3] =
        [Scenario::RoundTrip, Scenario::Await, Scenario::Burst];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::RoundTrip => "roundtrip",
            Scenario::Await => "await",
            Scenario::Burst => "burst",
            Scenario::Cpu => "cpu",
            Scenario::Nested => "nested",
            Scenario::Memory => "memory",
            Scenario::Idle => "idle",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    pub(crate) fn unit(self) -> &'static str {
        match self {
            Scenario::RoundTrip => "µs per round trip, median (lower is better)",
            Scenario::Await => "µs per round trip awaited inside a tokio runtime (lower is better)",
            Scenario::Burst => "tasks/s submitting 100,000 tiny tasks then joining all (higher is better)",
            Scenario::Cpu => "speedup of 4 × cores tasks of ~5 ms CPU (higher is better)",
            Scenario::Nested => "ms for fib(22) with 376 nested spawn+join, median (lower is better); peak threads",
            Scenario::Memory => "bytes of RSS per queued task, 10,000 tasks sleeping 50 ms (lower is better); threads after keep-alive",
            Scenario::Idle => "% of a core used in 1 s of idleness after a burst (lower is better)",
        }
    }

    pub(crate) fn systems(self) -> &'static [System] {
        use System::*;
        match self {
            Scenario::RoundTrip => &[
                Isolate,
                IsolateMacro,
                ThreadSpawn,
                SpawnBlocking,
                Blocking,
                RayonSpawn,
                RayonScope,
            ],
            Scenario::Await => &[Isolate, SpawnBlocking, Blocking],
            Scenario::Burst | Scenario::Cpu | Scenario::Nested => &[
                Isolate,
                ThreadSpawn,
                SpawnBlocking,
                Blocking,
                RayonSpawn,
                RayonScope,
            ],
            Scenario::Memory => &[Isolate, SpawnBlocking, Blocking],
            Scenario::Idle => &[Isolate, SpawnBlocking, Blocking, RayonSpawn],
        }
    }

    /// Settings for the child: a short keep-alive where the scenario waits
    /// for it, the same for every pool that has one.
    pub(crate) fn env(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Scenario::Memory => vec![(isolate::KEEP_ALIVE_MS_VAR, "500")],
            _ => Vec::new(),
        }
    }

    /// How many interleaved rounds: the scenarios whose figures sit close
    /// to a peer's get five, the others one.
    pub(crate) fn rounds(self) -> usize {
        match self {
            Scenario::Burst | Scenario::Cpu => 5,
            _ => 1,
        }
    }

    pub(crate) fn time_limit(self) -> Duration {
        match self {
            Scenario::Nested => Duration::from_secs(20),
            _ => Duration::from_secs(120),
        }
    }
}

impl System {
    pub(crate) fn name(self) -> &'static str {
        match self {
            System::Isolate => "isolate::run",
            System::IsolateMacro => "#[isolated] fn",
            System::ThreadSpawn => "std::thread::spawn",
            System::SpawnBlocking => "tokio spawn_blocking",
            System::Blocking => "blocking::unblock",
            System::RayonSpawn => "rayon::spawn + channel",
            System::RayonScope => "rayon install/scope/join",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<System> {
        use System::*;
        [
            Isolate,
            IsolateMacro,
            ThreadSpawn,
            SpawnBlocking,
            Blocking,
            RayonSpawn,
            RayonScope,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

pub(crate) fn run(scenario: Scenario, system: System) -> String {
    match scenario {
        Scenario::RoundTrip => round_trip(system),
        Scenario::Await => awaited(system),
        Scenario::Burst => burst(system),
        Scenario::Cpu => cpu(system),
        Scenario::Nested => nested(system),
        Scenario::Memory => memory(system),
        Scenario::Idle => idle(system),
    }
}

/// Tells the comparing process that the measured window opens (the
/// contended mode counts its neighbours' work from here to `RESULT`).
fn mark_start() {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "START");
    let _ = stdout.flush();
}

/// A tokio runtime for the tokio rows, shared by nested tasks.
fn tokio_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_keep_alive(Duration::from_millis(500))
            .build()
            .expect("a tokio runtime")
    })
}

#[isolate::isolated]
fn add_one(x: u64) -> u64 {
    black_box(x) + 1
}

/// Runs `job` on `system` and waits for its value: one round trip.
fn submit_and_wait<F>(system: System, job: F) -> u64
where
    F: FnOnce() -> u64 + Send + 'static,
{
    match system {
        System::Isolate => isolate::run(job).join().expect("isolate"),
        System::IsolateMacro => add_one_isolated(job()).join().expect("isolate"),
        System::ThreadSpawn => std::thread::spawn(job).join().expect("thread"),
        System::SpawnBlocking => {
            futures::executor::block_on(tokio_runtime().spawn_blocking(job)).expect("tokio")
        }
        System::Blocking => futures::executor::block_on(blocking::unblock(job)),
        System::RayonSpawn => {
            let (tx, rx) = mpsc::channel();
            rayon::spawn(move || tx.send(job()).expect("send"));
            rx.recv().expect("recv")
        }
        System::RayonScope => rayon::scope(|_| job()),
    }
}

fn round_trip(system: System) -> String {
    let (batch, batches) = match system {
        System::ThreadSpawn => (200, 9),
        _ => (2_000, 15),
    };
    for i in 0..batch {
        black_box(submit_and_wait(system, move || black_box(i) + 1));
    }
    mark_start();
    let per_batch = median(batches, || {
        time(|| {
            for i in 0..batch {
                black_box(submit_and_wait(system, move || black_box(i) + 1));
            }
        })
    });
    let micros = per_batch.as_secs_f64() * 1e6 / batch as f64;
    format!("{micros:.2}")
}

fn awaited(system: System) -> String {
    let runtime = tokio_runtime();
    let batch = 2_000_u64;
    mark_start();
    let per_batch = runtime.block_on(async move {
        runtime
            .spawn(async move {
                let mut times = Vec::new();
                for round in 0..16 {
                    let start = Instant::now();
                    for i in 0..batch {
                        let value = match system {
                            System::Isolate => isolate::run(move || black_box(i) + 1)
                                .await
                                .expect("isolate"),
                            System::SpawnBlocking => {
                                tokio::task::spawn_blocking(move || black_box(i) + 1)
                                    .await
                                    .expect("tokio")
                            }
                            System::Blocking => blocking::unblock(move || black_box(i) + 1).await,
                            _ => unreachable!("not in this scenario"),
                        };
                        black_box(value);
                    }
                    if round > 0 {
                        times.push(start.elapsed());
                    }
                }
                times.sort();
                times[times.len() / 2]
            })
            .await
            .expect("the measuring task")
    });
    let micros = per_batch.as_secs_f64() * 1e6 / batch as f64;
    format!("{micros:.2}")
}

fn burst(system: System) -> String {
    let tasks: u64 = match system {
        System::ThreadSpawn => 10_000,
        _ => 100_000,
    };
    mark_start();
    let elapsed = median(3, || {
        time(|| {
            let sum = burst_once(system, tasks);
            assert_eq!(sum, tasks * (tasks + 1) / 2);
        })
    });
    format!("{:.0}", tasks as f64 / elapsed.as_secs_f64())
}

fn burst_once(system: System, tasks: u64) -> u64 {
    submit_all_then_join(system, tasks, |i| black_box(i) + 1)
}

/// Submits `tasks` jobs `job(i)` from this thread, then waits for them all;
/// returns the sum of their values.
fn submit_all_then_join(system: System, tasks: u64, job: fn(u64) -> u64) -> u64 {
    match system {
        System::Isolate | System::IsolateMacro => {
            let handles: Vec<_> = (0..tasks).map(|i| isolate::run(move || job(i))).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("isolate"))
                .sum()
        }
        System::ThreadSpawn => {
            let handles: Vec<_> = (0..tasks)
                .map(|i| std::thread::spawn(move || job(i)))
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).sum()
        }
        System::SpawnBlocking => {
            let runtime = tokio_runtime();
            let handles: Vec<_> = (0..tasks)
                .map(|i| runtime.spawn_blocking(move || job(i)))
                .collect();
            handles
                .into_iter()
                .map(|h| futures::executor::block_on(h).expect("tokio"))
                .sum()
        }
        System::Blocking => {
            let handles: Vec<_> = (0..tasks)
                .map(|i| blocking::unblock(move || job(i)))
                .collect();
            handles.into_iter().map(futures::executor::block_on).sum()
        }
        System::RayonSpawn => {
            let (tx, rx) = mpsc::channel();
            for i in 0..tasks {
                let tx = tx.clone();
                rayon::spawn(move || tx.send(job(i)).expect("send"));
            }
            drop(tx);
            rx.iter().sum()
        }
        System::RayonScope => {
            let sum = std::sync::atomic::AtomicU64::new(0);
            rayon::scope(|scope| {
                for i in 0..tasks {
                    let sum = &sum;
                    scope.spawn(move |_| {
                        sum.fetch_add(job(i), std::sync::atomic::Ordering::Relaxed);
                    });
                }
            });
            sum.into_inner()
        }
    }
}

/// Deterministic CPU work, `rounds` steps of a small hash.
fn spin_work(rounds: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for i in 0..rounds {
        x ^= black_box(i);
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9).rotate_left(31);
    }
    x
}

/// `spin_work`'s rounds for about 5 ms on this machine, set once by `cpu`.
static CPU_ROUNDS: OnceLock<u64> = OnceLock::new();

fn cpu_task(_: u64) -> u64 {
    spin_work(*CPU_ROUNDS.get().expect("calibrated first"))
}

fn cpu(system: System) -> String {
    // Calibrate one task to about 5 ms on this machine.
    let probe = 1_000_000;
    let probe_time = median(5, || {
        time(|| {
            black_box(spin_work(probe));
        })
    });
    let rounds = (probe as f64 * 0.005 / probe_time.as_secs_f64()) as u64;
    CPU_ROUNDS.get_or_init(|| rounds);
    let one_task = median(5, || {
        time(|| {
            black_box(spin_work(rounds));
        })
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tasks = 4 * cores as u64;
    let mut runs = Vec::new();
    // Shared machines schedule a few runs badly for every system alike: take
    // the median of nine, after one warm-up run that starts the threads.
    black_box(submit_all_then_join(system, tasks, cpu_task));
    let (_, peak) = with_peak_threads(|| {
        for _ in 0..9 {
            runs.push(time(|| {
                black_box(submit_all_then_join(system, tasks, cpu_task));
            }));
        }
    });
    let shown: Vec<String> = runs
        .iter()
        .map(|d| format!("{:.1}", d.as_secs_f64() * 1e3))
        .collect();
    runs.sort();
    let wall = runs[runs.len() / 2];
    let speedup = tasks as f64 * one_task.as_secs_f64() / wall.as_secs_f64();
    format!(
        "{speedup:.2} (task {:.1} ms; runs {} ms; peak {peak} threads)",
        one_task.as_secs_f64() * 1e3,
        shown.join("/")
    )
}

/// Below this, fib recurses in place; from it up, each call spawns its left
/// half: fib(22) then makes 376 nested spawns, each joined by its parent.
const NESTED_CUTOFF: u64 = 11;

fn fib_serial(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_serial(n - 1) + fib_serial(n - 2)
    }
}

fn fib(system: System, n: u64) -> u64 {
    if n < NESTED_CUTOFF {
        return fib_serial(n);
    }
    match system {
        System::RayonScope => {
            let (a, b) = rayon::join(|| fib(system, n - 1), || fib(system, n - 2));
            a + b
        }
        _ => {
            let left = submit_and_wait_nested(system, n - 1);
            left + fib(system, n - 2)
        }
    }
}

fn submit_and_wait_nested(system: System, n: u64) -> u64 {
    match system {
        System::Isolate | System::IsolateMacro => isolate::run(move || fib(system, n))
            .join()
            .expect("isolate"),
        other => submit_and_wait(other, move || fib(system, n)),
    }
}

fn nested(system: System) -> String {
    let (elapsed, peak) = with_peak_threads(|| {
        median(5, || {
            time(|| {
                let value = submit_and_wait_nested(system, 22);
                assert_eq!(value, 17_711);
            })
        })
    });
    format!("{:.2} (peak {peak} threads)", elapsed.as_secs_f64() * 1e3)
}

fn memory(system: System) -> String {
    const TASKS: usize = 10_000;
    let sleep = || std::thread::sleep(Duration::from_millis(50));
    // Warm the allocator and the pool with one task first.
    submit_and_wait(system, || 0);
    let before = rss_bytes();
    let handles: Vec<Box<dyn FnOnce() + Send>> = match system {
        System::Isolate => (0..TASKS)
            .map(|_| {
                let handle = isolate::run(sleep);
                Box::new(move || handle.join().expect("isolate")) as Box<dyn FnOnce() + Send>
            })
            .collect(),
        System::SpawnBlocking => (0..TASKS)
            .map(|_| {
                let handle = tokio_runtime().spawn_blocking(sleep);
                Box::new(move || futures::executor::block_on(handle).expect("tokio"))
                    as Box<dyn FnOnce() + Send>
            })
            .collect(),
        System::Blocking => (0..TASKS)
            .map(|_| {
                let task = blocking::unblock(sleep);
                Box::new(move || futures::executor::block_on(task)) as Box<dyn FnOnce() + Send>
            })
            .collect(),
        _ => unreachable!("not in this scenario"),
    };
    let after = rss_bytes();
    let per_task = after.saturating_sub(before) / TASKS;
    let queued_threads = threads();
    // Until every task ran: the threads a pool grows for sleeping tasks
    // count too (a peer harness measures the peak over the whole run).
    let ((), peak_threads) = with_peak_threads(|| {
        for wait in handles {
            wait();
        }
    });
    let peak_per_task = peak_rss_bytes().saturating_sub(before) / TASKS;
    // One keep-alive (500 ms, set for every pool) and a little more.
    std::thread::sleep(Duration::from_millis(800));
    format!(
        "{per_task} (peak over the run {peak_per_task}; threads: {queued_threads} while queued, {peak_threads} at most, {} after keep-alive)",
        threads()
    )
}

fn idle(system: System) -> String {
    burst_once(system, 10_000);
    // Let the burst's last wake-ups settle, then measure a quiet second.
    std::thread::sleep(Duration::from_millis(100));
    let start = cpu_ns();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ns().saturating_sub(start);
    format!("{:.3}", used as f64 / 1e9 * 100.0)
}
