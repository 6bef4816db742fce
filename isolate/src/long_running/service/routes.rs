//! Dispatch and load: what a service's clones and threads share. A
//! [`Generation`] of threads, the [`Routes`] to their inboxes (each a
//! bounded channel of [`Envelope`]s, with a count of requests in flight),
//! and how a request picks an inbox (round-robin or least-loaded, skipping
//! threads that have ended).
//!
//! Least-loaded weighs work, not requests: a thread's expected wait is how
//! long its request in hand has run (one that has run long is likely to run
//! on) plus its queued requests at the service's mean time per request. A
//! count alone sent every other quick request of a burst behind a slow one,
//! the busy thread and the one holding the last quick request being tied.

use crate::channel::{Receiver, Sender};
use crate::long_running::control::{Control, PauseGate, Paused, PingTicket};
use crate::long_running::lifecycle::Listeners;
use crate::name::Name;
use std::time::{Duration, Instant};

use crate::sync::process::AtomicU64;
use crate::sync::{lock, Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::panic::Panic;
use crate::task::promise::Promise;
use crate::task::state::drop_quietly;

/// How a [`Service`](crate::Service) with several threads picks one for a request.
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
    /// The thread expected to be free soonest: how long its request in
    /// hand has run, plus its queued requests at the service's mean time
    /// per request (ties go to the first). A request that has run long is
    /// taken to run on, so a burst of quick requests goes around a slow one.
    #[default]
    LeastLoaded,
    /// Each thread in turn.
    RoundRobin,
}

/// What a service's clones share: its current generation of threads, and
/// how to start the next one ([`Service::restart`]).
pub(super) struct Shared<Req, Resp, E> {
    pub(super) name: Name,
    pub(super) current: Mutex<Arc<Generation<Req, Resp, E>>>,
    pub(super) respawn: Box<dyn Fn() -> Generation<Req, Resp, E> + Send + Sync>,
}

/// One generation of a service's threads: the routes to them, and what only
/// callers use (the listeners, the threads' outcomes, the start pause).
/// Dropped when the service is, or replaced by [`Service::restart`].
pub(super) struct Generation<Req, Resp, E> {
    pub(super) routes: Arc<Routes<Req, Resp, E>>,
    pub(super) listeners: Arc<Listeners<E>>,
    /// The threads' outcomes, taken by the first `join`.
    pub(super) handles: Mutex<Vec<IsolateHandle<(), E>>>,
    /// The pause of a service built with [`Builder::start_paused`],
    /// until [`Service::start`].
    pub(super) start_pause: Mutex<Option<Paused>>,
}

/// What the threads share with the callers: each thread's inbox and
/// control, so that a thread that ends can hand its queue to the others.
pub(super) struct Routes<Req, Resp, E> {
    pub(super) name: Name,
    pub(super) inboxes: Vec<Inbox<Req, Resp, E>>,
    pub(super) dispatch: Dispatch,
    pub(super) turn: AtomicUsize,
    /// Set first by `kill`, never cleared.
    pub(super) killed: AtomicBool,
    pub(super) gate: Arc<PauseGate>,
    /// What the threads' times are counted from.
    pub(super) epoch: Instant,
    /// The mean time a request takes, in nanoseconds (a moving average of
    /// the last few; 0 until one is answered).
    pub(super) mean_request_ns: AtomicU64,
    /// The panic that ended the last thread to panic: the answer to a
    /// request that no thread is left to take.
    pub(super) last_panic: Mutex<Option<Panic>>,
}

pub(super) struct Inbox<Req, Resp, E> {
    pub(super) sender: Sender<Envelope<Req, Resp, E>>,
    /// The inbox's other end, for a kill to answer what is queued at once,
    /// without waiting for the thread to finish the request in hand.
    pub(super) queued: Receiver<Envelope<Req, Resp, E>>,
    /// Requests sent to this thread and not yet answered.
    pub(super) load: Arc<AtomicUsize>,
    /// When the thread took its request in hand, in nanoseconds since
    /// [`Routes::epoch`], plus one; 0 while it has none.
    pub(super) in_hand_since: AtomicU64,
    pub(super) control: Arc<Control>,
}

