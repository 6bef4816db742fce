//! `Service`: request/response over long-running threads. Each request
//! carries its own reply slot (a [`Promise`]), so replies reach the right
//! caller however many callers share the threads, and each caller waits on
//! an ordinary [`IsolateHandle`].
//!
//! # Design
//!
//! Every thread has its own bounded inbox; the service picks one per request
//! (round-robin, or the one with the fewest requests in flight), skipping
//! threads that have ended. The loop, owned by the runtime, builds the
//! thread's state once, then takes one envelope at a time: a request (run
//! the handler as the request's own isolate, catch its panic, fulfil the
//! promise), an ordered ping (answer it), or a wake-up (look at the
//! control). Pausing holds the loop between requests.
//!
//! # Ending: no caller waits on a dead service
//!
//! A thread ends when its inbox is closed and empty (the service was
//! dropped or joined), when it is killed, or when a handler's panic is
//! fatal. Its job then *retires* it, exactly once: it closes its inbox (so
//! senders move on to the other threads) and answers every envelope left in
//! it. After a kill they are answered `Cancelled`. Otherwise they were never
//! started, and go to the live threads; with none left, they are answered
//! with the panic that ended the last thread (or `EndedWithoutResult`), as is
//! every later request. A job dropped unrun (killed before its thread took
//! it, or no thread could start) retires its thread in its `Drop`, and its
//! [`ThreadEnd`] then tells the exit listeners: see `lifecycle.rs`.
//!
//! # Cancel and kill reach the request in hand
//!
//! The handler runs with its request's reply task entered as the current
//! isolate, so `is_cancelled()` reads that request's cancel (its caller's
//! `cancel`, drop or expired `join_timeout`). A kill sets the routes'
//! `killed` flag, then cancels each thread's request in hand, which the
//! thread records (`Control::hold`) before it looks at `killed` itself:
//! either the kill finds the request recorded, or the thread finds the flag.
//!
//! # Supervision and generations
//!
//! With [`Restart::OnPanic`] a thread whose panic would end it runs its loop
//! again, on its thread, with a fresh state and its inbox kept. A
//! [`Service`] handle points at the current *generation* of threads;
//! [`Service::restart`] starts a new generation, swaps it in for every clone,
//! then kills the old one.
//!
//! # Ping
//!
//! Pings never wait for room in an inbox: see the protocol of each
//! thread's `Control` in `control.rs`.

use std::cell::Cell;
use std::convert::Infallible;
use std::fmt;
use std::mem;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::body::Handler;
use crate::builder::Builder;
use crate::channel::{Receiver, Sender, TryRecvError, TrySendError};
use crate::long_running::catch_outcome;
pub use crate::long_running::control::Paused;
use crate::long_running::control::{Control, PauseGate, PingTicket};
use crate::long_running::lifecycle::{Exit, ListenerId, Listeners, ThreadEnd};
use crate::message::Message;
use crate::name::Name;
use crate::sync::{lock, Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::task::context::{self, ExitSignal};
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::panic::{clear_recorded, Panic};
use crate::task::promise::Promise;
use crate::task::state::{drop_quietly, Outcome};

/// How a [`Service`] with several threads picks one for a request.
///
/// # Examples
///
/// ```
/// use isolate::{Dispatch, Service};
///
/// let service = isolate::Builder::new().service()
///     .threads(2)
///     .dispatch(Dispatch::RoundRobin)
///     .spawn(|| (), |_: &mut (), n: u32| n + 1);
/// assert_eq!(service.request(1).join().unwrap(), 2);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dispatch {
    /// The thread with the fewest requests queued or running (ties go to
    /// the first): slow requests do not hold up quick ones behind them.
    #[default]
    LeastLoaded,
    /// Each thread in turn.
    RoundRobin,
}

/// A long-running request/response thread, or a pool of identical ones,
/// behind one cloneable handle.
///
/// Each thread builds its state once, on its own thread (a parser, a model,
/// a connection: it need not be `Send`), then answers requests with it. Every
/// request gets its own reply as an [`IsolateHandle`]: join it, give it a
/// timeout, `.await` it, or drop it to withdraw the request. The handler's
/// `Err`, its panic, a killed or ended thread all arrive as one
/// [`IsolateError`], as for a one-shot isolate.
///
/// Dropping the last clone of the service closes the inboxes: the threads
/// answer what is queued, then end. [`join`](Self::join) does the same and
/// waits; [`kill`](Self::kill) stops them at once.
///
/// A thread handles its requests one at a time, in the order they reached
/// its inbox: with one thread, the requests of one caller are answered in
/// the order sent. A handler that sends a request to its own service and
/// waits for the reply waits for itself when no other thread is free: do
/// not.
///
/// # Examples
///
/// ```
/// use isolate::Service;
/// use std::collections::HashMap;
///
/// // State that is costly to build: built once, on the thread's thread.
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
#[must_use = "dropping the last Service handle closes it: its threads answer what is queued, then end"]
pub struct Service<Req, Resp, E = Infallible> {
    shared: Arc<Shared<Req, Resp, E>>,
}

/// Options for a [`Service`]: name, threads and dispatch, inbox capacity,
/// stack size, whether a panic ends a thread and whether it is restarted,
/// exit listeners registered before it starts, starting paused.
///
/// # Examples
///
/// ```
/// let service = isolate::Builder::new()
///     .name("hasher")
///     .capacity(16)
///     .service()
///     .threads(2)
///     .errors_are_fatal(false)
///     .spawn(|| (), |_: &mut (), data: Vec<u8>| data.len());
/// assert_eq!(service.request(vec![1, 2, 3]).join().unwrap(), 3);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a ServiceBuilder does nothing until .spawn() is called"]
pub struct ServiceBuilder {
    builder: Builder,
    threads: usize,
    dispatch: Dispatch,
    errors_are_fatal: bool,
    restart: Restart,
}

