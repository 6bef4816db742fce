//! `Service`: request/response over long-running workers. Each request
//! carries its own reply slot (a [`Promise`]), so replies reach the right
//! caller however many callers share the workers, and each caller waits on
//! an ordinary [`IsolateHandle`].
//!
//! # Design
//!
//! Every worker thread has its own bounded inbox; the service picks one per
//! request (round-robin, or the one with the fewest requests in flight).
//! The loop, owned by the runtime, builds the worker's state once, then
//! takes one envelope at a time: a request (run the handler, catch its
//! panic, fulfil the promise) or a ping (answered once everything sent
//! before it is handled). Pausing holds the loop between envelopes. A
//! worker that ends for any reason closes and drains its inbox, so no
//! queued caller waits forever: each gets `EndedWithoutResult` (or
//! `Cancelled` after a kill).

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::channel::{Receiver, Sender, TrySendError};
use crate::context::{self, ExitSignal};
use crate::error::IsolateError;
use crate::handle::IsolateHandle;
use crate::lifecycle::{Exit, Listeners};
use crate::long_running::Options;
use crate::message::Message;
use crate::name::Name;
use crate::panic::{clear_recorded, Panic};
use crate::promise::Promise;
use crate::sync::{lock, Arc, AtomicUsize, Condvar, Mutex, Ordering};
use crate::task::{drop_quietly, Outcome};
use crate::worker::run_reporting;

/// How a [`Service`] with several workers picks one for a request.
///
/// # Examples
///
/// ```
/// use isolate::{Dispatch, Service};
///
/// let service = Service::builder()
///     .workers(2)
///     .dispatch(Dispatch::RoundRobin)
///     .spawn(|| (), |_: &mut (), n: u32| n + 1);
/// assert_eq!(service.request(1).join().unwrap(), 2);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dispatch {
    /// The worker with the fewest requests queued or running (ties go to
    /// the first): slow requests do not hold up quick ones behind them.
    #[default]
    LeastLoaded,
    /// Each worker in turn.
    RoundRobin,
}

/// A long-running request/response worker, or a pool of identical ones,
/// behind one cloneable handle.
///
/// Each worker builds its state once, on its own thread (a parser, a model,
/// a connection: it need not be `Send`), then answers requests with it. Every
/// request gets its own reply as an [`IsolateHandle`]: join it, give it a
/// timeout, `.await` it, or drop it to withdraw the request. The handler's
/// `Err`, its panic, a killed or ended worker all arrive as one
/// [`IsolateError`], as for a one-shot isolate.
///
/// Dropping the last clone of the service closes the inboxes: the workers
/// answer what is queued, then end. [`join`](Self::join) does the same and
/// waits; [`kill`](Self::kill) stops them at once.
///
/// A worker handles its requests one at a time, in the order they reached
/// its inbox: with one worker, the requests of one caller are answered in
/// the order sent. A handler that sends a request to its own service and
/// waits for the reply waits for itself when no other worker is free: do
/// not.
///
/// # Examples
///
/// ```
/// use isolate::Service;
/// use std::collections::HashMap;
///
/// // State that is costly to build: built once, on the worker's thread.
/// let lookup = Service::spawn(
///     || HashMap::from([("one", 1), ("two", 2)]),
///     |table: &mut HashMap<&str, i32>, key: String| table.get(key.as_str()).copied(),
/// );
/// assert_eq!(lookup.request("two".to_owned()).join().unwrap(), Some(2));
///
/// // Many callers share it; each gets its own reply.
/// let callers: Vec<_> = (0..4)
///     .map(|_| {
///         let lookup = lookup.clone();
///         std::thread::spawn(move || lookup.request("one".to_owned()).join().unwrap())
///     })
///     .collect();
/// for caller in callers {
///     assert_eq!(caller.join().unwrap(), Some(1));
/// }
/// ```
#[must_use = "dropping the last Service handle closes it: its workers answer what is queued, then end"]
pub struct Service<Req, Resp, E = Infallible> {
    shared: Arc<Shared<Req, Resp, E>>,
}

