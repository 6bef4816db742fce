//! The one error type every way of waiting on an isolate returns.

use std::any::Any;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::io;

use crate::panic::Panic;

/// Why an isolate gave no value: every failure of the remote work, folded
/// into one type.
///
/// `E` is the error type of the isolated function when it returns a
/// `Result` (see [`try_run`](crate::try_run) and [`#[isolated]`](crate::isolated));
/// it is [`Infallible`] for functions that cannot fail, so
/// `IsolateError` alone names the error of an infallible isolate.
///
/// The enum is `#[non_exhaustive]`: match the variants you handle and keep a
/// wildcard arm.
///
/// Its message is one line that carries the cause (the function's error, the
/// panic's message and location, the I/O error); `source()` goes on from the
/// cause's own causes, never repeating a message. It is an [`Error`] for every
/// `E: Debug + Display`, so `?` takes it into `anyhow::Result` and
/// `Box<dyn Error + Send + Sync>` whatever the function's error is, a
/// concrete type, `anyhow::Error` or a boxed error.
///
/// # Examples
///
/// ```
/// use isolate::IsolateError;
///
/// let handle = isolate::try_run(|| "forty-two".parse::<u32>());
/// match handle.join() {
///     Ok(n) => println!("parsed {n}"),
///     Err(IsolateError::Failed(e)) => println!("bad number: {e}"),
///     Err(IsolateError::Panicked(panic)) => panic.resume_unwind(),
///     Err(other) => println!("isolate did not finish: {other}"),
/// }
/// ```
#[non_exhaustive]
pub enum IsolateError<E = Infallible> {
    /// The function returned `Err(e)`; `e` is passed through untouched.
    ///
    /// ```
    /// let err = isolate::try_run(|| "forty".parse::<u32>()).join().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the isolated function returned an error: invalid digit found in string"
    /// );
    /// ```
    Failed(E),
    /// The function panicked; the [`Panic`] keeps the payload, message and
    /// location.
    Panicked(Panic),
    /// The isolate was cancelled (by [`IsolateHandle::cancel`] or by
    /// dropping its handle) and gave no value: it never started, or it
    /// ended without a value after the cancel.
    ///
    /// [`IsolateHandle::cancel`]: crate::IsolateHandle::cancel
    Cancelled,
    /// [`IsolateHandle::join_timeout`] ran out of time, or the isolate ran
    /// past its own limit ([`Builder::timeout`]); the isolate was cancelled.
    ///
    /// [`IsolateHandle::join_timeout`]: crate::IsolateHandle::join_timeout
    /// [`Builder::timeout`]: crate::Builder::timeout
    TimedOut,
    /// No thread could be started to run the isolate (for a process
    /// isolate: no child process, its arguments did not serialize, or the
    /// system is not Unix).
    Spawn(io::Error),
    /// The isolate ended without producing a value: it called
    /// [`exit`](crate::exit), or it was an async isolate whose future was
    /// pending with every waker dropped, so nothing could ever resume it.
    EndedWithoutResult,
    /// A process isolate's child process died before it answered (a signal,
    /// an abort, a stack overflow, a non-zero exit, a limit it went over) or
    /// broke the protocol; the [`Crash`](crate::process::Crash) says how,
    /// with the tail of the child's stderr. The caller, and every other
    /// isolate, keep running. Only with the `process` feature.
    #[cfg(feature = "process")]
    Crashed(crate::process::Crash),
}

impl<E> IsolateError<E> {
    /// Returns `true` if the function returned its own error.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = isolate::try_run(|| Err::<(), _>("no")).join().unwrap_err();
    /// assert!(err.is_failed());
    /// ```
    pub fn is_failed(&self) -> bool {
        matches!(self, Self::Failed(_))
    }

