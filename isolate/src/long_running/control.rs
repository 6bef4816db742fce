//! A service thread's control, beside its inbox: pings, which never wait
//! for room in the inbox, and the pause gate, which holds the thread's loop
//! between requests while it keeps answering pings.
//!
//! # Protocol
//!
//! Each thread has a [`Control`] beside its inbox, under a lock, with its
//! [`Phase`]:
//!
//! - An immediate ping ([`Service::ping`](crate::Service::ping)) adds a ticket to each live
//!   thread's control and sets `pending`. The thread looks at `pending`
//!   after every envelope and while paused, and answers its tickets. A
//!   thread about to block on its empty inbox answers its tickets and marks
//!   itself `Idle` in the same critical section; a pinger that then finds it
//!   `Idle` sends it a `Wake` envelope (if that finds the inbox full, the
//!   thread has envelopes to take and will look after the next one). A
//!   paused thread is woken through the pause gate's condition variable,
//!   which the pinger notifies after adding its ticket.
//! - An ordered ping ([`Service::ping_in_order`](crate::Service::ping_in_order)) goes into each inbox
//!   behind the requests already there, with `try_send`. If an inbox is
//!   full, the ticket is *parked* in its control; the thread, each time it
//!   looks at its control, moves parked tickets into its own inbox while
//!   there is room, and an `Idle` thread's pinger does it itself.
//! - A thread that ends marks its control `Ended` and drops its tickets
//!   unanswered. A ping is answered when all its tickets are gone: `Ok` if
//!   any thread answered, `EndedWithoutResult` if none did.

use std::convert::Infallible;
use std::fmt;
use std::mem;

use crate::name::Name;
use crate::sync::{lock, Arc, AtomicBool, Condvar, Mutex, Ordering, PoisonError};
use crate::task::handle::IsolateHandle;
use crate::task::promise::{Promise, Withdraw};

/// Holds a [`Service`](crate::Service) paused until dropped (or [`resume`](Self::resume)d):
/// its threads finish the request in hand, then take no other until every
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
/// assert!(matches!(
///     reply.join_timeout(Duration::from_millis(20)).unwrap_err(),
///     isolate::IsolateError::TimedOut { .. }
/// ));
/// paused.resume();
/// assert_eq!(service.request(2).join().unwrap(), 2);
/// ```
#[must_use = "a service stays paused only while the Paused guard lives"]
pub struct Paused {
    gate: Arc<PauseGate>,
}

/// One thread's part of a ping. The ping is answered once every part is
/// gone: `Ok` if any thread answered its part, and
/// [`IsolateError::EndedWithoutResult`](crate::IsolateError::EndedWithoutResult) if none did (every thread ended
/// first).
pub(crate) struct PingTicket {
    group: Arc<PingGroup>,
}

pub(crate) struct PingGroup {
    promise: Mutex<Option<Promise<(), Infallible>>>,
    answered: AtomicBool,
}

impl PingTicket {
    /// A new ping, and the handle its caller waits on; its parts are made
    /// with [`PingTicket::new`].
    pub(crate) fn group(name: Name) -> (Arc<PingGroup>, IsolateHandle<()>) {
        let (promise, handle) = Promise::new(name);
        let group = Arc::new(PingGroup {
            promise: Mutex::new(Some(promise)),
            answered: AtomicBool::new(false),
        });
        (group, handle)
    }

    pub(crate) fn new(group: &Arc<PingGroup>) -> Self {
        PingTicket {
            group: Arc::clone(group),
        }
    }

    /// This thread's answer.
    pub(crate) fn answer(self) {
        self.group.answered.store(true, Ordering::Release);
    }
}

impl Drop for PingGroup {
    fn drop(&mut self) {
        if let Some(mut promise) = lock(&self.promise).take() {
            if !self.answered.load(Ordering::Acquire) {
                drop(promise); // reports EndedWithoutResult
            } else if promise.start() {
                promise.fulfil(Ok(()));
            }
        }
    }
}

/// Where a thread's loop is, as its control sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    /// Handling an envelope, or about to take the next: it looks at its
    /// control before the next request.
    Busy,
    /// Blocked on its empty inbox: a ping must wake it with a wake-up
    /// envelope.
    Idle,
    /// Ended: its control takes no more pings.
    Ended,
}

/// A thread's control messages (see "Ping" in the module docs): pings
/// answered as soon as the thread is free, and pings "after every earlier
/// request" parked until its inbox has room for them.
pub(crate) struct Control {
    state: Mutex<ControlState>,
    /// Whether `state` holds pings: the loop's lock-free look after each
    /// envelope. Set under the lock by a pinger, cleared under it by the
    /// thread.
    pending: AtomicBool,
    /// The request being handled, for a kill to cancel.
    in_hand: Mutex<Option<Arc<dyn Withdraw>>>,
}

pub(crate) struct ControlState {
    phase: Phase,
    /// Answered as soon as the thread is free of its current request.
    immediate: Vec<PingTicket>,
    /// Ordered pings that found the inbox full: the thread puts each into
    /// its own inbox once there is room, behind every earlier request.
    parked: Vec<PingTicket>,
}