/// Options for a [`Service`]: name, workers and dispatch, inbox capacity,
/// stack size, whether a panic ends a worker.
///
/// # Examples
///
/// ```
/// let service = isolate::Service::builder()
///     .name("hasher")
///     .workers(2)
///     .capacity(16)
///     .errors_are_fatal(false)
///     .spawn(|| (), |_: &mut (), data: Vec<u8>| data.len());
/// assert_eq!(service.request(vec![1, 2, 3]).join().unwrap(), 3);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a ServiceBuilder does nothing until .spawn() or .try_spawn() is called"]
pub struct ServiceBuilder {
    options: Options,
    workers: usize,
    dispatch: Dispatch,
    errors_are_fatal: bool,
}

/// Holds a [`Service`] paused until dropped (or [`resume`](Self::resume)d):
/// its workers finish the request in hand, then take no other until every
/// pause is over. Requests queue meanwhile, up to the inbox capacity.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
/// let paused = service.pause();
/// let reply = service.request(1);
/// assert!(reply.join_timeout(Duration::from_millis(20)).unwrap_err().is_timeout());
/// paused.resume();
/// assert_eq!(service.request(2).join().unwrap(), 2);
/// ```
#[must_use = "a service stays paused only while the Paused guard lives"]
pub struct Paused {
    gate: Arc<PauseGate>,
}

struct Shared<Req, Resp, E> {
    name: Name,
    inboxes: Vec<Inbox<Req, Resp, E>>,
    dispatch: Dispatch,
    turn: AtomicUsize,
    killed: std::sync::atomic::AtomicBool,
    gate: Arc<PauseGate>,
    listeners: Arc<Listeners<E>>,
    /// The workers' outcomes, taken by the first `join`.
    handles: Mutex<Vec<IsolateHandle<(), E>>>,
}

struct Inbox<Req, Resp, E> {
    sender: Sender<Envelope<Req, Resp, E>>,
    /// Requests sent to this worker and not yet answered.
    load: Arc<AtomicUsize>,
}

enum Envelope<Req, Resp, E> {
    Request {
        request: Req,
        promise: Promise<Resp, E>,
        /// Counts the request in the load of the inbox it was sent to.
        load: Option<LoadToken>,
    },
    Ping(PingTicket),
}

/// One unit of a worker's load, given back when its request is answered or
/// dropped.
struct LoadToken(Arc<AtomicUsize>);

impl LoadToken {
    fn new(load: &Arc<AtomicUsize>) -> Self {
        load.fetch_add(1, Ordering::Relaxed);
        LoadToken(Arc::clone(load))
    }
}

impl<Req, Resp, E> Envelope<Req, Resp, E> {
    /// Addresses the envelope to `inbox`, counting it in that worker's load.
    fn addressed_to(mut self, inbox: &Inbox<Req, Resp, E>) -> Self {
        if let Envelope::Request { load, .. } = &mut self {
            *load = Some(LoadToken::new(&inbox.load));
        }
        self
    }
}

impl Drop for LoadToken {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One worker's part of a ping; the ping is answered when every part has
/// been, and fails if any part is dropped unanswered (its worker ended).
struct PingTicket {
    group: Arc<PingGroup>,
    answered: bool,
}

struct PingGroup {
    promise: Mutex<Option<Promise<(), Infallible>>>,
    failed: std::sync::atomic::AtomicBool,
}

impl Drop for PingTicket {
    fn drop(&mut self) {
        if !self.answered {
            self.group.failed.store(true, Ordering::Relaxed);
        }
    }
}

impl Drop for PingGroup {
    fn drop(&mut self) {
        if let Some(mut promise) = lock(&self.promise).take() {
            if *self.failed.get_mut() {
                drop(promise); // reports EndedWithoutResult
            } else if promise.start() {
                promise.fulfil(Ok(()));
            }
        }
    }
}

/// The pause count and what the workers wait on while it is above zero.
pub(crate) struct PauseGate {
    pauses: Mutex<usize>,
    resumed: Condvar,
}

impl PauseGate {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(PauseGate {
            pauses: Mutex::new(0),
            resumed: Condvar::new(),
        })
    }

