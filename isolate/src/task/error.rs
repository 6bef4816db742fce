//! The one error type every way of waiting on an isolate returns.

use std::any::Any;
use std::borrow::Cow;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::io;

use crate::name::{Name, UNNAMED};
use crate::task::panic::Panic;

/// The name an error carries: the isolate's, when it was given one.
pub type IsolateName = Option<Cow<'static, str>>;

/// Why an isolate gave no value: every failure of the remote work, folded
/// into one type, each naming the isolate it comes from.
///
/// `E` is the error type of the isolated function when its `Result` is
/// folded into the handle (see [`Fold`](crate::Fold) and
/// [`#[isolated]`](crate::isolated)); it is [`Infallible`] for functions
/// that cannot fail, so `IsolateError` alone names the error of an
/// infallible isolate.
///
/// The enum is `#[non_exhaustive]`: match the variants you handle and keep a
/// wildcard arm. Each variant carries the isolate's name (`isolate`, `None`
/// when it was not named; a [`Panic`] carries its own).
/// To ask for one kind of failure, `matches!` it:
/// `matches!(err, IsolateError::TimedOut { .. })`.
///
/// # Printing it
///
/// - `{}` is one line that names the isolate and carries the cause (the
///   function's error, the panic's message and location, the I/O error):
///   `isolate 'parse' returned an error: invalid digit found in string`.
///   That is what `eprintln!("{err}")` and an error listener print.
/// - `source()` goes on from the *cause's* own causes, never repeating a
///   message, so anyhow's `{:#}` and `{:?}` reports print each message once.
///   The cause is in the message rather than behind `source()` because the
///   function's error need not be an [`Error`] (`anyhow::Error`, a boxed
///   error, a `String`): the API guidelines ask for one or the other, never
///   both, and only the message can carry every kind of cause.
/// - `{:?}` shows the variant with its fields:
///   `Failed { isolate: Some("parse"), error: ParseIntError { kind: InvalidDigit } }`.
///
/// `IsolateError` is an [`Error`] for every `E: Debug + Display`, so `?`
/// takes it into `anyhow::Result` and `Box<dyn Error + Send + Sync>`
/// whatever the function's error is.
///
/// # Examples
///
/// ```
/// use isolate::IsolateError;
///
/// let handle = isolate::Builder::new().name("parse").run(isolate::Fold(|| "forty-two".parse::<u32>()));
/// match handle.join() {
///     Ok(n) => println!("parsed {n}"),
///     Err(IsolateError::Failed { error, .. }) => println!("bad number: {error}"),
///     Err(IsolateError::Panicked(panic)) => std::panic::resume_unwind(panic.into_payload()),
///     Err(other) => println!("isolate did not finish: {other}"),
/// }
/// ```
///
/// ```
/// use std::time::Duration;
/// use isolate::IsolateError;
///
/// let slow = isolate::run(|| std::thread::sleep(Duration::from_millis(200)));
/// // A timeout cancels the isolate too, but reports itself as a timeout.
/// let err = slow.join_timeout(Duration::ZERO).unwrap_err();
/// assert!(matches!(err, IsolateError::TimedOut { .. }));
/// assert!(!matches!(err, IsolateError::Cancelled { .. }));
/// ```
#[non_exhaustive]
pub enum IsolateError<E = Infallible> {
    /// The function returned `Err(error)`; `error` is passed through
    /// untouched.
    ///
    /// ```
    /// let err = isolate::Builder::new()
    ///     .name("parse")
    ///     .run(isolate::Fold(|| "forty".parse::<u32>()))
    ///     .join()
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "isolate 'parse' returned an error: invalid digit found in string"
    /// );
    /// ```
    Failed {
        /// The isolate's name.
        isolate: IsolateName,
        /// The function's own error.
        error: E,
    },
    /// The function panicked; the [`Panic`] keeps the payload, message,
    /// location and the isolate's name.
    Panicked(Panic),
    /// The isolate was cancelled (by [`IsolateHandle::cancel`] or by
    /// dropping its handle) and gave no value: it never started, or it
    /// ended without a value after the cancel.
    ///
    /// [`IsolateHandle::cancel`]: crate::IsolateHandle::cancel
    Cancelled {
        /// The isolate's name.
        isolate: IsolateName,
    },
    /// [`IsolateHandle::join_timeout`] ran out of time, or the isolate ran
    /// past its own limit ([`Builder::timeout`]); the isolate was cancelled.
    ///
    /// [`IsolateHandle::join_timeout`]: crate::IsolateHandle::join_timeout
    /// [`Builder::timeout`]: crate::Builder::timeout
    TimedOut {
        /// The isolate's name.
        isolate: IsolateName,
    },
    /// No thread could be started to run the isolate (for a process
    /// isolate: no child process could be started, or the system is not
    /// Unix).
    Spawn {
        /// The isolate's name.
        isolate: IsolateName,
        /// Why the thread could not start.
        error: io::Error,
    },
    /// The isolate ended without producing a value: it called
    /// [`exit`](crate::exit), or it was an async isolate whose future was
    /// pending with every waker dropped, so nothing could ever resume it.
    EndedWithoutResult {
        /// The isolate's name.
        isolate: IsolateName,
    },
    /// A process isolate's child process died before it answered (a signal,
    /// an abort, a stack overflow, a non-zero exit, a limit it went over),
    /// broke the protocol, or the call's values could not cross between the
    /// processes; the [`Crash`](crate::process::Crash) says how,
    /// with the isolate's name and the tail of the child's stderr. The
    /// caller, and every other isolate, keep running. Only with the
    /// `process` feature.
    #[cfg(feature = "process")]
    Crashed(crate::process::Crash),
}

