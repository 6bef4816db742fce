//! `Worker`: a long-running isolate with a typed inbox and outbox, Dart's
//! `Isolate.spawn` with its `SendPort` / `ReceivePort` pair.
//!
//! The worker's function owns its loop and gets a [`Port`]: it receives the
//! caller's messages and sends its own. The caller keeps the other ends in
//! the [`Worker`], plus the isolate's outcome. Closing is by dropping: when
//! the caller's `Worker` (and every sender cloned from it) is gone, the
//! inbox closes, the loop's `recv` ends and the isolate exits on its own.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::body::Body;
use crate::builder::Builder;
use crate::channel::{Iter, Receiver, RecvError, SendError, Sender};
use crate::long_running::catch_outcome;
use crate::long_running::control::{PauseGate, Paused};
use crate::long_running::lifecycle::{Exit, ListenerId, Listeners, ThreadEnd};
use crate::message::Message;
use crate::sync::{lock, Arc, Mutex};
use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::state::Outcome;

/// The caller's side of a long-running isolate: send it messages, receive
/// its messages, learn how it ended.
///
/// Sends wait while the worker's inbox is full (back-pressure; 64 messages
/// unless [`Builder::capacity`] says otherwise); receives come
/// blocking, with a timeout, async, as an iterator or as a
/// `futures_core::Stream`.
///
/// Dropping the `Worker` closes its inbox once every [`sender`](Self::sender)
/// cloned from it is gone too, and its outbox once every
/// [`receiver`](Self::receiver) cloned from it is gone too (so a clone kept
/// to read the rest still gets it): the worker's loop sees its `recv` end
/// and the isolate exits cleanly. [`kill`](Self::kill) stops it
/// at once; [`into_handle`](Self::into_handle) closes them and gives the
/// handle to its outcome.
///
/// # Examples
///
/// ```
/// use isolate::{Port, Worker};
///
/// // A worker that keeps a running total.
/// let worker = Worker::spawn(|port: Port<u64, u64>| {
///     let mut total = 0;
///     for n in &port {
///         total += n;
///         if port.send(total).is_err() {
///             break; // the caller is gone
///         }
///     }
///     total
/// });
/// for n in 1..=3 {
///     worker.send(n).unwrap();
///     println!("running total: {}", worker.recv().unwrap());
/// }
/// assert_eq!(worker.into_handle().join().unwrap(), 6);
/// ```
#[must_use = "dropping a Worker closes its inbox: the worker ends once it has handled what was queued"]
pub struct Worker<In, Out, T = (), E = Infallible> {
    inbox: Sender<In>,
    outbox: Receiver<Out>,
    /// `None` once joined; dropped by detaching, never by cancelling.
    handle: Option<IsolateHandle<T, E>>,
    listeners: Arc<Listeners<E>>,
    /// Holds a worker built with [`Builder::start_paused`] before its
    /// body until [`Worker::start`] (or a kill, a join, a drop).
    start_pause: Mutex<Option<(Paused, Arc<PauseGate>)>>,
}

/// The worker's side of its channels: receive the caller's messages, send
/// your own. `send`, `recv`, `recv_async`, `for m in &port` and the `Stream`
/// are here; [`into_parts`](Port::into_parts) hands out the two channel ends
/// for the rest of the channel's API.
///
/// # Examples
///
/// ```
/// use isolate::{Port, Worker};
///
/// let worker = Worker::spawn(|port: Port<String, usize>| {
///     while let Ok(line) = port.recv() {
///         let _ = port.send(line.len());
///     }
/// });
/// worker.send("four".to_owned()).unwrap();
/// assert_eq!(worker.recv().unwrap(), 4);
/// ```
pub struct Port<In, Out> {
    inbox: Receiver<In>,
    outbox: Sender<Out>,
}