/// Whether a [`Service`] restarts a thread that a panic ended: supervision,
/// set with [`ServiceBuilder::restart`].
///
/// # Examples
///
/// ```
/// use isolate::{Restart, Service};
///
/// # isolate::print_panics(false);
/// let service = isolate::Builder::new().service()
///     .restart(Restart::OnPanic { limit: 3 })
///     .spawn(|| 0_u32, |served: &mut u32, n: u32| {
///         *served += 1;
///         assert!(n != 0, "zero");
///         *served
///     });
/// assert_eq!(service.request(1).join().unwrap(), 1);
/// assert!(service.request(0).join().unwrap_err().is_panic());
/// assert_eq!(service.request(1).join().unwrap(), 1); // restarted: a fresh state
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Restart {
    /// A thread that a panic ended stays ended (its queue goes to the live
    /// threads).
    #[default]
    Never,
    /// A thread that a fatal panic ended (or whose state panicked while
    /// being built) is restarted in place, on its thread, with a state
    /// built afresh, at most `limit` times; its queued requests wait for
    /// it. Each such panic still reaches its request's caller and the
    /// error listeners; only the last, when no restart is left, ends it.
    /// A state that panics every time it is built uses the limit up
    /// straight away, one restart after another: keep the limit finite.
    OnPanic {
        /// How many restarts each thread may have.
        limit: usize,
    },
}

/// Ends the service whose handler calls it, cleanly (Dart's
/// `Isolate.exit()`, or closing the isolate's receive port): it closes the
/// service's inboxes, as [`Service::join`] does, without waiting. The
/// request in hand is answered with what the handler returns, the requests
/// already queued are still answered, then the threads end and the
/// service ends [`Exit::Completed`] (its `join` is `Ok`). Later requests
/// are refused ([`IsolateError::EndedWithoutResult`]).
///
/// Returns `false`, doing nothing, when not called from a service's
/// handler.
///
/// # Examples
///
/// ```
/// use isolate::{Exit, Service};
///
/// let (tx, rx) = std::sync::mpsc::channel();
/// let service = isolate::Builder::new()
///     .on_exit(move |exit| tx.send(exit).unwrap())
///     .service()
///     .spawn(|| (), |_: &mut (), command: &'static str| {
///         if command == "shutdown" {
///             isolate::close_service();
///         }
///         command.len()
///     });
/// assert_eq!(service.request("shutdown").join().unwrap(), 8);
/// assert_eq!(rx.recv().unwrap(), Exit::Completed);
/// assert!(service.request("late").join().is_err());
/// assert!(service.join().is_ok());
/// ```
pub fn close_service() -> bool {
    // An isolate run on the handler's thread as a waiter's last resort is
    // not the handler.
    if crate::task::context::running_inline() {
        return false;
    }
    SERVING
        .try_with(|serving| serving.borrow().as_ref().map(|routes| routes.close_all()))
        .ok()
        .flatten()
        .is_some()
}

/// The service whose thread runs on this thread, for [`close_service`].
trait Closable {
    fn close_all(&self);
}

impl<Req, Resp, E> Closable for Routes<Req, Resp, E> {
    fn close_all(&self) {
        self.close();
    }
}

thread_local! {
    static SERVING: std::cell::RefCell<Option<Arc<dyn Closable>>> =
        const { std::cell::RefCell::new(None) };
}

/// Marks this thread as a thread of `routes`' service until dropped.
struct Serving;

impl Serving {
    fn enter(routes: Arc<dyn Closable>) -> Self {
        SERVING.with(|serving| *serving.borrow_mut() = Some(routes));
        Serving
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = SERVING.try_with(|serving| serving.borrow_mut().take());
    }
}

/// What a service's clones share: its current generation of threads, and
/// how to start the next one ([`Service::restart`]).
struct Shared<Req, Resp, E> {
    name: Name,
    current: Mutex<Arc<Generation<Req, Resp, E>>>,
    respawn: Box<dyn Fn() -> Generation<Req, Resp, E> + Send + Sync>,
}

/// One generation of a service's threads: the routes to them, and what only
/// callers use (the listeners, the threads' outcomes, the start pause).
/// Dropped when the service is, or replaced by [`Service::restart`].
struct Generation<Req, Resp, E> {
    routes: Arc<Routes<Req, Resp, E>>,
    listeners: Arc<Listeners<E>>,
    /// The threads' outcomes, taken by the first `join`.
    handles: Mutex<Vec<IsolateHandle<(), E>>>,
    /// The pause of a service built with [`Builder::start_paused`],
    /// until [`Service::start`].
    start_pause: Mutex<Option<Paused>>,
}

/// What the threads share with the callers: each thread's inbox and
/// control, so that a thread that ends can hand its queue to the others.
struct Routes<Req, Resp, E> {
    name: Name,
    inboxes: Vec<Inbox<Req, Resp, E>>,
    dispatch: Dispatch,
    turn: AtomicUsize,
    /// Set first by `kill`, never cleared.
    killed: AtomicBool,
    gate: Arc<PauseGate>,
    /// The panic that ended the last thread to panic: the answer to a
    /// request that no thread is left to take.
    last_panic: Mutex<Option<Panic>>,
}

