//! `IsolateSet`: many isolates, their results taken as they finish, and the
//! `join_all` / `join_any` helpers for a plain list of handles.
//!
//! # Protocol
//!
//! - Each started isolate of a set has a *slot* (an index into `slots`) from
//!   when it starts until its result is taken; then the slot is free again.
//! - When the isolate ends, its slot's index is sent on the set's `done`
//!   channel, exactly once:
//!   - an isolate the set started sends it from a guard ([`Notify`]) that
//!     lives inside its job: when the job returns, unwinds, or is dropped
//!     unrun (cancelled before it started, or no thread could start). That
//!     is just *before* the runtime stores the outcome;
//!   - a handle added from outside sends it from the waker it was polled
//!     with ([`SlotWaker`]), *after* its outcome is stored.
//! - Taking a result receives an index and takes the outcome from that
//!   slot's handle. The blocking path `join`s it; the async path polls it
//!   and, if the outcome is not stored yet, keeps the index in `finishing`.
//!   Either waits only for the short span between the guard's send and the
//!   stored outcome.
//! - Isolates beyond the set's limit wait in the set (`waiting`), not yet
//!   started; each result taken frees a slot and starts the next one. So a
//!   100,000-item batch queues `limit` isolates in the pool, not 100,000.
//!   Items of a lazy source ([`IsolateSet::spawn_iter`]) are not even made
//!   until there is room: the source is pulled as slots free up.
//! - A blocking wait goes through the crate's channel, so a pool thread
//!   waiting on a set counts as blocked; from inside an isolate it waits in
//!   slices and applies the last resort of `wait.rs` to the set's queued
//!   isolates, as a `join` does.

pub(crate) mod batch;
pub(crate) mod join;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::body::Body;
use crate::builder::Builder;
use crate::channel::{self, Receiver, RecvTimeoutError, Sender};
use crate::pool::wait::{HELP_SLICE, HELP_SLICE_MAX};
use crate::sync::Arc;
use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::state::Outcome;

/// What a set yields for each isolate: the key it was added with, and its
/// result.
///
/// # Examples
///
/// ```
/// let mut set = isolate::IsolateSet::new();
/// set.spawn("answer", || 42);
/// let joined: isolate::Joined<&str, i32, std::convert::Infallible> = set.join_next().unwrap();
/// assert_eq!((joined.0, joined.1.unwrap()), ("answer", 42));
/// ```
pub type Joined<K, T, E> = (K, Result<T, IsolateError<E>>);