    /// Takes one pause, held until the guard is dropped.
    pub(crate) fn pause(self: &Arc<Self>) -> Paused {
        *lock(&self.pauses) += 1;
        Paused {
            gate: Arc::clone(self),
        }
    }

    /// Waits while paused; returns early when `stop` says the worker is
    /// being killed.
    pub(crate) fn wait(&self, stop: impl Fn() -> bool) {
        let mut pauses = lock(&self.pauses);
        while *pauses > 0 && !stop() {
            pauses = self
                .resumed
                .wait(pauses)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    pub(crate) fn wake_all(&self) {
        let _pauses = lock(&self.pauses);
        self.resumed.notify_all();
    }
}

impl Default for ServiceBuilder {
    fn default() -> Self {
        ServiceBuilder {
            options: Options::default(),
            workers: 1,
            dispatch: Dispatch::default(),
            errors_are_fatal: true,
        }
    }
}

impl ServiceBuilder {
    /// Default options: one worker, a 64-request inbox, panics fatal.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::ServiceBuilder::new().spawn(|| 2, |k: &mut i32, n: i32| *k * n);
    /// assert_eq!(service.request(21).join().unwrap(), 42);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the service: its threads, its replies and its errors carry the
    /// name.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().name("geo").spawn(|| (), |_: &mut (), _: ()| ());
    /// assert_eq!(service.name(), "geo");
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.options.set_name(name.into());
        self
    }

    /// How many identical workers serve the requests, each with its own
    /// state (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder()
    ///     .workers(3)
    ///     .spawn(|| (), |_: &mut (), _: ()| std::thread::current().id());
    /// let _thread = service.request(()).join().unwrap();
    /// ```
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// How a request picks a worker; [`Dispatch::LeastLoaded`] unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder()
    ///     .workers(2)
    ///     .dispatch(isolate::Dispatch::RoundRobin)
    ///     .spawn(|| (), |_: &mut (), n: u8| n);
    /// # drop(service);
    /// ```
    pub fn dispatch(mut self, dispatch: Dispatch) -> Self {
        self.dispatch = dispatch;
        self
    }

    /// How many requests each worker's inbox holds before
    /// [`request`](Service::request) waits (back-pressure). 0 is taken as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().capacity(1).spawn(|| (), |_: &mut (), n: u8| n);
    /// assert_eq!(service.request(1).join().unwrap(), 1);
    /// ```
    pub fn capacity(mut self, requests: usize) -> Self {
        self.options.capacity = Some(requests);
        self
    }

    /// Lets the inboxes hold any number of requests: a request never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().unbounded().spawn(|| (), |_: &mut (), n: u8| n);
    /// assert_eq!(service.request(1).join().unwrap(), 1);
    /// ```
    pub fn unbounded(mut self) -> Self {
        self.options.capacity = None;
        self
    }

    /// The stack size, in bytes, of each worker's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().stack_size(16 << 20).spawn(|| (), |_: &mut (), n: u8| n);
    /// assert_eq!(service.request(1).join().unwrap(), 1);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.options.stack_size = Some(bytes);
        self
    }

    /// Whether a panic in the handler ends its worker (`true`, the default,
    /// as Dart's `errorsAreFatal`). Either way the panic goes to that
    /// request's caller and to the error listeners; with `false` the worker
    /// goes on with the next request, its state as the panic left it.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let service = isolate::Service::builder()
    ///     .errors_are_fatal(false)
    ///     .spawn(|| (), |_: &mut (), n: u32| 100 / n);
    /// assert!(service.request(0).join().unwrap_err().is_panic());
    /// assert_eq!(service.request(5).join().unwrap(), 20); // still serving
    /// ```
    pub fn errors_are_fatal(mut self, fatal: bool) -> Self {
        self.errors_are_fatal = fatal;
        self
    }