struct Inbox<Req, Resp, E> {
    sender: Sender<Envelope<Req, Resp, E>>,
    /// The inbox's other end, for a kill to answer what is queued at once,
    /// without waiting for the thread to finish the request in hand.
    queued: Receiver<Envelope<Req, Resp, E>>,
    /// Requests sent to this thread and not yet answered.
    load: Arc<AtomicUsize>,
    control: Arc<Control>,
}

enum Envelope<Req, Resp, E> {
    Request {
        request: Req,
        promise: Promise<Resp, E>,
        /// Counts the request in the load of the inbox it was sent to.
        load: Option<LoadToken>,
    },
    /// A ping answered "after every earlier request": it waits its turn in
    /// the inbox.
    Ping(PingTicket),
    /// Wakes a thread blocked on its empty inbox to look at its control.
    Wake,
}

/// One unit of a thread's load, given back when its request is answered or
/// dropped.
struct LoadToken(Arc<AtomicUsize>);

impl LoadToken {
    fn new(load: &Arc<AtomicUsize>) -> Self {
        load.fetch_add(1, Ordering::Relaxed);
        LoadToken(Arc::clone(load))
    }
}

impl<Req, Resp, E> Envelope<Req, Resp, E> {
    /// Addresses the envelope to `inbox`, counting it in that thread's load.
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

impl ServiceBuilder {
    /// How many threads serve the requests, each with its own
    /// state (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Builder::new().service()
    ///     .threads(3)
    ///     .spawn(|| (), |_: &mut (), _: ()| std::thread::current().id());
    /// let _thread = service.request(()).join().unwrap();
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// How a request picks a thread; [`Dispatch::LeastLoaded`] unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Builder::new().service()
    ///     .threads(2)
    ///     .dispatch(isolate::Dispatch::RoundRobin)
    ///     .spawn(|| (), |_: &mut (), n: u8| n);
    /// # drop(service);
    /// ```
    pub fn dispatch(mut self, dispatch: Dispatch) -> Self {
        self.dispatch = dispatch;
        self
    }

    /// Whether a thread that a panic ended is restarted (supervision);
    /// [`Restart::Never`] unless set. See [`Restart`].
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let service = isolate::Builder::new().service()
    ///     .restart(isolate::Restart::OnPanic { limit: 1 })
    ///     .spawn(|| (), |_: &mut (), n: u8| 10 / n);
    /// assert!(service.request(0).join().unwrap_err().is_panic());
    /// assert_eq!(service.request(5).join().unwrap(), 2); // restarted
    /// assert!(service.request(0).join().unwrap_err().is_panic());
    /// assert!(service.request(5).join().unwrap_err().is_panic()); // no restart left
    /// ```
    pub fn restart(mut self, policy: Restart) -> Self {
        self.restart = policy;
        self
    }

    /// Whether a panic in the handler ends its thread (`true`, the default,
    /// as Dart's `errorsAreFatal`). Either way the panic goes to that
    /// request's caller and to the error listeners; with `false` the thread
    /// goes on with the next request, its state as the panic left it.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let service = isolate::Builder::new().service()
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
    /// let service = isolate::Builder::new().service().spawn(String::new, |log: &mut String, line: String| {
    ///     log.push_str(&line);
    ///     log.len()
    /// });
    /// assert_eq!(service.request("abc".to_owned()).join().unwrap(), 3);
    /// ```
    pub fn spawn<S, Req, H>(
        self,
        init: impl Fn() -> S + Send + Sync + 'static,
        handler: H,
    ) -> Service<Req, H::Output, H::Error>
    where
        S: 'static,
        Req: Message,
        H: Handler<S, Req>,
    {
        self.start(init, move |state: &mut S, request| {
            handler.__handle(state, request)
        })
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
        let (init, handler) = (Arc::new(init), Arc::new(handler));
        let first = self.generation(&init, &handler, self.builder.paused());
        // A restarted service starts at once, whatever the first did.
        let respawn = {
            let builder = self.clone();
            move || builder.generation(&init, &handler, false)
        };
        Service {
            shared: Arc::new(Shared {
                name: self.builder.name_or_default(),
                current: Mutex::new(Arc::new(first)),
                respawn: Box::new(respawn),
            }),
        }
    }