/// A collection of isolates whose results are taken as they finish: tokio's
/// `JoinSet`, for isolates, blocking or async.
///
/// Add isolates with [`spawn`](Self::spawn) (a closure, [`Async`](crate::Async) or [`Fold`](crate::Fold))
/// (or [`insert`](Self::insert) an [`IsolateHandle`] you started), each
/// under a key you choose (a path, an index, `()`); take each result with
/// its key as it finishes with [`join_next`](Self::join_next) (blocking),
/// [`join_next_async`](Self::join_next_async)`.await`, or the set as a
/// `futures_core::Stream`; or all of them with [`join_all`](Self::join_all).
///
/// A [`bounded`](Self::bounded) set runs at most its limit of isolates at
/// once; the others wait in the set, as closures not yet started, and start
/// as results are taken. Options for the isolates it starts (a name, a
/// [`timeout`](Builder::timeout), a dedicated thread) come from
/// [`options`](Self::options).
///
/// Dropping the set cancels every isolate in it, as dropping their handles
/// would, and drops unstarted closures (and what they captured) at once.
///
/// # Examples
///
/// ```
/// use isolate::IsolateSet;
///
/// let mut set = IsolateSet::bounded(4);
/// for n in 1..=10_u64 {
///     set.spawn(n, move || (1..=n).product::<u64>());
/// }
/// let mut factorials = Vec::new();
/// while let Some((n, result)) = set.join_next() {
///     factorials.push((n, result.unwrap()));
/// }
/// factorials.sort();
/// assert_eq!(factorials[9], (10, 3_628_800));
/// ```
///
/// Async, with the set as a stream:
///
/// ```
/// use futures::StreamExt;
///
/// let mut set = isolate::IsolateSet::new();
/// set.spawn("good", isolate::Fold(|| "42".parse::<u32>()));
/// set.spawn("bad", isolate::Fold(|| "x".parse::<u32>()));
/// let results = futures::executor::block_on(async {
///     let mut results: Vec<_> = set.collect().await;
///     results.sort_by_key(|(key, _)| *key);
///     results
/// });
/// assert!(matches!(
///     results[0].1.as_ref().unwrap_err(),
///     isolate::IsolateError::Failed { .. }
/// )); // "bad"
/// assert_eq!(*results[1].1.as_ref().unwrap(), 42); // "good"
/// ```
#[must_use = "dropping an IsolateSet cancels every isolate in it"]
pub struct IsolateSet<K, T, E = Infallible> {
    /// Options for the isolates the set starts.
    options: Builder,
    /// At most this many started isolates whose results were not taken.
    limit: usize,
    /// The started isolates, by slot; `None` for a free slot.
    slots: Vec<Option<Slot<K, T, E>>>,
    free: Vec<usize>,
    /// Started isolates whose results were not taken (the slots in use).
    running: usize,
    /// Isolates not started yet, in the order they were added.
    waiting: VecDeque<Waiting<K, T, E>>,
    /// Results known without waiting: handles that had ended when added,
    /// and unstarted isolates of a `cancel_all`.
    ready: VecDeque<Joined<K, T, E>>,
    /// A slot that sent its index whose outcome was not stored yet when
    /// the async path polled it.
    finishing: Option<usize>,
    done_tx: Sender<usize>,
    done_rx: Receiver<usize>,
    /// How many isolates were added, and how many results were taken.
    total: usize,
    taken: usize,
}

struct Slot<K, T, E> {
    key: K,
    handle: IsolateHandle<T, E>,
}

/// What waits in the set for room: one isolate, or a lazy source of them.
enum Waiting<K, T, E> {
    One(K, Start<T, E>),
    Many(Source<K, T, E>),
}

/// Isolates made on demand from the caller's iterator.
struct Source<K, T, E> {
    items: Box<dyn Iterator<Item = (K, Start<T, E>)> + Send>,
    /// Items counted in `total` in advance (the iterator's size hint) and
    /// not pulled yet.
    counted: usize,
}

/// An isolate waiting in the set for its start.
enum Start<T, E> {
    /// A job the set starts with its options.
    Job(Box<dyn FnOnce() -> Outcome<T, E> + Send>),
    /// A handle made by the caller's closure.
    Handle(Box<dyn FnOnce() -> IsolateHandle<T, E> + Send>),
}

/// Sends its slot's index when dropped: when the job it lives in ends, in
/// whatever way, or is dropped unrun.
struct Notify {
    index: usize,
    done: Sender<usize>,
}

impl Drop for Notify {
    fn drop(&mut self) {
        // Refused only once the set is gone, and then nobody listens.
        let _ = self.done.try_send(self.index);
    }
}

/// The waker an added handle is polled with: its wake means the outcome is
/// stored.
struct SlotWaker {
    index: usize,
    done: Sender<usize>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.done.try_send(self.index);
    }
}

/// No isolate of the set finished within the time given to
/// [`IsolateSet::join_next_timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let mut set = isolate::IsolateSet::new();
/// set.spawn((), || while !isolate::is_cancelled() { std::thread::yield_now() });
/// let err = set.join_next_timeout(Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err.to_string(), "no isolate of the set finished in time");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no isolate of the set finished in time")
    }
}

impl Error for Elapsed {}

