//! The shared, elastic pool that runs every isolate not asked to be dedicated.
//!
//! # Design
//!
//! - One global FIFO queue (crossbeam's lock-free `Injector`) that every
//!   pool thread takes from; a submit is one push.
//! - Idle threads first *spin* for a few tens of microseconds, then *sleep* on
//!   a condition variable. Waking a sleeping thread costs tens of
//!   microseconds on a virtual machine, more than most isolates take, so a
//!   spinning thread is what makes the hand-off fast; at most one thread per
//!   two cores spins at once, and only for [`SPIN_TIME`], so an idle pool
//!   burns no CPU after that. (More spinners made 16-core bursts of tiny jobs
//!   slower, by contention on the queue, without a measurable gain for long
//!   jobs.)
//! - A submit wakes at most one thread, and only when more is queued than
//!   the spinning threads will take (a spinner will take the job). A thread
//!   that takes a job and leaves more behind than the spinners will take
//!   brings the next thread: bursts fan out from both ends, without waking
//!   more threads than they need.
//! - Growth: while fewer threads than the machine has cores are *running*
//!   (not blocked), a submit that finds no idle thread starts one. A thread
//!   that blocks in one of the crate's own waits (joining an isolate, reading
//!   a channel or progress updates, an async isolate with nothing to poll)
//!   says so at once ([`enter_blocked`]), so the pool starts a replacement
//!   for queued work without waiting to notice. Threads blocked elsewhere
//!   (sleeping, waiting on I/O) are found by a monitor thread, which looks
//!   every [`MONITOR_TICK`] while work is queued at a thread that has been
//!   on the same job since its last look and that the kernel does not show
//!   as running. Either way the pool aims at one running thread per core:
//!   it starts threads until running threads, blocked ones not counted,
//!   reach the core count, up to `max_threads`. Tiny jobs never look stuck
//!   and long computations are not blocked, so neither makes the pool grow.
//!   While its looks find nothing to do, the monitor looks less and less
//!   often, up to [`MONITOR_MAX_TICK`].
//! - Idle threads retire after `keep_alive`. A thread retires in the same
//!   critical section in which it last saw the queue empty, so a submit
//!   either sees it gone (and starts another) or it sees the submit's job.
//! - At the cap, a waiter may be the only thread left to run what it waits
//!   for: see `wait.rs` for that last resort ([`Pool::is_stalled`]).
//! - Work beyond `max_threads` waits in the queue; nothing is dropped. With no
//!   thread at all (a failed start, or `max_threads` of zero) the isolate
//!   fails with [`IsolateError::Spawn`](crate::IsolateError::Spawn).

use std::io;

use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::pool::config::Config;
use crate::sync::process::OnceLock;
use crate::sync::{
    fence, lock, spawn_thread, spin_loop, spun_for, yield_now, Arc, AtomicBool, AtomicUsize,
    Condvar, Mutex, Ordering, Queue,
};
use crate::task::header::Runnable;
use crate::task::state::run_quietly;

/// How long an idle thread spins for new work before it sleeps.
const SPIN_TIME: Duration = Duration::from_micros(50);
/// How often the monitor looks for blocked threads while work is queued.
const MONITOR_TICK: Duration = Duration::from_micros(500);
/// How many stuck threads the monitor asks the kernel about per look.
const MONITOR_SAMPLE: usize = 4;
/// The monitor's longest pause: it backs off while every look finds nothing
/// to do (long computations), so that watching costs next to nothing.
const MONITOR_MAX_TICK: Duration = Duration::from_millis(8);

type Job = Arc<dyn Runnable>;

pub(crate) struct Pool {
    queue: Queue<Job>,
    /// Threads spinning for work now.
    spinning: CachePadded<AtomicUsize>,
    /// Threads blocked in one of the crate's waits ([`enter_blocked`]). An
    /// atomic, so that blocking and unblocking take no lock; a decision made
    /// on a value just out of date starts one thread too many or leaves a
    /// freshly unblocked (so running) thread uncompensated, both harmless.
    blocked: CachePadded<AtomicUsize>,
    /// Of those, the ones in a wait that cannot tell which isolate it waits
    /// for ([`enter_blind_wait`]): while any is, a job queued when no pool
    /// thread can run it gets a thread beside the pool (see
    /// [`Pool::keep_going_for_blind_waits`]).
    blind_waits: CachePadded<AtomicUsize>,
    /// Threads beside the pool running an isolate now ([`Pool::run_beside`]).
    beside: AtomicUsize,
    /// `State::threads`, readable without the lock (written under it).
    thread_count: AtomicUsize,
    /// Whether the last attempt to start a thread failed: the pool cannot
    /// count on growing until one starts again (written under the lock).
    start_failed: AtomicBool,
    /// Set while the monitor watches a pool that has no sleeper to wake and
    /// no thread to start below one per core: a thread that leaves work
    /// behind then skips the lock, and the monitor acts within a tick.
    saturated: CachePadded<AtomicBool>,
    state: Mutex<State>,
    /// Sleeping threads wait here.
    wakeup: Condvar,
    /// The monitor waits here for queued work.
    monitor_wakeup: Condvar,
    config: Config,
    /// Threads started without waiting for the monitor.
    cores: usize,
    /// Set by `shutdown`, which only the loom models need: there, every
    /// thread must end for a model run to end.
    #[cfg(loom)]
    closed: AtomicBool,
    /// loom has no clock: a model's clock thread says when the keep-alive
    /// has run out, and every idle thread then retires.
    #[cfg(loom)]
    keep_alive_expired: AtomicBool,
    max_spinners: usize,
}