    /// Starts one generation of the service's threads.
    fn generation<S, Req, Resp, E, I, H>(
        &self,
        init: &Arc<I>,
        handler: &Arc<H>,
        paused: bool,
    ) -> Generation<Req, Resp, E>
    where
        S: 'static,
        Req: Message,
        Resp: Message,
        E: Message,
        I: Fn() -> S + Send + Sync + 'static,
        H: Fn(&mut S, Req) -> Result<Resp, E> + Send + Sync + 'static,
    {
        let listeners = self.builder.listeners(self.threads);
        let mut receivers = Vec::with_capacity(self.threads);
        let mut inboxes = Vec::with_capacity(self.threads);
        for _ in 0..self.threads {
            let (sender, receiver) = self.builder.channel();
            inboxes.push(Inbox {
                sender,
                queued: receiver.clone(),
                load: Arc::new(AtomicUsize::new(0)),
                control: Control::new(),
            });
            receivers.push(receiver);
        }
        let routes = Arc::new(Routes {
            name: self.builder.name_or_default(),
            inboxes,
            dispatch: self.dispatch,
            turn: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            gate: PauseGate::new(),
            last_panic: Mutex::new(None),
        });
        // Taken before any thread starts: not even a state is built until
        // `start`.
        let start_pause = paused.then(|| routes.gate.pause());
        let mut handles = Vec::with_capacity(self.threads);
        for (index, inbox) in receivers.into_iter().enumerate() {
            let member = Member {
                index,
                inbox,
                routes: Arc::clone(&routes),
                listeners: Arc::clone(&listeners),
                errors_are_fatal: self.errors_are_fatal,
                restarts_left: Cell::new(match self.restart {
                    Restart::Never => 0,
                    Restart::OnPanic { limit } => limit,
                }),
                retired: false,
            };
            // The member drains its queue, then its end is reported, however
            // the job ends: run, or dropped unrun by a kill or a failed start.
            let (end, starting) = ThreadEnd::new(&listeners);
            let mut job = MemberJob { member, end };
            let (init, handler) = (Arc::clone(init), Arc::clone(handler));
            let run = move || {
                let outcome = loop {
                    let outcome = catch_outcome(|| job.member.serve(&*init, &*handler));
                    match outcome {
                        Err(IsolateError::Panicked(panic)) if job.member.may_restart() => {
                            // Not the thread's end: told as an error, then
                            // the thread starts again with a fresh state.
                            job.member
                                .listeners
                                .report_error(&IsolateError::Panicked(panic));
                        }
                        outcome => break outcome,
                    }
                };
                job.member.retire(Some(&outcome));
                let MemberJob { member, end } = job;
                drop(member);
                end.ended(outcome)
            };
            let _starting = starting.begin();
            handles.push(self.builder.thread().spawn_job(run).0);
        }
        Generation {
            routes,
            listeners,
            handles: Mutex::new(handles),
            start_pause: Mutex::new(start_pause),
        }
    }
}

/// A thread's job: its loop, then the report of its end (in this order,
/// fields dropping in declaration order when the job is dropped unrun).
struct MemberJob<Req: Message, Resp: Message, E: Message> {
    member: Member<Req, Resp, E>,
    end: ThreadEnd<E>,
}

/// One thread of a service: its loop, and what it does when it ends.
struct Member<Req: Message, Resp: Message, E: Message> {
    index: usize,
    inbox: Receiver<Envelope<Req, Resp, E>>,
    routes: Arc<Routes<Req, Resp, E>>,
    listeners: Arc<Listeners<E>>,
    errors_are_fatal: bool,
    /// How many more times it may restart after a panic.
    restarts_left: Cell<usize>,
    /// Whether its queue has been drained; see [`Member::retire`].
    retired: bool,
}

impl<Req: Message, Resp: Message, E: Message> Member<Req, Resp, E> {
    fn control(&self) -> &Control {
        &self.routes.inboxes[self.index].control
    }

    /// Puts an ordered ping into this thread's own inbox, if it has room.
    fn enqueue(&self, ticket: PingTicket) -> Result<(), PingTicket> {
        match self.routes.inboxes[self.index]
            .sender
            .try_send(Envelope::Ping(ticket))
        {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(Envelope::Ping(ticket))) => Err(ticket),
            // Closed: the thread is ending; the ticket goes unanswered.
            Err(_) => Ok(()),
        }
    }

    fn killed(&self) -> bool {
        self.routes.killed.load(Ordering::SeqCst) || context::is_cancelled()
    }

    /// Takes one restart, if the policy has one left and the service still
    /// runs.
    fn may_restart(&self) -> bool {
        let left = self.restarts_left.get();
        if left == 0 || self.killed() {
            return false;
        }
        self.restarts_left.set(left - 1);
        true
    }

    /// The loop: builds the state, then takes one envelope at a time until
    /// the inbox is closed and empty, the service is killed, or a handler's
    /// panic is fatal.
    fn serve<S>(
        &self,
        init: &dyn Fn() -> S,
        handler: &dyn Fn(&mut S, Req) -> Result<Resp, E>,
    ) -> Outcome<(), E> {
        let enqueue = |ticket| self.enqueue(ticket);
        let _serving = Serving::enter(Arc::clone(&self.routes) as Arc<dyn Closable>);
        // A service started paused builds no state until it is started.
        self.routes
            .gate
            .wait(|| self.killed(), || self.control().serve(&enqueue));
        if self.killed() {
            return Err(IsolateError::cancelled());
        }
        let mut state = init();
        loop {
            let envelope = match self.inbox.try_recv() {
                Ok(envelope) => envelope,
                Err(TryRecvError::Empty) => {
                    self.control().idle(&enqueue);
                    let received = self.inbox.recv();
                    self.control().busy();
                    match received {
                        Ok(envelope) => envelope,
                        Err(_) => return self.closed(),
                    }
                }
                Err(TryRecvError::Closed) => return self.closed(),
            };
            self.control().serve(&enqueue);
            let (request, mut promise) = match envelope {
                Envelope::Wake => continue,
                // Every earlier request is handled: answered even if paused.
                Envelope::Ping(ticket) => {
                    ticket.answer();
                    continue;
                }
                Envelope::Request {
                    request, promise, ..
                } => (request, promise),
            };
            // A pause taken while this thread waited in `recv` holds the
            // request it just received, too; pings are answered meanwhile.
            self.routes
                .gate
                .wait(|| self.killed(), || self.control().serve(&enqueue));
            if self.killed() {
                drop_quietly(request);
                promise.cancel(); // the queue is answered by `retire`
                return Err(IsolateError::cancelled());
            }
            if !promise.start() {
                drop_quietly(request); // its caller withdrew it
                continue;
            }
            if let Some(fatal) = self.handle(&mut state, handler, request, promise) {
                return Err(fatal);
            }
        }
    }

