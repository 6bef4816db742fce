//! Blocking on a channel future with an optional deadline: the thread parks
//! and the future's waker unparks it. Used for the `_timeout` methods, which
//! the async channel underneath does not offer, and for every blocking wait
//! of a pool thread, which must keep the pool going (see `wait.rs`).

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

use crate::pool::wait::{HELP_SLICE, HELP_SLICE_MAX};

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread until it is ready or `deadline` passes;
/// `None` means the deadline passed, and the future is dropped (which, for a
/// channel operation, withdraws it).
pub(super) fn wait_until<F: Future>(future: F, deadline: Instant) -> Option<F::Output> {
    poll_until(pin!(future), Some(deadline))
}

/// Polls `future` on this thread until it is ready.
pub(super) fn wait<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    loop {
        if let Some(output) = poll_until(future.as_mut(), None) {
            return output;
        }
    }
}

/// Polls until ready, or until `deadline` passes (never, with `None`).
///
/// On a pool thread the wait counts as blocked, and while the pool is
/// stalled with isolates queued (one of which may be what this channel waits
/// for), it looks again in slices, giving the oldest a thread beside the
/// pool each time (see `wait.rs`).
fn poll_until<F: Future>(mut future: Pin<&mut F>, deadline: Option<Instant>) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let blocked = crate::pool::threads::enter_blocked();
    let mut slice = HELP_SLICE;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        let left = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return None,
            },
            None => None,
        };
        let stalled = blocked
            .as_ref()
            .is_some_and(crate::pool::threads::BlockedWorker::keep_pool_going);
        // A spurious or early wake-up only costs another poll.
        match (stalled, left) {
            (true, Some(left)) => thread::park_timeout(left.min(slice)),
            (true, None) => thread::park_timeout(slice),
            (false, Some(left)) => thread::park_timeout(left),
            (false, None) => thread::park(),
        }
        if stalled {
            slice = (slice * 2).min(HELP_SLICE_MAX);
        }
    }
}