impl Worker<(), (), (), Infallible> {
    /// Starts a long-running isolate on a thread of its own, running `body`
    /// with its [`Port`]; the `Worker` returned is the caller's side.
    ///
    /// `Worker::spawn(body)` is `Builder::new().spawn(body)`: see
    /// [`Builder::spawn`] for options, an async body and a body whose
    /// `Result` is the worker's own error.
    ///
    /// `In` (what the caller sends), `Out` (what the worker sends) and the
    /// body's result must be [`Message`]s (`Send + 'static`): a type that is
    /// not is a compile error. The body returns when it likes; usually when
    /// its `recv` ends because the caller dropped its side.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate::{Port, Worker};
    ///
    /// let upper = Worker::spawn(|port: Port<String, String>| {
    ///     for text in &port {
    ///         if port.send(text.to_uppercase()).is_err() {
    ///             break;
    ///         }
    ///     }
    /// });
    /// upper.send("shout".to_owned()).unwrap();
    /// assert_eq!(upper.recv().unwrap(), "SHOUT");
    /// ```
    pub fn spawn<In, Out, B>(body: B) -> Worker<In, Out, B::Output, B::Error>
    where
        In: Message,
        Out: Message,
        B: Body<(Port<In, Out>,)>,
    {
        Builder::new().spawn(body)
    }
}

impl Builder {
    /// Starts a [`Worker`] with these options: a long-running isolate on a
    /// thread of its own, running `body` with its [`Port`].
    ///
    /// The body is a closure taking the port, an [`Async`](crate::Async)
    /// one, or either under [`Fold`](crate::Fold), whose `Err` is then the
    /// worker's own error (see [`Body`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate::{Async, Builder, Fold, Port};
    ///
    /// let summer = Builder::new().name("summer").spawn(Async(|port: Port<u8, ()>| async move {
    ///     let mut total = 0;
    ///     while let Ok(n) = port.recv_async().await {
    ///         total += n;
    ///     }
    ///     total
    /// }));
    /// summer.send(2).unwrap();
    /// assert_eq!(summer.into_handle().join().unwrap(), 2);
    ///
    /// let strict = Builder::new().spawn(Fold(|_: Port<(), ()>| Err::<(), _>("no config")));
    /// assert!(matches!(strict.into_handle().join().unwrap_err(), isolate::IsolateError::Failed { .. }));
    /// ```
    pub fn spawn<In, Out, B>(self, body: B) -> Worker<In, Out, B::Output, B::Error>
    where
        In: Message,
        Out: Message,
        B: Body<(Port<In, Out>,)>,
    {
        self.start_worker(move |port| body.__run((port,)))
    }

    fn start_worker<In, Out, F, T, E>(self, body: F) -> Worker<In, Out, T, E>
    where
        In: Message,
        Out: Message,
        T: Message,
        E: Message,
        F: FnOnce(Port<In, Out>) -> Outcome<T, E> + Send + 'static,
    {
        let (inbox_tx, inbox_rx) = self.channel();
        let (outbox_tx, outbox_rx) = self.channel();
        let port = Port {
            inbox: inbox_rx,
            outbox: outbox_tx,
        };
        let listeners = self.listeners(1);
        let start_pause = self.paused().then(|| {
            let gate = PauseGate::new();
            (gate.pause(), gate)
        });
        let gate = start_pause.as_ref().map(|(_, gate)| Arc::clone(gate));
        // Reports the end however it comes, the job dropped unrun included.
        let (end, starting) = ThreadEnd::new(&listeners);
        let job = move || {
            end.ended(catch_outcome(move || {
                if let Some(gate) = gate {
                    gate.wait(context::is_cancelled, || {});
                    if context::is_cancelled() {
                        return Err(IsolateError::cancelled()); // killed unstarted
                    }
                }
                body(port)
            }))
        };
        let handle = {
            let _starting = starting.begin();
            self.thread().spawn_job(job).0
        };
        Worker {
            inbox: inbox_tx,
            outbox: outbox_rx,
            handle: Some(handle),
            listeners,
            start_pause: Mutex::new(start_pause),
        }
    }
}

