//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a test waits for something that must happen before it fails
/// instead of hanging. Generous: CI machines are slow and shared.
pub const WATCHDOG: Duration = Duration::from_secs(30);

/// Counts the values it creates and the ones dropped, and tells each drop
/// on a channel so a test can wait for drops that happen on other threads.
#[derive(Clone)]
pub struct DropCounter {
    created: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    notify: Arc<Mutex<Sender<()>>>,
    drops: Arc<Mutex<Receiver<()>>>,
}

impl DropCounter {
    pub fn new() -> Self {
        let (tx, rx) = channel();
        DropCounter {
            created: Arc::default(),
            dropped: Arc::default(),
            notify: Arc::new(Mutex::new(tx)),
            drops: Arc::new(Mutex::new(rx)),
        }
    }

    /// A new tracked value.
    pub fn track(&self) -> Tracked {
        self.created.fetch_add(1, Ordering::SeqCst);
        Tracked {
            counter: self.clone(),
        }
    }

    pub fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Waits until every tracked value was dropped, exactly once; panics if
    /// that does not happen within the watchdog, or if one dropped twice.
    pub fn assert_balanced(&self) {
        let drops = self.drops.lock().unwrap();
        while self.dropped() < self.created() {
            drops
                .recv_timeout(WATCHDOG)
                .expect("a tracked value was never dropped");
        }
        assert_eq!(
            self.dropped(),
            self.created(),
            "a tracked value was dropped twice"
        );
    }
}

/// A value whose creation and drop are counted.
pub struct Tracked {
    counter: DropCounter,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.counter.dropped.fetch_add(1, Ordering::SeqCst);
        let _ = self.counter.notify.lock().unwrap().send(());
    }
}

/// A one-shot gate: isolates wait on it, the test opens it.
#[derive(Clone, Default)]
pub struct Gate {
    state: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self) {
        let (lock, cvar) = &*self.state;
        *lock.lock().unwrap() = true;
        cvar.notify_all();
    }

    /// Waits for the gate to open; panics after the watchdog.
    pub fn wait(&self) {
        let (lock, cvar) = &*self.state;
        let guard = lock.lock().unwrap();
        let (guard, timeout) = cvar
            .wait_timeout_while(guard, WATCHDOG, |open| !*open)
            .unwrap();
        assert!(*guard && !timeout.timed_out(), "the gate was never opened");
    }
}

/// Set in a child process started by [`run_child`].
const CHILD: &str = "ISOLATE_TEST_SCENARIO";

/// Runs `scenario` (a test of the calling test binary) in a child process,
/// for what is global to a process (the panic hook, exiting); returns its
/// stderr after checking that it passed.
pub fn run_child(scenario: &str, envs: &[(&str, &str)]) -> String {
    let output = child_output(scenario, envs);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{scenario} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "{scenario} did not run:\n{stdout}"
    );
    stderr
}

/// Whether this process is a child started by [`run_child`]; scenario tests
/// return at once otherwise.
pub fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs `scenario` in a child process and returns what it printed, whatever
/// its exit status.
pub fn child_output(scenario: &str, envs: &[(&str, &str)]) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", scenario, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("RUST_BACKTRACE")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

/// Fails the whole test process (it aborts) if it is not disarmed within
/// `limit`: a hang in a stress test becomes a failure
/// with a message, instead of a CI run that never ends.
pub struct Watchdog {
    disarmed: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Watchdog {
    pub fn arm(limit: Duration, what: String) -> Self {
        let disarmed = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let watched = disarmed.clone();
        std::thread::spawn(move || {
            let (lock, cvar) = &*watched;
            let guard = lock.lock().unwrap();
            let (guard, _) = cvar
                .wait_timeout_while(guard, limit, |done| !*done)
                .unwrap();
            if !*guard {
                eprintln!("watchdog: {what} did not finish within {limit:?}");
                // Not `exit`: its clean-up can block on a lock that the hung
                // threads hold, and then the process would hang after all.
                std::process::abort();
            }
        });
        Watchdog { disarmed }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.disarmed;
        *lock.lock().unwrap() = true;
        cvar.notify_all();
    }
}

/// A two-worker tokio runtime with timers, for the async callers of the
/// tests.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime for the test")
}

/// A small, seedable generator (xorshift64*), so a failure can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