    /// Starts the service; see [`Service::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().spawn(String::new, |log: &mut String, line: String| {
    ///     log.push_str(&line);
    ///     log.len()
    /// });
    /// assert_eq!(service.request("abc".to_owned()).join().unwrap(), 3);
    /// ```
    pub fn spawn<S, Req, Resp>(
        self,
        init: impl Fn() -> S + Send + Sync + 'static,
        handler: impl Fn(&mut S, Req) -> Resp + Send + Sync + 'static,
    ) -> Service<Req, Resp>
    where
        S: 'static,
        Req: Message,
        Resp: Message,
    {
        self.start(init, move |state: &mut S, request| {
            Ok(handler(state, request))
        })
    }

    /// Starts a service whose handler returns a `Result`; see
    /// [`Service::try_spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().try_spawn(|| (), |_: &mut (), s: String| s.parse::<u8>());
    /// assert!(service.request("x".to_owned()).join().unwrap_err().is_failed());
    /// ```
    pub fn try_spawn<S, Req, Resp, E>(
        self,
        init: impl Fn() -> S + Send + Sync + 'static,
        handler: impl Fn(&mut S, Req) -> Result<Resp, E> + Send + Sync + 'static,
    ) -> Service<Req, Resp, E>
    where
        S: 'static,
        Req: Message,
        Resp: Message,
        E: Message,
    {
        self.start(init, handler)
    }

    fn start<S, Req, Resp, E, I, H>(self, init: I, handler: H) -> Service<Req, Resp, E>
    where
        S: 'static,
        Req: Message,
        Resp: Message,
        E: Message,
        I: Fn() -> S + Send + Sync + 'static,
        H: Fn(&mut S, Req) -> Result<Resp, E> + Send + Sync + 'static,
    {
        let name = self.options.name();
        let listeners = Arc::new(Listeners::new(self.workers));
        let gate = PauseGate::new();
        let init = Arc::new(init);
        let handler = Arc::new(handler);
        let mut inboxes = Vec::with_capacity(self.workers);
        let mut handles = Vec::with_capacity(self.workers);
        for _ in 0..self.workers {
            let (sender, receiver) = self.options.channel();
            let worker = WorkerLoop {
                inbox: receiver,
                gate: Arc::clone(&gate),
                listeners: Arc::clone(&listeners),
                errors_are_fatal: self.errors_are_fatal,
                name: name.clone(),
            };
            let (init, handler) = (Arc::clone(&init), Arc::clone(&handler));
            let reporter = Arc::clone(&listeners);
            let job = move || run_reporting(&reporter, move || worker.run(&*init, &*handler));
            let (handle, started) = self.options.thread().spawn_job(job);
            if !started {
                listeners.thread_ended(Exit::FailedToStart);
            }
            inboxes.push(Inbox {
                sender,
                load: Arc::new(AtomicUsize::new(0)),
            });
            handles.push(handle);
        }
        Service {
            shared: Arc::new(Shared {
                name,
                inboxes,
                dispatch: self.dispatch,
                turn: AtomicUsize::new(0),
                killed: std::sync::atomic::AtomicBool::new(false),
                gate,
                listeners,
                handles: Mutex::new(handles),
            }),
        }
    }
}

/// One worker's loop and what it needs besides the user's closures.
struct WorkerLoop<Req: Message, Resp: Message, E: Message> {
    inbox: Receiver<Envelope<Req, Resp, E>>,
    gate: Arc<PauseGate>,
    listeners: Arc<Listeners<E>>,
    errors_are_fatal: bool,
    name: Name,
}