/// What a thread's control does with a ping that must go into its inbox;
/// `Err` hands the ticket back because the inbox is full.
pub(crate) type Enqueue<'a> = &'a dyn Fn(PingTicket) -> Result<(), PingTicket>;

impl Control {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Control {
            state: Mutex::new(ControlState {
                phase: Phase::Busy,
                immediate: Vec::new(),
                parked: Vec::new(),
            }),
            pending: AtomicBool::new(false),
            in_hand: Mutex::new(None),
        })
    }

    /// Pinger: adds an immediate ping; `wake` is called (under the lock) when
    /// the thread is blocked on its empty inbox. `false` if the thread has
    /// ended (the ticket is dropped).
    pub(crate) fn ping(&self, ticket: PingTicket, wake: impl FnOnce()) -> bool {
        let mut state = lock(&self.state);
        if state.phase == Phase::Ended {
            drop(state);
            drop(ticket);
            return false;
        }
        state.immediate.push(ticket);
        self.pending.store(true, Ordering::Release);
        if state.phase == Phase::Idle {
            wake();
        }
        true
    }

    /// Pinger: parks an ordered ping that found the inbox full. A thread
    /// that went idle meanwhile has an empty inbox: `enqueue` is tried again
    /// at once.
    pub(crate) fn park(&self, ticket: PingTicket, enqueue: Enqueue<'_>) {
        let mut state = lock(&self.state);
        match state.phase {
            Phase::Ended => {}
            Phase::Idle => {
                if let Err(ticket) = enqueue(ticket) {
                    state.parked.push(ticket);
                    self.pending.store(true, Ordering::Release);
                }
            }
            Phase::Busy => {
                state.parked.push(ticket);
                self.pending.store(true, Ordering::Release);
            }
        }
    }

    /// Worker: answers the immediate pings and moves parked ones into the
    /// inbox where there is room, if there are any.
    pub(crate) fn serve(&self, enqueue: Enqueue<'_>) {
        if self.pending.load(Ordering::Acquire) {
            let answered = self.take(enqueue, Phase::Busy);
            answer(answered);
        }
    }

    /// Worker: about to block on its empty inbox. Serves its pings, then
    /// marks itself idle, all under the lock: a pinger either finds its
    /// ping served here or finds the thread idle and wakes it.
    pub(crate) fn idle(&self, enqueue: Enqueue<'_>) {
        let answered = self.take(enqueue, Phase::Idle);
        answer(answered);
    }

    /// Worker: took an envelope after being idle.
    pub(crate) fn busy(&self) {
        let mut state = lock(&self.state);
        if state.phase == Phase::Idle {
            state.phase = Phase::Busy;
        }
    }

    /// Worker: its loop has ended; the pings it holds are dropped unanswered
    /// (the others' answers decide the ping).
    pub(crate) fn end(&self) {
        let (immediate, parked) = {
            let mut state = lock(&self.state);
            state.phase = Phase::Ended;
            self.pending.store(false, Ordering::Release);
            (
                mem::take(&mut state.immediate),
                mem::take(&mut state.parked),
            )
        };
        drop((immediate, parked));
    }

    fn take(&self, enqueue: Enqueue<'_>, phase: Phase) -> Vec<PingTicket> {
        let mut state = lock(&self.state);
        let answered = mem::take(&mut state.immediate);
        let mut parked = mem::take(&mut state.parked);
        while let Some(ticket) = parked.pop() {
            if let Err(ticket) = enqueue(ticket) {
                parked.push(ticket);
                break;
            }
        }
        self.pending.store(!parked.is_empty(), Ordering::Release);
        state.parked = parked;
        if state.phase != Phase::Ended {
            state.phase = phase;
        }
        answered
    }

    /// Worker: records the request it is about to handle, for a kill.
    pub(crate) fn hold(&self, request: Option<Arc<dyn Withdraw>>) {
        *lock(&self.in_hand) = request;
    }

    /// Killer: cancels the request in hand, if any.
    pub(crate) fn withdraw(&self) {
        if let Some(request) = lock(&self.in_hand).as_ref() {
            request.withdraw();
        }
    }
}

fn answer(tickets: Vec<PingTicket>) {
    for ticket in tickets {
        ticket.answer();
    }
}

/// The pause count and what the threads wait on while it is above zero.
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

    /// Waits while paused, doing `chores` (answering pings) each time it is
    /// woken; returns early when `stop` says the thread is being killed.
    pub(crate) fn wait(&self, stop: impl Fn() -> bool, mut chores: impl FnMut()) {
        let mut pauses = lock(&self.pauses);
        while *pauses > 0 && !stop() {
            chores();
            pauses = self
                .resumed
                .wait(pauses)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Wakes every paused thread: to stop (a kill), or to do its chores (a
    /// ping).
    pub(crate) fn wake_all(&self) {
        let _pauses = lock(&self.pauses);
        self.resumed.notify_all();
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
