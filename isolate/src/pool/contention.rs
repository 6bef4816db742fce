//! Whether the cores are oversubscribed, so that waiting threads know when
//! spinning stops paying.
//!
//! A spin wins a hand-off only while the spinner keeps its core. Beside
//! busy neighbours (more runnable threads than cores), a spinner's
//! `yield_now` hands its core to a neighbour for a whole time slice, and
//! while it waits to be scheduled again it neither parks (so nobody wakes
//! it) nor looks: the job or result it spins for waits a slice.
//! A parked thread, by contrast, is woken and scheduled at once. So a yield
//! that gave the core away for long is noted, and for a while after it the
//! pool's idle threads and the joiners park instead of spinning; the note
//! lapses so that a quiet machine spins again.

use std::time::{Duration, Instant};

use crate::sync::process::{AtomicU64, OnceLock, Ordering};
use crate::sync::yield_now;

/// A yield that took this long ran someone else's time slice: a yield to
/// nobody costs well under a microsecond.
const GAVE_AWAY: Duration = Duration::from_micros(50);

/// How long one such yield keeps the cores marked oversubscribed.
const REMEMBERED: Duration = Duration::from_millis(20);

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds after `EPOCH` until which the cores count as oversubscribed.
static UNTIL: AtomicU64 = AtomicU64::new(0);

fn nanos_since_epoch(now: Instant) -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(now.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX)
}

/// Yields the core, and notes oversubscription when the yield gave it away
/// for long.
pub(crate) fn yield_core() {
    if cfg!(loom) {
        yield_now();
        return;
    }
    let start = Instant::now();
    yield_now();
    let now = Instant::now();
    if now.duration_since(start) >= GAVE_AWAY {
        let until = nanos_since_epoch(now).saturating_add(REMEMBERED.as_nanos() as u64);
        UNTIL.fetch_max(until, Ordering::Relaxed);
    }
}

/// Whether a yield gave the core away lately: spin no more than a few
/// cycles, then park. Never under loom, whose models have no clock.
pub(crate) fn oversubscribed() -> bool {
    if cfg!(loom) {
        return false;
    }
    let until = UNTIL.load(Ordering::Relaxed);
    until != 0 && nanos_since_epoch(Instant::now()) < until
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_long_yield_marks_the_cores_then_lapses() {
        // A yield that took long, as if a neighbour ran: set by hand, since
        // a test cannot count on the scheduler.
        let now = nanos_since_epoch(Instant::now());
        UNTIL.fetch_max(now + 5_000_000, Ordering::Relaxed);
        assert!(oversubscribed());
        UNTIL.store(now, Ordering::Relaxed);
        assert!(!oversubscribed());
        // A yield here may or may not be given away; either way it returns.
        yield_core();
    }
}
