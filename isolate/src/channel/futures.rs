//! The async side of the wait protocol (see `shared.rs`): a pending future
//! is registered in its side's wait list with its task's waker, and takes
//! its entry out (passing a notification on if it had one) when it
//! completes or is dropped.
//!
//! Polled in an isolate (one that drives it with some executor's
//! `block_on`), a pending future is also a blind wait, as a blocking receive
//! is (on a pool thread, counted blocked): the executor parks the thread
//! where the pool cannot see it, and what the future waits for may be an
//! isolate queued behind it (see `pool::threads::PendingWait`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::sync::{fence, Ordering};

use super::shared::Shared;
use super::wait::leave;
use super::waiters::{Key, WaitList, Waiter};
use crate::pool::threads::PendingWait;

/// A pending future's place in its wait list, and in an isolate its blind
/// wait; empty while it is not pending.
#[derive(Default)]
pub(super) struct Registration {
    key: Option<Key>,
    blind: PendingWait,
    /// A receiver's `Stream`: registered as [`Waiter::Stream`].
    stream: bool,
}

impl Registration {
    /// The registration of a receiver polled as a `Stream`.
    pub(super) fn for_stream() -> Self {
        Registration {
            stream: true,
            ..Registration::default()
        }
    }
}
use super::{RecvError, SendError, TryRecvError, TrySendError};

/// Polls `attempt` (`None`: not yet) as one step of a future registered in
/// `waiters` as `registration`.
pub(super) fn poll_op<R>(
    waiters: &WaitList,
    registration: &mut Registration,
    cx: &mut Context<'_>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Poll<R> {
    loop {
        if let Some(result) = attempt() {
            withdraw(waiters, registration);
            return Poll::Ready(result);
        }
        match registration.key {
            Some(registered) => {
                if waiters.update(registered, cx.waker()) {
                    registration.blind.pending();
                    return Poll::Pending;
                }
                // Notified: look again.
                registration.key = None;
            }
            None => {
                let waker = cx.waker().clone();
                registration.key = Some(waiters.register(match registration.stream {
                    true => Waiter::Stream(waker),
                    false => Waiter::Task(waker),
                }));
                fence(Ordering::SeqCst);
            }
        }
    }
}

/// Takes a future's entry out (done or dropped), passing on a notification
/// it had, and ends its blind wait.
pub(super) fn withdraw(waiters: &WaitList, registration: &mut Registration) {
    if let Some(key) = registration.key.take() {
        leave(waiters, key);
    }
    registration.blind.end();
}

/// A receive in progress.
pub(super) struct RecvFuture<'a, T> {
    pub(super) shared: &'a Shared<T>,
    pub(super) registration: Registration,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let shared = this.shared;
        poll_op(
            &shared.recv_waiters,
            &mut this.registration,
            cx,
            || match shared.try_recv() {
                Ok(message) => Some(Ok(message)),
                Err(TryRecvError::Closed) => Some(Err(RecvError)),
                Err(TryRecvError::Empty) => None,
            },
        )
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        withdraw(&self.shared.recv_waiters, &mut self.registration);
    }
}

/// A send in progress; holds the message until it is queued.
pub(super) struct SendFuture<'a, T> {
    pub(super) shared: &'a Shared<T>,
    /// The sender handle's shard of sends in flight.
    pub(super) shard: usize,
    pub(super) message: Option<T>,
    pub(super) registration: Registration,
}

// The message is only ever moved, never pinned.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let shared = this.shared;
        let message = &mut this.message;
        let shard = this.shard;
        poll_op(&shared.send_waiters, &mut this.registration, cx, || {
            let Some(taken) = message.take() else {
                // Polled after completion: there is nothing left to send.
                return Some(Ok(()));
            };
            match shared.try_send(shard, taken) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Closed(taken)) => Some(Err(SendError(taken))),
                Err(TrySendError::Full(taken)) => {
                    *message = Some(taken);
                    None
                }
            }
        })
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        withdraw(&self.shared.send_waiters, &mut self.registration);
    }
}

/// A wait for the channel to close.
pub(super) struct ClosedFuture<'a, T> {
    pub(super) shared: &'a Shared<T>,
    pub(super) registration: Registration,
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let shared = this.shared;
        poll_op(&shared.close_waiters, &mut this.registration, cx, || {
            shared.is_closed().then_some(())
        })
    }
}

impl<T> Drop for ClosedFuture<'_, T> {
    fn drop(&mut self) {
        withdraw(&self.shared.close_waiters, &mut self.registration);
    }
}
