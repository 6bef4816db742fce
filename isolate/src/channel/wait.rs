//! Blocking on a channel future with an optional deadline: the thread parks
//! and the future's waker unparks it. Used for the `_timeout` methods, which
//! the async channel underneath does not offer.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

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
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        // A spurious or early wake-up only costs another poll.
        let _blocked = crate::pool::enter_blocked();
        thread::park_timeout(deadline - now);
    }
}
