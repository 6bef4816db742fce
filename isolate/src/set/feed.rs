//! A batch of a bounded set run by a few long-lived isolates, *runners*,
//! instead of one isolate per item.
//!
//! A set that starts each item of a 100,000-item batch as an isolate of its
//! own pays, per item, a task, a pool hand-off and a round trip through the
//! caller, which takes each result and starts the next item: with items of
//! a few microseconds the caller's bookkeeping, not the work, sets the pace.
//! So a batch ([`IsolateSet::spawn_iter`](crate::IsolateSet::spawn_iter)) in
//! a bounded set with plain options is run by at most `limit` runners, each
//! an isolate of the set's options that pulls the next item from the shared
//! source as soon as it finishes one, and sends each item's result to the
//! set as it ends. What an item sees is what an isolate of its own would
//! see: its panics, `exit()` and errors are its own result (named after the
//! set's isolates), `is_cancelled()` turns true on `cancel_all` and on drop,
//! and no more than `limit` items run at once. The source's iterator runs on
//! the runners, one `next()` at a time.
//!
//! Items with a time limit, a dedicated thread or a stack size of their own
//! are still started one isolate each: those options are per isolate.

use std::any::Any;
use std::convert::Infallible;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::channel::Sender;
use crate::name::Name;
use crate::sync::{
    fence, lock, spin_loop, spun_for, Arc, AtomicBool, AtomicUsize, Mutex, Ordering,
};
use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::panic::clear_recorded;
use crate::task::state::{outcome_of_unwind, Outcome};

use super::{IsolateSet, Joined, MakeRunner, Notify, Slot, Source, Start, Waiting, ITEM};

/// A batch's source, shared by its runners and the set.
pub(super) struct Feed<K, T, E> {
    state: Mutex<FeedState<K, T, E>>,
    /// Whether `state` changed in what the set settles (most pulls change
    /// nothing it needs): so that it need not take the lock per result.
    changed: AtomicBool,
    make_runner: MakeRunner<K, T, E>,
}

struct FeedState<K, T, E> {
    /// `None` once drained: it ran out, its iterator panicked, or the set
    /// took the rest (cancelled, or no runner could start).
    source: Option<Source<K, T, E>>,
    /// How the set's `total` must change and has not yet: one more for each
    /// item beyond the source's size hint, the hint's excess when it runs
    /// out early.
    total_change: isize,
    /// A panic of the source's iterator, for the set to raise on the
    /// caller's thread, as it would have had the set pulled the item itself.
    panic: Option<Box<dyn Any + Send>>,
}

/// What the set learns from a feed when it settles with it.
pub(super) struct Settled {
    pub(super) total_change: isize,
    pub(super) panic: Option<Box<dyn Any + Send>>,
}

impl<K, T, E> Feed<K, T, E> {
    pub(super) fn new(source: Source<K, T, E>, make_runner: MakeRunner<K, T, E>) -> Arc<Self> {
        Arc::new(Feed {
            state: Mutex::new(FeedState {
                source: Some(source),
                total_change: 0,
                panic: None,
            }),
            changed: AtomicBool::new(false),
            make_runner,
        })
    }

    /// A runner's job, for an isolate named `name`.
    pub(super) fn runner(
        self: &Arc<Self>,
        name: Name,
    ) -> Box<dyn FnOnce() -> Outcome<(), Infallible> + Send> {
        (self.make_runner)(Arc::clone(self), name)
    }

    /// How many runners are worth starting: the items the source's size
    /// hint still counts, or any number when it counts none.
    pub(super) fn runners_wanted(&self) -> usize {
        match &lock(&self.state).source {
            Some(source) if source.counted > 0 => source.counted,
            Some(_) => usize::MAX,
            None => 0,
        }
    }

    /// The next item, or `None` once the source is drained.
    fn pull(&self) -> Option<(K, Start<T, E>)> {
        let mut state = lock(&self.state);
        let source = state.source.as_mut()?;
        match catch_unwind(AssertUnwindSafe(|| source.items.next())) {
            Ok(Some(item)) => {
                match source.counted.checked_sub(1) {
                    Some(counted) => source.counted = counted,
                    None => {
                        state.total_change += 1;
                        self.changed.store(true, Ordering::Release);
                    }
                }
                Some(item)
            }
            Ok(None) => {
                let excess = source.counted;
                state.total_change -= isize::try_from(excess).unwrap_or(isize::MAX);
                state.source = None;
                self.changed.store(true, Ordering::Release);
                None
            }
            Err(payload) => {
                let excess = source.counted;
                state.total_change -= isize::try_from(excess).unwrap_or(isize::MAX);
                state.source = None;
                state.panic = Some(payload);
                self.changed.store(true, Ordering::Release);
                None
            }
        }
    }

    /// Takes the changes the runners made since the last settling; `None`
    /// when they made none.
    pub(super) fn settle(&self) -> Option<Settled> {
        if !self.changed.swap(false, Ordering::AcqRel) {
            return None;
        }
        Some(self.settle_now())
    }