struct State {
    /// Live threads, counting those being started.
    threads: usize,
    /// Threads started and not yet looking for work: each counts as a
    /// thread on its way, so a short burst does not start one per job.
    starting: usize,
    /// Threads waiting on `wakeup`.
    sleeping: usize,

    /// Wake-ups sent to sleeping threads and not yet taken.
    notified: usize,
    /// What each live thread is doing, for the monitor.
    activities: Vec<Arc<Activity>>,
    /// The threads beside the pool that have started, for the monitor to
    /// ask the kernel whether they run.
    beside: Vec<Arc<Activity>>,
    /// Whether the monitor thread runs, and whether it is asked to look.
    monitor: MonitorState,
    next_thread_id: usize,
}

#[derive(PartialEq, Eq)]
enum MonitorState {
    NotStarted,
    Waiting,
    Watching,
}

/// A thread's job counter: odd while it runs a job, even while idle. Only
/// its thread writes it, so it costs two uncontended stores a job.
struct Activity {
    jobs: CachePadded<AtomicUsize>,
    /// `jobs` as the monitor last saw it (only the monitor touches it).
    seen_by_monitor: AtomicUsize,
    /// The thread's kernel thread id where the platform shows it (0 until
    /// known), so the monitor can tell a blocked thread from a computing one.
    tid: AtomicUsize,
    /// Set while the thread is blocked in one of the crate's waits: it is
    /// counted in `State::blocked` then, and the monitor leaves it alone.
    waiting: AtomicBool,
    /// Futures that polls on this thread left pending ([`PendingWait`]):
    /// while there are any, the thread may be parked by some executor where
    /// the pool cannot see it, and the kernel tells whether it is.
    pending_polls: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            jobs: CachePadded::new(AtomicUsize::new(0)),
            seen_by_monitor: AtomicUsize::new(usize::MAX),
            tid: AtomicUsize::new(0),
            waiting: AtomicBool::new(false),
            pending_polls: AtomicUsize::new(0),
        }
    }

    /// Whether the thread has been on the same job since the monitor's last
    /// look; records this look.
    fn is_stuck(&self) -> bool {
        let jobs = self.jobs.load(Ordering::Relaxed);
        let seen = self.seen_by_monitor.swap(jobs, Ordering::Relaxed);
        jobs % 2 == 1 && jobs == seen
    }

    /// Whether the thread is blocked rather than computing: `false` only when
    /// the kernel says it is running or runnable. Where that cannot be read,
    /// a long job counts as blocked, which errs towards growing.
    fn is_blocked(&self) -> bool {
        let tid = self.tid.load(Ordering::Relaxed);
        if tid == 0 {
            return true;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
            return true;
        };
        // The state follows the command name, which ends at the last ')'.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        state != Some('R')
    }
}

/// A pool thread: its pool and what it is doing.
type PoolThreadSlot = std::cell::RefCell<Option<(&'static Pool, Arc<Activity>)>>;

#[cfg(not(loom))]
std::thread_local! {
    /// Set on the pool's threads.
    static POOL_THREAD: PoolThreadSlot = const { std::cell::RefCell::new(None) };
}

#[cfg(loom)]
loom::thread_local! {
    static POOL_THREAD: PoolThreadSlot = std::cell::RefCell::new(None);
}

/// This thread's pool and activity, if it is a pool thread.
fn pool_thread() -> Option<(&'static Pool, Arc<Activity>)> {
    POOL_THREAD
        .try_with(|slot| slot.borrow().clone())
        .ok()
        .flatten()
}

/// The pool a waiter on this thread would wait for: its own if it is a pool
/// thread, else the global pool if it was built (never built here).
pub(crate) fn for_waiter() -> Option<&'static Pool> {
    if let Some((pool, _)) = pool_thread() {
        return Some(pool);
    }
    match GLOBAL.get() {
        Some(Ok(pool)) => Some(pool),
        _ => None,
    }
}

/// A pool thread blocked in one of the crate's waits, counted as such until
/// dropped: the pool does not count it among its running threads, and
/// brings another thread for queued work at once.
pub(crate) struct BlockedThread {
    pool: &'static Pool,
    activity: Arc<Activity>,
}