impl<Req: Message, Resp: Message, E: Message> WorkerLoop<Req, Resp, E> {
    fn run<S>(
        self,
        init: &dyn Fn() -> S,
        handler: &dyn Fn(&mut S, Req) -> Result<Resp, E>,
    ) -> Outcome<(), E> {
        // Whatever ends the loop, queued callers hear of it.
        let _drain = Drain(&self.inbox);
        let mut state = init();
        loop {
            let Ok(envelope) = self.inbox.recv() else {
                return if context::is_cancelled() {
                    Err(IsolateError::Cancelled)
                } else {
                    Ok(())
                };
            };
            // A pause taken while this worker waited in `recv` holds the
            // envelope it just received, too.
            self.gate.wait(context::is_cancelled);
            if context::is_cancelled() {
                // The drain answers the rest; this one is answered here.
                if let Envelope::Request { promise, .. } = envelope {
                    promise.cancel();
                }
                return Err(IsolateError::Cancelled);
            }
            match envelope {
                Envelope::Ping(mut ticket) => ticket.answered = true,
                Envelope::Request {
                    request,
                    mut promise,
                    load: _load,
                } => {
                    if !promise.start() {
                        drop_quietly(request); // its caller withdrew it
                        continue;
                    }
                    if let Some(fatal) = self.handle(&mut state, handler, request, promise) {
                        return Err(fatal);
                    }
                }
            }
        }
    }

    /// Answers one request; returns the worker's own error when the handler
    /// panicked and panics are fatal.
    fn handle<S>(
        &self,
        state: &mut S,
        handler: &dyn Fn(&mut S, Req) -> Result<Resp, E>,
        request: Req,
        promise: Promise<Resp, E>,
    ) -> Option<IsolateError<E>> {
        clear_recorded();
        match catch_unwind(AssertUnwindSafe(|| handler(state, request))) {
            Ok(Ok(response)) => promise.fulfil(Ok(response)),
            Ok(Err(error)) => {
                let error = IsolateError::Failed(error);
                self.listeners.report_error(&error);
                promise.fulfil(Err(error));
            }
            Err(payload) if payload.is::<ExitSignal>() => {
                // `exit()` ends the worker, not just the request.
                drop(promise);
                resume_unwind(payload);
            }
            Err(payload) => {
                let panic = Panic::new(payload, self.name.clone());
                let fatal = self
                    .errors_are_fatal
                    .then(|| IsolateError::Panicked(panic.duplicate()));
                let error = IsolateError::Panicked(panic);
                // A fatal panic is reported once, as the worker's own end.
                if fatal.is_none() {
                    self.listeners.report_error(&error);
                }
                promise.fulfil(Err(error));
                return fatal;
            }
        }
        None
    }
}

/// Closes a worker's inbox and answers every envelope left in it, when the
/// worker ends for any reason (a panic while building its state included).
struct Drain<'a, Req: Message, Resp: Message, E: Message>(&'a Receiver<Envelope<Req, Resp, E>>);

impl<Req: Message, Resp: Message, E: Message> Drop for Drain<'_, Req, Resp, E> {
    fn drop(&mut self) {
        self.0.close();
        let killed = context::is_cancelled();
        while let Ok(envelope) = self.0.try_recv() {
            match envelope {
                Envelope::Request {
                    request, promise, ..
                } => {
                    drop_quietly(request);
                    if killed {
                        promise.cancel();
                    }
                }
                Envelope::Ping(ticket) => drop(ticket),
            }
        }
    }
}

impl Service<(), (), Infallible> {
    /// A builder for a service with options: several workers, a capacity,
    /// non-fatal panics.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().workers(2).spawn(|| (), |_: &mut (), n: u8| n);
    /// assert_eq!(service.request(3).join().unwrap(), 3);
    /// ```
    pub fn builder() -> ServiceBuilder {
        ServiceBuilder::new()
    }

    /// Starts a worker on a thread of its own that builds its state with
    /// `init`, then answers each request with `handler`.
    ///
    /// `init` runs on the worker's thread, so the state need not be `Send`.
    /// Requests and responses must be [`Message`]s (`Send + 'static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// // The state is built on the worker and never leaves it: Rc is fine.
    /// let service = isolate::Service::spawn(|| Rc::new(vec![10, 20, 30]), |table: &mut Rc<Vec<i32>>, i: usize| {
    ///     table.get(i).copied()
    /// });
    /// assert_eq!(service.request(1).join().unwrap(), Some(20));
    /// ```
    pub fn spawn<S, Req, Resp>(
        init: impl Fn() -> S + Send + Sync + 'static,
        handler: impl Fn(&mut S, Req) -> Resp + Send + Sync + 'static,
    ) -> Service<Req, Resp>
    where
        S: 'static,
        Req: Message,
        Resp: Message,
    {
        ServiceBuilder::new().spawn(init, handler)
    }