    /// Whether the source is drained.
    pub(super) fn is_drained(&self) -> bool {
        lock(&self.state).source.is_none()
    }

    /// Takes the changes the runners made, whatever the flag says.
    pub(super) fn settle_now(&self) -> Settled {
        let mut state = lock(&self.state);
        Settled {
            total_change: std::mem::take(&mut state.total_change),
            panic: state.panic.take(),
        }
    }

    /// Takes the items no runner pulled yet.
    pub(super) fn take_rest(&self) -> Option<Source<K, T, E>> {
        lock(&self.state).source.take()
    }
}

/// The set's channels, as a runner uses them.
pub(super) struct Channels<K, T, E> {
    /// Each item's result.
    pub(super) items: Sender<Joined<K, T, E>>,
    /// [`ITEM`] after a result, when the caller waits there.
    pub(super) done: Sender<usize>,
    /// Whether the caller waits on `done`: a runner that finds it set
    /// clears it and sends [`ITEM`]; a caller that keeps up with the
    /// results finds them on `items` without a wake-up per result.
    pub(super) caller_waiting: Arc<AtomicBool>,
    /// A token to take before pulling an item; the set gives it back when
    /// it takes the result.
    pub(super) permits: Arc<Permits>,
}

/// Tokens for the items a set's batches may have out (run, or waiting to be
/// taken): `limit` in all, so that a slow caller holds at most `limit`
/// results, as one isolate per item would.
///
/// A runner that finds no token ends, and the set starts runners again as
/// it takes results: a runner never waits for the caller, so it never holds
/// a pool thread that another isolate (one the caller waits for) may need,
/// and the pool never starts threads for runners that wait.
pub(super) struct Permits(AtomicUsize);

/// How long a runner without a token looks for one before it ends.
const TOKEN_SPIN: Duration = Duration::from_micros(20);

impl Permits {
    pub(super) fn new(tokens: usize) -> Arc<Self> {
        Arc::new(Permits(AtomicUsize::new(tokens)))
    }

    /// Takes a token, if one is left.
    fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |tokens| {
                tokens.checked_sub(1)
            })
            .is_ok()
    }

    /// Takes a token, looking again for a few microseconds if none is left:
    /// with a bound near the number of cores, the caller gives one back
    /// about as soon as it takes a result, and a runner that ended would
    /// have to be started again for it.
    fn take_soon(&self) -> bool {
        if self.take() {
            return true;
        }
        let start = Instant::now();
        while !spun_for(start, TOKEN_SPIN) {
            for _ in 0..32 {
                spin_loop();
            }
            if self.take() {
                return true;
            }
        }
        false
    }

    /// Gives a token back.
    pub(super) fn give_back(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }

    /// How many tokens are left.
    pub(super) fn left(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// A runner's body: items until the source is drained, the runner is
/// cancelled, or the set is gone.
pub(super) fn run<K, T, E>(
    feed: &Feed<K, T, E>,
    channels: &Channels<K, T, E>,
    name: &Name,
) -> Outcome<(), Infallible>
where
    K: Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let Channels {
        items,
        done,
        permits,
        caller_waiting,
    } = channels;
    // The next item is pulled before the result of the last one is sent,
    // so that the set learns the batch ran out (and its real size) before
    // it gives the last result. A runner ends when cancelled, when the
    // batch is drained, or when `limit` items are out (a slow caller).
    let next = || {
        if context::is_cancelled() || !permits.take_soon() {
            return None;
        }
        let item = feed.pull();
        if item.is_none() {
            permits.give_back();
        }
        item
    };
    let mut item = next();
    while let Some((key, start)) = item {
        let outcome = match start {
            Start::Job(job) => run_item(job),
            // A handle the caller's closure starts: waited on here.
            Start::Handle(start) => start().join(),
        };
        let outcome = outcome.map_err(|error| error.named(name));
        item = next();
        // The result first, then its signal if the caller waits (the
        // fences pair with the caller's `announce_wait`); refused only once
        // the set is gone, and nobody takes results any more.
        if items.try_send((key, outcome)).is_err() {
            break;
        }
        fence(Ordering::SeqCst);
        if caller_waiting.swap(false, Ordering::SeqCst) && done.try_send(ITEM).is_err() {
            break;
        }
    }
    Ok(())
}

/// One item, as the runtime runs an isolate's job: a panic or an `exit()`
/// is the item's own result, with its own location.
fn run_item<T, E>(job: Box<dyn FnOnce() -> Outcome<T, E> + Send>) -> Outcome<T, E> {
    clear_recorded();
    match catch_unwind(AssertUnwindSafe(job)) {
        Ok(outcome) => outcome,
        Err(payload) => context::with_current(move |header| outcome_of_unwind(payload, header))
            .unwrap_or_else(|| Err(IsolateError::ended_without_result())),
    }
}

