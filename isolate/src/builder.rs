//! Starting isolates: the free functions `run`, `try_run`, `run_async`, and
//! `Builder` for per-isolate options.

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use crate::name::Name;
use crate::pool::block_on::block_on;
use crate::pool::threads as pool;
use crate::sync::Arc;
use crate::task::deadline;
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::header::Runnable;
use crate::task::panic::install_hook;
use crate::task::state::{run_quietly, Outcome, Task};

/// Runs `f` on an isolate (a thread of the shared pool) and returns a handle
/// to its result.
///
/// This is Dart's `Isolate.run(f)`: the closure and what it captures move to
/// the isolate, and every failure (a panic, a cancellation, a timeout, a
/// failure to start) comes back as an [`IsolateError`].
///
/// # Examples
///
/// ```
/// let words = vec!["isolate", "run", "join"];
/// let longest = isolate::run(move || words.into_iter().max_by_key(|w| w.len()));
/// assert_eq!(longest.join().unwrap(), Some("isolate"));
/// ```
pub fn run<F, R>(f: F) -> IsolateHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Builder::new().run(f)
}

/// Runs `f`, which returns a `Result`, on an isolate: its `Err(e)` comes back
/// as [`IsolateError::Failed(e)`](IsolateError::Failed), folded with every
/// other failure into one `Result`.
///
/// # Examples
///
/// ```
/// use isolate::IsolateError;
///
/// let parsed = isolate::try_run(|| "12".parse::<u8>()).join();
/// assert_eq!(parsed.unwrap(), 12);
///
/// let failed = isolate::try_run(|| "1200".parse::<u8>()).join();
/// assert!(matches!(failed, Err(IsolateError::Failed(_))));
/// ```
pub fn try_run<F, T, E>(f: F) -> IsolateHandle<T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    Builder::new().try_run(f)
}

/// Creates a future with `f` on an isolate and drives it to completion there.
///
/// Only `f` and the output cross threads: the future itself is created and
/// polled on the isolate's thread and never moves, so it need **not** be
/// `Send`. It may hold an `Rc` or a `RefCell` borrow across an `.await`,
/// which `tokio::spawn` rejects. It runs on a plain executor, not inside an
/// async runtime: futures that need a runtime's reactor or timers (tokio's
/// I/O types, `tokio::time::sleep`) need one of their own inside `f`.
///
/// Cancelling an async isolate is not only cooperative: its future is
/// dropped before its next poll. If the future is pending and every waker it
/// handed out has been dropped, nothing can resume it, and the isolate ends
/// with [`IsolateError::EndedWithoutResult`] instead of hanging.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// let handle = isolate::run_async(|| async {
///     let shared = Rc::new(20); // not Send, and held across an await
///     let more = isolate::run(|| 1).await.unwrap();
///     *shared + more
/// });
/// assert_eq!(handle.join().unwrap(), 21);
/// ```
pub fn run_async<F, Fut>(f: F) -> IsolateHandle<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    Builder::new().run_async(f)
}

/// Options for one isolate: its name, a dedicated thread, a stack size.
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
#[derive(Clone, Debug, Default)]
#[must_use = "a Builder does nothing until .run(), .try_run() or .run_async() is called"]
pub struct Builder {
    name: Option<Name>,
    stack_size: Option<usize>,
    dedicated: bool,
    timeout: Option<Duration>,
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

    /// Names the isolate with a name already shared (no new allocation).
    pub(crate) fn named(mut self, name: Name) -> Self {
        self.name = Some(name);
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
    /// then [`IsolateError::TimedOut`], whatever it returned after the limit
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
    /// assert!(slow.join().unwrap_err().is_timeout());
    ///
    /// let quick = isolate::Builder::new().timeout(Duration::from_secs(60)).run(|| 7);
    /// assert_eq!(quick.join().unwrap(), 7);
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Runs `f` on an isolate with these options; see [`run`](crate::run).
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().name("sum").run(|| 2 + 2);
    /// assert_eq!(handle.join().unwrap(), 4);
    /// ```
    pub fn run<F, R>(self, f: F) -> IsolateHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn(move || Ok(f()))
    }

    /// Runs `f`, folding its `Err`, with these options; see
    /// [`try_run`](crate::try_run).
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().name("parse").try_run(|| "7".parse::<i32>());
    /// assert_eq!(handle.join().unwrap(), 7);
    /// ```
    pub fn try_run<F, T, E>(self, f: F) -> IsolateHandle<T, E>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.spawn(move || f().map_err(IsolateError::Failed))
    }

    /// Drives the future made by `f` on an isolate with these options; see
    /// [`run_async`](crate::run_async).
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().name("fetch").run_async(|| async { 40 + 2 });
    /// assert_eq!(handle.join().unwrap(), 42);
    /// ```
    pub fn run_async<F, Fut>(self, f: F) -> IsolateHandle<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        self.spawn(move || block_on(f()))
    }

    /// Like [`try_run`](Self::try_run) for an async function returning a
    /// `Result`: the `Err` is folded.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().try_run_async(|| async { "x".parse::<u8>() });
    /// assert!(handle.join().unwrap_err().is_failed());
    /// ```
    pub fn try_run_async<F, Fut, T, E>(self, f: F) -> IsolateHandle<T, E>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.spawn(move || block_on(f())?.map_err(IsolateError::Failed))
    }

    fn spawn<J, T, E>(self, job: J) -> IsolateHandle<T, E>
    where
        J: FnOnce() -> Outcome<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.spawn_job(job).0
    }

    /// Starts `job` on an isolate; the flag is `false` when no thread could
    /// be started (the handle then holds the `Spawn` error).
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