    /// Like [`spawn`](Self::spawn) for a handler that returns a `Result`: its
    /// `Err` reaches the request's caller as [`IsolateError::Failed`] (and
    /// the error listeners); the worker goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// let parse = isolate::Service::try_spawn(|| (), |_: &mut (), text: String| text.parse::<i64>());
    /// assert_eq!(parse.request("-7".to_owned()).join().unwrap(), -7);
    /// assert!(parse.request("seven".to_owned()).join().unwrap_err().is_failed());
    /// ```
    pub fn try_spawn<S, Req, Resp, E>(
        init: impl Fn() -> S + Send + Sync + 'static,
        handler: impl Fn(&mut S, Req) -> Result<Resp, E> + Send + Sync + 'static,
    ) -> Service<Req, Resp, E>
    where
        S: 'static,
        Req: Message,
        Resp: Message,
        E: Message,
    {
        ServiceBuilder::new().try_spawn(init, handler)
    }
}

impl<Req: Message, Resp: Message, E: Message> Service<Req, Resp, E> {
    /// Sends a request, waiting while the chosen worker's inbox is full, and
    /// returns the handle to its reply. Dropping the handle withdraws the
    /// request if it has not started.
    ///
    /// If every worker has ended, the reply is
    /// [`IsolateError::EndedWithoutResult`] at once (or `Cancelled` after a
    /// kill); use [`try_request`](Self::try_request) to get the request back.
    ///
    /// # Examples
    ///
    /// ```
    /// let square = isolate::Service::spawn(|| (), |_: &mut (), n: u64| n * n);
    /// let replies: Vec<_> = (1..=3).map(|n| square.request(n)).collect();
    /// let squares: Vec<u64> = replies.into_iter().map(|r| r.join().unwrap()).collect();
    /// assert_eq!(squares, [1, 4, 9]);
    /// ```
    pub fn request(&self, request: Req) -> IsolateHandle<Resp, E> {
        let (mut envelope, handle) = self.envelope(request);
        for inbox in self.candidates() {
            match inbox.sender.send(envelope.addressed_to(inbox)) {
                Ok(()) => return handle,
                Err(closed) => envelope = closed.into_inner(),
            }
        }
        self.refuse(envelope);
        handle
    }

    /// Sends a request only if a worker's inbox has room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`] (every worker has
    /// ended), with the request.
    ///
    /// # Examples
    ///
    /// ```
    /// let echo = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// match echo.try_request(1) {
    ///     Ok(reply) => assert_eq!(reply.join().unwrap(), 1),
    ///     Err(full) => println!("busy, try later: {}", full.into_inner()),
    /// }
    /// ```
    pub fn try_request(&self, request: Req) -> Result<IsolateHandle<Resp, E>, TrySendError<Req>> {
        let (mut envelope, handle) = self.envelope(request);
        let mut full = false;
        for inbox in self.candidates() {
            match inbox.sender.try_send(envelope.addressed_to(inbox)) {
                Ok(()) => return Ok(handle),
                Err(TrySendError::Full(back)) => {
                    full = true;
                    envelope = back;
                }
                Err(TrySendError::Closed(back)) => envelope = back,
            }
        }
        let request = match envelope {
            Envelope::Request {
                request, promise, ..
            } => {
                drop(handle); // withdraws the promise: nobody waits on it
                drop(promise);
                request
            }
            Envelope::Ping(_) => unreachable!("a request's envelope holds a request"),
        };
        Err(if full {
            TrySendError::Full(request)
        } else {
            TrySendError::Closed(request)
        })
    }

