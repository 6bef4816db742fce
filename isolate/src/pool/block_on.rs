//! The executor inside an async isolate: it drives one future to completion on
//! the isolate's own thread, so the future never crosses threads and need not
//! be `Send`.
//!
//! Besides waking, it watches two things a plain `block_on` cannot: a cancel
//! of the isolate, which drops the future before its next poll, and the
//! moment the last waker is dropped while the future is pending, after which
//! nothing can ever resume it (Dart's "computation ended without result").
//! The latter is seen by giving each poll a waker whose shared part unparks
//! this thread when its last clone goes away.
//!
//! While it parks, a pool thread counts as blocked, so the pool brings
//! another thread for the isolates the future awaits; and between polls it
//! looks again at those the poll noted, for the last resort of `wait.rs`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

use crate::pool::threads as pool;
use crate::pool::wait::{
    any_may_need_help, escalate_awaited, park_slice, Noted, HELP_SLICE, HELP_SLICE_MAX,
};
use crate::sync::{current, park, Arc, AtomicBool, Ordering, Thread, Weak};
use crate::task::context;
use crate::task::error::IsolateError;

/// What the wakers of one `block_on` share.
struct Signal {
    woken: AtomicBool,
    thread: Thread,
}

/// The part of a waker that tells when its last clone is dropped.
struct WakeToken {
    signal: Arc<Signal>,
}

impl Wake for WakeToken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.signal.woken.store(true, Ordering::Release);
        self.signal.thread.unpark();
    }
}

impl Drop for WakeToken {
    fn drop(&mut self) {
        // The last waker is gone: let the runner notice the future is abandoned.
        self.signal.thread.unpark();
    }
}

/// Forgets the thread registered for cancel wake-ups, however `block_on` ends.
struct RunnerRegistration;

impl RunnerRegistration {
    fn register() -> Self {
        context::with_current(|header| header.set_async_runner(Some(current())));
        RunnerRegistration
    }
}

impl Drop for RunnerRegistration {
    fn drop(&mut self) {
        context::with_current(|header| header.set_async_runner(None));
    }
}

/// Drives `future` to completion on this thread, which must be running an
/// isolate. When the future is dropped first, says why as the caller will
/// see it: `Cancelled`, or `EndedWithoutResult` when no waker was left.
pub(crate) fn block_on<F: Future, E>(future: F) -> Result<F::Output, IsolateError<E>> {
    let _registration = RunnerRegistration::register();
    let signal = Arc::new(Signal {
        woken: AtomicBool::new(false),
        thread: current(),
    });
    let mut future = pin!(future);
    let mut token: Weak<WakeToken> = Weak::new();
    loop {
        if context::is_cancelled() {
            return Err(IsolateError::cancelled());
        }
        // Reuse the wakers' shared part while the future still holds one.
        let strong = token.upgrade().unwrap_or_else(|| {
            Arc::new(WakeToken {
                signal: Arc::clone(&signal),
            })
        });
        token = Arc::downgrade(&strong);
        let waker = Waker::from(strong);
        let noted = Noted::start();
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return Ok(output);
        }
        let awaited = noted.take();
        drop(waker);
        let mut slice = HELP_SLICE;
        loop {
            if signal.woken.swap(false, Ordering::Acquire) {
                break;
            }
            if context::is_cancelled() {
                return Err(IsolateError::cancelled());
            }
            if token.strong_count() == 0 {
                // A wake just before the last drop still counts.
                if signal.woken.swap(false, Ordering::Acquire) {
                    break;
                }
                return Err(IsolateError::ended_without_result());
            }
            // The last resort, between polls: an awaited isolate that no
            // thread can come for gets a thread beside the pool (never run
            // here, so that a cancel of this isolate still drops the future
            // at once).
            escalate_awaited(&awaited);
            let blocked = pool::enter_blind_wait();
            // Taking locks above may have swallowed a wake-up: look again.
            if signal.woken.load(Ordering::Acquire)
                || token.strong_count() == 0
                || context::is_cancelled()
            {
                continue;
            }
            // What the future waits for may be any queued isolate (a channel
            // it reads): at a stalled pool, keep the queue moving.
            let stalled = blocked
                .as_ref()
                .is_some_and(pool::BlindWait::keep_pool_going);
            if stalled || any_may_need_help(&awaited) {
                park_slice(slice);
                slice = (slice * 2).min(HELP_SLICE_MAX);
            } else {
                park();
            }
        }
    }
}
