//! `Worker`: a long-running isolate with a typed inbox and outbox, Dart's
//! `Isolate.spawn` with its `SendPort` / `ReceivePort` pair.
//!
//! The worker's function owns its loop and gets a [`Port`]: it receives the
//! caller's messages and sends its own. The caller keeps the other ends in
//! the [`Worker`], plus the isolate's outcome. Closing is by dropping: when
//! the caller's `Worker` (and every sender cloned from it) is gone, the
//! inbox closes, the loop's `recv` ends and the isolate exits on its own.

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use crate::channel::{
    Iter, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};
use crate::long_running::control::{PauseGate, Paused};
use crate::long_running::lifecycle::{Exit, ListenerId, Listeners, ThreadEnd};
use crate::long_running::{catch_outcome, Options};
use crate::message::Message;
use crate::pool::block_on::block_on;
use crate::sync::{lock, Arc, Mutex};
use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::state::Outcome;

/// The caller's side of a long-running isolate: send it messages, receive
/// its messages, learn how it ended.
///
/// Sends wait while the worker's inbox is full (back-pressure; 64 messages
/// unless [`WorkerBuilder::capacity`] says otherwise); receives come
/// blocking, with a timeout, async, as an iterator or as a
/// `futures_core::Stream`.
///
/// Dropping the `Worker` closes its inbox (once every [`sender`](Self::sender)
/// cloned from it is gone too) and its outbox: the worker's loop sees its
/// `recv` end and the isolate exits cleanly. [`kill`](Self::kill) stops it
/// at once; [`join`](Self::join) closes and waits for its outcome.
///
/// # Examples
///
/// ```
/// use isolate::{Port, Worker};
///
/// // A worker that keeps a running total.
/// let worker = Worker::spawn(|port: Port<u64, u64>| {
///     let mut total = 0;
///     for n in port.iter() {
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
/// assert_eq!(worker.join().unwrap(), 6);
/// ```
#[must_use = "dropping a Worker closes its inbox: the worker ends once it has handled what was queued"]
pub struct Worker<In, Out, T = (), E = Infallible> {
    inbox: Sender<In>,
    outbox: Receiver<Out>,
    /// `None` once joined; dropped by detaching, never by cancelling.
    handle: Option<IsolateHandle<T, E>>,
    listeners: Arc<Listeners<E>>,
    /// Holds a worker built with [`WorkerBuilder::start_paused`] before its
    /// body until [`Worker::start`] (or a kill, a join, a drop).
    start_pause: Mutex<Option<(Paused, Arc<PauseGate>)>>,
}

/// The worker's side of its channels: receive the caller's messages, send
/// your own.
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

/// Options for a [`Worker`]: name, inbox capacity, stack size, exit
/// listeners registered before it starts, starting paused.
///
/// # Examples
///
/// ```
/// use isolate::{Port, Worker};
///
/// let worker = Worker::builder()
///     .name("echo")
///     .capacity(2)
///     .spawn(|port: Port<u8, u8>| port.iter().try_for_each(|m| port.send(m)).ok());
/// assert_eq!(worker.name(), "echo");
/// worker.send(1).unwrap();
/// assert_eq!(worker.recv().unwrap(), 1);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a WorkerBuilder does nothing until .spawn() or .try_spawn() is called"]
pub struct WorkerBuilder {
    options: Options,
}

