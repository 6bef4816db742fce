//! How a waiting thread keeps the pool going, and the one case in which it
//! runs an isolate itself.
//!
//! # Protocol
//!
//! - A pool thread that blocks in one of the crate's waits (joining an
//!   isolate, receiving from a channel or a progress handle, an async isolate
//!   with nothing to poll) counts itself blocked for as long as it is parked
//!   ([`pool::enter_blocked`]): the pool then starts another thread for
//!   queued work at once, up to its cap. So waiting never runs other isolates
//!   on the waiter's stack while the pool can serve them.
//! - The last resort: when the pool is *stalled* (at its cap, or unable to
//!   start a thread, with no thread idle or on its way), an isolate that
//!   waits for another still queued sees to it itself instead of waiting for
//!   a thread that cannot come. An untimed blocking wait runs it on the
//!   waiting thread ([`help_as_last_resort`]), on a fresh stack segment and
//!   in its own isolate context: [`is_cancelled`](crate::is_cancelled),
//!   [`current_name`](crate::current_name) and its panic's location are its
//!   own, and the waiter's panic records are restored afterwards; it shares
//!   the OS thread, and so its `thread_local!` values. A wait that must stay
//!   free to give up (a timed wait, a poll, an async isolate's executor)
//!   gives it a thread beside the pool instead ([`escalate`]); so does a
//!   wait that cannot tell which isolate it waits for (a channel), for the
//!   oldest queued one ([`pool::enter_blocked`]). Waits that may need the
//!   last resort park in slices ([`HELP_SLICE`]) while the awaited isolate
//!   is queued, so that a pool that stalls later is still noticed.
//! - `poll` never runs an isolate. It escalates a queued one at a stalled
//!   pool and notes it ([`note_awaited`]), so that the executor of an async
//!   isolate (`block_on.rs`) looks again between polls.

use std::cell::RefCell;
use std::mem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::pool::threads as pool;
use crate::sync::Arc;
use crate::task::context;
use crate::task::header::{Header, Runnable};
use crate::task::panic::{restore_recorded, take_recorded_for_later};
use crate::task::state::drop_quietly;

/// How long a wait that may need the last resort parks before it looks at
/// the pool again; it doubles up to [`HELP_SLICE_MAX`].
pub(crate) const HELP_SLICE: Duration = Duration::from_micros(500);
/// The longest such slice.
pub(crate) const HELP_SLICE_MAX: Duration = Duration::from_millis(20);

/// The stack of an isolate run by its waiter, when the pool sets none: the
/// size std gives a spawned thread.
const DEFAULT_STACK: usize = 2 << 20;

/// Parks a wait that may need the last resort for at most `slice`, so that
/// it looks at the pool again. Under loom, which has no clock, a plain park:
/// the models wake it by completing what it waits for.
pub(crate) fn park_slice(slice: Duration) {
    #[cfg(not(loom))]
    crate::sync::park_timeout(slice);
    #[cfg(loom)]
    {
        let _ = slice;
        crate::sync::park();
    }
}

/// Whether a wait for the isolate of `header` may have to run it itself:
/// it still waits in the pool, and the waiter is an isolate (only an
/// isolate can hold a pool thread that the queued one needs).
pub(crate) fn may_need_help(header: &Header) -> bool {
    // The thread-local first: most waiters are not isolates.
    context::in_isolate() && header.is_queued()
}

/// The last resort: runs the isolate of `header` (by `run`, which claims
/// and runs it) on this thread when it is still queued, the waiter is an
/// isolate, and the pool is stalled. Returns `true` if it ran it.
pub(crate) fn help_as_last_resort(header: &Header, run: impl FnOnce()) -> bool {
    let Some(pool) = stalled_pool_for(header) else {
        return false;
    };
    let _inline = context::enter_inline();
    run_inline(pool.stack_size().unwrap_or(DEFAULT_STACK), run);
    true
}