/// Counts this thread as blocked until the guard is dropped, if it is a pool
/// thread (and is not counted already); `None` elsewhere.
pub(crate) fn enter_blocked() -> Option<BlockedThread> {
    let (pool, activity) = pool_thread()?;
    if activity.waiting.swap(true, Ordering::Relaxed) {
        return None;
    }
    pool.blocked.fetch_add(1, Ordering::SeqCst);
    // The pool may have been saturated by this very thread: bring another.
    if !pool.queue.is_empty() {
        pool.request_thread();
        // Or, at a pool this thread stalled, a blind waiter may need what
        // is queued.
        pool.keep_going_for_blind_waits();
    }
    Some(BlockedThread { pool, activity })
}

impl BlockedThread {
    /// For a wait that cannot tell which queued isolate it waits for (a
    /// channel, an async isolate's executor), which calls it now and then:
    /// while the pool is stalled with isolates queued, this thread may be
    /// the one they would wait for, so the oldest gets a thread beside the
    /// pool. Returns whether it was stalled (then look again soon).
    pub(crate) fn keep_pool_going(&self) -> bool {
        if self.pool.queue.is_empty() || !self.pool.is_stalled() {
            return false;
        }
        self.pool.escalate_oldest();
        true
    }
}

impl Drop for BlockedThread {
    fn drop(&mut self) {
        self.pool.blocked.fetch_sub(1, Ordering::SeqCst);
        self.activity.waiting.store(false, Ordering::Relaxed);
    }
}

/// A wait, made by an isolate, that cannot tell which isolate it waits for
/// (a channel's blocking wait, an async isolate's executor): counted in the
/// pool's blind waits until dropped, and on a pool thread as blocked too (a
/// future that another executor parks for is a [`PendingWait`]). What it
/// waits for may be any isolate queued now or later, and it looks at the
/// pool only when it parks, so the pool looks for it: while every pool
/// thread is blocked and one blind wait lasts, the oldest queued isolate
/// gets a thread beside the pool whenever one is queued, a pool thread
/// blocks, an isolate off the pool blocks, or such a thread beside ends
/// (see [`Pool::keep_going_for_blind_waits`]). An
/// untimed channel wait hung at a capped pool when its sender was queued
/// after it parked, or when it ran on a service's thread for an isolate
/// holding the pool's only one; so did a handler awaiting an isolate with
/// another executor's `block_on` for callers that filled the pool.
pub(crate) struct BlindWait {
    pool: &'static Pool,
    blocked: Option<BlockedThread>,
}

/// Starts a blind wait, if this thread runs an isolate (a pool thread's is
/// counted blocked too); `None` elsewhere, where the pool's threads are not
/// what the wait holds.
pub(crate) fn enter_blind_wait() -> Option<BlindWait> {
    let blocked = enter_blocked();
    let pool = match &blocked {
        Some(blocked) => blocked.pool,
        None if crate::task::context::in_isolate() => for_waiter()?,
        None => return None,
    };
    pool.blind_waits.fetch_add(1, Ordering::SeqCst);
    Some(BlindWait { pool, blocked })
}

/// An isolate off the pool's threads (dedicated, or beside the pool) blocks
/// in one of the crate's waits: at a pool stuck for a blind wait, this
/// isolate may have been given a thread beside it and now hold the queue
/// up, so the next queued one gets its turn (see [`BlindWait`]).
pub(crate) fn off_pool_isolate_blocks() {
    if pool_thread().is_some() || !crate::task::context::in_isolate() {
        return;
    }
    if let Some(pool) = for_waiter() {
        pool.keep_going_for_blind_waits();
    }
}

impl BlindWait {
    /// Looks at the pool for the wait, when it parks: on a pool thread, see
    /// [`BlockedThread::keep_pool_going`]; elsewhere the wait holds no pool
    /// thread, so only a pool whose every thread is blocked is stuck.
    /// Returns whether it was stalled (then look again soon).
    pub(crate) fn keep_pool_going(&self) -> bool {
        match &self.blocked {
            Some(blocked) => blocked.keep_pool_going(),
            None => self.pool.keep_going_for_blind_waits(),
        }
    }
}

