//! What an isolate runs (its *body*), and the two adapters that say how its
//! result is read: [`Async`] for a body that returns a future, [`Fold`] for
//! a body whose `Result` becomes the handle's own error.
//!
//! Every way of starting an isolate ([`run`](crate::run),
//! [`Builder::run_with_progress`](crate::Builder::run_with_progress),
//! [`Worker::spawn`](crate::Worker::spawn), an [`IsolateSet`](crate::IsolateSet))
//! takes a [`Body`], so async-ness and folding are properties of what is run,
//! not families of entry points. A service's handler is a [`Handler`], with
//! the same [`Fold`] adapter.

use std::convert::Infallible;
use std::future::Future;

use crate::message::Message;
use crate::pool::block_on::block_on;
use crate::task::error::IsolateError;
use crate::task::state::Outcome;

/// What an isolate runs: a closure, an [`Async`] closure, or either under
/// [`Fold`].
///
/// `I` is what the isolate is given: `()` for a plain isolate,
/// `(Progress<P>,)` for one that reports progress, `(Port<In, Out>,)` for a
/// worker. The closure's value is the handle's [`Output`](Body::Output);
/// [`Error`](Body::Error) is `Infallible` unless the body is a [`Fold`].
///
/// The trait is sealed: the implementations below are all there is. A
/// closure that takes an argument is given its type by annotation
/// (`|port: Port<u32, u32>| ..`), since a trait of its own cannot tell the
/// compiler the closure's argument types.
///
/// # Examples
///
/// ```
/// use isolate::{Async, Fold};
///
/// let plain = isolate::run(|| 6 * 7);
/// let awaited = isolate::run(Async(|| async { 6 * 7 }));
/// let folded = isolate::run(Fold(|| "42".parse::<u32>()));
/// assert_eq!(plain.join().unwrap(), 42);
/// assert_eq!(awaited.join().unwrap(), 42);
/// assert_eq!(folded.join().unwrap(), 42);
/// ```
pub trait Body<I>: sealed::Sealed<I> + Send + 'static {
    /// The value the handle yields.
    type Output: Message;
    /// The handle's own error, [`IsolateError::Failed`]'s payload.
    type Error: Message;

    /// Runs the body on the isolate's thread.
    #[doc(hidden)]
    fn __run(self, input: I) -> Outcome<Self::Output, Self::Error>;
}

/// A service's request handler: a closure `Fn(&mut S, Req) -> Resp`, or
/// [`Fold`] of one that returns `Result<Resp, E>` (the request's handle then
/// fails with `E`).
///
/// Sealed, like [`Body`]; annotate the closure's arguments
/// (`|count: &mut u64, n: u64| ..`).
///
/// # Examples
///
/// ```
/// use isolate::{Fold, Service};
///
/// let service = Service::spawn(|| (), Fold(|_: &mut (), text: String| text.parse::<u16>()));
/// assert_eq!(service.request("7".to_owned()).join().unwrap(), 7);
/// assert!(matches!(
///     service.request("x".to_owned()).join().unwrap_err(),
///     isolate::IsolateError::Failed { .. }
/// ));
/// ```
pub trait Handler<S, Req>: sealed::SealedHandler<S, Req> + Send + Sync + 'static {
    /// The reply to one request.
    type Output: Message;
    /// The request's own error.
    type Error: Message;

    /// Handles one request on a service thread.
    #[doc(hidden)]
    fn __handle(&self, state: &mut S, request: Req) -> Result<Self::Output, Self::Error>;
}

/// Runs a body that returns a future: the isolate drives the future to
/// completion on its own thread, with an executor of its own (the future
/// need not be `Send`, only the closure that makes it).
///
/// That executor is the crate's, not tokio's or smol's: a future that needs
/// its runtime's context (tokio's timers, sockets or `spawn`) panics with
/// that runtime's message ("there is no reactor running ...") unless the
/// body enters the runtime first: move a `tokio::runtime::Handle` in and
/// hold `handle.enter()` while the future runs. A multi-thread runtime's
/// own threads then drive its timers and I/O and wake the isolate; a
/// current-thread runtime drives them only while its `block_on` runs.
///
/// # Examples
///
/// ```
/// use isolate::Async;
///
/// let handle = isolate::run(Async(|| async {
///     let doubled = async { 21 * 2 }.await;
///     doubled
/// }));
/// assert_eq!(handle.join().unwrap(), 42);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Async<F>(pub F);