/// Runs `run` on a fresh stack segment, keeping this thread's own record of
/// its last panic; a panic that escapes (from dropping the isolate's values)
/// is contained here, as on a pool thread.
fn run_inline(stack_size: usize, run: impl FnOnce()) {
    let recorded = take_recorded_for_later();
    let contained = move || {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(run)) {
            drop_quietly(payload);
        }
    };
    #[cfg(not(loom))]
    stacker::grow(stack_size, contained);
    #[cfg(loom)]
    {
        let _ = stack_size;
        contained();
    }
    restore_recorded(recorded);
}

/// Isolates the current poll of an async isolate's future waits for.
type Awaited = RefCell<Option<Vec<Arc<dyn Runnable>>>>;

#[cfg(not(loom))]
thread_local! {
    /// `Some` while this thread's `block_on` polls its future.
    static AWAITED: Awaited = const { RefCell::new(None) };
}

#[cfg(loom)]
loom::thread_local! {
    static AWAITED: Awaited = RefCell::new(None);
}

/// Called by a poll that returns `Pending` on an isolate still queued:
/// escalates it if the pool is stalled now, and inside an async isolate's
/// `block_on`, notes it so that the executor looks again between polls.
pub(crate) fn note_awaited(task: &Arc<dyn Runnable>) {
    if !may_need_help(task.header()) {
        return;
    }
    escalate(task);
    let _ = AWAITED.try_with(|awaited| {
        if let Some(list) = awaited.borrow_mut().as_mut() {
            list.push(Arc::clone(task));
        }
    });
}

/// The last resort of a wait that must stay free to give up (a timed wait,
/// a poll): gives a queued isolate a thread beside the pool when the pool
/// is stalled (once per isolate); the thread ends with it.
pub(crate) fn escalate(task: &Arc<dyn Runnable>) -> bool {
    let Some(pool) = stalled_pool_for(task.header()) else {
        return false;
    };
    // If even that thread cannot start, the pool's own threads remain the
    // isolate's way to run: nothing is lost, only later.
    task.header().escalate() && pool.run_beside(Arc::clone(task)).is_ok()
}

/// The pool, when a wait for the isolate of `header` needs a last resort:
/// the isolate is still queued, the waiter is an isolate, and the pool the
/// waiter would wait for is stalled.
fn stalled_pool_for(header: &Header) -> Option<&'static pool::Pool> {
    if !may_need_help(header) {
        return None;
    }
    pool::for_waiter().filter(|pool| pool.is_stalled())
}

/// The isolates noted while `poll` runs, for `block_on`: starts the list
/// before a poll, and [`Noted::take`] ends it after.
pub(crate) struct Noted {
    previous: Option<Vec<Arc<dyn Runnable>>>,
}

impl Noted {
    /// Starts noting (a nested `block_on` keeps its outer one's list aside).
    pub(crate) fn start() -> Noted {
        let previous = AWAITED
            .try_with(|awaited| awaited.replace(Some(Vec::new())))
            .ok()
            .flatten();
        Noted { previous }
    }

    /// Ends noting and returns what was noted.
    pub(crate) fn take(mut self) -> Vec<Arc<dyn Runnable>> {
        let previous = self.previous.take();
        // Disarmed: the outer list goes back here, not in `Drop`.
        mem::forget(self);
        AWAITED
            .try_with(|awaited| awaited.replace(previous))
            .ok()
            .flatten()
            .unwrap_or_default()
    }
}

impl Drop for Noted {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = AWAITED.try_with(|awaited| awaited.replace(previous));
    }
}

/// The last resort for the isolates an async isolate's future awaits:
/// those still queued at a stalled pool get threads beside it.
pub(crate) fn escalate_awaited(awaited: &[Arc<dyn Runnable>]) {
    for task in awaited {
        escalate(task);
    }
}

/// Whether any of `awaited` may still need the last resort.
pub(crate) fn any_may_need_help(awaited: &[Arc<dyn Runnable>]) -> bool {
    awaited.iter().any(|task| may_need_help(task.header()))
}