impl<E> IsolateError<E> {
    /// The name of the isolate the error comes from, if it was given one.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let named = isolate::Builder::new().name("loader").run(|| panic!("gone"));
    /// assert_eq!(named.join().unwrap_err().isolate_name(), Some("loader"));
    ///
    /// let unnamed = isolate::run(isolate::Fold(|| Err::<(), _>("no")));
    /// assert_eq!(unnamed.join().unwrap_err().isolate_name(), None);
    /// ```
    pub fn isolate_name(&self) -> Option<&str> {
        match self {
            Self::Panicked(panic) => {
                let name = panic.isolate_name();
                (name != UNNAMED).then_some(name)
            }
            Self::Failed { isolate, .. }
            | Self::Cancelled { isolate }
            | Self::TimedOut { isolate }
            | Self::Spawn { isolate, .. }
            | Self::EndedWithoutResult { isolate } => isolate.as_deref(),
            #[cfg(feature = "process")]
            Self::Crashed(crash) => crash.isolate_name(),
        }
    }

    /// Returns the function's own error, if that is why the isolate failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = isolate::run(isolate::Fold(|| Err::<(), _>(7))).join().unwrap_err();
    /// assert_eq!(err.into_failed(), Some(7));
    /// ```
    pub fn into_failed(self) -> Option<E> {
        match self {
            Self::Failed { error, .. } => Some(error),
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

    /// The body's own error; the name is filled in when the outcome is
    /// stored (see [`named`](Self::named)).
    pub(crate) fn failed(error: E) -> Self {
        IsolateError::Failed {
            isolate: None,
            error,
        }
    }

    pub(crate) fn cancelled() -> Self {
        IsolateError::Cancelled { isolate: None }
    }

    pub(crate) fn timed_out() -> Self {
        IsolateError::TimedOut { isolate: None }
    }

    pub(crate) fn ended_without_result() -> Self {
        IsolateError::EndedWithoutResult { isolate: None }
    }

    pub(crate) fn spawn(error: io::Error) -> Self {
        IsolateError::Spawn {
            isolate: None,
            error,
        }
    }

    /// The same error, naming the isolate `name` unless it already names
    /// one (or `name` is the unnamed default). Every outcome is named this
    /// way where it is stored for its handle, and where a long-running
    /// isolate reports it to its listeners.
    pub(crate) fn named(mut self, name: &Name) -> Self {
        if &**name == UNNAMED {
            return self;
        }
        match &mut self {
            Self::Panicked(_) => {}
            // Named where the crash is found.
            #[cfg(feature = "process")]
            Self::Crashed(_) => {}
            Self::Failed { isolate, .. }
            | Self::Cancelled { isolate }
            | Self::TimedOut { isolate }
            | Self::Spawn { isolate, .. }
            | Self::EndedWithoutResult { isolate } => {
                if isolate.is_none() {
                    *isolate = Some(name.to_cow());
                }
            }
        }
        self
    }
}

impl IsolateError<Infallible> {
    /// The same error, for an isolate whose body can fail with `E` (an
    /// infallible body's error never holds an `E`).
    pub(crate) fn widen<E>(self) -> IsolateError<E> {
        match self {
            IsolateError::Failed { error, .. } => match error {},
            IsolateError::Panicked(panic) => IsolateError::Panicked(panic),
            IsolateError::Cancelled { isolate } => IsolateError::Cancelled { isolate },
            IsolateError::TimedOut { isolate } => IsolateError::TimedOut { isolate },
            IsolateError::Spawn { isolate, error } => IsolateError::Spawn { isolate, error },
            IsolateError::EndedWithoutResult { isolate } => {
                IsolateError::EndedWithoutResult { isolate }
            }
            #[cfg(feature = "process")]
            IsolateError::Crashed(crash) => IsolateError::Crashed(crash),
        }
    }
}

/// "isolate 'name'" or "an isolate", as a message's subject.
struct Subject<'a>(&'a IsolateName);

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, "isolate '{name}'"),
            None => f.write_str("an isolate"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for IsolateError<E> {
    /// One line that names the isolate and says what happened and why: the
    /// function's error, the panic's message and location, or the I/O
    /// error. `source()` goes on from the cause's own `source()`, so no
    /// report prints a message twice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { isolate, error } => {
                write!(f, "{} returned an error: {error}", Subject(isolate))
            }
            Self::Panicked(panic) => fmt::Display::fmt(panic, f),
            Self::Cancelled { isolate } => write!(
                f,
                "{} was cancelled before it produced a value",
                Subject(isolate)
            ),
            Self::TimedOut { isolate } => write!(f, "{} timed out", Subject(isolate)),
            Self::Spawn { isolate, error } => {
                write!(f, "{} could not be started: {error}", Subject(isolate))
            }
            Self::EndedWithoutResult { isolate } => {
                write!(f, "{} ended without producing a value", Subject(isolate))
            }
            #[cfg(feature = "process")]
            Self::Crashed(crash) => fmt::Display::fmt(crash, f),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for IsolateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { isolate, error } => f
                .debug_struct("Failed")
                .field("isolate", isolate)
                .field("error", error)
                .finish(),
            Self::Panicked(panic) => f.debug_tuple("Panicked").field(panic).finish(),
            Self::Cancelled { isolate } => f
                .debug_struct("Cancelled")
                .field("isolate", isolate)
                .finish(),
            Self::TimedOut { isolate } => f
                .debug_struct("TimedOut")
                .field("isolate", isolate)
                .finish(),
            Self::Spawn { isolate, error } => f
                .debug_struct("Spawn")
                .field("isolate", isolate)
                .field("error", error)
                .finish(),
            Self::EndedWithoutResult { isolate } => f
                .debug_struct("EndedWithoutResult")
                .field("isolate", isolate)
                .finish(),
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
            Self::Failed { error, .. } => as_dyn_error(error).and_then(Error::source),
            Self::Spawn { error, .. } => error.source(),
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