/// What the set does for its batches.
impl<K, T, E> IsolateSet<K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Gives back the token of a batch's item whose result was taken.
    pub(super) fn return_permit(&self) {
        if let Some(permits) = &self.permits {
            permits.give_back();
        }
    }
    /// How many more runners a batch could use now: as many as the tokens
    /// left (a runner without one ends at once).
    pub(super) fn runners_to_start(&self, feed: &Feed<K, T, E>, runners: usize) -> usize {
        let tokens = self
            .permits
            .as_ref()
            .map_or(usize::MAX, |permits| permits.left());
        feed.runners_wanted().min(tokens).saturating_sub(runners)
    }
    /// Whether the batch at the front of the queue can be run by runners: a
    /// bound to run under, no option that is per isolate, and a batch that
    /// can be (one of `spawn_iter`'s).
    pub(super) fn runs_next_batch(&self) -> bool {
        self.limit != usize::MAX
            && self.options.is_plain()
            && matches!(self.waiting.front(), Some(Waiting::Many(source)) if source.runner.is_some())
    }
    /// Starts a runner of `feed` in a new slot.
    pub(super) fn start_runner(&mut self, feed: &Arc<Feed<K, T, E>>) {
        let index = self.take_slot();
        let notify = Notify {
            index,
            done: self.done_tx.clone(),
        };
        let runner = feed.runner(self.options.name_or_default());
        let (handle, _) = self.options.clone().spawn_job(move || {
            let _notify = notify;
            runner()
        });
        self.slots[index] = Some(Slot::Runner {
            handle,
            feed: Arc::clone(feed),
        });
        self.running += 1;
        if let Some((_, runners)) = self.feeding.iter_mut().find(|(f, _)| Arc::ptr_eq(f, feed)) {
            *runners += 1;
        }
    }
    /// Applies what the runners changed: the batch's real size, a panic of
    /// its iterator (raised here, on the caller's thread), a batch that is
    /// done with.
    pub(super) fn settle_feeds(&mut self) {
        let mut index = 0;
        while index < self.feeding.len() {
            let (feed, runners) = (&self.feeding[index].0, self.feeding[index].1);
            if let Some(settled) = feed.settle() {
                self.total = self.total.saturating_add_signed(settled.total_change);
                if let Some(payload) = settled.panic {
                    std::panic::resume_unwind(payload);
                }
            }
            if runners == 0 && feed.is_drained() {
                self.feeding.swap_remove(index);
            } else {
                index += 1;
            }
        }
    }
    /// A runner ended: its slot is free; if it could not start at all, the
    /// items of its batch that no runner pulled fail as it did.
    pub(super) fn runner_ended(
        &mut self,
        feed: &Arc<Feed<K, T, E>>,
        result: Outcome<(), Infallible>,
    ) {
        if let Some((_, runners)) = self.feeding.iter_mut().find(|(f, _)| Arc::ptr_eq(f, feed)) {
            *runners -= 1;
        }
        if let Err(IsolateError::Spawn { error, .. }) = &result {
            if let Some(source) = feed.take_rest() {
                let (kind, text) = (error.kind(), error.to_string());
                let settled = feed.settle_now();
                self.total = self.total.saturating_add_signed(settled.total_change);
                self.total -= source.counted;
                for (key, start) in source.items {
                    drop(start);
                    self.total += 1;
                    let error = IsolateError::spawn(std::io::Error::new(kind, text.clone()));
                    self.ready
                        .push_back((key, Err(error.named(&self.options.name_or_default()))));
                }
            }
        }
    }
    /// A result a runner sent, if one is there.
    pub(super) fn try_item(&mut self) -> Option<Joined<K, T, E>> {
        let item = self.items.as_ref()?.1.try_recv().ok()?;
        self.settle_feeds();
        self.return_permit();
        Some(item)
    }
    /// About to wait on `done`: runners that send a result from now on
    /// signal it there. Then a last look at `items`, which a runner may
    /// have filled just before it saw the flag.
    pub(super) fn announce_wait(&mut self) -> Option<Joined<K, T, E>> {
        let waiting = self.caller_waiting.as_ref()?;
        waiting.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.try_item()
    }
}

impl<K, T, E> IsolateSet<K, T, E>
where
    K: Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// How runners of a batch are made: they send each result on the set's
    /// `items` channel, then [`ITEM`] on its `done` one.
    pub(super) fn runner_maker(&mut self) -> MakeRunner<K, T, E> {
        let items = self
            .items
            .get_or_insert_with(crate::channel::unbounded)
            .0
            .clone();
        let limit = self.limit;
        let permits = Arc::clone(self.permits.get_or_insert_with(|| Permits::new(limit)));
        let done = self.done_tx.clone();
        let caller_waiting = Arc::clone(
            self.caller_waiting
                .get_or_insert_with(|| Arc::new(AtomicBool::new(false))),
        );
        Arc::new(move |feed: Arc<Feed<K, T, E>>, name: Name| {
            let channels = Channels {
                items: items.clone(),
                done: done.clone(),
                permits: Arc::clone(&permits),
                caller_waiting: Arc::clone(&caller_waiting),
            };
            Box::new(move || run(&feed, &channels, &name))
                as Box<dyn FnOnce() -> Outcome<(), Infallible> + Send>
        })
    }
}