    /// Sends a request, awaiting room in the chosen worker's inbox, then
    /// awaits its reply; works on any executor. Dropping the future withdraws
    /// the request if it has not started.
    ///
    /// # Errors
    ///
    /// As for the handle [`request`](Self::request) returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let double = isolate::Service::spawn(|| (), |_: &mut (), n: i32| n * 2);
    /// let answer = futures::executor::block_on(double.request_async(21));
    /// assert_eq!(answer.unwrap(), 42);
    /// ```
    pub async fn request_async(&self, request: Req) -> Result<Resp, IsolateError<E>> {
        let (mut envelope, handle) = self.envelope(request);
        for inbox in self.candidates() {
            match inbox.sender.send_async(envelope.addressed_to(inbox)).await {
                Ok(()) => return handle.await,
                Err(closed) => envelope = closed.into_inner(),
            }
        }
        self.refuse(envelope);
        handle.await
    }

    /// Answers once every worker has handled every request sent before the
    /// ping: a liveness probe. Give it a deadline with
    /// [`join_timeout`](IsolateHandle::join_timeout): a stuck or paused
    /// worker does not answer; an ended one answers
    /// [`IsolateError::EndedWithoutResult`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// assert!(service.ping().join_timeout(Duration::from_secs(5)).is_ok());
    /// ```
    pub fn ping(&self) -> IsolateHandle<()> {
        let (promise, handle) = Promise::new(self.shared.name.clone());
        let group = Arc::new(PingGroup {
            promise: Mutex::new(Some(promise)),
            failed: std::sync::atomic::AtomicBool::new(false),
        });
        for inbox in &self.shared.inboxes {
            let ticket = PingTicket {
                group: Arc::clone(&group),
                answered: false,
            };
            // A full inbox would make the ping wait like a request; a closed
            // one drops the ticket, which fails the ping.
            let _ = inbox.sender.send(Envelope::Ping(ticket));
        }
        handle
    }

    /// Pauses the service until the returned guard is dropped: each worker
    /// finishes the request in hand and takes no other. Pauses nest.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// {
    ///     let _paused = service.pause();
    ///     // maintenance while no request runs
    /// }
    /// assert_eq!(service.request(1).join().unwrap(), 1);
    /// ```
    pub fn pause(&self) -> Paused {
        self.shared.gate.pause()
    }

    /// Stops every worker now: the inboxes close, queued requests are
    /// answered [`IsolateError::Cancelled`], and the requests in hand see
    /// [`is_cancelled`](crate::is_cancelled) turn `true` (their replies,
    /// if any, still arrive).
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// service.kill();
    /// assert!(service.request(1).join().is_err());
    /// ```
    pub fn kill(&self) {
        self.shared.killed.store(true, Ordering::Relaxed);
        for handle in lock(&self.shared.handles).iter() {
            handle.cancel();
        }
        for inbox in &self.shared.inboxes {
            inbox.sender.close();
        }
        self.shared.gate.wake_all();
    }

    /// Calls `listener` once every worker has ended, with how the first
    /// one that did not complete ended (or [`Exit::Completed`]); at once if
    /// they have all ended already.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// service.on_exit(move |exit| tx.send(exit).unwrap());
    /// drop(service);
    /// assert_eq!(rx.recv().unwrap(), isolate::Exit::Completed);
    /// ```
    pub fn on_exit(&self, listener: impl FnOnce(Exit) + Send + 'static) {
        self.shared.listeners.add_exit(Box::new(listener));
    }

    /// Calls `listener` (on a worker's thread) for each request whose
    /// handler returned `Err` or panicked, and for a worker that ends by a
    /// panic. Each caller still gets its own error.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::try_spawn(|| (), |_: &mut (), s: String| s.parse::<u8>());
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// service.on_error(move |error| tx.send(error.to_string()).unwrap());
    /// let _ = service.request("x".to_owned()).join();
    /// assert_eq!(
    ///     rx.recv().unwrap(),
    ///     "the isolated function returned an error: invalid digit found in string"
    /// );
    /// ```
    pub fn on_error(&self, listener: impl FnMut(&IsolateError<E>) + Send + 'static) {
        self.shared.listeners.add_error(Box::new(listener));
    }