impl<In, Out, T, E> Worker<In, Out, T, E> {
    /// Sends a message to the worker, waiting while its inbox is full.
    ///
    /// # Errors
    ///
    /// [`SendError`], with the message, once the worker has stopped
    /// receiving (its port is gone, or it was killed).
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| port.recv().ok());
    /// worker.send(3).unwrap();
    /// assert_eq!(worker.into_handle().join().unwrap(), Some(3));
    /// ```
    pub fn send(&self, message: In) -> Result<(), SendError<In>> {
        self.inbox.send(message)
    }

    /// Waits for the worker's next message.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the worker's outbox is empty and closed: it ended,
    /// or dropped its port.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), &str>| port.send("ready").ok());
    /// assert_eq!(worker.recv().unwrap(), "ready");
    /// ```
    pub fn recv(&self) -> Result<Out, RecvError> {
        self.outbox.recv()
    }

    /// Awaits the worker's next message; works on any executor. The
    /// `Worker` is also a `Stream` of its messages.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the outbox is empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| port.send(1).ok());
    /// assert_eq!(futures::executor::block_on(worker.recv_async()).unwrap(), 1);
    /// ```
    pub async fn recv_async(&self) -> Result<Out, RecvError> {
        self.outbox.recv_async().await
    }

    /// Another sender into the worker's inbox, for other threads. The inbox
    /// closes when the `Worker` and every such sender are gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| port.into_parts().0.iter().count());
    /// let sender = worker.sender().clone();
    /// std::thread::spawn(move || sender.send(1).unwrap()).join().unwrap();
    /// assert!(worker.sender().try_send(2).is_ok()); // the channel's whole API
    /// assert_eq!(worker.into_handle().join().unwrap(), 2);
    /// ```
    pub fn sender(&self) -> &Sender<In> {
        &self.inbox
    }

    /// Another receiver of the worker's messages; each message goes to one
    /// receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| port.send(9).ok());
    /// let receiver = worker.receiver();
    /// assert_eq!(receiver.recv_timeout(Duration::from_secs(10)).unwrap(), 9);
    /// assert_eq!(receiver.iter().count(), 0); // ends once the worker is gone
    /// ```
    pub fn receiver(&self) -> &Receiver<Out> {
        &self.outbox
    }

    /// Calls `listener` once the worker has ended, with how it ended (on the
    /// worker's thread; at once, on this thread, if it has ended already).
    /// To get it as a message, send it into a channel.
    ///
    /// Every way a worker ends reaches every exit listener exactly once: its
    /// body returning, failing, panicking or calling [`exit`](crate::exit),
    /// a [`kill`](Self::kill) (even one before its thread started), or a
    /// thread that could not be started. The returned [`ListenerId`]
    /// removes the listener again with [`remove_listener`](Self::remove_listener).
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate::Exit;
    ///
    /// # isolate::print_panics(false);
    /// let worker = isolate::Worker::spawn(|_: isolate::Port<(), ()>| panic!("lost"));
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// worker.on_exit(move |exit| tx.send(exit).unwrap());
    /// assert_eq!(rx.recv().unwrap(), Exit::Panicked);
    /// ```
    pub fn on_exit(&self, listener: impl FnOnce(Exit) + Send + 'static) -> ListenerId {
        ListenerId(self.listeners.add_exit(Box::new(listener)))
    }

    /// Calls `listener` (on the worker's thread) when the worker fails: it
    /// panics or returns `Err`. The error itself is still the outcome that
    /// [`into_handle`](Self::into_handle) gives. A failure before the
    /// listener was added is
    /// not reported to it, and a listener added once the worker has ended
    /// (it could never be called) is dropped at once, with what it holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), ()>| {
    ///     let _ = port.recv();
    ///     panic!("disk full");
    /// });
    /// # isolate::print_panics(false);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// worker.on_error(move |error| tx.send(error.to_string()).unwrap());
    /// worker.send(()).unwrap();
    /// assert!(rx.recv().unwrap().contains("disk full"));
    /// ```
    pub fn on_error(&self, listener: impl FnMut(&IsolateError<E>) + Send + 'static) -> ListenerId
    where
        E: 'static,
    {
        ListenerId(self.listeners.add_error(Box::new(listener)))
    }

    /// Removes an exit or error listener added to this worker (Dart's
    /// `removeOnExitListener` / `removeErrorListener`) and drops it;
    /// `false` if it was already called, dropped or removed.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), ()>| port.recv().ok());
    /// let (tx, rx) = std::sync::mpsc::channel::<isolate::Exit>();
    /// let id = worker.on_exit(move |exit| tx.send(exit).unwrap());
    /// assert!(worker.remove_listener(id));
    /// assert!(rx.recv().is_err()); // the listener, and its sender, are gone
    /// # worker.send(()).unwrap();
    /// ```
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        id.0.is_some_and(|id| self.listeners.remove(id))
    }

    /// Stops the worker: closes both directions and cancels the isolate, so
    /// [`is_cancelled`](crate::is_cancelled) turns `true` inside it. The
    /// messages queued for the worker are dropped unread (here, on the
    /// caller's thread; a reply handle inside one is freed), so the worker's
    /// next receive ends; pending and later sends fail. What the worker sent
    /// before stays readable, then the caller's receives end. Like every
    /// cancel, it is cooperative: code that never receives, sends or checks
    /// runs on.
    ///
    /// A killed worker ends [`Exit::Cancelled`], and its outcome (from
    /// [`into_handle`](Self::into_handle)) is [`IsolateError::Cancelled`], whatever its body returns once
    /// its loop sees the closed channels (that value is dropped on the
    /// worker's thread); only a panic is still reported as a panic. The
    /// exit listeners are told even when the kill lands before the worker's
    /// thread has started.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| {
    ///     while port.recv().is_ok() {}
    ///     "the loop ended" // dropped: the worker was killed
    /// });
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// worker.on_exit(move |exit| tx.send(exit).unwrap());
    /// worker.kill();
    /// assert!(matches!(worker.into_handle().join().unwrap_err(), isolate::IsolateError::Cancelled { .. }));
    /// assert_eq!(rx.recv().unwrap(), isolate::Exit::Cancelled);
    /// ```
    pub fn kill(&self) {
        if let Some(handle) = &self.handle {
            handle.cancel();
        }
        self.inbox.close_and_discard();
        self.outbox.close();
        // A worker held before its body sees the cancel and ends.
        if let Some((_, gate)) = lock(&self.start_pause).as_ref() {
            gate.wake_all();
        }
    }

    /// Starts a worker spawned with [`Builder::start_paused`]: its
    /// body runs from now on. Returns `false` if it was not held (never
    /// paused, or started already).
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Builder::new()
    ///     .start_paused()
    ///     .spawn(|port: isolate::Port<u8, u8>| port.into_parts().0.iter().sum::<u8>());
    /// worker.send(2).unwrap(); // queued while paused
    /// assert!(worker.start());
    /// assert!(!worker.start());
    /// assert_eq!(worker.into_handle().join().unwrap(), 2);
    /// ```
    pub fn start(&self) -> bool {
        let held = lock(&self.start_pause).take();
        held.is_some()
    }

    /// Returns `true` once the worker has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), ()>| port.recv().ok());
    /// assert!(!worker.is_finished()); // waiting for a message
    /// # worker.send(()).unwrap();
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(IsolateHandle::is_finished)
    }

    /// The worker's name, `"<unnamed>"` unless given.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Builder::new().name("w1").spawn(|_: isolate::Port<(), ()>| ());
    /// assert_eq!(worker.name(), "w1");
    /// ```
    pub fn name(&self) -> &str {
        self.handle.as_ref().map_or("", IsolateHandle::name)
    }

    /// Closes the worker's inbox and outbox (this side's ends) and returns
    /// the handle to its outcome: [`join`](IsolateHandle::join) it,
    /// [`join_timeout`](IsolateHandle::join_timeout) it or `.await` it; the
    /// outcome is folded as for a one-shot isolate. Dropping that handle
    /// cancels the worker.
    ///
    /// Closing both first means the worker cannot stay blocked on a send to
    /// a caller that no longer reads: read what you need before this.
    ///
    /// The outcome is the worker's own `Err`, its panic,
    /// [`IsolateError::Cancelled`] after a [`kill`](Self::kill),
    /// [`IsolateError::EndedWithoutResult`] after [`exit`](crate::exit), or
    /// [`IsolateError::Spawn`] if no thread started.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u32, ()>| port.into_parts().0.iter().sum::<u32>());
    /// worker.send(1).unwrap();
    /// let total = futures::executor::block_on(worker.into_handle()).unwrap();
    /// assert_eq!(total, 1);
    /// ```
    pub fn into_handle(mut self) -> IsolateHandle<T, E> {
        self.inbox.close();
        self.outbox.close();
        self.start();
        self.handle
            .take()
            .expect("a Worker holds its handle until it is joined")
    }
}