impl Drop for BlindWait {
    fn drop(&mut self) {
        self.pool.blind_waits.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The blind wait of a future that some executor polls (a channel's, an
/// [`IsolateHandle`](crate::IsolateHandle)), made in an isolate: it lasts
/// from the first poll that leaves the future pending until it is ready or
/// dropped, since the executor may then park the thread where the pool
/// cannot see it. Boxed: rare, and the futures stay small (a service keeps
/// a handle per queued request).
///
/// It does not count its thread as blocked, unlike a wait of the crate's
/// own: the future may outlive the wait (a `next()` dropped by a timeout
/// leaves a receiver's stream registered; an isolate returns a handle it
/// polled once) while the thread computes, and it may be dropped on any
/// thread. Counting the thread blocked for that long let isolates run
/// beside a capped pool that was computing, past its cap, and a drop on
/// the thread's next wait uncounted that wait, which then hung (a new
/// user's tests). Instead the pool thread notes that it has a pending
/// future, and the pool asks the kernel whether such a thread is parked
/// when it needs to know ([`Pool::every_thread_blocked`]): at each event
/// that looks for blind waits, and at the monitor's looks, which find a
/// thread that an executor parked after the pool's last event.
#[derive(Default)]
pub(crate) struct PendingWait(Option<Box<PendingBlind>>);

/// A pending future's blind wait: counted in its pool's `blind_waits`, and
/// in its pool thread's `pending_polls`, until dropped, wherever.
struct PendingBlind {
    pool: &'static Pool,
    /// The pool thread that polled it, if it was one.
    activity: Option<Arc<Activity>>,
}

impl PendingWait {
    /// For a poll that leaves the future pending: starts the blind wait
    /// (once) and looks at the pool. This thread does not count as blocked
    /// in that look, though its executor may park it next: a poll whose
    /// future is then kept while the isolate computes would let a queued
    /// isolate run beside the pool each time (three at once at a cap of 1,
    /// in a new user's test). If the executor parks it, the monitor's next
    /// look finds it.
    pub(crate) fn pending(&mut self) {
        if self.0.is_none() {
            self.0 = PendingBlind::enter().map(Box::new);
        }
        if let Some(blind) = &self.0 {
            blind.pool.keep_going_for_blind_waits();
        }
    }

    /// The future is ready or dropped: the wait ends.
    pub(crate) fn end(&mut self) {
        self.0 = None;
    }
}

impl PendingBlind {
    /// Starts a pending future's blind wait, if this thread runs an
    /// isolate; `None` elsewhere, where the pool's threads are not what the
    /// wait holds.
    fn enter() -> Option<Self> {
        let (pool, activity) = match pool_thread() {
            Some((pool, activity)) => (pool, Some(activity)),
            None if crate::task::context::in_isolate() => (for_waiter()?, None),
            None => return None,
        };
        if let Some(activity) = &activity {
            activity.pending_polls.fetch_add(1, Ordering::SeqCst);
        }
        pool.blind_waits.fetch_add(1, Ordering::SeqCst);
        // At the cap, the monitor is what finds this thread parked.
        if !pool.queue.is_empty() {
            pool.request_thread();
        }
        Some(PendingBlind { pool, activity })
    }
}

impl Drop for PendingBlind {
    fn drop(&mut self) {
        if let Some(activity) = &self.activity {
            activity.pending_polls.fetch_sub(1, Ordering::SeqCst);
        }
        self.pool.blind_waits.fetch_sub(1, Ordering::SeqCst);
    }
}

/// This thread's kernel id, from `/proc/thread-self` (Linux); 0 elsewhere.
fn current_tid() -> usize {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|path| path.file_name()?.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// What [`pool_stats`](crate::pool_stats) reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Live threads.
    pub threads: usize,
    /// Threads with nothing to do (spinning or sleeping).
    pub idle: usize,
    /// Isolates waiting for a thread.
    pub queued: usize,
}

static GLOBAL: OnceLock<Result<Pool, io::Error>> = OnceLock::new();

/// Installs the global pool built from `config`; `false` if a pool was
/// already installed (or built on first use).
pub(crate) fn install(config: Config) -> bool {
    let mut config = Some(config);
    GLOBAL.get_or_init(|| Ok(Pool::new(config.take().expect("taken once"))));
    config.is_none()
}

/// The global pool, built from the environment on first use.
pub(crate) fn global() -> Result<&'static Pool, io::Error> {
    match GLOBAL.get_or_init(|| Config::from_env().map(Pool::new)) {
        Ok(pool) => Ok(pool),
        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
    }
}

/// The global pool's counters; all zero before the first pooled isolate.
pub(crate) fn stats() -> PoolStats {
    match GLOBAL.get() {
        Some(Ok(pool)) => pool.stats(),
        _ => PoolStats {
            threads: 0,
            idle: 0,
            queued: 0,
        },
    }
}

impl Pool {
    fn new(config: Config) -> Pool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Pool::with_cores(config, cores)
    }

    /// A pool that starts up to `cores` threads before asking the monitor.
    pub(crate) fn with_cores(config: Config, cores: usize) -> Pool {
        Pool {
            queue: Queue::new(),
            spinning: CachePadded::new(AtomicUsize::new(0)),
            blocked: CachePadded::new(AtomicUsize::new(0)),
            blind_waits: CachePadded::new(AtomicUsize::new(0)),
            beside: AtomicUsize::new(0),
            thread_count: AtomicUsize::new(0),
            start_failed: AtomicBool::new(false),
            saturated: CachePadded::new(AtomicBool::new(false)),
            state: Mutex::new(State {
                threads: 0,
                starting: 0,
                sleeping: 0,

                notified: 0,
                activities: Vec::new(),
                beside: Vec::new(),
                monitor: MonitorState::NotStarted,
                next_thread_id: 0,
            }),
            wakeup: Condvar::new(),
            monitor_wakeup: Condvar::new(),
            max_spinners: (cores / 2).max(1),
            cores,
            config,
            #[cfg(loom)]
            closed: AtomicBool::new(false),
            #[cfg(loom)]
            keep_alive_expired: AtomicBool::new(false),
        }
    }

    /// Queues `job` and makes sure some thread will run it.
    pub(crate) fn submit(&'static self, job: Job) {
        self.queue.push(job);
        // Pairs with the fence in `find_job`: either this submit sees the
        // spinner, or the spinner's last look sees the job.
        fence(Ordering::SeqCst);
        let spinners = self.spinning.load(Ordering::SeqCst);
        // With no spinner, someone must be brought; with spinners, only if
        // there is more queued than they can take, and something to do.
        // (`saturated` first: it rarely changes, while the queue's length
        // reads both of its contended ends.)
        if spinners == 0 || (!self.saturated.load(Ordering::Relaxed) && self.queue.len() > spinners)
        {
            self.request_thread();
        }
        // After the fence: either this sees the blind waiter, or its look
        // at the queue when it parks sees this job.
        self.keep_going_for_blind_waits();
    }

    /// While a wait is blind ([`BlindWait`]): when every thread is blocked
    /// in the crate's waits and none can come, the oldest queued isolate
    /// gets a thread beside the pool (the blind wait may need it, and looks
    /// only when it parks). A thread that runs, or will, takes the queue
    /// itself. Returns whether it found the pool so.
    fn keep_going_for_blind_waits(&'static self) -> bool {
        if self.blind_waits.load(Ordering::SeqCst) == 0
            || self.queue.is_empty()
            || !self.is_stalled()
            || !self.every_thread_blocked()
        {
            return false;
        }
        self.escalate_oldest();
        true
    }

    /// Whether no pool thread runs: each is blocked in one of the crate's
    /// waits, or (with a future its polls left pending) parked by an
    /// executor, as the kernel says.
    fn every_thread_blocked(&self) -> bool {
        let counted = self.blocked.load(Ordering::SeqCst);
        if counted >= self.thread_count.load(Ordering::SeqCst) {
            return true;
        }
        let (threads, polling) = {
            let state = lock(&self.state);
            let polling: Vec<Arc<Activity>> = state
                .activities
                .iter()
                .filter(|activity| {
                    !activity.waiting.load(Ordering::Relaxed)
                        && activity.pending_polls.load(Ordering::SeqCst) > 0
                })
                .cloned()
                .collect();
            (state.threads, polling)
        };
        // Outside the lock: each question to the kernel reads a small file.
        let parked = polling
            .iter()
            .filter(|activity| activity.is_blocked())
            .count();
        counted + parked >= threads
    }

    /// Whether no thread beside the pool runs (each is blocked, as the
    /// kernel says): one that runs will look at the queue when it ends.
    fn every_thread_beside_blocked(&self) -> bool {
        let started = self.beside.load(Ordering::SeqCst);
        if started == 0 {
            return true;
        }
        let beside = lock(&self.state).beside.clone();
        // One still starting has not registered yet: it runs.
        beside.len() >= started && beside.iter().all(|activity| activity.is_blocked())
    }

    /// Makes sure a thread will come for the queued work.
    fn request_thread(&'static self) {
        if let Err(error) = self.wake_or_grow() {
            self.fail_if_no_threads(error);
        }
    }

    /// A thread took a job: if more remains than the spinners will take,
    /// bring the next thread. Bursts fan out this way without the submitter.
    fn after_take(&'static self) {
        if !self.saturated.load(Ordering::Relaxed)
            && self.queue.len() > self.spinning.load(Ordering::SeqCst)
        {
            self.request_thread();
        }
    }

    /// Wakes a sleeping thread, or starts one if the pool may grow now; asks
    /// the monitor to watch when it may only grow for blocked threads.
    fn wake_or_grow(&'static self) -> Result<(), io::Error> {
        let mut state = lock(&self.state);
        if state.sleeping > state.notified {
            state.notified += 1;
            drop(state);
            self.wakeup.notify_one();
            return Ok(());
        }
        let running = state
            .threads
            .saturating_sub(self.blocked.load(Ordering::SeqCst));
        if state.threads < self.config.max_threads && running < self.cores {
            // Enough threads are on their way for what is queued: threads
            // starting, and sleepers woken that have not taken a job yet.
            let on_their_way = state.starting + state.notified;
            if on_their_way > 0 && on_their_way >= self.queue.len() {
                return Ok(());
            }
            return self.start_thread(state);
        }
        if state.threads >= self.config.max_threads {
            if state.threads == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the isolate pool allows no threads (max_threads is 0)",
                ));
            }
            // At the cap, the monitor watches for blind waits only: one
            // parked by another executor, out of the pool's sight, is found
            // by its looks (see `PendingWait`).
            if self.blind_waits.load(Ordering::SeqCst) == 0 {
                return Ok(());
            }
            return self.watch(state);
        }
        // Nothing cheaper left: the monitor decides whether more threads help.
        self.saturated.store(true, Ordering::Relaxed);
        self.watch(state)
    }

    /// Has the monitor watch the queue, starting it the first time.
    fn watch(
        &'static self,
        mut state: crate::sync::MutexGuard<'_, State>,
    ) -> Result<(), io::Error> {
        match state.monitor {
            MonitorState::Watching => Ok(()),
            MonitorState::Waiting => {
                state.monitor = MonitorState::Watching;
                drop(state);
                self.monitor_wakeup.notify_one();
                Ok(())
            }
            MonitorState::NotStarted => {
                state.monitor = MonitorState::Watching;
                drop(state);
                if cfg!(loom) {
                    // The loom models keep `max_threads` at the core count,
                    // where the monitor has nothing to do; its timed loop
                    // cannot run under loom.
                    return Ok(());
                }
                let name = format!("{}-monitor", self.config.thread_name);
                match spawn_thread(name, Some(64 * 1024), move || self.monitor()) {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        // Without a monitor, grow as a plain elastic pool does.
                        let mut state = lock(&self.state);
                        state.monitor = MonitorState::NotStarted;
                        self.saturated.store(false, Ordering::Relaxed);
                        self.start_thread(state).map_err(|_| error)
                    }
                }
            }
        }
    }

    /// Starts a thread; `state` is released before the thread is spawned.
    fn start_thread(
        &'static self,
        mut state: crate::sync::MutexGuard<'_, State>,
    ) -> Result<(), io::Error> {
        state.threads += 1;
        self.thread_count.store(state.threads, Ordering::SeqCst);
        state.starting += 1;
        let id = state.next_thread_id;
        state.next_thread_id += 1;
        let activity = Arc::new(Activity::new());
        state.activities.push(Arc::clone(&activity));
        drop(state);
        let name = format!("{}-{id}", self.config.thread_name);
        let thread_activity = Arc::clone(&activity);
        // `spawn_thread` reports failures as errors; the guard also undoes
        // the count if it unwinds, so no thread is ever counted that is not
        // there to serve the queue.
        let undo = UndoStart {
            pool: self,
            activity: Some(activity),
        };
        let started = spawn_thread(name, self.config.stack_size, move || {
            self.work(thread_activity)
        });
        undo.finish(started.is_ok());
        started
    }

    /// Removes a thread from the counts; the caller holds the state lock.
    fn forget_thread(&self, state: &mut State, activity: &Arc<Activity>) {
        state.threads -= 1;
        self.thread_count.store(state.threads, Ordering::SeqCst);
        self.saturated.store(false, Ordering::Relaxed);
        state.activities.retain(|a| !Arc::ptr_eq(a, activity));
    }

    /// Whether a waiter at the pool's edge must run what it waits for itself:
    /// no thread is idle, and the pool cannot start another now (it is at
    /// its cap, or its last start failed).
    pub(crate) fn is_stalled(&self) -> bool {
        // Lock-free first: below the cap, with starts succeeding, it is not.
        let cannot_grow = |threads: usize| {
            threads >= self.config.max_threads || self.start_failed.load(Ordering::SeqCst)
        };
        if !cannot_grow(self.thread_count.load(Ordering::SeqCst)) {
            return false;
        }
        let state = lock(&self.state);
        // Idle, or on its way: threads starting and sleepers woken count.
        let coming =
            state.sleeping > 0 || state.starting > 0 || self.spinning.load(Ordering::SeqCst) > 0;
        !coming && cannot_grow(state.threads)
    }

    /// Gives the oldest isolate still queued a thread beside the pool (the
    /// entries of isolates already claimed are dropped on the way).
    fn escalate_oldest(&'static self) {
        while let Some(job) = self.queue.pop() {
            if !job.header().is_queued() {
                continue;
            }
            if job.header().escalate() {
                if let Err(job) = self.run_beside(job) {
                    // No thread: it stays queued for the pool's own threads.
                    self.queue.push(job);
                }
            }
            return;
        }
    }

    /// The stack size of the pool's threads, for work run in their stead.
    pub(crate) fn stack_size(&self) -> Option<usize> {
        self.config.stack_size
    }

    /// Starts a thread, outside the pool and its counts, that runs `job`
    /// and ends: the last resort for a waiter that cannot run it itself.
    pub(crate) fn run_beside(&'static self, job: Job) -> Result<(), Job> {
        let name = format!("{}-beside", self.config.thread_name);
        let runner = Arc::clone(&job);
        self.beside.fetch_add(1, Ordering::SeqCst);
        let run = move || {
            let activity = Arc::new(Activity::new());
            activity.tid.store(current_tid(), Ordering::Relaxed);
            lock(&self.state).beside.push(Arc::clone(&activity));
            run_quietly(runner);
            lock(&self.state)
                .beside
                .retain(|other| !Arc::ptr_eq(other, &activity));
            self.beside.fetch_sub(1, Ordering::SeqCst);
            // The next queued isolate's turn, if the pool is still stuck.
            // Not under loom 0.7, which loses an unpark that reaches a
            // thread waiting for a lock (tokio-rs/loom#249): this look's
            // locks, taken after the job's wake-ups, made a model report
            // that as a deadlock.
            #[cfg(not(loom))]
            self.keep_going_for_blind_waits();
        };
        match spawn_thread(name, self.config.stack_size, run) {
            Ok(()) => Ok(()),
            Err(_) => {
                self.beside.fetch_sub(1, Ordering::SeqCst);
                Err(job)
            }
        }
    }

    /// No thread could be started: if none is left to run the queue, fail
    /// what is queued rather than let it wait forever.
    fn fail_if_no_threads(&self, error: io::Error) {
        let state = lock(&self.state);
        if state.threads > 0 {
            return;
        }
        drop(state);
        while let Some(job) = self.queue.pop() {
            job.fail_to_start(io::Error::new(error.kind(), error.to_string()));
        }
    }

    /// A thread's life: run jobs, spin a little when there are none, sleep,
    /// retire after `keep_alive` with nothing to do.
    fn work(&'static self, activity: Arc<Activity>) {
        activity.tid.store(current_tid(), Ordering::Relaxed);
        let _ =
            POOL_THREAD.try_with(|slot| *slot.borrow_mut() = Some((self, Arc::clone(&activity))));
        lock(&self.state).starting -= 1;
        loop {
            while let Some(job) = self.find_job() {
                self.after_take();
                let jobs = activity.jobs.load(Ordering::Relaxed);
                activity.jobs.store(jobs + 1, Ordering::Relaxed);
                run_quietly(job);
                activity.jobs.store(jobs + 2, Ordering::Relaxed);
            }
            if !self.sleep(&activity) {
                break;
            }
        }
    }

    /// Takes a job, spinning for a while if there is none and few others spin.
    fn find_job(&'static self) -> Option<Job> {
        if let Some(job) = self.queue.pop() {
            return Some(job);
        }
        // Beside busy neighbours a spinner loses its core and delays the
        // job it spins for; a sleeper is woken at once.
        if self.spinning.load(Ordering::Relaxed) >= self.max_spinners {
            return None;
        }
        self.spinning.fetch_add(1, Ordering::SeqCst);
        let found = self.spin();
        self.spinning.fetch_sub(1, Ordering::SeqCst);
        // One last look after leaving the spinners: a submit that saw this
        // thread spinning relies on it (the fence pairs with `submit`'s).
        found.or_else(|| {
            fence(Ordering::SeqCst);
            self.queue.pop()
        })
    }

    fn spin(&self) -> Option<Job> {
        let start = Instant::now();
        // Under loom a spin is one look: every spin would be an interleaving.
        let busy_rounds = if cfg!(loom) { 0 } else { 6 };
        let mut round = 0_u32;
        loop {
            if let Some(job) = self.queue.pop() {
                return Some(job);
            }
            if round < busy_rounds {
                for _ in 0..(1 << round) {
                    spin_loop();
                }
                round += 1;
            } else {
                yield_now();
                if spun_for(start, SPIN_TIME) {
                    return None;
                }
            }
        }
    }

    /// Sleeps until woken for work; returns `false` when the thread should
    /// retire (after `keep_alive` with nothing to do).
    fn sleep(&self, activity: &Arc<Activity>) -> bool {
        let mut state = lock(&self.state);
        // A keep-alive too long to add to now means: never retire.
        let deadline = Instant::now().checked_add(self.config.keep_alive);
        loop {
            if !self.queue.is_empty() {
                return true;
            }
            let now = Instant::now();
            if self.keep_alive_ran_out(deadline, now) || self.is_closed() {
                // Under the lock that saw the queue empty: a submit either
                // came before (and the queue was not empty) or finds this
                // thread gone and starts another.
                self.forget_thread(&mut state, activity);
                return false;
            }
            state.sleeping += 1;
            self.saturated.store(false, Ordering::Relaxed);
            state = match deadline {
                Some(deadline) => match self.wakeup.wait_timeout(state, deadline - now) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                },
                None => match self.wakeup.wait(state) {
                    Ok(guard) => guard,
                    Err(poisoned) => poisoned.into_inner(),
                },
            };
            state.sleeping -= 1;
            if state.notified > 0 {
                state.notified -= 1;
                return true;
            }
        }
    }

    /// The monitor: while work is queued, every tick it wakes sleepers for
    /// it, starts threads up to one per core, and starts one more thread for
    /// each thread that has been on the same job since the last tick and is
    /// blocked (the kernel is asked about a sample of them, and the count
    /// scaled), up to `max_threads`. It is also the
    /// safety net of the fan-out: queued work never waits longer than a tick
    /// for a thread that could run it.
    fn monitor(&'static self) {
        let mut rotation = 0_usize;
        let mut tick = MONITOR_TICK;
        loop {
            {
                let mut state = lock(&self.state);
                while state.monitor != MonitorState::Watching {
                    state = match self.monitor_wakeup.wait(state) {
                        Ok(guard) => guard,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                }
            }
            std::thread::sleep(tick);
            let mut state = lock(&self.state);
            let queued = self.queue.len();
            if queued == 0 {
                state.monitor = MonitorState::Waiting;
                self.saturated.store(false, Ordering::Relaxed);
                tick = MONITOR_TICK;
                continue;
            }
            let wake = state.sleeping.saturating_sub(state.notified).min(queued);
            state.notified += wake;
            for _ in 0..wake {
                self.wakeup.notify_one();
            }
            // Threads blocked in the crate's own waits are counted already.
            let stuck: Vec<Arc<Activity>> = state
                .activities
                .iter()
                .filter(|activity| activity.is_stuck() && !activity.waiting.load(Ordering::Relaxed))
                .cloned()
                .collect();
            drop(state);
            // Ask the kernel about a few stuck threads only, outside the
            // lock (each question reads a small file), and scale up.
            let sample = stuck.len().min(MONITOR_SAMPLE);
            let blocked_in_sample = (0..sample)
                .filter(|i| stuck[(rotation + i) % stuck.len()].is_blocked())
                .count();
            rotation = rotation.wrapping_add(sample);
            let blocked = match sample {
                0 => 0,
                _ => (stuck.len() * blocked_in_sample).div_ceil(sample),
            };
            // At a stalled pool, a blind wait that another executor parked
            // (see `PendingWait`) is found here, where no event of the
            // pool's would find it: the oldest queued isolate gets a thread
            // beside the pool while none there runs (one that runs looks
            // again when it ends).
            if self.every_thread_beside_blocked() && self.keep_going_for_blind_waits() {
                tick = MONITOR_TICK;
                continue;
            }
            let mut state = lock(&self.state);
            // Aim at one running thread per core: every blocked thread is
            // owed one thread, and the threads started for it on earlier
            // ticks are already in `threads`.
            let wanted_threads = self.cores + self.blocked.load(Ordering::SeqCst) + blocked;
            let room = self
                .config
                .max_threads
                .saturating_sub(state.threads)
                .min(queued - wake);
            let wanted = wanted_threads.saturating_sub(state.threads).min(room);
            tick = if wake + wanted == 0 {
                (tick * 2).min(MONITOR_MAX_TICK)
            } else {
                MONITOR_TICK
            };
            for _ in 0..wanted {
                if self.start_thread(state).is_err() {
                    break;
                }
                state = lock(&self.state);
            }
        }
    }

    /// Whether an idle thread's keep-alive, which ends at `deadline`, has
    /// run out at `now`; under loom, whether the model's clock says so.
    fn keep_alive_ran_out(&self, deadline: Option<Instant>, now: Instant) -> bool {
        #[cfg(loom)]
        {
            let _ = (deadline, now);
            self.keep_alive_expired.load(Ordering::SeqCst)
        }
        #[cfg(not(loom))]
        deadline.is_some_and(|deadline| now >= deadline)
    }

    /// The loom models' clock: the keep-alive runs out now, as a timed wait
    /// would time out.
    #[cfg(all(loom, test))]
    pub(crate) fn expire_keep_alive(&self) {
        self.keep_alive_expired.store(true, Ordering::SeqCst);
        let _state = lock(&self.state);
        self.wakeup.notify_all();
    }

    /// Whether `shutdown` was called (never, outside the loom models).
    fn is_closed(&self) -> bool {
        #[cfg(loom)]
        return self.closed.load(Ordering::SeqCst);
        #[cfg(not(loom))]
        false
    }

    /// Lets idle threads end; for the loom models, where every thread must
    /// end. Checked under the state lock by `sleep`, so no sleeper misses it.
    #[cfg(all(loom, test))]
    pub(crate) fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _state = lock(&self.state);
        self.wakeup.notify_all();
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let state = lock(&self.state);
        PoolStats {
            threads: state.threads,
            idle: state.sleeping + self.spinning.load(Ordering::Relaxed),
            queued: self.queue.len(),
        }
    }
}

/// Undoes a pool thread's count unless the thread started: whether the start
/// failed with an error or unwound.
struct UndoStart {
    pool: &'static Pool,
    activity: Option<Arc<Activity>>,
}

impl UndoStart {
    fn finish(mut self, started: bool) {
        let activity = self.activity.take();
        let mut state = lock(&self.pool.state);
        self.pool.start_failed.store(!started, Ordering::SeqCst);
        if let (false, Some(activity)) = (started, activity) {
            state.starting -= 1;
            self.pool.forget_thread(&mut state, &activity);
        }
    }
}

impl Drop for UndoStart {
    fn drop(&mut self) {
        if let Some(activity) = self.activity.take() {
            let mut state = lock(&self.pool.state);
            self.pool.start_failed.store(true, Ordering::SeqCst);
            state.starting -= 1;
            self.pool.forget_thread(&mut state, &activity);
        }
    }
}
