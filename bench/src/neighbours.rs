//! CPU-bound neighbours for the contended mode: one thread per core, in the
//! comparing process, each hashing a buffer in a loop and counting its
//! rounds. A system measured beside them competes with them for the cores,
//! as a service does on a busy machine; the share of their work rate they
//! keep beside it (over their rate alone) is the system's cost to them.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Running neighbours; stopped when dropped.
pub(crate) struct Neighbours {
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Neighbours {
    /// Starts `count` neighbours.
    pub(crate) fn start(count: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let threads = (0..count)
            .map(|seed| {
                let (stop, rounds) = (Arc::clone(&stop), Arc::clone(&rounds));
                std::thread::spawn(move || {
                    let mut hash = seed as u64;
                    while !stop.load(Ordering::Relaxed) {
                        hash = work(hash);
                        rounds.fetch_add(1, Ordering::Relaxed);
                    }
                    black_box(hash);
                })
            })
            .collect();
        Neighbours {
            stop,
            rounds,
            threads,
        }
    }

    /// A handle to the neighbours' round counter, for another thread.
    pub(crate) fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.rounds)
    }

    /// The neighbours' rounds per second with nothing beside them, over
    /// `window`.
    pub(crate) fn alone(count: usize, window: Duration) -> f64 {
        let neighbours = Neighbours::start(count);
        // Let every thread get going before the window opens.
        std::thread::sleep(Duration::from_millis(20));
        let (start, before) = (Instant::now(), neighbours.rounds.load(Ordering::Relaxed));
        std::thread::sleep(window);
        let rounds = neighbours.rounds.load(Ordering::Relaxed) - before;
        rounds as f64 / start.elapsed().as_secs_f64()
    }
}

impl Drop for Neighbours {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// About 10 µs of CPU: short enough that the counter follows the share of
/// the core a neighbour gets.
fn work(seed: u64) -> u64 {
    let mut hash = seed ^ 0xcbf2_9ce4_8422_2325;
    for i in 0..4_096_u64 {
        hash = (hash ^ black_box(i)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
