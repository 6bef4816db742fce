//! Progress from a one-shot isolate: the function gets a [`Progress`]
//! sender; the caller's [`ProgressHandle`] yields the updates (`recv`, a
//! stream, and the updates' receiver for the rest) and then the result.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::body::Body;
use crate::builder::Builder;
use crate::channel::{self, Receiver, RecvError, RecvTimeoutError, Sender};
use crate::message::Message;
use crate::pool::wait::{HELP_SLICE, HELP_SLICE_MAX};
use crate::task::handle::IsolateHandle;

/// Sends progress updates from an isolate to its caller's
/// [`ProgressHandle`].
///
/// Sending never waits and never fails: updates queue until the caller
/// reads them, and are dropped once the caller no longer listens (it
/// joined, or dropped the handle). Clone it for helpers of the computation;
/// the caller's stream of updates ends when every clone is gone.
///
/// # Examples
///
/// ```
/// use isolate::Progress;
///
/// let handle = isolate::run_with_progress(|progress: Progress<u32>| {
///     for percent in (0..=100).step_by(25) {
///         progress.send(percent);
///     }
///     "done"
/// });
/// let updates: Vec<u32> = handle.updates().iter().collect();
/// assert_eq!(updates, [0, 25, 50, 75, 100]);
/// assert_eq!(handle.into_handle().join().unwrap(), "done");
/// ```
pub struct Progress<P> {
    sender: Sender<P>,
}

impl<P> Progress<P> {
    /// Reports one update to the caller, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::run_with_progress(|progress: isolate::Progress<&str>| {
    ///     progress.send("loading");
    ///     progress.send("parsing");
    /// });
    /// assert_eq!(handle.updates().iter().collect::<Vec<_>>(), ["loading", "parsing"]);
    /// ```
    pub fn send(&self, update: P) {
        // An unbounded channel only refuses once the caller stopped
        // listening, and then the update has no one to go to.
        let _ = self.sender.try_send(update);
    }

    /// Returns `true` while the caller still reads the updates: a costly
    /// update can be skipped when no one will see it.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::run_with_progress(|progress: isolate::Progress<String>| {
    ///     if progress.is_listened() {
    ///         progress.send(format!("{} items", 3));
    ///     }
    /// });
    /// handle.into_handle().join().unwrap();
    /// ```
    pub fn is_listened(&self) -> bool {
        !self.sender.is_closed()
    }
}

impl<P> Clone for Progress<P> {
    fn clone(&self) -> Self {
        Progress {
            sender: self.sender.clone(),
        }
    }
}

impl<P> fmt::Debug for Progress<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("listened", &self.is_listened())
            .finish()
    }
}

/// A handle to an isolate that reports progress: read the updates with
/// [`recv`](Self::recv), as a `futures_core::Stream`, or through their
/// receiver ([`updates`](Self::updates)`.iter()`, `.recv_timeout(d)`, ...),
/// then get the result through [`into_handle`](Self::into_handle): `.join()`
/// or `.await`.
///
/// The updates end when the computation ends (when every [`Progress`]
/// sender is gone). Dropping the handle cancels the isolate, as dropping an
/// [`IsolateHandle`] does.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use isolate::Progress;
///
/// let mut handle = isolate::run_with_progress(|progress: Progress<usize>| {
///     (1..=3).map(|step| { progress.send(step); step }).sum::<usize>()
/// });
/// futures::executor::block_on(async {
///     while let Some(step) = handle.next().await {
///         println!("step {step} of 3");
///     }
///     assert_eq!(handle.into_handle().await.unwrap(), 6);
/// });
/// ```
#[must_use = "dropping a ProgressHandle cancels the isolate; call .into_handle().detach() to let it run to the end"]
pub struct ProgressHandle<P, T, E = Infallible> {
    updates: Receiver<P>,
    handle: IsolateHandle<T, E>,
}