    /// How the loop ends once its inbox is closed and empty.
    fn closed(&self) -> Outcome<(), E> {
        if self.killed() {
            Err(IsolateError::cancelled())
        } else {
            Ok(())
        }
    }

    /// Answers one request; returns the thread's own error when the handler
    /// panicked and panics are fatal.
    fn handle<S>(
        &self,
        state: &mut S,
        handler: &dyn Fn(&mut S, Req) -> Result<Resp, E>,
        request: Req,
        promise: Promise<Resp, E>,
    ) -> Option<IsolateError<E>> {
        clear_recorded();
        // A kill reaches the request in hand through `in_hand`; one that
        // came before it was recorded is seen here.
        let withdraw = promise.withdrawer();
        self.control().hold(withdraw.clone());
        if self.killed() {
            if let Some(request) = &withdraw {
                request.withdraw();
            }
        }
        let result = {
            // The handler runs as its request's isolate: `is_cancelled()`
            // reads its caller's cancel.
            let _entered = promise.enter();
            catch_unwind(AssertUnwindSafe(|| handler(state, request)))
        };
        self.control().hold(None);
        match result {
            Ok(Ok(response)) => promise.fulfil(Ok(response)),
            Ok(Err(error)) => {
                let error = IsolateError::failed(error);
                self.listeners.report_error(&error);
                promise.fulfil(Err(error));
            }
            Err(payload) if payload.is::<ExitSignal>() => {
                // `exit()` ends the thread, not just the request.
                drop(promise);
                resume_unwind(payload);
            }
            Err(payload) => {
                let panic = Panic::new(payload, self.routes.name.clone());
                let fatal = self.errors_are_fatal.then(|| panic.duplicate());
                let error = IsolateError::Panicked(panic);
                // A fatal panic is reported once, as the thread's own end.
                if fatal.is_none() {
                    self.listeners.report_error(&error);
                }
                // A fatal one takes the thread out of the service before its
                // caller hears of it: new requests go to the live threads,
                // or, with none left, hear of this panic.
                // A thread about to be restarted keeps its inbox and queue.
                if let Some(fatal) = fatal.as_ref().filter(|_| self.restarts_left.get() == 0) {
                    *lock(&self.routes.last_panic) = Some(fatal.duplicate());
                    self.inbox.close();
                }
                promise.fulfil(Err(error));
                return fatal.map(IsolateError::Panicked);
            }
        }
        None
    }

    /// Closes the inbox and answers everything left in it, once, when the
    /// thread ends for any reason (`None`: its job was dropped unrun).
    /// After a kill, queued requests are answered `Cancelled`; otherwise
    /// they were never started and go to the live threads, or, with none
    /// left, are answered with why the service ended (the last panic).
    fn retire(&mut self, outcome: Option<&Outcome<(), E>>) {
        if mem::replace(&mut self.retired, true) {
            return;
        }
        // Recorded before the inbox closes: a request refused from now on
        // hears why.
        if let Some(Err(IsolateError::Panicked(panic))) = outcome {
            *lock(&self.routes.last_panic) = Some(panic.duplicate());
        }
        self.inbox.close();
        self.control().end();
        let killed = self.killed();
        while let Ok(envelope) = self.inbox.try_recv() {
            match envelope {
                Envelope::Request {
                    request, promise, ..
                } if killed => {
                    drop_quietly(request);
                    promise.cancel();
                }
                request @ Envelope::Request { .. } => {
                    if let Err(unsent) = self.routes.dispatch(request) {
                        self.routes.refuse(unsent);
                    }
                }
                Envelope::Ping(ticket) => drop(ticket),
                Envelope::Wake => {}
            }
        }
    }
}

impl<Req: Message, Resp: Message, E: Message> Drop for Member<Req, Resp, E> {
    fn drop(&mut self) {
        self.retire(None);
    }
}

impl Service<(), (), Infallible> {
    /// Starts a service on a thread of its own that builds its state with
    /// `init`, then answers each request with `handler`:
    /// `isolate::Builder::new().service().spawn(init, handler)` (see
    /// [`ServiceBuilder::spawn`] for options and a handler whose `Result` is
    /// the request's own error).
    ///
    /// `init` runs on the thread's thread, so the state need not be `Send`.
    /// Requests and responses must be [`Message`]s (`Send + 'static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// // The state is built on the thread and never leaves it: Rc is fine.
    /// let service = isolate::Service::spawn(|| Rc::new(vec![10, 20, 30]), |table: &mut Rc<Vec<i32>>, i: usize| {
    ///     table.get(i).copied()
    /// });
    /// assert_eq!(service.request(1).join().unwrap(), Some(20));
    /// ```
    pub fn spawn<S, Req, H>(
        init: impl Fn() -> S + Send + Sync + 'static,
        handler: H,
    ) -> Service<Req, H::Output, H::Error>
    where
        S: 'static,
        Req: Message,
        H: Handler<S, Req>,
    {
        Builder::new().service().spawn(init, handler)
    }
}

