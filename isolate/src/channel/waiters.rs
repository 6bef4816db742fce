//! A list of parties waiting on one side of a channel (for a message, for
//! room, or for the close): blocked threads and async tasks alike, woken one
//! at a time in arrival order, or all at once.
//!
//! A waiter is *registered* while its entry is in the list; a notifier takes
//! the entry out before waking it, so a waiter that finds its entry gone
//! knows it was *notified*. `waiting` mirrors the list's length so that a
//! notifier with nobody to wake (the common case) reads one atomic and
//! takes no lock.

use std::collections::VecDeque;
use std::task::Waker;

use crate::sync::{lock, AtomicUsize, Mutex, Ordering, Thread};

/// Who to wake: a thread parked in a blocking call, or an async task.
pub(super) enum Waiter {
    /// A thread parked in a blocking send or receive.
    Thread(Thread),
    /// A task whose future was polled and is pending.
    Task(Waker),
    /// A task that polled a receiver as a `Stream`. Its registration lives
    /// in the receiver, not in a future, so nothing withdraws it when the
    /// task stops waiting (a `next()` dropped by a timeout or a `select`):
    /// it may never act on a notification, and so it never counts as the
    /// one woken (as flume's stream signals do). A blocking receive after
    /// an abandoned `next()` hung for good (a new user's test).
    Stream(Waker),
}

impl Waiter {
    /// Wakes the waiter; `true` if it counts as the one woken (a stream's
    /// does not: see [`Waiter::Stream`]).
    fn wake(self) -> bool {
        match self {
            Waiter::Thread(thread) => thread.unpark(),
            Waiter::Task(waker) => waker.wake(),
            Waiter::Stream(waker) => {
                waker.wake();
                return false;
            }
        }
        true
    }
}

/// The key a waiter is registered under.
pub(super) type Key = u64;

struct Entries {
    next: Key,
    list: VecDeque<(Key, Waiter)>,
}

/// Parties waiting on one side of a channel.
pub(super) struct WaitList {
    /// How many entries `entries` holds; written under its lock, read
    /// without it by notifiers.
    waiting: AtomicUsize,
    entries: Mutex<Entries>,
}

impl WaitList {
    pub(super) fn new() -> Self {
        WaitList {
            waiting: AtomicUsize::new(0),
            entries: Mutex::new(Entries {
                next: 0,
                list: VecDeque::new(),
            }),
        }
    }

    /// Adds `waiter` at the back of the list. The caller then looks at the
    /// channel again (after a `SeqCst` fence) before it sleeps: a change
    /// made before the registration is seen by that look, one made after it
    /// finds the waiter in the list.
    pub(super) fn register(&self, waiter: Waiter) -> Key {
        let mut entries = lock(&self.entries);
        let key = entries.next;
        entries.next += 1;
        entries.list.push_back((key, waiter));
        self.waiting.store(entries.list.len(), Ordering::SeqCst);
        key
    }

    /// Replaces the waker of a registered task. Returns `false` if the
    /// entry is gone: the waiter was notified.
    pub(super) fn update(&self, key: Key, waker: &Waker) -> bool {
        let mut entries = lock(&self.entries);
        match entries.list.iter_mut().find(|(k, _)| *k == key) {
            Some((_, Waiter::Task(old) | Waiter::Stream(old))) => {
                if !old.will_wake(waker) {
                    old.clone_from(waker);
                }
                true
            }
            Some((_, waiter)) => {
                *waiter = Waiter::Task(waker.clone());
                true
            }
            None => false,
        }
    }

    /// Takes the entry out of the list. Returns `false` if it was gone
    /// already: the waiter was notified, and if it gives up without acting
    /// on the notification it must pass it on ([`notify_one`](Self::notify_one)).
    pub(super) fn cancel(&self, key: Key) -> bool {
        let mut entries = lock(&self.entries);
        match entries.list.iter().position(|(k, _)| *k == key) {
            Some(index) => {
                entries.list.remove(index);
                self.waiting.store(entries.list.len(), Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Wakes the oldest waiter, if any, and the ones after it while those
    /// woken are streams. The fast path is one `SeqCst` load:
    /// the caller's change to the channel (a push or pop, itself a `SeqCst`
    /// read-modify-write) comes before it in the single total order, so a
    /// waiter that registered after this load sees that change when it
    /// looks again.
    #[inline]
    pub(super) fn notify_one(&self) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        self.notify_one_slow();
    }

    #[cold]
    fn notify_one_slow(&self) {
        loop {
            let waiter = {
                let mut entries = lock(&self.entries);
                let waiter = entries.list.pop_front();
                self.waiting.store(entries.list.len(), Ordering::SeqCst);
                waiter
            };
            let Some((_, waiter)) = waiter else { return };
            if waiter.wake() {
                return;
            }
        }
    }

    /// Wakes every waiter (the channel closed). Always takes the lock, so a
    /// waiter registering at the same time either is in the list or, taking
    /// the lock after this, sees the change the caller made before.
    pub(super) fn notify_all(&self) {
        let waiters = {
            let mut entries = lock(&self.entries);
            self.waiting.store(0, Ordering::SeqCst);
            std::mem::take(&mut entries.list)
        };
        for (_, waiter) in waiters {
            let _ = waiter.wake();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn waker() -> Waker {
        futures::task::noop_waker()
    }

    #[test]
    fn a_woken_stream_does_not_count_as_the_one_woken() {
        let list = WaitList::new();
        list.register(Waiter::Stream(waker()));
        list.register(Waiter::Stream(waker()));
        list.register(Waiter::Thread(std::thread::current()));
        list.register(Waiter::Task(waker()));
        list.notify_one();
        // Both streams and the thread behind them; the task waits on.
        assert_eq!(list.waiting.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_woken_task_or_thread_counts_as_the_one_woken() {
        let list = WaitList::new();
        list.register(Waiter::Task(waker()));
        list.register(Waiter::Thread(std::thread::current()));
        list.notify_one();
        assert_eq!(list.waiting.load(Ordering::SeqCst), 1);
        list.notify_one();
        assert_eq!(list.waiting.load(Ordering::SeqCst), 0);
    }
}