    /// The service's name, `"<unnamed>"` unless given.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().name("s").spawn(|| (), |_: &mut (), _: ()| ());
    /// assert_eq!(service.name(), "s");
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// How many workers serve the requests.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::builder().workers(4).spawn(|| (), |_: &mut (), _: ()| ());
    /// assert_eq!(service.workers(), 4);
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.inboxes.len()
    }

    /// How many requests are queued or running, over all workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), _: ()| ());
    /// service.request(()).join().unwrap();
    /// assert_eq!(service.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.shared
            .inboxes
            .iter()
            .map(|inbox| inbox.load.load(Ordering::Relaxed))
            .sum()
    }

    /// Closes the service (for every clone): the workers answer what is
    /// queued and end. Waits for them, and returns the failure of the first
    /// worker, in worker order, that did not end cleanly: a fatal panic, a
    /// panic while building its state, `Cancelled` after a kill. (The
    /// [`on_exit`](Self::on_exit) listener hears of the first in time.) Another clone that joined first got the
    /// outcomes; this one then returns `Ok(())`.
    ///
    /// # Errors
    ///
    /// How the first worker that did not end cleanly ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// let reply = service.request(1);
    /// service.join().unwrap();
    /// assert_eq!(reply.join().unwrap(), 1); // queued requests are answered
    /// ```
    pub fn join(self) -> Result<(), IsolateError<E>> {
        for inbox in &self.shared.inboxes {
            inbox.sender.close();
        }
        let handles = std::mem::take(&mut *lock(&self.shared.handles));
        let mut first_error = None;
        for handle in handles {
            if let Err(error) = handle.join() {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// A request's envelope, not yet addressed to a worker.
    fn envelope(&self, request: Req) -> (Envelope<Req, Resp, E>, IsolateHandle<Resp, E>) {
        let (promise, handle) = Promise::new(self.shared.name.clone());
        let envelope = Envelope::Request {
            request,
            promise,
            load: None,
        };
        (envelope, handle)
    }

    /// The inboxes to try, best first.
    fn candidates(&self) -> impl Iterator<Item = &Inbox<Req, Resp, E>> {
        let inboxes = &self.shared.inboxes;
        let first = match self.shared.dispatch {
            Dispatch::RoundRobin => self.shared.turn.fetch_add(1, Ordering::Relaxed),
            Dispatch::LeastLoaded => inboxes
                .iter()
                .enumerate()
                .filter(|(_, inbox)| !inbox.sender.is_closed())
                .min_by_key(|(_, inbox)| inbox.load.load(Ordering::Relaxed))
                .map_or(0, |(index, _)| index),
        };
        (0..inboxes.len()).map(move |offset| &inboxes[(first + offset) % inboxes.len()])
    }

    /// Answers a request that no worker took.
    fn refuse(&self, envelope: Envelope<Req, Resp, E>) {
        if let Envelope::Request {
            request, promise, ..
        } = envelope
        {
            drop_quietly(request);
            if self.shared.killed.load(Ordering::Relaxed) {
                promise.cancel();
            }
        }
    }
}

impl<Req, Resp, E> Drop for Shared<Req, Resp, E> {
    fn drop(&mut self) {
        // The inboxes close as their senders go: the workers answer what is
        // queued and end on their own, with no one waiting for them.
        for handle in std::mem::take(&mut *lock(&self.handles)) {
            handle.detach();
        }
    }
}

impl<Req, Resp, E> Clone for Service<Req, Resp, E> {
    fn clone(&self) -> Self {
        Service {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<Req: Message, Resp: Message, E: Message> fmt::Debug for Service<Req, Resp, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name())
            .field("workers", &self.workers())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl Paused {
    /// Ends this pause (the same as dropping the guard).
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// let paused = service.pause();
    /// paused.resume();
    /// assert_eq!(service.request(1).join().unwrap(), 1);
    /// ```
    pub fn resume(self) {
        drop(self);
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let mut pauses = lock(&self.gate.pauses);
        *pauses = pauses.saturating_sub(1);
        if *pauses == 0 {
            self.gate.resumed.notify_all();
        }
    }
}

impl fmt::Debug for Paused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paused")
            .field("pauses", &*lock(&self.gate.pauses))
            .finish()
    }
}
