//! Receiving from whichever of several channels has a message first.
//!
//! The wait is the protocol of `shared.rs` run on several wait lists at
//! once: the thread registers in every receiver's list, looks at every
//! channel again, and parks; any push into any of them wakes it. Every
//! entry is taken out again before the call returns (a notification it did
//! not act on is passed on).

use std::time::{Duration, Instant};

use crate::sync::{current, fence, Ordering};

use super::wait::{leave, try_briefly, Parker};
use super::waiters::{Key, Waiter};
use super::{Receiver, RecvError, RecvTimeoutError, TryRecvError};

/// Waits for a message from any of `receivers`, and returns it with the
/// index of the receiver it came from. Receivers earlier in the slice are
/// looked at first (as with `select! { biased; ... }`); a closed and empty
/// receiver is passed over while others may still deliver.
///
/// For async code, race the [`Receiver::recv_async`] futures instead (for
/// example with `futures::future::select_all`): a losing receive future is
/// dropped and takes no message.
///
/// # Errors
///
/// [`RecvError`] once every receiver is empty and closed (at once for an
/// empty slice).
///
/// # Examples
///
/// ```
/// let (jobs_tx, jobs) = isolate::channel::unbounded::<u32>();
/// let (stop_tx, stop) = isolate::channel::bounded::<u32>(1);
/// isolate::run(move || stop_tx.send(0).unwrap()).detach();
/// let (index, message) = isolate::channel::select(&[&jobs, &stop]).unwrap();
/// assert_eq!((index, message), (1, 0));
/// # drop(jobs_tx);
/// ```
pub fn select<T>(receivers: &[&Receiver<T>]) -> Result<(usize, T), RecvError> {
    select_until(receivers, None).map_err(|_| RecvError)
}

/// Like [`select`], waiting at most `timeout`.
///
/// # Errors
///
/// [`RecvTimeoutError::Timeout`] when no message came in time,
/// [`RecvTimeoutError::Closed`] once every receiver is empty and closed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use isolate::channel::RecvTimeoutError;
///
/// let (_a_tx, a) = isolate::channel::unbounded::<u8>();
/// let (_b_tx, b) = isolate::channel::unbounded::<u8>();
/// let waited = isolate::channel::select_timeout(&[&a, &b], Duration::from_millis(1));
/// assert_eq!(waited, Err(RecvTimeoutError::Timeout));
/// ```
pub fn select_timeout<T>(
    receivers: &[&Receiver<T>],
    timeout: Duration,
) -> Result<(usize, T), RecvTimeoutError> {
    select_until(receivers, Instant::now().checked_add(timeout))
}

/// Like [`select`], waiting until `deadline` at the latest.
///
/// # Errors
///
/// [`RecvTimeoutError::Timeout`] when no message came in time,
/// [`RecvTimeoutError::Closed`] once every receiver is empty and closed.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let (a_tx, a) = isolate::channel::unbounded();
/// let (_b_tx, b) = isolate::channel::unbounded();
/// a_tx.send("a").unwrap();
/// let deadline = Instant::now() + Duration::from_secs(1);
/// assert_eq!(isolate::channel::select_deadline(&[&a, &b], deadline), Ok((0, "a")));
/// ```
pub fn select_deadline<T>(
    receivers: &[&Receiver<T>],
    deadline: Instant,
) -> Result<(usize, T), RecvTimeoutError> {
    select_until(receivers, Some(deadline))
}

/// One look at every receiver: `None` while all are empty and some open.
fn attempt<T>(receivers: &[&Receiver<T>]) -> Option<Result<(usize, T), RecvTimeoutError>> {
    let mut closed = 0;
    for (index, receiver) in receivers.iter().enumerate() {
        match receiver.shared.try_recv() {
            Ok(message) => return Some(Ok((index, message))),
            Err(TryRecvError::Closed) => closed += 1,
            Err(TryRecvError::Empty) => {}
        }
    }
    (closed == receivers.len()).then_some(Err(RecvTimeoutError::Closed))
}

fn leave_all<T>(receivers: &[&Receiver<T>], keys: &mut Vec<Key>) {
    for (receiver, key) in receivers.iter().zip(keys.drain(..)) {
        leave(&receiver.shared.recv_waiters, key);
    }
}

fn select_until<T>(
    receivers: &[&Receiver<T>],
    deadline: Option<Instant>,
) -> Result<(usize, T), RecvTimeoutError> {
    // The brief look of a single receive (see `wait::block`).
    if let Some(result) = try_briefly(&mut || attempt(receivers)) {
        return result;
    }
    let mut keys = Vec::with_capacity(receivers.len());
    let mut parker = Parker::new(deadline);
    loop {
        let me = current();
        for receiver in receivers {
            keys.push(
                receiver
                    .shared
                    .recv_waiters
                    .register(Waiter::Thread(me.clone())),
            );
        }
        fence(Ordering::SeqCst);
        if let Some(result) = attempt(receivers) {
            leave_all(receivers, &mut keys);
            return result;
        }
        if !parker.park() {
            leave_all(receivers, &mut keys);
            return attempt(receivers).unwrap_or(Err(RecvTimeoutError::Timeout));
        }
        leave_all(receivers, &mut keys);
    }
}