impl Builder {
    /// Goes on to the options of a [`Service`] only (how many threads, how
    /// requests are dispatched, restarts, whether errors are fatal), keeping
    /// these: name, stack size, inbox capacity, exit listeners, paused
    /// start.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Builder::new()
    ///     .name("echo")
    ///     .capacity(8)
    ///     .service()
    ///     .threads(2)
    ///     .spawn(|| (), |_: &mut (), n: u8| n);
    /// assert_eq!(service.request(3).join().unwrap(), 3);
    /// assert_eq!(service.name(), "echo");
    /// ```
    pub fn service(self) -> ServiceBuilder {
        ServiceBuilder {
            builder: self,
            threads: 1,
            dispatch: Dispatch::default(),
            errors_are_fatal: true,
            restart: Restart::Never,
        }
    }
}

impl<Req: Message, Resp: Message, E: Message> Service<Req, Resp, E> {
    /// Sends a request, waiting while the chosen thread's inbox is full, and
    /// returns the handle to its reply. Dropping the handle withdraws the
    /// request if it has not started, and cancels it if it has: its
    /// handler sees [`is_cancelled`](crate::is_cancelled) turn `true` (so do
    /// [`cancel`](IsolateHandle::cancel) and an expired
    /// [`join_timeout`](IsolateHandle::join_timeout)).
    ///
    /// If every thread has ended, the reply comes at once: `Cancelled` after
    /// a kill, the last thread's panic if one ended the service, and
    /// [`IsolateError::EndedWithoutResult`] otherwise; use
    /// [`try_request`](Self::try_request) to get the request back.
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
        let generation = self.current();
        let (envelope, handle) = self.envelope(request);
        if let Err(unsent) = generation.routes.dispatch(envelope) {
            generation.routes.refuse(unsent);
        }
        handle
    }

    /// Sends a request only if a thread's inbox has room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`] (every thread has
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
        let generation = self.current();
        let (mut envelope, handle) = self.envelope(request);
        let mut full = false;
        for inbox in generation.routes.candidates() {
            match inbox.sender.try_send(envelope.addressed_to(inbox)) {
                Ok(()) => return Ok(handle),
                Err(TrySendError::Full(back)) => {
                    full = true;
                    envelope = back;
                }
                Err(TrySendError::Closed(back)) => envelope = back,
            }
        }
        drop(handle); // withdraws the promise: nobody waits on it
        let request = match envelope {
            Envelope::Request {
                request, promise, ..
            } => {
                drop(promise);
                request
            }
            Envelope::Ping(_) | Envelope::Wake => {
                unreachable!("a request's envelope holds a request")
            }
        };
        Err(if full {
            TrySendError::Full(request)
        } else {
            TrySendError::Closed(request)
        })
    }

    /// Sends a request, awaiting room in the chosen thread's inbox, then
    /// awaits its reply; works on any executor. Dropping the future withdraws
    /// the request if it has not started, and cancels it if it has.
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
        let generation = self.current();
        let (mut envelope, handle) = self.envelope(request);
        for inbox in generation.routes.candidates() {
            match inbox.sender.send_async(envelope.addressed_to(inbox)).await {
                Ok(()) => return handle.await,
                Err(closed) => envelope = closed.into_inner(),
            }
        }
        generation.routes.refuse(envelope);
        handle.await
    }

    /// A liveness probe, answered as soon as every live thread is free of
    /// the request in hand (Dart's `ping` with its default `immediate`
    /// priority): ahead of queued requests, and while the service is
    /// paused. It never blocks the caller: give the handle a deadline with
    /// [`join_timeout`](IsolateHandle::join_timeout), since a thread stuck
    /// in a handler does not answer.
    ///
    /// Workers that have ended do not count: the ping is `Ok` if any thread
    /// answered, and [`IsolateError::EndedWithoutResult`] once none is left.
    /// [`ping_in_order`](Self::ping_in_order) answers after every earlier
    /// request instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// let paused = service.pause();
    /// let queued = service.request(1);
    /// // Answered while paused, ahead of the queued request.
    /// assert!(service.ping().join_timeout(Duration::from_secs(5)).is_ok());
    /// assert!(!queued.is_finished());
    /// drop(paused);
    /// assert_eq!(queued.join().unwrap(), 1);
    /// ```
    pub fn ping(&self) -> IsolateHandle<()> {
        let generation = self.current();
        let routes = &generation.routes;
        let (group, handle) = PingTicket::group(routes.name.clone());
        for inbox in routes.live() {
            inbox.control.ping(PingTicket::new(&group), || {
                // Full: the thread has envelopes to take, and looks at its
                // control after the next. Closed: it is ending.
                let _ = inbox.sender.try_send(Envelope::Wake);
            });
        }
        // A paused thread answers from its pause.
        routes.gate.wake_all();
        handle
    }

    /// A ping answered once every live thread has handled every request
    /// sent to it before the ping (Dart's `ping` with
    /// `priority: beforeNextEvent`, roughly): it waits its turn in each
    /// inbox, so it is not answered while the service is paused with
    /// requests queued. It never blocks the caller: a ping that finds an
    /// inbox full waits beside it, and the thread puts it in line once
    /// there is room. Otherwise as [`ping`](Self::ping).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let service = isolate::Builder::new().service().threads(2).spawn(|| (), |_: &mut (), n: u8| n);
    /// let replies: Vec<_> = (0..10).map(|n| service.request(n)).collect();
    /// service.ping_in_order().join_timeout(Duration::from_secs(30)).unwrap();
    /// assert!(replies.iter().all(|reply| reply.is_finished()));
    /// ```
    pub fn ping_in_order(&self) -> IsolateHandle<()> {
        let generation = self.current();
        let routes = &generation.routes;
        let (group, handle) = PingTicket::group(routes.name.clone());
        for inbox in routes.live() {
            let enqueue = |ticket| match inbox.sender.try_send(Envelope::Ping(ticket)) {
                Err(TrySendError::Full(Envelope::Ping(ticket))) => Err(ticket),
                _ => Ok(()), // sent, or closed: the thread is ending
            };
            if let Err(ticket) = enqueue(PingTicket::new(&group)) {
                inbox.control.park(ticket, &enqueue);
            }
        }
        handle
    }

    /// Pauses the service until the returned guard is dropped: each thread
    /// finishes the request in hand and takes no other (it still answers
    /// [`ping`](Self::ping)s). Pauses nest.
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
        let generation = self.current();
        generation.routes.gate.pause()
    }

    /// Starts a service spawned with [`Builder::start_paused`]: its
    /// threads build their state and take requests from now on (unless
    /// [`pause`](Self::pause)d). Returns `false` if it was not held (never
    /// paused, or started already).
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Builder::new()
    ///     .start_paused()
    ///     .service()
    ///     .spawn(|| 10, |base: &mut u32, n: u32| *base + n);
    /// let reply = service.request(1); // queued while paused
    /// assert!(service.start());
    /// assert_eq!(reply.join().unwrap(), 11);
    /// assert!(!service.start());
    /// ```
    pub fn start(&self) -> bool {
        let generation = self.current();
        let held = lock(&generation.start_pause).take();
        held.is_some()
    }

    /// Stops every thread now: the inboxes close, queued requests are
    /// answered [`IsolateError::Cancelled`] (even those queued before a
    /// thread's thread started), and the requests in hand see
    /// [`is_cancelled`](crate::is_cancelled) turn `true` (their replies,
    /// if any, still arrive). Every caller hears back: none waits on a dead
    /// service.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// let paused = service.pause();
    /// let queued = service.request(1);
    /// service.kill();
    /// assert!(queued.join().unwrap_err().is_cancelled());
    /// assert!(service.request(2).join().unwrap_err().is_cancelled());
    /// # drop(paused);
    /// ```
    pub fn kill(&self) {
        self.current().kill();
    }

    /// Replaces the service's threads with new ones, for every clone of the
    /// service: after a [`kill`](Self::kill), after a fatal panic ended
    /// them, or to start afresh. The threads now serving (if any) are
    /// killed first, so their queued requests are answered `Cancelled`; the
    /// new ones build their state with the service's own `init`, take the
    /// requests sent from now on, and start at once (even if the service
    /// was built [`start_paused`](Builder::start_paused)).
    ///
    /// Listeners added with [`on_exit`](Self::on_exit) and
    /// [`on_error`](Self::on_error) belong to the threads they were added
    /// to (the old ones tell their exit); those given to the builder are
    /// registered again for the new threads. A [`pause`](Self::pause) held
    /// does not hold the new ones.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| 100, |base: &mut u32, n: u32| *base + n);
    /// let other_caller = service.clone();
    /// service.kill();
    /// assert!(other_caller.request(1).join().unwrap_err().is_cancelled());
    /// service.restart();
    /// assert_eq!(other_caller.request(1).join().unwrap(), 101); // same handle
    /// ```
    pub fn restart(&self) {
        let fresh = Arc::new((self.shared.respawn)());
        let old = mem::replace(&mut *lock(&self.shared.current), fresh);
        old.kill();
    }

    /// Calls `listener` once every thread has ended, with how the first
    /// one that did not complete ended (or [`Exit::Completed`]); at once if
    /// they have all ended already. Every way the service ends reaches
    /// every exit listener exactly once, a kill before the threads' threads
    /// started included.
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
    pub fn on_exit(&self, listener: impl FnOnce(Exit) + Send + 'static) -> ListenerId {
        let generation = self.current();
        ListenerId(generation.listeners.add_exit(Box::new(listener)))
    }

    /// Calls `listener` (on a thread's thread) for each request whose
    /// handler returned `Err` or panicked, and for a thread that ends by a
    /// panic. Each caller still gets its own error. A listener added once
    /// the service has ended is dropped at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), isolate::Fold(|_: &mut (), s: String| s.parse::<u8>()));
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// service.on_error(move |error| tx.send(error.to_string()).unwrap());
    /// let _ = service.request("x".to_owned()).join();
    /// assert_eq!(
    ///     rx.recv().unwrap(),
    ///     "an isolate returned an error: invalid digit found in string"
    /// );
    /// ```
    pub fn on_error(&self, listener: impl FnMut(&IsolateError<E>) + Send + 'static) -> ListenerId {
        let generation = self.current();
        ListenerId(generation.listeners.add_error(Box::new(listener)))
    }

    /// Removes an exit or error listener added to this service and drops
    /// it; `false` if it was already called, dropped or removed.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), n: u8| n);
    /// let id = service.on_error(|_| {});
    /// assert!(service.remove_listener(id));
    /// assert!(!service.remove_listener(id));
    /// ```
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        let generation = self.current();
        id.0.is_some_and(|id| generation.listeners.remove(id))
    }

    /// The service's name, `"<unnamed>"` unless given.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Builder::new().name("s").service().spawn(|| (), |_: &mut (), _: ()| ());
    /// assert_eq!(service.name(), "s");
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// How many threads serve requests now: a thread that ended (a fatal
    /// panic) no longer counts, and none do once the service is closed or
    /// killed.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Builder::new().service().threads(4).spawn(|| (), |_: &mut (), _: ()| ());
    /// assert_eq!(service.threads(), 4);
    /// service.kill();
    /// assert_eq!(service.threads(), 0);
    /// ```
    pub fn threads(&self) -> usize {
        let generation = self.current();
        generation.routes.live().count()
    }

    /// How many requests are queued or running, over all threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let service = isolate::Service::spawn(|| (), |_: &mut (), _: ()| ());
    /// service.request(()).join().unwrap();
    /// assert_eq!(service.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.current()
            .routes
            .inboxes
            .iter()
            .map(|inbox| inbox.load.load(Ordering::Relaxed))
            .sum()
    }

    /// Closes the service (for every clone): the threads answer what is
    /// queued and end. Waits for them, and returns the failure of the first
    /// thread, in thread order, that did not end cleanly: a fatal panic, a
    /// panic while building its state, `Cancelled` after a kill. (The
    /// [`on_exit`](Self::on_exit) listener hears of the first in time.)
    /// Another clone that joined first got the outcomes; this one then
    /// returns `Ok(())`.
    ///
    /// # Errors
    ///
    /// How the first thread that did not end cleanly ended.
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
        let generation = self.current();
        generation.routes.close();
        // A service never started would never end.
        drop(lock(&generation.start_pause).take());
        let handles = std::mem::take(&mut *lock(&generation.handles));
        let mut first_error = None;
        for handle in handles {
            if let Err(error) = handle.join() {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// A request's envelope, not yet addressed to a thread.
    fn envelope(&self, request: Req) -> (Envelope<Req, Resp, E>, IsolateHandle<Resp, E>) {
        let (promise, handle) = Promise::new(self.shared.name.clone());
        let envelope = Envelope::Request {
            request,
            promise,
            load: None,
        };
        (envelope, handle)
    }
}

impl<Req, Resp, E> Service<Req, Resp, E> {
    /// The generation of threads serving now.
    fn current(&self) -> Arc<Generation<Req, Resp, E>> {
        Arc::clone(&lock(&self.shared.current))
    }
}

impl<Req, Resp, E> Generation<Req, Resp, E> {
    /// Stops every thread of this generation now; see [`Service::kill`].
    fn kill(&self) {
        let routes = &self.routes;
        routes.killed.store(true, Ordering::SeqCst);
        // A thread whose thread has not started is dropped unrun here, and
        // answers its queue as it goes.
        for handle in lock(&self.handles).iter() {
            handle.cancel();
        }
        for inbox in &routes.inboxes {
            inbox.control.withdraw();
            inbox.sender.close();
            // Queued requests are answered now, not when the thread's
            // request in hand returns (it may never look at a cancel).
            while let Ok(envelope) = inbox.queued.try_recv() {
                routes.refuse(envelope);
            }
        }
        routes.gate.wake_all();
    }
}

impl<Req, Resp, E> Routes<Req, Resp, E> {
    /// The inboxes of the threads still taking requests.
    fn live(&self) -> impl Iterator<Item = &Inbox<Req, Resp, E>> {
        self.inboxes
            .iter()
            .filter(|inbox| !inbox.sender.is_closed())
    }

    /// Closes every inbox: the threads answer what is queued and end.
    fn close(&self) {
        for inbox in &self.inboxes {
            inbox.sender.close();
        }
    }

    /// The inboxes to try, best first.
    fn candidates(&self) -> impl Iterator<Item = &Inbox<Req, Resp, E>> {
        let inboxes = &self.inboxes;
        let first = match self.dispatch {
            Dispatch::RoundRobin => self.turn.fetch_add(1, Ordering::Relaxed),
            Dispatch::LeastLoaded => inboxes
                .iter()
                .enumerate()
                .filter(|(_, inbox)| !inbox.sender.is_closed())
                .min_by_key(|(_, inbox)| inbox.load.load(Ordering::Relaxed))
                .map_or(0, |(index, _)| index),
        };
        (0..inboxes.len()).map(move |offset| &inboxes[(first + offset) % inboxes.len()])
    }

    /// Sends a request to the best live thread, waiting while its inbox is
    /// full; hands the envelope back if every inbox is closed.
    fn dispatch(&self, mut envelope: Envelope<Req, Resp, E>) -> Result<(), Envelope<Req, Resp, E>> {
        for inbox in self.candidates() {
            match inbox.sender.send(envelope.addressed_to(inbox)) {
                Ok(()) => return Ok(()),
                Err(closed) => envelope = closed.into_inner(),
            }
        }
        Err(envelope)
    }

    /// Answers a request that no thread can take, with why: `Cancelled`
    /// after a kill, the panic that ended the last thread to panic, or
    /// `EndedWithoutResult`.
    fn refuse(&self, envelope: Envelope<Req, Resp, E>) {
        if let Envelope::Request {
            request, promise, ..
        } = envelope
        {
            drop_quietly(request);
            if self.killed.load(Ordering::SeqCst) {
                promise.cancel();
            } else if let Some(panic) = lock(&self.last_panic).as_ref().map(Panic::duplicate) {
                promise.fulfil(Err(IsolateError::Panicked(panic)));
            }
        }
    }
}

impl<Req, Resp, E> Drop for Generation<Req, Resp, E> {
    fn drop(&mut self) {
        // The threads hold the routes too: close the inboxes here, so they
        // answer what is queued and end on their own, with no one waiting.
        self.routes.close();
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
            .field("threads", &self.threads())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}
