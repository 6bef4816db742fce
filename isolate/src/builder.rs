//! Starting isolates: [`run`], and [`Builder`], the one set of options that
//! every kind of isolate shares (a plain one, one with progress, a worker, a
//! service's threads).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::body::Body;
use crate::channel::{self, Receiver, Sender};
use crate::long_running::lifecycle::{Exit, Listeners, SharedExitListener};
use crate::message::Message;
use crate::name::Name;
use crate::pool::threads as pool;
use crate::sync::Arc;
use crate::task::deadline;
use crate::task::handle::IsolateHandle;
use crate::task::header::Runnable;
use crate::task::panic::install_hook;
use crate::task::state::{run_quietly, Outcome, Task};

/// How many messages a long-running isolate's inbox (and a worker's outbox)
/// holds by default before a send waits.
pub(crate) const DEFAULT_CAPACITY: usize = 64;

/// Runs `body` on an isolate (a thread of the shared pool) and returns a
/// handle to its result: `Builder::new().run(body)`.
///
/// This is Dart's `Isolate.run(f)`: the closure and what it captures move to
/// the isolate, and every failure (a panic, a cancellation, a timeout, a
/// failure to start) comes back as an [`IsolateError`](crate::IsolateError).
/// The body is a closure, or an [`Async`](crate::Async) closure that returns
/// a future; wrap it in [`Fold`](crate::Fold) to make its `Result` the
/// handle's own error (see [`Body`]).
///
/// # Examples
///
/// ```
/// use isolate::{Async, Fold};
///
/// let words = vec!["isolate", "run", "join"];
/// let longest = isolate::run(move || words.into_iter().max_by_key(|w| w.len()));
/// assert_eq!(longest.join().unwrap(), Some("isolate"));
///
/// let parsed = isolate::run(Fold(|| "42".parse::<u32>()));
/// assert_eq!(parsed.join().unwrap(), 42);
///
/// let awaited = isolate::run(Async(|| async { 2 + 2 }));
/// assert_eq!(awaited.join().unwrap(), 4);
/// ```
pub fn run<B: Body<()>>(body: B) -> IsolateHandle<B::Output, B::Error> {
    Builder::new().run(body)
}

/// Options for an isolate of any kind: its name and thread, its time limit,
/// and, for long-running ones, their inbox, exit listeners and paused start.
///
/// | option | plain, progress, set | worker | service |
/// | --- | --- | --- | --- |
/// | [`name`](Self::name), [`stack_size`](Self::stack_size) | yes | yes | yes (each thread) |
/// | [`dedicated`](Self::dedicated) | yes | always | always |
/// | [`timeout`](Self::timeout) | yes | ignored | ignored |
/// | [`capacity`](Self::capacity) | ignored | both directions | each thread's inbox |
/// | [`on_exit`](Self::on_exit), [`start_paused`](Self::start_paused) | ignored | yes | yes |
///
/// Start with [`run`](Self::run), [`run_with_progress`](Self::run_with_progress),
/// [`spawn`](Self::spawn) (a [`Worker`](crate::Worker)) or
/// [`service`](Self::service) (a [`Service`](crate::Service)).
///
/// # Examples
///
/// ```
/// let handle = isolate::Builder::new()
///     .name("indexer")
///     .dedicated()
///     .run(|| std::thread::current().name().map(str::to_owned));
/// // A dedicated isolate's thread carries its name.
/// assert_eq!(handle.join().unwrap().as_deref(), Some("indexer"));
/// ```
#[derive(Clone)]
#[must_use = "a Builder does nothing until .run(), .run_with_progress(), .spawn() or .service() is called"]
pub struct Builder {
    name: Option<Name>,
    stack_size: Option<usize>,
    dedicated: bool,
    timeout: Option<Duration>,
    /// A long-running isolate's inbox capacity; `None` (from `usize::MAX`)
    /// is unbounded.
    capacity: Option<usize>,
    on_exit: Vec<SharedExitListener>,
    paused: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            name: None,
            stack_size: None,
            dedicated: false,
            timeout: None,
            capacity: Some(DEFAULT_CAPACITY),
            on_exit: Vec::new(),
            paused: false,
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("stack_size", &self.stack_size)
            .field("dedicated", &self.dedicated)
            .field("timeout", &self.timeout)
            .field("capacity", &self.capacity)
            .field("on_exit", &self.on_exit.len())
            .field("paused", &self.paused)
            .finish()
    }
}

