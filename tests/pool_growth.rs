//! The default pool grows past one thread per core when its workers are
//! blocked, so blocking work submitted in a burst all runs at once.

mod support;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use support::WATCHDOG;

/// Waits until `parties` callers are inside at once; panics after the
/// watchdog instead of hanging.
#[derive(Clone)]
struct Rendezvous {
    state: Arc<(Mutex<usize>, Condvar)>,
    parties: usize,
}

impl Rendezvous {
    fn new(parties: usize) -> Self {
        Rendezvous {
            state: Arc::new((Mutex::new(0), Condvar::new())),
            parties,
        }
    }

    fn arrive_and_wait(&self) {
        let (lock, cvar) = &*self.state;
        let mut arrived = lock.lock().unwrap();
        *arrived += 1;
        cvar.notify_all();
        let (arrived, timeout) = cvar
            .wait_timeout_while(arrived, WATCHDOG, |n| *n < self.parties)
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "only {} of {} blocked isolates ever ran at once",
            *arrived,
            self.parties
        );
    }
}

/// Regression: a burst submitted while the only worker was spinning (and
/// descheduled) was left to that one worker, which then ran the blocking
/// jobs one after another; the pool never grew.
#[test]
fn a_burst_while_the_only_worker_spins_still_fans_out() {
    for round in 0..5 {
        isolate::run(|| ()).join().unwrap();
        // Let the worker reach its spin or its sleep, as a real program would.
        std::thread::sleep(Duration::from_micros(50 * round));
        let parties = 24;
        let rendezvous = Rendezvous::new(parties);
        let handles: Vec<_> = (0..parties)
            .map(|_| {
                let rendezvous = rendezvous.clone();
                isolate::run(move || rendezvous.arrive_and_wait())
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    }
}
