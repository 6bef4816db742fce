//! One thread of a service (a *member*): its loop (build the state, then
//! one envelope at a time: a request run as the request's own isolate, an
//! ordered ping, a wake-up to look at the control), pausing between
//! requests, and retiring exactly once when it ends (see the module docs of
//! `service` for the protocol).

use std::cell::Cell;
use std::mem;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::routes::{Envelope, Routes};
use super::serving::{Closable, Serving};
use crate::channel::{Receiver, TryRecvError, TrySendError};
use crate::long_running::control::{Control, PingTicket};
use crate::long_running::lifecycle::{Listeners, ThreadEnd};
use crate::message::Message;
use crate::sync::{lock, Arc, Ordering};
use crate::task::context::{self, ExitSignal};
use crate::task::error::IsolateError;
use crate::task::panic::{clear_recorded, Panic};
use crate::task::promise::Promise;
use crate::task::state::{drop_quietly, Outcome};

/// A thread's job: its loop, then the report of its end (in this order,
/// fields dropping in declaration order when the job is dropped unrun).
pub(super) struct MemberJob<Req: Message, Resp: Message, E: Message> {
    pub(super) member: Member<Req, Resp, E>,
    pub(super) end: ThreadEnd<E>,
}

/// One thread of a service: its loop, and what it does when it ends.
pub(super) struct Member<Req: Message, Resp: Message, E: Message> {
    pub(super) index: usize,
    pub(super) inbox: Receiver<Envelope<Req, Resp, E>>,
    pub(super) routes: Arc<Routes<Req, Resp, E>>,
    pub(super) listeners: Arc<Listeners<E>>,
    pub(super) errors_are_fatal: bool,
    /// How many more times it may restart after a panic.
    pub(super) restarts_left: Cell<usize>,
    /// Whether its queue has been drained; see [`Member::retire`].
    pub(super) retired: bool,
}

impl<Req: Message, Resp: Message, E: Message> Member<Req, Resp, E> {
    pub(super) fn control(&self) -> &Control {
        &self.routes.inboxes[self.index].control
    }

    /// Puts an ordered ping into this thread's own inbox, if it has room.
    pub(super) fn enqueue(&self, ticket: PingTicket) -> Result<(), PingTicket> {
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

    pub(super) fn killed(&self) -> bool {
        self.routes.killed.load(Ordering::SeqCst) || context::is_cancelled()
    }

    /// Takes one restart, if the policy has one left and the service still
    /// runs.
    pub(super) fn may_restart(&self) -> bool {
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
    pub(super) fn serve<S>(
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
    pub(super) fn closed(&self) -> Outcome<(), E> {
        if self.killed() {
            Err(IsolateError::cancelled())
        } else {
            Ok(())
        }
    }

    /// Answers one request; returns the thread's own error when the handler
    /// panicked and panics are fatal.
    pub(super) fn handle<S>(
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
        let inbox = &self.routes.inboxes[self.index];
        let started = self.routes.weighs_work().then(|| {
            self.routes.request_started(inbox);
            Instant::now()
        });
        let result = {
            // The handler runs as its request's isolate: `is_cancelled()`
            // reads its caller's cancel.
            let _entered = promise.enter();
            catch_unwind(AssertUnwindSafe(|| handler(state, request)))
        };
        if let Some(started) = started {
            self.routes.request_ended(inbox, started.elapsed());
        }
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
    pub(super) fn retire(&mut self, outcome: Option<&Outcome<(), E>>) {
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
        // `recv` on the closed inbox: it also waits for a request whose
        // send saw the inbox open and is still on its way in.
        while let Ok(envelope) = self.inbox.recv() {
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
