//! What code running inside an isolate can ask about it: whether it was
//! cancelled, its name, and how to end it early.

use std::borrow::Cow;
use std::cell::RefCell;

use crate::sync::Arc;
use crate::task::header::{Header, Runnable};

#[cfg(not(loom))]
thread_local! {
    /// The isolate this thread is running now, innermost first: a joining
    /// isolate that helps runs another one inside its own.
    static CURRENT: RefCell<Option<Arc<dyn Runnable>>> = const { RefCell::new(None) };
}

// loom runs its threads on one OS thread: their locals must be loom's.
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn Runnable>>> = RefCell::new(None);
}

/// Marks the thread as running `task` until dropped, then restores the
/// isolate it was running before (if any).
pub(crate) struct Entered {
    previous: Option<Arc<dyn Runnable>>,
}

pub(crate) fn enter(task: Arc<dyn Runnable>) -> Entered {
    let previous = CURRENT.with(|current| current.replace(Some(task)));
    Entered { previous }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: nothing to restore while the thread's locals are torn down.
        let _ = CURRENT.try_with(|current| current.replace(previous));
    }
}

/// Runs `f` on the header of the isolate this thread is running.
pub(crate) fn with_current<R>(f: impl FnOnce(&Header) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(|task| f(task.header())))
        .ok()
        .flatten()
}

/// The isolate this thread is running now, shared (for its deadline timer).
pub(crate) fn current_task() -> Option<Arc<dyn Runnable>> {
    CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten()
}

/// Whether this thread is running an isolate now.
pub(crate) fn in_isolate() -> bool {
    CURRENT
        .try_with(|current| current.borrow().is_some())
        .unwrap_or(false)
}

#[cfg(not(loom))]
thread_local! {
    /// How many isolates this thread runs as a waiter's last resort now.
    static INLINE_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(loom)]
loom::thread_local! {
    static INLINE_DEPTH: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

/// Marks the thread as running an isolate in its waiter's stead (the last
/// resort of a wait) until dropped.
pub(crate) struct Inline(());

pub(crate) fn enter_inline() -> Inline {
    let _ = INLINE_DEPTH.try_with(|depth| depth.set(depth.get() + 1));
    Inline(())
}

impl Drop for Inline {
    fn drop(&mut self) {
        let _ = INLINE_DEPTH.try_with(|depth| depth.set(depth.get() - 1));
    }
}

/// Whether this thread runs an isolate in its waiter's stead now: what
/// belongs to the waiter's thread (a service handler's, say) is not the
/// inline isolate's.
pub(crate) fn running_inline() -> bool {
    INLINE_DEPTH
        .try_with(|depth| depth.get() > 0)
        .unwrap_or(false)
}

/// The payload [`exit`] unwinds with; the runner turns it into
/// [`IsolateError::EndedWithoutResult`](crate::IsolateError::EndedWithoutResult).
pub(crate) struct ExitSignal;

/// Returns `true` if the isolate running this code has been cancelled: its
/// handle was dropped, [`cancel`](crate::IsolateHandle::cancel)led, its
/// [`join_timeout`](crate::IsolateHandle::join_timeout) ran out, or its own
/// time limit ([`Builder::timeout`](crate::Builder::timeout)) passed.
///
/// Cancellation is cooperative: a long computation checks this now and then
/// and returns early. Outside an isolate it is always `false`.
///
/// # Examples
///
/// ```
/// let handle = isolate::run(|| {
///     let mut steps = 0_u64;
///     while !isolate::is_cancelled() && steps < 1_000_000_000 {
///         steps += 1;
///     }
///     steps
/// });
/// handle.cancel();
/// // The isolate stops early, but the count it produced is still returned,
/// // unless it was cancelled before it even started.
/// match handle.join() {
///     Ok(steps) => assert!(steps <= 1_000_000_000),
///     Err(err) => assert!(matches!(err, isolate::IsolateError::Cancelled { .. })),
/// }
/// assert!(!isolate::is_cancelled());
/// ```
pub fn is_cancelled() -> bool {
    with_current(Header::is_cancelled).unwrap_or(false)
}

/// The name of the isolate running this code, or `None` outside an isolate.
///
/// An isolate is named after its function by [`#[isolated]`](crate::isolated),
/// by [`Builder::name`](crate::Builder::name), or `"<unnamed>"`.
///
/// A static name (the one `#[isolated]` gives, or a `&'static str` given to
/// `Builder::name`) comes back borrowed, without allocating; a name built at
/// run time (a `String` given to `Builder::name`) comes back as an owned
/// copy. Read it as [`std::thread::Thread::name`] reads a thread's:
/// `current_name().as_deref().unwrap_or("?")`.
///
/// # Examples
///
/// ```
/// use std::borrow::Cow;
///
/// let name = isolate::Builder::new().name("indexer").run(isolate::current_name);
/// let name = name.join().unwrap();
/// assert_eq!(name.as_deref(), Some("indexer"));
/// assert!(matches!(name, Some(Cow::Borrowed(_)))); // static: nothing allocated
///
/// let built = isolate::Builder::new().name(format!("job-{}", 7)).run(isolate::current_name);
/// assert_eq!(built.join().unwrap(), Some(Cow::Owned::<str>("job-7".to_owned())));
///
/// let line = isolate::Builder::new()
///     .name("indexer")
///     .run(|| format!("[{}] done", isolate::current_name().as_deref().unwrap_or("?")));
/// assert_eq!(line.join().unwrap(), "[indexer] done");
/// assert_eq!(isolate::current_name(), None);
/// ```
pub fn current_name() -> Option<Cow<'static, str>> {
    // Copied out of the thread's context (or `'static`), never borrowed
    // from it, so the caller may itself start or join isolates while it
    // holds the name.
    with_current(|header| header.name().to_cow())
}

/// Ends the isolate running this code now, like Dart's `Isolate.exit()`: its
/// caller gets [`IsolateError::EndedWithoutResult`](crate::IsolateError::EndedWithoutResult)
/// (or [`Cancelled`](crate::IsolateError::Cancelled) if it was cancelled).
///
/// It unwinds the isolate's stack, so destructors run, and the panic hook is
/// not called. A `catch_unwind` inside the isolate would catch it: do not
/// call `exit` under one.
///
/// # Panics
///
/// Panics when called outside an isolate, where there is nothing to end.
///
/// # Examples
///
/// ```
/// let handle = isolate::run(|| -> u32 {
///     isolate::exit();
/// });
/// assert!(matches!(handle.join(), Err(isolate::IsolateError::EndedWithoutResult { .. })));
/// ```
pub fn exit() -> ! {
    assert!(
        in_isolate(),
        "isolate::exit() called outside an isolate: only code running in an isolate can end it"
    );
    std::panic::resume_unwind(Box::new(ExitSignal))
}