impl Builder {
    /// A builder for an unnamed isolate on the shared pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().run(|| 5);
    /// assert_eq!(handle.join().unwrap(), 5);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the isolate: the name is readable inside it
    /// ([`current_name`](crate::current_name)), from its handle, and in the
    /// errors it reports; a dedicated isolate's thread carries it.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().name(format!("job-{}", 7)).run(|| ());
    /// assert_eq!(handle.name(), "job-7");
    /// # handle.join().unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(Name::from(name.into()));
        self
    }

    /// Runs the isolate on a thread of its own instead of the shared pool,
    /// for long or blocking work that should not hold a pool thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().dedicated().run(|| "own thread");
    /// assert_eq!(handle.join().unwrap(), "own thread");
    /// ```
    pub fn dedicated(mut self) -> Self {
        self.dedicated = true;
        self
    }

    /// Sets the stack size, in bytes, of the isolate's thread. A stack size
    /// implies [`dedicated`](Self::dedicated): pool threads share one size,
    /// set by [`PoolBuilder::stack_size`](crate::PoolBuilder::stack_size).
    ///
    /// # Examples
    ///
    /// ```
    /// fn depth(n: u64) -> u64 { if n == 0 { 0 } else { 1 + depth(n - 1) } }
    ///
    /// let handle = isolate::Builder::new().stack_size(64 << 20).run(|| depth(100_000));
    /// assert_eq!(handle.join().unwrap(), 100_000);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Limits how long the isolate may run, counted from when it *starts
    /// running*: time spent queued behind other isolates does not count.
    ///
    /// When the limit passes, the isolate is cancelled, as by
    /// [`IsolateHandle::cancel`]: a synchronous isolate sees
    /// [`is_cancelled`](crate::is_cancelled) turn `true` and should return
    /// soon; an async isolate has its future dropped at once. Its result is
    /// then [`IsolateError::TimedOut`](crate::IsolateError::TimedOut), whatever it returned after the limit
    /// (a panic is still reported as the panic). One timer thread serves
    /// every deadline of the process.
    ///
    /// [`IsolateHandle::join_timeout`] is the other kind of limit: it counts
    /// from the call, and bounds how long the *caller* waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let slow = isolate::Builder::new()
    ///     .timeout(Duration::from_millis(20))
    ///     .run(|| {
    ///         while !isolate::is_cancelled() {
    ///             std::thread::yield_now(); // a long computation that checks now and then
    ///         }
    ///     });
    /// assert!(matches!(slow.join().unwrap_err(), isolate::IsolateError::TimedOut { .. }));
    ///
    /// let quick = isolate::Builder::new().timeout(Duration::from_secs(60)).run(|| 7);
    /// assert_eq!(quick.join().unwrap(), 7);
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// How many messages a long-running isolate's inbox holds before a send
    /// waits (back-pressure): both directions of a worker, each thread's
    /// inbox of a service. A capacity of 0 is taken as 1. The default is 64;
    /// `usize::MAX` is no limit (Dart's ports): a send never waits, and the
    /// inbox takes memory only for what it holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Builder::new().capacity(1).spawn(|port: isolate::Port<u8, ()>| {
    ///     port.recv().ok()
    /// });
    /// worker.send(1).unwrap();
    /// assert_eq!(worker.into_handle().join().unwrap(), Some(1));
    ///
    /// let worker = isolate::Builder::new()
    ///     .capacity(usize::MAX)
    ///     .start_paused() // nothing reads until `start`
    ///     .spawn(|port: isolate::Port<u32, ()>| port.into_parts().0.iter().count());
    /// for i in 0..10_000 {
    ///     worker.sender().try_send(i).unwrap(); // never full
    /// }
    /// worker.start();
    /// assert_eq!(worker.into_handle().join().unwrap(), 10_000);
    /// ```
    pub fn capacity(mut self, messages: usize) -> Self {
        self.capacity = (messages != usize::MAX).then_some(messages);
        self
    }

    /// Calls `listener` when a long-running isolate ends (for a service,
    /// each of its threads), with how it ended, registered before it exists
    /// (Dart's `onExit` argument of `Isolate.spawn`): nothing it does can
    /// come before it. Every isolate this builder (or a clone) starts calls
    /// it once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// # isolate::print_panics(false);
    /// let worker = isolate::Builder::new()
    ///     .on_exit(move |exit| tx.send(exit).unwrap())
    ///     .spawn(|_: isolate::Port<(), ()>| panic!("at once"));
    /// assert_eq!(rx.recv().unwrap(), isolate::Exit::Panicked);
    /// # drop(worker);
    /// ```
    pub fn on_exit(mut self, listener: impl Fn(Exit) + Send + Sync + 'static) -> Self {
        self.on_exit.push(Arc::new(listener));
        self
    }

    /// Starts a long-running isolate paused (Dart's `Isolate.spawn(paused:
    /// true)`): its threads start, but its body (a service: its states) runs
    /// only once `start` is called ([`Worker::start`](crate::Worker::start),
    /// [`Service::start`](crate::Service::start)), so listeners (typed error
    /// listeners included) can be added before anything can fail. Messages
    /// sent meanwhile queue in its inbox. A kill, a join or dropping it
    /// starts it too.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let worker = isolate::Builder::new()
    ///     .start_paused()
    ///     .spawn(|_: isolate::Port<(), ()>| panic!("at once"));
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// worker.on_error(move |error| tx.send(error.to_string()).unwrap());
    /// worker.start();
    /// assert!(rx.recv().unwrap().contains("at once")); // cannot be missed
    /// ```
    pub fn start_paused(mut self) -> Self {
        self.paused = true;
        self
    }

    /// Runs `body` on an isolate with these options; see [`run`](crate::run).
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().name("sum").run(|| 2 + 2);
    /// assert_eq!(handle.join().unwrap(), 4);
    /// ```
    pub fn run<B: Body<()>>(self, body: B) -> IsolateHandle<B::Output, B::Error> {
        self.spawn_job(move || body.__run(())).0
    }

    /// The isolate's name, shared; `<unnamed>` if none was given.
    pub(crate) fn name_or_default(&self) -> Name {
        self.name.clone().unwrap_or_default()
    }

    /// Whether a long-running isolate built from this starts paused.
    pub(crate) fn paused(&self) -> bool {
        self.paused
    }

    /// The exit and error listeners of a long-running isolate with
    /// `threads` threads, the builder's exit listeners registered.
    pub(crate) fn listeners<E>(&self, threads: usize) -> Arc<Listeners<E>> {
        let listeners = Arc::new(Listeners::new(threads));
        for listener in &self.on_exit {
            let listener = Arc::clone(listener);
            listeners.add_exit(Box::new(move |exit| listener(exit)));
        }
        listeners
    }

    /// One inbox of a long-running isolate, of the builder's capacity.
    pub(crate) fn channel<M: Message>(&self) -> (Sender<M>, Receiver<M>) {
        match self.capacity {
            Some(capacity) => channel::bounded(capacity),
            None => channel::unbounded(),
        }
    }

    /// The options of one thread of a long-running isolate: dedicated, with
    /// the builder's name and stack size, no time limit.
    pub(crate) fn thread(&self) -> Builder {
        Builder {
            name: self.name.clone(),
            stack_size: self.stack_size,
            dedicated: true,
            ..Builder::default()
        }
    }

    pub(crate) fn spawn_job<J, T, E>(self, job: J) -> (IsolateHandle<T, E>, bool)
    where
        J: FnOnce() -> Outcome<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        // Two paths, so that an isolate without a limit carries none (a
        // queued isolate stays about 200 bytes).
        match self.timeout {
            Some(limit) => self.start_job(deadline::limit(limit, job)),
            None => self.start_job(job),
        }
    }

    fn start_job<J, T, E>(self, job: J) -> (IsolateHandle<T, E>, bool)
    where
        J: FnOnce() -> Outcome<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        install_hook();
        let dedicated = self.dedicated || self.stack_size.is_some();
        let name = self.name.unwrap_or_default();
        #[cfg(feature = "tracing")]
        let job = crate::tracing_support::in_caller_context(&name, job);
        let task = Task::new(job, name.clone(), !dedicated);
        let handle = IsolateHandle::new(task.clone());
        let started = if dedicated {
            spawn_dedicated(task, &name, self.stack_size)
        } else {
            match pool::global() {
                Ok(pool) => {
                    pool.submit(task);
                    true
                }
                Err(error) => {
                    task.fail_to_start(error);
                    false
                }
            }
        };
        (handle, started)
    }
}

/// Starts a thread for one isolate, named after it; `false` if it could not.
fn spawn_dedicated(task: Arc<dyn Runnable>, name: &str, stack_size: Option<usize>) -> bool {
    // A thread name cannot hold a NUL byte; the isolate keeps its real name.
    let mut thread = std::thread::Builder::new().name(name.replace('\0', " "));
    if let Some(bytes) = stack_size {
        thread = thread.stack_size(bytes);
    }
    let runner = Arc::clone(&task);
    match thread.spawn(move || run_quietly(runner)) {
        Ok(_) => true,
        Err(error) => {
            task.fail_to_start(error);
            false
        }
    }
}