impl<In, Out, T, E> Drop for Worker<In, Out, T, E> {
    fn drop(&mut self) {
        // The inbox closes with its last sender; the isolate runs on to the
        // end of its loop, with no one waiting for its outcome.
        if let Some(handle) = self.handle.take() {
            handle.detach();
        }
    }
}

impl<In, Out, T, E> Stream for Worker<In, Out, T, E> {
    type Item = Out;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Out>> {
        Pin::new(&mut self.outbox).poll_next(cx)
    }
}

impl<'a, In, Out, T, E> IntoIterator for &'a Worker<In, Out, T, E> {
    type Item = Out;
    type IntoIter = Iter<'a, Out>;

    fn into_iter(self) -> Iter<'a, Out> {
        self.outbox.iter()
    }
}

impl<In, Out, T, E> fmt::Debug for Worker<In, Out, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name())
            .field("finished", &self.is_finished())
            .field("queued", &self.inbox.len())
            .finish()
    }
}

impl<In, Out> Port<In, Out> {
    /// Waits for the caller's next message.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the inbox is empty and closed: the caller dropped
    /// its side, joined, or killed the worker. That is the loop's usual end.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| {
    ///     let mut seen = 0;
    ///     while port.recv().is_ok() {
    ///         seen += 1;
    ///     }
    ///     seen
    /// });
    /// worker.send(1).unwrap();
    /// assert_eq!(worker.into_handle().join().unwrap(), 1);
    /// ```
    pub fn recv(&self) -> Result<In, RecvError> {
        self.inbox.recv()
    }

