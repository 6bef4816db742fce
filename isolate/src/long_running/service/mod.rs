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

pub(crate) mod builder;
mod member;
pub(crate) mod routes;
pub(crate) mod serving;

use std::convert::Infallible;
use std::fmt;
use std::mem;

use self::routes::{Envelope, Generation, Shared};
use crate::body::Handler;
use crate::builder::Builder;
use crate::channel::TrySendError;
use crate::long_running::control::{Paused, PingTicket};
use crate::long_running::lifecycle::{Exit, ListenerId};
use crate::message::Message;
use crate::sync::{lock, Arc, Ordering};
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::promise::Promise;

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

impl Service<(), (), Infallible> {
    /// Starts a service on a thread of its own that builds its state with
    /// `init`, then answers each request with `handler`:
    /// `isolate::Builder::new().service().spawn(init, handler)` (see
    /// [`ServiceBuilder::spawn`](crate::ServiceBuilder::spawn) for options and a handler whose `Result` is
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
    /// inbox, so it is not answered while the service is paused, even with
    /// no request queued: its turn comes when the service resumes. It never
    /// blocks the caller: a ping that finds an
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
    /// assert!(matches!(queued.join().unwrap_err(), isolate::IsolateError::Cancelled { .. }));
    /// assert!(matches!(
    ///     service.request(2).join().unwrap_err(),
    ///     isolate::IsolateError::Cancelled { .. }
    /// ));
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
    /// assert!(matches!(
    ///     other_caller.request(1).join().unwrap_err(),
    ///     isolate::IsolateError::Cancelled { .. }
    /// ));
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

    /// How many requests are queued or running, over all threads. A request
    /// whose reply handle was dropped while it was queued counts until its
    /// thread reaches it and drops it unrun (later, while the service is
    /// paused).
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