/// One result of a set with where the batch stands, from
/// [`IsolateSet::progress`].
///
/// # Examples
///
/// ```
/// let mut set = isolate::IsolateSet::new();
/// set.spawn("a", || 1);
/// let finished = set.progress().into_iter().next().unwrap();
/// assert_eq!((finished.key, finished.done, finished.total), ("a", 1, 1));
/// assert_eq!(finished.result.unwrap(), 1);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished<K, T, E = Infallible> {
    /// The key the isolate was added with.
    pub key: K,
    /// Its result.
    pub result: Result<T, IsolateError<E>>,
    /// How many results the set has given so far, this one included.
    pub done: usize,
    /// How many isolates were added to the set so far.
    pub total: usize,
}

impl<K, T, E> IsolateSet<K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// An empty set that starts every isolate as soon as it is added.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::new();
    /// set.spawn(0, || "zero");
    /// assert_eq!(set.join_next().unwrap().1.unwrap(), "zero");
    /// assert!(set.join_next().is_none());
    /// ```
    pub fn new() -> Self {
        Self::bounded(usize::MAX)
    }

    /// An empty set that runs at most `limit` isolates at once (a limit of
    /// `0` is taken as `1`); the others wait in the set, not in the pool.
    ///
    /// An isolate counts against the limit from its start until its result
    /// is taken; the next one starts when a result is taken (by any of the
    /// `join` methods or the stream). So for items of a few microseconds,
    /// a bound of a few dozen per core keeps the pool busy, where a bound
    /// near the core count leaves threads idle while the caller is away
    /// (the repository's `bench/` measures both); for longer items, or to
    /// cap a resource (open files, memory), any bound works.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::bounded(2);
    /// for i in 0..100 {
    ///     set.spawn(i, move || i * 2);
    /// }
    /// assert_eq!(set.running(), 2);
    /// assert_eq!(set.len(), 100);
    /// let sum: i32 = set.join_all().into_iter().map(|(_, r)| r.unwrap()).sum();
    /// assert_eq!(sum, 9900);
    /// ```
    pub fn bounded(limit: usize) -> Self {
        let (done_tx, done_rx) = channel::unbounded();
        IsolateSet {
            options: Builder::new(),
            limit: limit.max(1),
            slots: Vec::new(),
            free: Vec::new(),
            running: 0,
            waiting: VecDeque::new(),
            ready: VecDeque::new(),
            finishing: None,
            done_tx,
            done_rx,
            total: 0,
            taken: 0,
        }
    }

    /// Sets the options of the isolates the set starts from now on: a name,
    /// a [`timeout`](Builder::timeout) for each, a dedicated thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut set = isolate::IsolateSet::new()
    ///     .options(isolate::Builder::new().name("hasher").timeout(Duration::from_secs(30)));
    /// set.spawn((), isolate::current_name);
    /// assert_eq!(set.join_next().unwrap().1.unwrap().as_deref(), Some("hasher"));
    /// ```
    pub fn options(mut self, options: Builder) -> Self {
        self.options = options;
        self
    }

    /// How many isolates are in the set: running or waiting to start, or
    /// ended with a result not taken yet.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::new();
    /// set.spawn((), || ());
    /// assert_eq!(set.len(), 1);
    /// set.join_all();
    /// ```
    ///
    /// Items of a [`spawn_iter`](Self::spawn_iter) source not made yet are
    /// counted by the iterator's size hint.
    pub fn len(&self) -> usize {
        self.total - self.taken
    }

    /// Returns `true` when the set holds no isolate: every result was
    /// taken (and every source is drained).
    ///
    /// # Examples
    ///
    /// ```
    /// let set = isolate::IsolateSet::<(), ()>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.running == 0 && self.ready.is_empty() && self.waiting.is_empty()
    }

    /// How many isolates were started and their results not taken yet:
    /// never more than the set's limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::bounded(3);
    /// for i in 0..10 {
    ///     set.spawn(i, || ());
    /// }
    /// assert_eq!(set.running(), 3);
    /// # set.join_all();
    /// ```
    pub fn running(&self) -> usize {
        self.running
    }

    /// How many isolates were added to the set since it was made.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::new();
    /// set.spawn(1, || ());
    /// set.join_next();
    /// assert_eq!((set.total(), set.len()), (1, 0)); // one added, one taken
    /// ```
    pub fn total(&self) -> usize {
        self.total
    }

    /// Adds an isolate that started already: its result is taken with the
    /// others, under `key`. It runs whatever the set's limit (it started),
    /// but counts against it until its result is taken; use
    /// [`insert_with`](Self::insert_with) to start it only when there is
    /// room.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::new();
    /// set.insert("async", isolate::run(isolate::Async(|| async { 1 })));
    /// set.insert("sync", isolate::run(|| 2));
    /// let mut results: Vec<_> = set.join_all().into_iter().map(|(k, r)| (k, r.unwrap())).collect();
    /// results.sort();
    /// assert_eq!(results, [("async", 1), ("sync", 2)]);
    /// ```
    pub fn insert(&mut self, key: K, handle: IsolateHandle<T, E>) {
        self.total += 1;
        self.start_handle(key, handle);
    }

    /// Puts a started handle in a new slot, or among the ready results.
    fn start_handle(&mut self, key: K, mut handle: IsolateHandle<T, E>) {
        let index = self.take_slot();
        let waker = Waker::from(Arc::new(SlotWaker {
            index,
            done: self.done_tx.clone(),
        }));
        match Pin::new(&mut handle).poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(result) => {
                self.free.push(index);
                self.ready.push_back((key, result));
            }
            Poll::Pending => {
                self.slots[index] = Some(Slot { key, handle });
                self.running += 1;
            }
        }
    }

    /// Adds an isolate that `start` starts when the set has room for it
    /// (at once in an unbounded set): for isolates the set cannot start
    /// itself, such as `#[isolated]` siblings and async isolates.
    ///
    /// # Examples
    ///
    /// ```
    /// #[isolate::isolated]
    /// fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    ///
    /// let mut set = isolate::IsolateSet::bounded(2);
    /// for n in 0..10 {
    ///     set.insert_with(n, move || square_isolated(n));
    /// }
    /// let sum: u64 = set.join_all().into_iter().map(|(_, r)| r.unwrap()).sum();
    /// assert_eq!(sum, 285);
    /// ```
    pub fn insert_with<S>(&mut self, key: K, start: S)
    where
        S: FnOnce() -> IsolateHandle<T, E> + Send + 'static,
    {
        if self.has_room() {
            self.insert(key, start());
        } else {
            self.total += 1;
            self.waiting
                .push_back(Waiting::One(key, Start::Handle(Box::new(start))));
        }
    }

    /// Takes the next result, waiting as long as it takes; `None` when the
    /// set is empty. Results come in the order the isolates finish.
    ///
    /// A pool thread waiting here counts as blocked, and a set joined from
    /// inside an isolate never deadlocks, as with
    /// [`IsolateHandle::join`](IsolateHandle#waiting-from-inside-an-isolate).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::bounded::<()>(1);
    /// let mut set = isolate::IsolateSet::new();
    /// set.spawn("slow", move || rx.recv().unwrap()); // until it is told
    /// set.spawn("quick", || ());
    /// assert_eq!(set.join_next().unwrap().0, "quick");
    /// tx.send(()).unwrap();
    /// assert_eq!(set.join_next().unwrap().0, "slow");
    /// assert!(set.join_next().is_none());
    /// ```
    pub fn join_next(&mut self) -> Option<Joined<K, T, E>> {
        match self.join_next_until(None) {
            Ok(joined) => joined,
            Err(Elapsed) => unreachable!("a wait without a deadline timed out"),
        }
    }

    /// Like [`join_next`](Self::join_next), but waits at most `timeout`;
    /// nothing is cancelled when the time runs out.
    ///
    /// # Errors
    ///
    /// [`Elapsed`] when no isolate finished within `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut set = isolate::IsolateSet::new();
    /// set.spawn(1, || 1);
    /// let (key, result) = set.join_next_timeout(Duration::from_secs(10)).unwrap().unwrap();
    /// assert_eq!((key, result.unwrap()), (1, 1));
    /// assert!(matches!(set.join_next_timeout(Duration::ZERO), Ok(None))); // empty
    /// ```
    pub fn join_next_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<Joined<K, T, E>>, Elapsed> {
        // A timeout too long to be an `Instant` is no timeout.
        self.join_next_until(Instant::now().checked_add(timeout))
    }

    /// Waits for every isolate and returns their results, in the order they
    /// finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::new();
    /// for i in 0..3 {
    ///     set.spawn(i, move || i * 10);
    /// }
    /// let mut all = set.join_all();
    /// all.sort_by_key(|(i, _)| *i);
    /// assert_eq!(all.into_iter().map(|(_, r)| r.unwrap()).collect::<Vec<_>>(), [0, 10, 20]);
    /// ```
    pub fn join_all(mut self) -> Vec<Joined<K, T, E>> {
        let mut all = Vec::with_capacity(self.len());
        while let Some(joined) = self.join_next() {
            all.push(joined);
        }
        all
    }

    /// Cancels every isolate in the set, as [`IsolateHandle::cancel`] does;
    /// those not started yet are dropped unrun. Their results are still
    /// taken (mostly [`IsolateError::Cancelled`]; a value that was ready
    /// stays a value).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::bounded(1);
    /// for i in 0..3 {
    ///     set.spawn(i, || while !isolate::is_cancelled() { std::thread::yield_now() });
    /// }
    /// set.cancel_all();
    /// for (_, result) in set.join_all() {
    ///     assert!(result.is_ok() || matches!(result.unwrap_err(), isolate::IsolateError::Cancelled { .. }));
    /// }
    /// ```
    pub fn cancel_all(&mut self) {
        for slot in self.slots.iter().flatten() {
            slot.handle.cancel();
        }
        for waiting in std::mem::take(&mut self.waiting) {
            match waiting {
                Waiting::One(key, start) => {
                    drop(start);
                    self.ready.push_back((key, Err(IsolateError::cancelled())));
                }
                Waiting::Many(source) => {
                    self.total -= source.counted;
                    for (key, start) in source.items {
                        drop(start);
                        self.total += 1;
                        self.ready.push_back((key, Err(IsolateError::cancelled())));
                    }
                }
            }
        }
    }

    fn has_room(&self) -> bool {
        self.running < self.limit
    }

    /// A free slot (not yet filled) for an isolate about to start.
    fn take_slot(&mut self) -> usize {
        match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        }
    }

    /// Starts `job` with the set's options in a new slot.
    fn start_job(&mut self, key: K, job: impl FnOnce() -> Outcome<T, E> + Send + 'static) {
        let index = self.take_slot();
        let notify = Notify {
            index,
            done: self.done_tx.clone(),
        };
        let (handle, _) = self.options.clone().spawn_job(move || {
            let _notify = notify;
            job()
        });
        self.slots[index] = Some(Slot { key, handle });
        self.running += 1;
    }

    /// Starts waiting isolates while there is room.
    fn start_waiting(&mut self) {
        while self.has_room() {
            let Some(waiting) = self.waiting.front_mut() else {
                return;
            };
            let (key, start) = match waiting {
                Waiting::One(..) => match self.waiting.pop_front() {
                    Some(Waiting::One(key, start)) => (key, start),
                    _ => unreachable!("the front of the queue changed"),
                },
                Waiting::Many(source) => match source.items.next() {
                    Some(item) => {
                        match source.counted.checked_sub(1) {
                            Some(counted) => source.counted = counted,
                            None => self.total += 1,
                        }
                        item
                    }
                    None => {
                        // A size hint above the real count.
                        self.total -= source.counted;
                        self.waiting.pop_front();
                        continue;
                    }
                },
            };
            // Counted in `total` when it was added.
            match start {
                Start::Job(job) => self.start_job(key, job),
                Start::Handle(start) => self.start_handle(key, start()),
            }
        }
    }

    /// Frees slot `index` and counts its result as taken.
    fn finish(&mut self, index: usize) -> Slot<K, T, E> {
        let slot = self.slots[index]
            .take()
            .expect("an isolate of a set reported its end twice");
        self.free.push(index);
        self.running -= 1;
        self.taken += 1;
        slot
    }

    fn join_next_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Option<Joined<K, T, E>>, Elapsed> {
        self.start_waiting();
        if let Some(joined) = self.ready.pop_front() {
            self.taken += 1;
            return Ok(Some(joined));
        }
        if self.running == 0 {
            return Ok(None);
        }
        let index = match self.finishing.take() {
            Some(index) => index,
            None => self.recv(deadline)?,
        };
        let Slot { key, handle } = self.finish(index);
        let result = handle.join();
        self.start_waiting();
        Ok(Some((key, result)))
    }

    /// Receives the index of a slot whose isolate ended.
    fn recv(&self, deadline: Option<Instant>) -> Result<usize, Elapsed> {
        let left = || deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        if !context::in_isolate() {
            return match left() {
                None => Ok(self
                    .done_rx
                    .recv()
                    .expect("a set's channel closed while the set holds its sender")),
                Some(left) => self.done_rx.recv_timeout(left).map_err(|error| {
                    debug_assert!(matches!(error, RecvTimeoutError::Timeout));
                    Elapsed
                }),
            };
        }
        // From inside an isolate: wait in slices, and apply the last resort
        // to one queued isolate of the set each time the pool is stalled: a
        // thread beside the pool, never this one (the first result may be
        // another's, and the caller may go on to do what this isolate waits
        // for: run here, a handshake deadlocked). It comes first, so that
        // even a zero timeout moves a stalled pool.
        let mut slice = HELP_SLICE;
        loop {
            let helped = self
                .slots
                .iter()
                .flatten()
                .any(|slot| slot.handle.escalate());
            let left = left();
            let wait = left.map_or(slice, |left| left.min(slice));
            match self.done_rx.recv_timeout(wait) {
                Ok(index) => return Ok(index),
                Err(RecvTimeoutError::Timeout) if left.is_some_and(|left| left <= slice) => {
                    return Err(Elapsed)
                }
                Err(_) => {}
            }
            if !helped {
                slice = (slice * 2).min(HELP_SLICE_MAX);
            }
        }
    }

    /// The async path of taking a result.
    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Joined<K, T, E>>> {
        self.start_waiting();
        if self.finishing.is_none() {
            if let Some(joined) = self.ready.pop_front() {
                self.taken += 1;
                return Poll::Ready(Some(joined));
            }
            if self.running == 0 {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.done_rx).poll_next(cx) {
                Poll::Ready(Some(index)) => self.finishing = Some(index),
                Poll::Ready(None) => {
                    unreachable!("a set's channel closed while the set holds its sender")
                }
                Poll::Pending => {
                    // Never run here: the first queued isolate of the set is
                    // noted for an async isolate's executor, and given a
                    // thread beside a stalled pool (see `wait.rs`).
                    let _ = self
                        .slots
                        .iter()
                        .flatten()
                        .any(|slot| slot.handle.note_awaited());
                    return Poll::Pending;
                }
            }
        }
        let Some(index) = self.finishing else {
            return Poll::Pending;
        };
        let slot = self.slots[index]
            .as_mut()
            .expect("an isolate of a set reported its end twice");
        match Pin::new(&mut slot.handle).poll(cx) {
            Poll::Ready(result) => {
                self.finishing = None;
                let Slot { key, handle } = self.finish(index);
                // Awaited to completion: dropping it cancels nothing.
                drop(handle);
                self.start_waiting();
                Poll::Ready(Some((key, result)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn add_source(&mut self, items: impl Iterator<Item = (K, Start<T, E>)> + Send + 'static)
    where
        K: 'static,
    {
        let (lower, upper) = items.size_hint();
        let counted = upper.unwrap_or(lower);
        self.total += counted;
        self.waiting.push_back(Waiting::Many(Source {
            items: Box::new(items),
            counted,
        }));
        self.start_waiting();
    }

    fn add_job(&mut self, key: K, job: impl FnOnce() -> Outcome<T, E> + Send + 'static) {
        self.total += 1;
        if self.has_room() {
            self.start_job(key, job);
        } else {
            self.waiting
                .push_back(Waiting::One(key, Start::Job(Box::new(job))));
        }
    }
}

impl<K, T, E> IsolateSet<K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Runs `body` on an isolate of the set under `key`: at once, or when
    /// the set has room for it. The body is a closure, an
    /// [`Async`](crate::Async) one, or either under [`Fold`](crate::Fold)
    /// for a set whose error type is the body's (see [`Body`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::new();
    /// let text = String::from("moved to the isolate");
    /// set.spawn("length", move || text.len());
    /// assert_eq!(set.join_next().unwrap().1.unwrap(), 20);
    ///
    /// let mut parsed = isolate::IsolateSet::new();
    /// parsed.spawn("n", isolate::Fold(|| "12".parse::<u8>()));
    /// assert_eq!(parsed.join_next().unwrap().1.unwrap(), 12);
    /// ```
    pub fn spawn<B>(&mut self, key: K, body: B)
    where
        B: Body<(), Output = T, Error = E>,
    {
        self.add_job(key, move || body.__run(()));
    }

    /// Adds a batch from an iterator of `(key, function)` pairs, pulled
    /// lazily: an item is made only when the set has room to start it, so a
    /// bounded set holds `limit` items of the batch at a time, not the
    /// whole batch. The iterator's size hint counts in [`total`](Self::total)
    /// at once (its upper bound, else its lower one), corrected as it runs
    /// out.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::bounded(4);
    /// set.spawn_iter((0..100_000_u64).map(|i| (i, move || i % 7)));
    /// assert_eq!((set.running(), set.total()), (4, 100_000));
    /// let sum: u64 = set.join_all().into_iter().map(|(_, r)| r.unwrap()).sum();
    /// assert_eq!(sum, (0..100_000_u64).map(|i| i % 7).sum());
    ///
    /// let mut strict = isolate::IsolateSet::bounded(2);
    /// let texts = vec!["1", "2", "x"];
    /// strict.spawn_iter(texts.into_iter().map(|text| (text, isolate::Fold(move || text.parse::<u8>()))));
    /// let failed = strict.join_all().into_iter().filter(|(_, r)| r.is_err()).count();
    /// assert_eq!(failed, 1);
    /// ```
    pub fn spawn_iter<I, B>(&mut self, items: I)
    where
        I: IntoIterator<Item = (K, B)>,
        I::IntoIter: Send + 'static,
        B: Body<(), Output = T, Error = E>,
        K: 'static,
    {
        self.add_source(items.into_iter().map(|(key, body)| {
            let job = move || body.__run(());
            (
                key,
                Start::Job(Box::new(job) as Box<dyn FnOnce() -> Outcome<T, E> + Send>),
            )
        }));
    }
}

impl<K, T, E> Default for IsolateSet<K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

// Nothing of the set is pinned: it only moves heap pointers around.
impl<K, T, E> Unpin for IsolateSet<K, T, E> {}

impl<K, T, E> Stream for IsolateSet<K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    type Item = Joined<K, T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // A source's own size hint may be wrong: no upper bound is sure.
        (self.running + self.ready.len(), None)
    }
}

impl<K, T, E> fmt::Debug for IsolateSet<K, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsolateSet")
            .field("running", &self.running)
            .field(
                "waiting",
                &(self.total - self.taken - self.running - self.ready.len()),
            )
            .field("done", &self.taken)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}