    /// Awaits the caller's next message, for a worker whose body drives
    /// async code (see [`Async`](crate::Async)).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the inbox is empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| {
    ///     futures::executor::block_on(port.recv_async()).ok()
    /// });
    /// worker.send(4).unwrap();
    /// assert_eq!(worker.into_handle().join().unwrap(), Some(4));
    /// ```
    pub async fn recv_async(&self) -> Result<In, RecvError> {
        self.inbox.recv_async().await
    }

    /// Sends a message to the caller, waiting while the outbox is full.
    ///
    /// # Errors
    ///
    /// [`SendError`], with the message, once the caller stopped receiving:
    /// it dropped the `Worker`, joined, or killed it. A loop should end then.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| port.send(1).is_ok());
    /// assert_eq!(worker.recv().unwrap(), 1);
    /// ```
    pub fn send(&self, message: Out) -> Result<(), SendError<Out>> {
        self.outbox.send(message)
    }

    /// The two channel ends, owned: the inbox's receiver and the outbox's
    /// sender, for the rest of the channel's API (`try_recv`,
    /// `recv_timeout`, `try_send`, `send_async`, ...) or for helpers of the
    /// worker's own.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, u8>| {
    ///     let (inbox, outbox) = port.into_parts();
    ///     while let Ok(n) = inbox.recv_timeout(Duration::from_secs(10)) {
    ///         if outbox.try_send(n + 1).is_err() {
    ///             break;
    ///         }
    ///     }
    /// });
    /// worker.send(1).unwrap();
    /// assert_eq!(worker.recv().unwrap(), 2);
    /// ```
    pub fn into_parts(self) -> (Receiver<In>, Sender<Out>) {
        (self.inbox, self.outbox)
    }
}

impl<In, Out> Stream for Port<In, Out> {
    type Item = In;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<In>> {
        Pin::new(&mut self.inbox).poll_next(cx)
    }
}

impl<'a, In, Out> IntoIterator for &'a Port<In, Out> {
    type Item = In;
    type IntoIter = Iter<'a, In>;

    fn into_iter(self) -> Iter<'a, In> {
        self.inbox.iter()
    }
}

impl<In, Out> fmt::Debug for Port<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("inbox", &self.inbox)
            .field("outbox", &self.outbox)
            .finish()
    }
}