    /// Returns `true` if the isolate panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let err = isolate::run(|| panic!("boom")).join().unwrap_err();
    /// assert!(err.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, Self::Panicked(_))
    }

    /// Returns `true` if the isolate was cancelled without giving a value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let slow = isolate::run(|| std::thread::sleep(Duration::from_millis(200)));
    /// // A timeout cancels too, but reports itself as a timeout.
    /// let err = slow.join_timeout(Duration::ZERO).unwrap_err();
    /// assert!(!err.is_cancelled() && err.is_timeout());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled)
    }

    /// Returns `true` if [`join_timeout`](crate::IsolateHandle::join_timeout)
    /// ran out of time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let slow = isolate::run(|| std::thread::sleep(Duration::from_millis(200)));
    /// assert!(slow.join_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::TimedOut)
    }

    /// Returns the function's own error, if that is why the isolate failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = isolate::try_run(|| Err::<(), _>(7)).join().unwrap_err();
    /// assert_eq!(err.into_failed(), Some(7));
    /// ```
    pub fn into_failed(self) -> Option<E> {
        match self {
            Self::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Returns the panic, if that is why the isolate failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let err = isolate::run(|| panic!("boom")).join().unwrap_err();
    /// assert_eq!(err.into_panic().unwrap().message(), Some("boom"));
    /// ```
    pub fn into_panic(self) -> Option<Panic> {
        match self {
            Self::Panicked(panic) => Some(panic),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for IsolateError<E> {
    /// One line that says what happened and why: the function's error, the
    /// panic's message and location, or the I/O error, after what the
    /// isolate did. `source()` goes on from the cause's own `source()`, so
    /// no report prints a message twice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(e) => write!(f, "the isolated function returned an error: {e}"),
            Self::Panicked(panic) => fmt::Display::fmt(panic, f),
            Self::Cancelled => f.write_str("the isolate was cancelled before it produced a value"),
            Self::TimedOut => f.write_str("timed out waiting for the isolate"),
            Self::Spawn(e) => write!(f, "no thread could be started for the isolate: {e}"),
            Self::EndedWithoutResult => f.write_str("the isolate ended without producing a value"),
            #[cfg(feature = "process")]
            Self::Crashed(crash) => fmt::Display::fmt(crash, f),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for IsolateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            Self::Panicked(panic) => f.debug_tuple("Panicked").field(panic).finish(),
            Self::Cancelled => f.write_str("Cancelled"),
            Self::TimedOut => f.write_str("TimedOut"),
            Self::Spawn(e) => f.debug_tuple("Spawn").field(e).finish(),
            Self::EndedWithoutResult => f.write_str("EndedWithoutResult"),
            #[cfg(feature = "process")]
            Self::Crashed(crash) => f.debug_tuple("Crashed").field(crash).finish(),
        }
    }
}

/// `IsolateError<E>` is an error for every `E` that can be shown, so that
/// `?` takes it into `anyhow::Result` and `Result<_, Box<dyn Error + Send +
/// Sync>>` whatever the function's error is: a concrete error type, a
/// `String`, `Box<dyn Error + Send + Sync>` or `anyhow::Error`.
///
/// Why not `E: Error`, with `E` as the `source()`: `anyhow::Error` and
/// `Box<dyn Error + Send + Sync>` are not `Error`, and no trait can be
/// implemented both for every `E: Error` and for those two (the compiler
/// must assume their crates may make them `Error` one day). So the message
/// carries the function's error, as `#[error(transparent)]` would, and
/// `source()` goes on from there where the error can say more:
///
/// - `Box<dyn Error + Send + Sync>`, `Box<dyn Error + Send>`, and
///   `anyhow::Error` with the `anyhow` feature: the boxed error's own
///   `source()`, so the whole chain is reported;
/// - a concrete error type: nothing further (its value is in
///   [`Failed`](IsolateError::Failed), typed, for a `match` or
///   [`into_failed`](IsolateError::into_failed));
/// - [`Spawn`](IsolateError::Spawn): the I/O error's own `source()`.
impl<E: fmt::Debug + fmt::Display + 'static> Error for IsolateError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Failed(e) => as_dyn_error(e).and_then(Error::source),
            Self::Spawn(e) => e.source(),
            _ => None,
        }
    }
}

/// The function's error as a `dyn Error`, when it is one of the boxed error
/// types that are not themselves `Error`.
fn as_dyn_error<E: 'static>(error: &E) -> Option<&(dyn Error + 'static)> {
    let error: &dyn Any = error;
    if let Some(boxed) = error.downcast_ref::<Box<dyn Error + Send + Sync>>() {
        return Some(&**boxed);
    }
    if let Some(boxed) = error.downcast_ref::<Box<dyn Error + Send>>() {
        return Some(&**boxed);
    }
    #[cfg(feature = "anyhow")]
    if let Some(error) = error.downcast_ref::<anyhow::Error>() {
        return Some(&**error);
    }
    None
}

/// The README's code blocks, compiled and run as doc tests; its error-handling
/// section uses anyhow, and the `anyhow` feature for the chain it shows.
#[cfg(all(doctest, feature = "anyhow"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