impl<P, T, E> ProgressHandle<P, T, E> {
    /// Waits for the next update.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the computation has ended and every update was
    /// read (as a worker's [`recv`](crate::Worker::recv) ends).
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate::channel::RecvError;
    ///
    /// let handle = isolate::run_with_progress(|p: isolate::Progress<u8>| p.send(1));
    /// assert_eq!(handle.recv(), Ok(1));
    /// assert_eq!(handle.recv(), Err(RecvError));
    /// ```
    pub fn recv(&self) -> Result<P, RecvError> {
        // While the isolate is still queued and this caller is an isolate,
        // wait in slices and apply the last resort of a wait (see
        // `IsolateHandle`'s notes): the updates cannot come before the
        // isolate runs. A thread beside the pool, never this one: the
        // reader goes on after an update, and the isolate may wait for what
        // it does then (run here, a handshake deadlocked).
        let mut slice = HELP_SLICE;
        while self.handle.may_need_help() {
            if self.handle.escalate() {
                break;
            }
            match self.updates.recv_timeout(slice) {
                Err(RecvTimeoutError::Timeout) => slice = (slice * 2).min(HELP_SLICE_MAX),
                done => return done.map_err(|_| RecvError),
            }
        }
        self.updates.recv()
    }

    /// Awaits the next update. The handle is also a `Stream` of them.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the updates are over, as for [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::run_with_progress(|p: isolate::Progress<u8>| p.send(1));
    /// assert_eq!(futures::executor::block_on(handle.recv_async()), Ok(1));
    /// ```
    pub async fn recv_async(&self) -> Result<P, RecvError> {
        let mut next = std::pin::pin!(self.updates.recv_async());
        std::future::poll_fn(|cx| {
            let polled = next.as_mut().poll(cx);
            if polled.is_pending() {
                // What the updates wait for: see `Stream::poll_next`.
                let _ = self.handle.note_awaited();
            }
            polled
        })
        .await
    }

    /// The handle to the result, for what an [`IsolateHandle`] offers
    /// without consuming it: [`cancel`](IsolateHandle::cancel),
    /// [`is_finished`](IsolateHandle::is_finished), [`name`](IsolateHandle::name),
    /// [`wait_timeout`](IsolateHandle::wait_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let handle = isolate::Builder::new()
    ///     .name("steps")
    ///     .run_with_progress(|p: isolate::Progress<u8>| p.send(7));
    /// assert_eq!(handle.handle().name(), "steps");
    /// assert!(handle.handle().wait_timeout(Duration::MAX)); // ended; updates kept
    /// assert_eq!(handle.updates().iter().collect::<Vec<_>>(), [7]);
    /// ```
    pub fn handle(&self) -> &IsolateHandle<T, E> {
        &self.handle
    }

    /// The receiving end of the updates, for the rest of the channel's API
    /// (`iter`, `recv_timeout`, `try_recv`, `len`, ...). Its waits do not
    /// apply [the last resort](IsolateHandle#waiting-from-inside-an-isolate)
    /// that [`recv`](Self::recv) applies for a caller inside an isolate;
    /// they are channel waits, which at a stalled pool give the oldest
    /// queued isolate a thread beside the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let handle = isolate::run_with_progress(|p: isolate::Progress<u8>| (0..3).for_each(|i| p.send(i)));
    /// assert_eq!(handle.updates().recv_timeout(Duration::from_secs(10)), Ok(0));
    /// assert_eq!(handle.updates().iter().collect::<Vec<_>>(), [1, 2]); // until the computation ends
    ///
    /// let handle = isolate::run_with_progress(|p: isolate::Progress<u8>| p.send(1));
    /// handle.handle().wait_timeout(Duration::MAX);
    /// assert_eq!(handle.updates().try_recv(), Ok(1));
    /// ```
    pub fn updates(&self) -> &Receiver<P> {
        &self.updates
    }

    /// Stops listening (later updates are dropped by the isolate) and
    /// returns the handle to the result, to `.await` or join with a timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::run_with_progress(|p: isolate::Progress<u8>| { p.send(1); 2 });
    /// assert_eq!(futures::executor::block_on(handle.into_handle()).unwrap(), 2);
    /// ```
    pub fn into_handle(self) -> IsolateHandle<T, E> {
        self.updates.close();
        self.handle
    }
}