/// Folds a body's `Result<T, E>` into the handle: `Ok(t)` is the value,
/// `Err(e)` is [`IsolateError::Failed`]. Works over a closure, an [`Async`]
/// closure and a service [`Handler`].
///
/// # Examples
///
/// ```
/// use isolate::{Async, Fold, IsolateError};
///
/// let err = isolate::run(Fold(|| "x".parse::<u8>())).join().unwrap_err();
/// assert!(matches!(err, IsolateError::Failed { .. }));
///
/// let ok = isolate::run(Fold(Async(|| async { "7".parse::<u8>() })));
/// assert_eq!(ok.join().unwrap(), 7);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Fold<B>(pub B);

impl<F, R> Body<()> for F
where
    F: FnOnce() -> R + Send + 'static,
    R: Message,
{
    type Output = R;
    type Error = Infallible;

    fn __run(self, (): ()) -> Outcome<R, Infallible> {
        Ok(self())
    }
}

impl<F, A, R> Body<(A,)> for F
where
    F: FnOnce(A) -> R + Send + 'static,
    R: Message,
{
    type Output = R;
    type Error = Infallible;

    fn __run(self, (input,): (A,)) -> Outcome<R, Infallible> {
        Ok(self(input))
    }
}

impl<F, Fut> Body<()> for Async<F>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Message,
{
    type Output = Fut::Output;
    type Error = Infallible;

    fn __run(self, (): ()) -> Outcome<Fut::Output, Infallible> {
        block_on((self.0)())
    }
}

impl<F, A, Fut> Body<(A,)> for Async<F>
where
    F: FnOnce(A) -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Message,
{
    type Output = Fut::Output;
    type Error = Infallible;

    fn __run(self, (input,): (A,)) -> Outcome<Fut::Output, Infallible> {
        block_on((self.0)(input))
    }
}

impl<B, I, T, E> Body<I> for Fold<B>
where
    B: Body<I, Output = Result<T, E>, Error = Infallible>,
    T: Message,
    E: Message,
{
    type Output = T;
    type Error = E;

    fn __run(self, input: I) -> Outcome<T, E> {
        match self.0.__run(input) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(IsolateError::failed(error)),
            Err(error) => Err(error.widen()),
        }
    }
}

impl<F, S, Req, R> Handler<S, Req> for F
where
    F: Fn(&mut S, Req) -> R + Send + Sync + 'static,
    R: Message,
{
    type Output = R;
    type Error = Infallible;

    fn __handle(&self, state: &mut S, request: Req) -> Result<R, Infallible> {
        Ok(self(state, request))
    }
}

// Not offered as the fix when a handler's reply cannot cross threads: the
// reply's own message says what is wrong.
#[diagnostic::do_not_recommend]
impl<F, S, Req, T, E> Handler<S, Req> for Fold<F>
where
    F: Fn(&mut S, Req) -> Result<T, E> + Send + Sync + 'static,
    T: Message,
    E: Message,
{
    type Output = T;
    type Error = E;

    fn __handle(&self, state: &mut S, request: Req) -> Result<T, E> {
        (self.0)(state, request)
    }
}

mod sealed {
    use super::{Async, Fold};

    // Reachable as a supertrait of a public trait, never nameable outside.
    #[allow(unreachable_pub)]
    pub trait Sealed<I> {}
    #[allow(unreachable_pub)]
    pub trait SealedHandler<S, Req> {}

    impl<F: FnOnce() -> R, R> Sealed<()> for F {}
    impl<F: FnOnce(A) -> R, A, R> Sealed<(A,)> for F {}
    impl<F> Sealed<()> for Async<F> {}
    impl<F, A> Sealed<(A,)> for Async<F> {}
    impl<B, I> Sealed<I> for Fold<B> {}
    impl<F: Fn(&mut S, Req) -> R, S, Req, R> SealedHandler<S, Req> for F {}
    impl<F, S, Req> SealedHandler<S, Req> for Fold<F> {}
}
