//! Starting a service: [`Service::spawn`], [`Builder::service`] and the
//! options only a service has ([`ServiceBuilder`]: threads, [`Dispatch`],
//! [`Restart`], fatal errors), and the start of each generation of threads.

use std::cell::Cell;
use std::time::Instant;

use super::member::{Member, MemberJob};
use super::routes::{Dispatch, Generation, Inbox, Routes, Shared};
use super::Service;
use crate::body::Handler;
use crate::builder::Builder;
use crate::long_running::catch_outcome;
use crate::long_running::control::{Control, PauseGate};
use crate::long_running::lifecycle::ThreadEnd;
use crate::message::Message;
use crate::sync::process::AtomicU64;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex};
use crate::task::error::IsolateError;

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
    pub(super) builder: Builder,
    pub(super) threads: usize,
    pub(super) dispatch: Dispatch,
    pub(super) errors_are_fatal: bool,
    pub(super) restart: Restart,
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
/// assert!(matches!(service.request(0).join().unwrap_err(), isolate::IsolateError::Panicked(_)));
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
    /// assert!(matches!(
    ///     service.request(0).join().unwrap_err(),
    ///     isolate::IsolateError::Panicked(_)
    /// ));
    /// assert_eq!(service.request(5).join().unwrap(), 2); // restarted
    /// assert!(matches!(
    ///     service.request(0).join().unwrap_err(),
    ///     isolate::IsolateError::Panicked(_)
    /// ));
    /// assert!(matches!(
    ///     service.request(5).join().unwrap_err(),
    ///     isolate::IsolateError::Panicked(_)
    /// )); // no restart left
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
    /// assert!(matches!(
    ///     service.request(0).join().unwrap_err(),
    ///     isolate::IsolateError::Panicked(_)
    /// ));
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

    pub(super) fn start<S, Req, Resp, E, I, H>(self, init: I, handler: H) -> Service<Req, Resp, E>
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
    pub(super) fn generation<S, Req, Resp, E, I, H>(
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
                in_hand_since: AtomicU64::new(0),
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
            epoch: Instant::now(),
            mean_request_ns: AtomicU64::new(0),
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
