//! A set's results with where the batch stands: [`IsolateSet::progress`]
//! and the [`BatchProgress`] stream and iterator it returns.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::{Finished, IsolateSet, Joined};

impl<K, T, E> IsolateSet<K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Takes the results as they finish, each with where the batch stands
    /// (`done` of `total`): a blocking iterator (`for .. in`), and a
    /// `futures_core::Stream` for async callers. One progress stream for the whole set, with no
    /// coordinating isolate.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut set = isolate::IsolateSet::bounded(2);
    /// for i in 0..5 {
    ///     set.spawn(i, move || i);
    /// }
    /// for finished in set.progress() {
    ///     println!("{}/{}: item {} -> {:?}", finished.done, finished.total, finished.key, finished.result);
    /// }
    /// assert_eq!((set.total(), set.len()), (5, 0));
    /// ```
    pub fn progress(&mut self) -> BatchProgress<'_, K, T, E> {
        BatchProgress { set: self }
    }
}

/// The results of a set with where the batch stands, from
/// [`IsolateSet::progress`]: a `futures_core::Stream` of [`Finished`], and
/// a blocking iterator through `IntoIterator` (`for finished in set.progress()`).
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// let mut set = isolate::IsolateSet::new();
/// set.spawn("x", || 1);
/// set.spawn("y", || 2);
/// let seen = futures::executor::block_on(async {
///     let mut progress = set.progress();
///     let mut seen = Vec::new();
///     while let Some(finished) = progress.next().await {
///         seen.push((finished.done, finished.total));
///     }
///     seen
/// });
/// assert_eq!(seen, [(1, 2), (2, 2)]);
/// ```
#[must_use = "a BatchProgress does nothing unless iterated"]
pub struct BatchProgress<'a, K, T, E> {
    set: &'a mut IsolateSet<K, T, E>,
}

impl<K, T, E> BatchProgress<'_, K, T, E> {
    fn finished(&self, (key, result): Joined<K, T, E>) -> Finished<K, T, E> {
        Finished {
            key,
            result,
            done: self.set.taken,
            total: self.set.total,
        }
    }
}

impl<'a, K, T, E> IntoIterator for BatchProgress<'a, K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    type Item = Finished<K, T, E>;
    type IntoIter = BatchProgressIter<'a, K, T, E>;

    fn into_iter(self) -> Self::IntoIter {
        BatchProgressIter { progress: self }
    }
}

/// The blocking iterator of a [`BatchProgress`]: each
/// [`next`](Iterator::next) waits for the next result.
///
/// # Examples
///
/// ```
/// let mut set = isolate::IsolateSet::new();
/// set.spawn(1, || 1);
/// let mut iter = set.progress().into_iter();
/// assert_eq!(iter.next().unwrap().done, 1);
/// assert!(iter.next().is_none());
/// ```
#[must_use = "a BatchProgressIter does nothing unless iterated"]
pub struct BatchProgressIter<'a, K, T, E> {
    progress: BatchProgress<'a, K, T, E>,
}

impl<K, T, E> Iterator for BatchProgressIter<'_, K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    type Item = Finished<K, T, E>;

    fn next(&mut self) -> Option<Self::Item> {
        let joined = self.progress.set.join_next()?;
        Some(self.progress.finished(joined))
    }
}

impl<K, T, E> fmt::Debug for BatchProgressIter<'_, K, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchProgressIter")
            .field("set", &self.progress.set)
            .finish()
    }
}

impl<K, T, E> Stream for BatchProgress<'_, K, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    type Item = Finished<K, T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.set.poll_join_next(cx) {
            Poll::Ready(Some(joined)) => Poll::Ready(Some(self.finished(joined))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<K, T, E> fmt::Debug for BatchProgress<'_, K, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchProgress")
            .field("set", &self.set)
            .finish()
    }
}