impl<P, T, E> ProgressHandle<P, T, E> {
    /// The updates as a blocking iterator: each item is a
    /// [`recv`](Self::recv), and it ends once the computation has ended and
    /// every update was read. `for update in &handle` does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::run_with_progress(|p: isolate::Progress<u8>| {
    ///     (1..=3).for_each(|i| p.send(i));
    ///     "done"
    /// });
    /// assert_eq!(handle.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// for _ in &handle {
    ///     unreachable!("every update was read");
    /// }
    /// assert_eq!(handle.into_handle().join().unwrap(), "done");
    /// ```
    pub fn iter(&self) -> Updates<'_, P, T, E> {
        Updates { handle: self }
    }
}

/// The blocking iterator over a [`ProgressHandle`]'s updates (see
/// [`ProgressHandle::iter`]).
#[derive(Debug)]
pub struct Updates<'a, P, T, E = Infallible> {
    handle: &'a ProgressHandle<P, T, E>,
}

impl<P, T, E> Iterator for Updates<'_, P, T, E> {
    type Item = P;

    fn next(&mut self) -> Option<P> {
        self.handle.recv().ok()
    }
}

impl<'a, P, T, E> IntoIterator for &'a ProgressHandle<P, T, E> {
    type Item = P;
    type IntoIter = Updates<'a, P, T, E>;

    fn into_iter(self) -> Updates<'a, P, T, E> {
        self.iter()
    }
}

impl<P, T, E> Stream for ProgressHandle<P, T, E> {
    type Item = P;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<P>> {
        let next = Pin::new(&mut self.updates).poll_next(cx);
        if next.is_pending() {
            let _ = self.handle.note_awaited();
        }
        next
    }
}

impl<P, T, E> fmt::Debug for ProgressHandle<P, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressHandle")
            .field("name", &self.handle.name())
            .field("queued_updates", &self.updates.len())
            .field("finished", &self.handle.is_finished())
            .finish()
    }
}

/// Runs `f` on an isolate, giving it a [`Progress`] sender; the handle
/// yields the updates, then the result. This is [`run`](crate::run) with
/// progress, and what `#[isolated]` generates for a function that takes a
/// `Progress<P>` parameter.
///
/// # Examples
///
/// ```
/// let handle = isolate::run_with_progress(|progress: isolate::Progress<f32>| {
///     let files = ["a", "b", "c", "d"];
///     for (i, _file) in files.iter().enumerate() {
///         progress.send((i + 1) as f32 / files.len() as f32);
///     }
///     files.len()
/// });
/// for fraction in handle.updates().iter() {
///     println!("{:.0}%", fraction * 100.0);
/// }
/// assert_eq!(handle.into_handle().join().unwrap(), 4);
/// ```
pub fn run_with_progress<P, B>(body: B) -> ProgressHandle<P, B::Output, B::Error>
where
    P: Message,
    B: Body<(Progress<P>,)>,
{
    Builder::new().run_with_progress(body)
}

impl Builder {
    /// Runs `body` on an isolate with these options, giving it a
    /// [`Progress`] sender; see [`run_with_progress`]. The body may be an
    /// [`Async`](crate::Async) closure or under [`Fold`](crate::Fold) (see
    /// [`Body`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate::{Fold, Progress};
    ///
    /// let handle = isolate::Builder::new().name("parse").run_with_progress(
    ///     Fold(|progress: Progress<&'static str>| {
    ///         progress.send("parsing");
    ///         "12".parse::<u8>()
    ///     }),
    /// );
    /// assert_eq!(handle.recv().unwrap(), "parsing");
    /// assert_eq!(handle.into_handle().join().unwrap(), 12);
    /// ```
    pub fn run_with_progress<P, B>(self, body: B) -> ProgressHandle<P, B::Output, B::Error>
    where
        P: Message,
        B: Body<(Progress<P>,)>,
    {
        let (sender, updates) = channel::unbounded();
        let progress = Progress { sender };
        let (handle, _) = self.spawn_job(move || body.__run((progress,)));
        ProgressHandle { updates, handle }
    }
}
