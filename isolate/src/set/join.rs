//! Waiting for a set's next result from async code ([`JoinNext`]), and for
//! plain lists of handles ([`join_all`], [`join_any`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{IsolateSet, Joined, SlotWaker};
use crate::channel;
use crate::pool::wait::{HELP_SLICE, HELP_SLICE_MAX};
use crate::sync::Arc;
use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;

impl<K, T, E> IsolateSet<K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Awaits the next result, on any executor; `None` when the set is
    /// empty. The set is also a `futures_core::Stream` of the same items.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::new();
    /// set.spawn('a', || 1);
    /// futures::executor::block_on(async {
    ///     let (key, result) = set.join_next_async().await.unwrap();
    ///     assert_eq!((key, result.unwrap()), ('a', 1));
    ///     assert!(set.join_next_async().await.is_none());
    /// });
    /// ```
    pub fn join_next_async(&mut self) -> JoinNext<'_, K, T, E> {
        JoinNext { set: self }
    }
}

/// The future of [`IsolateSet::join_next_async`]: the next result, or
/// `None` when the set is empty.
///
/// # Examples
///
/// ```
/// let mut set = isolate::IsolateSet::new();
/// set.spawn((), || 5);
/// let next = futures::executor::block_on(set.join_next_async());
/// assert_eq!(next.unwrap().1.unwrap(), 5);
/// ```
#[must_use = "a JoinNext does nothing unless awaited"]
pub struct JoinNext<'a, K, T, E> {
    set: &'a mut IsolateSet<K, T, E>,
}

impl<K, T, E> Future for JoinNext<'_, K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    type Output = Option<Joined<K, T, E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.set.poll_join_next(cx)
    }
}

impl<K, T, E> fmt::Debug for JoinNext<'_, K, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinNext").field("set", &self.set).finish()
    }
}

/// Waits for every handle and returns their results in the order given
/// (not the order they finish; an [`IsolateSet`] gives that).
///
/// # Examples
///
/// ```
/// let handles: Vec<_> = (1..=3).map(|i| isolate::run(move || i * i)).collect();
/// let squares: Vec<i32> = isolate::join_all(handles).into_iter().map(Result::unwrap).collect();
/// assert_eq!(squares, [1, 4, 9]);
/// ```
pub fn join_all<T, E>(
    handles: impl IntoIterator<Item = IsolateHandle<T, E>>,
) -> Vec<Result<T, IsolateError<E>>> {
    handles.into_iter().map(IsolateHandle::join).collect()
}

/// Waits for the first of `handles` to finish: returns its position in
/// `handles` with its result, and the other handles, still running, in their
/// order; `None` when `handles` is empty. Dropping the others cancels them.
///
/// # Examples
///
/// ```
/// let (tx, rx) = isolate::channel::bounded::<()>(1);
/// let handles = vec![
///     isolate::run(move || { let _ = rx.recv(); "slow" }), // until `tx` goes
///     isolate::run(|| "quick"),
/// ];
/// let ((index, result), rest) = isolate::join_any(handles).unwrap();
/// assert_eq!((index, result.unwrap()), (1, "quick"));
/// assert_eq!(rest.len(), 1);
/// drop(rest); // cancels the slow one
/// drop(tx);
/// ```
// The tuple is `futures::select_all`'s shape; an alias would hide it.
#[allow(clippy::type_complexity)]
pub fn join_any<T, E>(
    mut handles: Vec<IsolateHandle<T, E>>,
) -> Option<(Joined<usize, T, E>, Vec<IsolateHandle<T, E>>)> {
    if handles.is_empty() {
        return None;
    }
    if let Some(index) = handles.iter().position(IsolateHandle::is_finished) {
        let handle = handles.remove(index);
        return Some(((index, handle.join()), handles));
    }
    let (done_tx, done_rx) = channel::unbounded();
    for index in 0..handles.len() {
        let waker = Waker::from(Arc::new(SlotWaker {
            index,
            done: done_tx.clone(),
        }));
        let polled = Pin::new(&mut handles[index]).poll(&mut Context::from_waker(&waker));
        if let Poll::Ready(result) = polled {
            // Awaited to completion: dropping it cancels nothing.
            drop(handles.remove(index));
            return Some(((index, result), handles));
        }
    }
    let index = if context::in_isolate() {
        // From inside an isolate: the last resort, as a `join` applies it.
        let mut slice = HELP_SLICE;
        loop {
            if let Ok(index) = done_rx.recv_timeout(slice) {
                break index;
            }
            // Beside the pool, never here: the first to finish may be
            // another, and this one may wait for what the caller does then.
            if !handles.iter().any(IsolateHandle::escalate) {
                slice = (slice * 2).min(HELP_SLICE_MAX);
            }
        }
    } else {
        done_rx
            .recv()
            .expect("join_any's channel closed while it holds its sender")
    };
    let handle = handles.remove(index);
    Some(((index, handle.join()), handles))
}