pub(super) enum Envelope<Req, Resp, E> {
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
pub(super) struct LoadToken(Arc<AtomicUsize>);

impl LoadToken {
    pub(super) fn new(load: &Arc<AtomicUsize>) -> Self {
        load.fetch_add(1, Ordering::Relaxed);
        LoadToken(Arc::clone(load))
    }
}

impl<Req, Resp, E> Inbox<Req, Resp, E> {
    /// How long a request sent now would wait here, by `now` and the mean
    /// time a request takes (both in nanoseconds).
    fn expected_wait_ns(&self, now: u64, mean: u64) -> u64 {
        let load = u64::try_from(self.load.load(Ordering::Relaxed)).unwrap_or(u64::MAX);
        let since = self.in_hand_since.load(Ordering::Relaxed);
        let (in_hand_for, queued) = match since {
            0 => (0, load),
            since => (now.saturating_sub(since - 1), load.saturating_sub(1)),
        };
        in_hand_for.saturating_add(queued.saturating_mul(mean.max(1)))
    }
}

impl<Req, Resp, E> Envelope<Req, Resp, E> {
    /// Addresses the envelope to `inbox`, counting it in that thread's load.
    pub(super) fn addressed_to(mut self, inbox: &Inbox<Req, Resp, E>) -> Self {
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

impl<Req, Resp, E> Generation<Req, Resp, E> {
    /// Stops every thread of this generation now; see [`Service::kill`].
    pub(super) fn kill(&self) {
        let routes = &self.routes;
        routes.killed.store(true, Ordering::SeqCst);
        // A thread whose thread has not started is dropped unrun here, and
        // answers its queue as it goes. Cancelled outside the lock: a cancel
        // may run exit listeners inline, and one may kill or restart this
        // service again.
        let cancellers: Vec<_> = lock(&self.handles)
            .iter()
            .filter_map(IsolateHandle::canceller)
            .collect();
        for cancel in cancellers {
            cancel();
        }
        for inbox in &routes.inboxes {
            inbox.control.withdraw();
            inbox.sender.close();
            // Queued requests are answered now, not when the thread's
            // request in hand returns (it may never look at a cancel).
            // `recv`, not `try_recv`: a request whose send saw the inbox
            // open may still be on its way in, and would be left unanswered
            // (the receive waits for such sends only; the inbox is closed).
            while let Ok(envelope) = inbox.queued.recv() {
                routes.refuse(envelope);
            }
        }
        routes.gate.wake_all();
    }
}

impl<Req, Resp, E> Routes<Req, Resp, E> {
    /// The inboxes of the threads still taking requests.
    pub(super) fn live(&self) -> impl Iterator<Item = &Inbox<Req, Resp, E>> {
        self.inboxes
            .iter()
            .filter(|inbox| !inbox.sender.is_closed())
    }

    fn nanos_since_epoch(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether dispatch weighs the threads' work, which they then report
    /// ([`request_started`](Self::request_started), [`request_ended`](Self::request_ended)).
    pub(super) fn weighs_work(&self) -> bool {
        self.dispatch == Dispatch::LeastLoaded && self.inboxes.len() > 1
    }

    /// Notes that `inbox`'s thread took a request in hand.
    pub(super) fn request_started(&self, inbox: &Inbox<Req, Resp, E>) {
        let now = self.nanos_since_epoch().saturating_add(1);
        inbox.in_hand_since.store(now, Ordering::Relaxed);
    }

    /// Notes that `inbox`'s thread answered its request in hand, which took
    /// `took`. Relaxed: a lost update of the average only skews an estimate.
    pub(super) fn request_ended(&self, inbox: &Inbox<Req, Resp, E>, took: Duration) {
        inbox.in_hand_since.store(0, Ordering::Relaxed);
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let mean = self.mean_request_ns.load(Ordering::Relaxed);
        let next = match mean {
            0 => took,
            mean => mean - mean / 8 + took / 8,
        };
        self.mean_request_ns.store(next.max(1), Ordering::Relaxed);
    }

    /// Closes every inbox: the threads answer what is queued and end.
    pub(super) fn close(&self) {
        for inbox in &self.inboxes {
            inbox.sender.close();
        }
    }

    /// The inboxes to try, best first.
    pub(super) fn candidates(&self) -> impl Iterator<Item = &Inbox<Req, Resp, E>> {
        let inboxes = &self.inboxes;
        let first = match self.dispatch {
            Dispatch::RoundRobin => self.turn.fetch_add(1, Ordering::Relaxed),
            // One thread: nothing to weigh.
            Dispatch::LeastLoaded if !self.weighs_work() => 0,
            Dispatch::LeastLoaded => {
                let now = self.nanos_since_epoch();
                let mean = self.mean_request_ns.load(Ordering::Relaxed);
                inboxes
                    .iter()
                    .enumerate()
                    .filter(|(_, inbox)| !inbox.sender.is_closed())
                    .min_by_key(|(_, inbox)| inbox.expected_wait_ns(now, mean))
                    .map_or(0, |(index, _)| index)
            }
        };
        (0..inboxes.len()).map(move |offset| &inboxes[(first + offset) % inboxes.len()])
    }

    /// Sends a request to the best live thread, waiting while its inbox is
    /// full; hands the envelope back if every inbox is closed.
    pub(super) fn dispatch(
        &self,
        mut envelope: Envelope<Req, Resp, E>,
    ) -> Result<(), Envelope<Req, Resp, E>> {
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
    pub(super) fn refuse(&self, envelope: Envelope<Req, Resp, E>) {
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