impl WorkerBuilder {
    /// Default options: unnamed, a 64-message inbox and outbox.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::WorkerBuilder::new().spawn(|_: isolate::Port<(), ()>| 1);
    /// assert_eq!(worker.join().unwrap(), 1);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the worker; its thread carries the name.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder()
    ///     .name("indexer")
    ///     .spawn(|_: isolate::Port<(), ()>| std::thread::current().name().map(str::to_owned));
    /// assert_eq!(worker.join().unwrap().as_deref(), Some("indexer"));
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.options.set_name(name.into());
        self
    }

    /// How many messages each direction holds before a send waits
    /// (back-pressure). A capacity of 0 is taken as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder().capacity(1).spawn(|port: isolate::Port<u8, ()>| {
    ///     port.recv().ok()
    /// });
    /// worker.send(1).unwrap();
    /// assert_eq!(worker.join().unwrap(), Some(1));
    /// ```
    pub fn capacity(mut self, messages: usize) -> Self {
        self.options.capacity = Some(messages);
        self
    }

    /// Lets both directions hold any number of messages: a send never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder().unbounded().spawn(|port: isolate::Port<u32, ()>| {
    ///     port.iter().count()
    /// });
    /// for i in 0..10_000 {
    ///     worker.send(i).unwrap(); // never waits
    /// }
    /// assert_eq!(worker.join().unwrap(), 10_000);
    /// ```
    pub fn unbounded(mut self) -> Self {
        self.options.capacity = None;
        self
    }

    /// Calls `listener` when the worker ends, with how it ended, like
    /// [`Worker::on_exit`] but registered before the worker exists (Dart's
    /// `onExit` argument of `Isolate.spawn`): nothing the worker does can
    /// come before it. Every worker this builder (or a clone) spawns calls
    /// it once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// # isolate::print_panics(false);
    /// let worker = isolate::Worker::builder()
    ///     .on_exit(move |exit| tx.send(exit).unwrap())
    ///     .spawn(|_: isolate::Port<(), ()>| panic!("at once"));
    /// assert_eq!(rx.recv().unwrap(), isolate::Exit::Panicked);
    /// # drop(worker);
    /// ```
    pub fn on_exit(mut self, listener: impl Fn(Exit) + Send + Sync + 'static) -> Self {
        self.options.on_exit.push(Arc::new(listener));
        self
    }

    /// Spawns the worker paused (Dart's `Isolate.spawn(paused: true)`): its
    /// thread starts, but its body runs only once [`Worker::start`] is
    /// called, so listeners (typed error listeners included) can be added
    /// before anything can fail. Messages sent meanwhile queue in its
    /// inbox. A kill, a join or dropping the `Worker` starts it too.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let worker = isolate::Worker::builder()
    ///     .start_paused()
    ///     .spawn(|_: isolate::Port<(), ()>| panic!("at once"));
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// worker.on_error(move |error| tx.send(error.to_string()).unwrap());
    /// worker.start();
    /// assert!(rx.recv().unwrap().contains("at once")); // cannot be missed
    /// ```
    pub fn start_paused(mut self) -> Self {
        self.options.paused = true;
        self
    }

    /// The stack size, in bytes, of the worker's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder().stack_size(8 << 20).spawn(|_: isolate::Port<(), ()>| ());
    /// worker.join().unwrap();
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.options.stack_size = Some(bytes);
        self
    }

    /// Starts a worker running `body` on a thread of its own; see
    /// [`Worker::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder().spawn(|port: isolate::Port<i32, i32>| {
    ///     port.iter().try_for_each(|n| port.send(-n)).ok();
    /// });
    /// worker.send(5).unwrap();
    /// assert_eq!(worker.recv().unwrap(), -5);
    /// ```
    pub fn spawn<In, Out, F, R>(self, body: F) -> Worker<In, Out, R>
    where
        In: Message,
        Out: Message,
        R: Message,
        F: FnOnce(Port<In, Out>) -> R + Send + 'static,
    {
        self.start(move |port| Ok(body(port)))
    }

    /// Like [`spawn`](Self::spawn) for a body that returns a `Result`: its
    /// `Err` becomes the worker's [`IsolateError::Failed`] and is reported
    /// to the error listeners.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder().try_spawn(|port: isolate::Port<String, ()>| {
    ///     let text = port.recv().map_err(|_| "no input".to_owned())?;
    ///     text.parse::<u32>().map_err(|e| e.to_string())
    /// });
    /// worker.send("12".to_owned()).unwrap();
    /// assert_eq!(worker.join().unwrap(), 12);
    /// ```
    pub fn try_spawn<In, Out, F, T, E>(self, body: F) -> Worker<In, Out, T, E>
    where
        In: Message,
        Out: Message,
        T: Message,
        E: Message,
        F: FnOnce(Port<In, Out>) -> Result<T, E> + Send + 'static,
    {
        self.start(move |port| body(port).map_err(IsolateError::Failed))
    }

    /// Starts a worker whose body is async: the future is created and
    /// driven on the worker's thread, so it need not be `Send` (it may hold
    /// an `Rc` across an `.await`), and [`Worker::kill`] drops it before its
    /// next poll, as for [`run_async`](crate::run_async).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let worker = isolate::Worker::builder().spawn_async(|port: isolate::Port<u32, u32>| async move {
    ///     let seen = Rc::new(std::cell::Cell::new(0)); // not Send, held across awaits
    ///     while let Ok(n) = port.recv_async().await {
    ///         seen.set(seen.get() + 1);
    ///         if port.send_async(n * 10).await.is_err() {
    ///             break;
    ///         }
    ///     }
    ///     seen.get()
    /// });
    /// worker.send(4).unwrap();
    /// assert_eq!(worker.recv().unwrap(), 40);
    /// assert_eq!(worker.join().unwrap(), 1);
    /// ```
    pub fn spawn_async<In, Out, F, Fut>(self, body: F) -> Worker<In, Out, Fut::Output>
    where
        In: Message,
        Out: Message,
        F: FnOnce(Port<In, Out>) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Message,
    {
        self.start(move |port| block_on(body(port)))
    }

    /// Like [`spawn_async`](Self::spawn_async) for a body whose `Result`
    /// is folded into the worker's outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder().try_spawn_async(|port: isolate::Port<String, ()>| async move {
    ///     let text = port.recv_async().await.map_err(|_| "no input".to_owned())?;
    ///     text.parse::<u8>().map_err(|e| e.to_string())
    /// });
    /// worker.send("7".to_owned()).unwrap();
    /// assert_eq!(worker.join().unwrap(), 7);
    /// ```
    pub fn try_spawn_async<In, Out, F, Fut, T, E>(self, body: F) -> Worker<In, Out, T, E>
    where
        In: Message,
        Out: Message,
        T: Message,
        E: Message,
        F: FnOnce(Port<In, Out>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + 'static,
    {
        self.start(move |port| block_on(body(port))?.map_err(IsolateError::Failed))
    }

    fn start<In, Out, F, T, E>(self, body: F) -> Worker<In, Out, T, E>
    where
        In: Message,
        Out: Message,
        T: Message,
        E: Message,
        F: FnOnce(Port<In, Out>) -> Outcome<T, E> + Send + 'static,
    {
        let (inbox_tx, inbox_rx) = self.options.channel();
        let (outbox_tx, outbox_rx) = self.options.channel();
        let port = Port {
            inbox: inbox_rx,
            outbox: outbox_tx,
        };
        let listeners = self.options.listeners(1);
        let start_pause = self.options.paused.then(|| {
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
                        return Err(IsolateError::Cancelled); // killed unstarted
                    }
                }
                body(port)
            }))
        };
        let handle = {
            let _starting = starting.begin();
            self.options.thread().spawn_job(job).0
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

impl Worker<(), (), (), Infallible> {
    /// A builder for a worker with options.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder().name("w").spawn(|_: isolate::Port<(), ()>| ());
    /// worker.join().unwrap();
    /// ```
    pub fn builder() -> WorkerBuilder {
        WorkerBuilder::new()
    }

    /// Starts a long-running isolate on a thread of its own, running `body`
    /// with its [`Port`]; the `Worker` returned is the caller's side.
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
    ///     for text in port.iter() {
    ///         if port.send(text.to_uppercase()).is_err() {
    ///             break;
    ///         }
    ///     }
    /// });
    /// upper.send("shout".to_owned()).unwrap();
    /// assert_eq!(upper.recv().unwrap(), "SHOUT");
    /// ```
    pub fn spawn<In, Out, F, R>(body: F) -> Worker<In, Out, R>
    where
        In: Message,
        Out: Message,
        R: Message,
        F: FnOnce(Port<In, Out>) -> R + Send + 'static,
    {
        WorkerBuilder::new().spawn(body)
    }

    /// Starts a worker whose body is async, with default options; see
    /// [`WorkerBuilder::spawn_async`].
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn_async(|port: isolate::Port<u8, u8>| async move {
    ///     let mut total = 0;
    ///     while let Ok(n) = port.recv_async().await {
    ///         total += n;
    ///     }
    ///     total
    /// });
    /// worker.send(2).unwrap();
    /// assert_eq!(worker.join().unwrap(), 2);
    /// ```
    pub fn spawn_async<In, Out, F, Fut>(body: F) -> Worker<In, Out, Fut::Output>
    where
        In: Message,
        Out: Message,
        F: FnOnce(Port<In, Out>) -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Message,
    {
        WorkerBuilder::new().spawn_async(body)
    }

    /// Like [`spawn`](Self::spawn) for a body that returns a `Result`, whose
    /// `Err` is folded into the worker's outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::try_spawn(|_: isolate::Port<(), ()>| Err::<(), _>("no config"));
    /// assert_eq!(worker.join().unwrap_err().into_failed(), Some("no config"));
    /// ```
    pub fn try_spawn<In, Out, F, T, E>(body: F) -> Worker<In, Out, T, E>
    where
        In: Message,
        Out: Message,
        T: Message,
        E: Message,
        F: FnOnce(Port<In, Out>) -> Result<T, E> + Send + 'static,
    {
        WorkerBuilder::new().try_spawn(body)
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
    /// assert_eq!(worker.join().unwrap(), Some(3));
    /// ```
    pub fn send(&self, message: In) -> Result<(), SendError<In>> {
        self.inbox.send(message)
    }

    /// Sends a message if the inbox has room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the message.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| port.recv().ok());
    /// worker.try_send(3).unwrap();
    /// # worker.join().unwrap();
    /// ```
    pub fn try_send(&self, message: In) -> Result<(), TrySendError<In>> {
        self.inbox.try_send(message)
    }

    /// Sends a message, waiting at most `timeout` for room in the inbox.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with
    /// the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| port.recv().ok());
    /// worker.send_timeout(3, Duration::from_secs(5)).unwrap();
    /// # worker.join().unwrap();
    /// ```
    pub fn send_timeout(&self, message: In, timeout: Duration) -> Result<(), SendTimeoutError<In>> {
        self.inbox.send_timeout(message, timeout)
    }

    /// Sends a message, awaiting room in the inbox; works on any executor.
    ///
    /// # Errors
    ///
    /// [`SendError`], with the message, once the worker stopped receiving.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| port.recv().ok());
    /// futures::executor::block_on(worker.send_async(3)).unwrap();
    /// assert_eq!(worker.join().unwrap(), Some(3));
    /// ```
    pub async fn send_async(&self, message: In) -> Result<(), SendError<In>> {
        self.inbox.send_async(message).await
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

    /// Takes the worker's next message if there is one now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| {
    ///     let _ = port.recv(); // wait for the caller's word
    /// });
    /// assert!(worker.try_recv().is_err()); // nothing sent yet
    /// ```
    pub fn try_recv(&self) -> Result<Out, TryRecvError> {
        self.outbox.try_recv()
    }

    /// Waits at most `timeout` for the worker's next message.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| port.send(1).ok());
    /// assert_eq!(worker.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Out, RecvTimeoutError> {
        self.outbox.recv_timeout(timeout)
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

    /// A blocking iterator over the worker's messages, until it stops
    /// sending.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| {
    ///     (1..=3).try_for_each(|n| port.send(n)).ok();
    /// });
    /// assert_eq!(worker.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    pub fn iter(&self) -> Iter<'_, Out> {
        self.outbox.iter()
    }

    /// Another sender into the worker's inbox, for other threads. The inbox
    /// closes when the `Worker` and every such sender are gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| port.iter().count());
    /// let sender = worker.sender();
    /// std::thread::spawn(move || sender.send(1).unwrap()).join().unwrap();
    /// assert_eq!(worker.join().unwrap(), 1);
    /// ```
    pub fn sender(&self) -> Sender<In> {
        self.inbox.clone()
    }

    /// Another receiver of the worker's messages; each message goes to one
    /// receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| port.send(9).ok());
    /// let receiver = worker.receiver();
    /// assert_eq!(receiver.recv().unwrap(), 9);
    /// ```
    pub fn receiver(&self) -> Receiver<Out> {
        self.outbox.clone()
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
    /// panics or returns `Err`. The error itself still goes to whoever
    /// [`join`](Self::join)s. A failure before the listener was added is
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

    /// Stops the worker: closes both directions (queued messages are
    /// dropped unread by the caller's side, pending sends fail) and cancels
    /// the isolate, so [`is_cancelled`](crate::is_cancelled) turns `true`
    /// inside it. Like every cancel, it is cooperative: code that never
    /// receives, sends or checks runs on.
    ///
    /// A killed worker ends [`Exit::Cancelled`] and [`join`](Self::join)
    /// returns [`IsolateError::Cancelled`], whatever its body returns once
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
    /// assert!(worker.join().unwrap_err().is_cancelled());
    /// assert_eq!(rx.recv().unwrap(), isolate::Exit::Cancelled);
    /// ```
    pub fn kill(&self) {
        if let Some(handle) = &self.handle {
            handle.cancel();
        }
        self.inbox.close();
        self.outbox.close();
        // A worker held before its body sees the cancel and ends.
        if let Some((_, gate)) = lock(&self.start_pause).as_ref() {
            gate.wake_all();
        }
    }

    /// Starts a worker spawned with [`WorkerBuilder::start_paused`]: its
    /// body runs from now on. Returns `false` if it was not held (never
    /// paused, or started already).
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::builder()
    ///     .start_paused()
    ///     .spawn(|port: isolate::Port<u8, u8>| port.iter().sum::<u8>());
    /// worker.send(2).unwrap(); // queued while paused
    /// assert!(worker.start());
    /// assert!(!worker.start());
    /// assert_eq!(worker.join().unwrap(), 2);
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
    /// let worker = isolate::Worker::builder().name("w1").spawn(|_: isolate::Port<(), ()>| ());
    /// assert_eq!(worker.name(), "w1");
    /// ```
    pub fn name(&self) -> &str {
        self.handle.as_ref().map_or("", IsolateHandle::name)
    }

    /// Closes the worker's inbox and outbox (this side's ends) and waits for
    /// it to end; returns its outcome, folded as for a one-shot isolate.
    ///
    /// Closing both first means the worker cannot stay blocked on a send to
    /// a caller that no longer reads: read what you need before joining.
    ///
    /// # Errors
    ///
    /// The worker's own `Err`, its panic, [`IsolateError::Cancelled`] after
    /// a [`kill`](Self::kill), [`IsolateError::EndedWithoutResult`] after
    /// [`exit`](crate::exit), [`IsolateError::Spawn`] if no thread started.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u32, ()>| port.iter().sum::<u32>());
    /// worker.send(40).unwrap();
    /// worker.send(2).unwrap();
    /// assert_eq!(worker.join().unwrap(), 42);
    /// ```
    pub fn join(self) -> Result<T, IsolateError<E>> {
        self.into_handle().join()
    }

    /// Closes the worker's inbox and outbox like [`join`](Self::join), and
    /// returns the handle to its outcome: `.await` it, or
    /// [`join_timeout`](IsolateHandle::join_timeout) it. Dropping that
    /// handle cancels the worker.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u32, ()>| port.iter().sum::<u32>());
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
    /// assert_eq!(worker.join().unwrap(), 1);
    /// ```
    pub fn recv(&self) -> Result<In, RecvError> {
        self.inbox.recv()
    }

    /// Takes the caller's next message if there is one now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| port.try_recv().ok());
    /// # let _ = worker.join();
    /// ```
    pub fn try_recv(&self) -> Result<In, TryRecvError> {
        self.inbox.try_recv()
    }

    /// Waits at most `timeout` for the caller's next message: a worker with
    /// periodic chores between messages.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use isolate::channel::RecvTimeoutError;
    ///
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| {
    ///     let mut ticks = 0;
    ///     loop {
    ///         match port.recv_timeout(Duration::from_millis(1)) {
    ///             Ok(_) => {}
    ///             Err(RecvTimeoutError::Timeout) => ticks += 1, // a chore
    ///             Err(RecvTimeoutError::Closed) => return ticks,
    ///         }
    ///     }
    /// });
    /// # let _ = worker.join();
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<In, RecvTimeoutError> {
        self.inbox.recv_timeout(timeout)
    }

    /// Awaits the caller's next message, for a worker whose body drives
    /// async code (see [`run_async`](crate::run_async)).
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
    /// assert_eq!(worker.join().unwrap(), Some(4));
    /// ```
    pub async fn recv_async(&self) -> Result<In, RecvError> {
        self.inbox.recv_async().await
    }

    /// A blocking iterator over the caller's messages; it ends when the
    /// inbox is empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, ()>| port.iter().count());
    /// worker.send(1).unwrap();
    /// worker.send(2).unwrap();
    /// assert_eq!(worker.join().unwrap(), 2);
    /// ```
    pub fn iter(&self) -> Iter<'_, In> {
        self.inbox.iter()
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

    /// Sends a message to the caller if the outbox has room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the message.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| port.try_send(1).is_ok());
    /// assert_eq!(worker.recv().unwrap(), 1);
    /// ```
    pub fn try_send(&self, message: Out) -> Result<(), TrySendError<Out>> {
        self.outbox.try_send(message)
    }

    /// Sends a message to the caller, awaiting room in the outbox.
    ///
    /// # Errors
    ///
    /// [`SendError`], with the message, once the caller stopped receiving.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| {
    ///     futures::executor::block_on(port.send_async(1)).is_ok()
    /// });
    /// assert_eq!(worker.recv().unwrap(), 1);
    /// ```
    pub async fn send_async(&self, message: Out) -> Result<(), SendError<Out>> {
        self.outbox.send_async(message).await
    }

    /// The two channel ends, for a worker that hands them to helpers of its
    /// own.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<u8, u8>| {
    ///     let (inbox, outbox) = port.into_parts();
    ///     inbox.iter().try_for_each(|n| outbox.send(n + 1)).ok();
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
        self.iter()
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
