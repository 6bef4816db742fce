//! Panics inside isolates: what the caller gets back, and the panic hook that
//! records where a panic happened.
//!
//! A panic's payload alone does not say where it happened, and the default
//! hook prints it to stderr even though the caller will get it through the
//! `Result`. So the crate installs one hook, once, that chains to the hook it
//! found: on a thread that is running an isolate it records the location (and
//! a backtrace when `RUST_BACKTRACE` asks for one) for the runner to pick up,
//! and prints only if [`print_panics`] asked for it; on any other thread it
//! calls the previous hook unchanged.
//!
//! A hook installed later by the program replaces this one: isolates keep
//! working, but their `Panic`s have no location or backtrace.

use std::any::Any;
use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::fmt;
use std::panic::PanicHookInfo;

use crate::name::{Name, UNNAMED};
use crate::sync::process::{AtomicBool, Mutex, Once, Ordering};
use crate::task::context;

/// A panic caught inside an isolate, carried to the caller.
///
/// It keeps the original payload, so the caller can take it back
/// ([`into_payload`](Self::into_payload)) to inspect it with `downcast_ref`
/// or re-raise it on its own thread with [`std::panic::resume_unwind`].
///
/// # Examples
///
/// ```
/// # isolate::print_panics(false);
/// let err = isolate::Builder::new()
///     .name("parser")
///     .run(|| -> u32 { panic!("unexpected token") })
///     .join()
///     .unwrap_err();
/// let panic = err.into_panic().expect("the isolate panicked");
/// assert_eq!(panic.message(), Some("unexpected token"));
/// assert_eq!(panic.isolate_name(), "parser");
/// assert!(panic.location().unwrap().file().ends_with(".rs"));
/// ```
pub struct Panic {
    // Boxed, so that `IsolateError` (and every `Result` carrying it) stays
    // small: a panic is the rare path.
    inner: Box<PanicInner>,
}

struct PanicInner {
    // A `Mutex` makes the `Send`-only payload `Sync` without `unsafe`: it is
    // only reached through `self` (`into_payload`), so the lock is never
    // taken by two threads at once.
    payload: Mutex<Box<dyn Any + Send + 'static>>,
    message: Option<String>,
    location: Option<Location>,
    backtrace: Option<Backtrace>,
    /// A child process's backtrace, as the text it sent (process isolates).
    backtrace_text: Option<String>,
    isolate_name: Name,
}

/// Where a panic happened: a file, line and column in the source.
///
/// # Examples
///
/// ```
/// # isolate::print_panics(false);
/// let panic = isolate::run(|| panic!("here")).join().unwrap_err().into_panic().unwrap();
/// let location = panic.location().expect("recorded by the isolate's panic hook");
/// println!("{}:{}:{}", location.file(), location.line(), location.column());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    file: String,
    line: u32,
    column: u32,
}

impl Location {
    /// The source file.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// # let panic = isolate::run(|| panic!()).join().unwrap_err().into_panic().unwrap();
    /// assert!(panic.location().unwrap().file().ends_with(".rs"));
    /// ```
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line, counted from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// # let panic = isolate::run(|| panic!()).join().unwrap_err().into_panic().unwrap();
    /// assert!(panic.location().unwrap().line() > 0);
    /// ```
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The column, counted from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// # let panic = isolate::run(|| panic!()).join().unwrap_err().into_panic().unwrap();
    /// assert!(panic.location().unwrap().column() > 0);
    /// ```
    pub fn column(&self) -> u32 {
        self.column
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Panic {
    pub(crate) fn new(payload: Box<dyn Any + Send + 'static>, isolate_name: Name) -> Self {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        // A record belongs to this payload only if the hook saw this payload:
        // `resume_unwind` skips the hook, and panics caught inside the
        // isolate leave records of their own. The latest that matches wins.
        let fingerprint = Fingerprint::of(&*payload);
        let (location, backtrace) = match take_recorded()
            .into_iter()
            .rev()
            .find(|recorded| recorded.payload == fingerprint)
        {
            Some(recorded) => (Some(recorded.location), recorded.backtrace),
            None => (None, None),
        };
        Panic {
            inner: Box::new(PanicInner {
                payload: Mutex::new(payload),
                message,
                location,
                backtrace,
                backtrace_text: None,
                isolate_name,
            }),
        }
    }

    /// A panic reported by a child process (process isolates): its message
    /// and location travelled over the wire; the payload is the message.
    #[cfg(feature = "process")]
    pub(crate) fn from_parts(
        message: Option<String>,
        location: Option<(String, u32, u32)>,
        backtrace_text: Option<String>,
        isolate_name: Name,
    ) -> Self {
        let payload: Box<dyn Any + Send + 'static> = match &message {
            Some(message) => Box::new(message.clone()),
            None => Box::new("a panic with a non-string payload, in a child process"),
        };
        Panic {
            inner: Box::new(PanicInner {
                payload: Mutex::new(payload),
                message,
                location: location.map(|(file, line, column)| Location { file, line, column }),
                backtrace: None,
                backtrace_text,
                isolate_name,
            }),
        }
    }

    /// A second report of this panic, for a worker that outlives the
    /// request that panicked: same message, location and isolate name; the
    /// payload is the message (the original payload goes to the request's
    /// caller) and the backtrace stays with the original.
    pub(crate) fn duplicate(&self) -> Self {
        let payload: Box<dyn Any + Send + 'static> = match &self.inner.message {
            Some(message) => Box::new(message.clone()),
            None => Box::new("a panic whose payload went to the request's caller"),
        };
        Panic {
            inner: Box::new(PanicInner {
                payload: Mutex::new(payload),
                message: self.inner.message.clone(),
                location: self.inner.location.clone(),
                backtrace: None,
                backtrace_text: None,
                isolate_name: self.inner.isolate_name.clone(),
            }),
        }
    }

    /// The panic's message, when its payload is a string (as it is for
    /// `panic!("...")` with or without format arguments).
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let panic = isolate::run(|| panic!("code {}", 7)).join().unwrap_err().into_panic().unwrap();
    /// assert_eq!(panic.message(), Some("code 7"));
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// Where the panic happened, as recorded by the crate's panic hook.
    ///
    /// `None` when the program replaced the panic hook after the first
    /// isolate started, or for a new payload raised with
    /// [`std::panic::resume_unwind`], which skips the hook. A payload caught
    /// inside the isolate and raised again with `resume_unwind` keeps the
    /// location where it first panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let panic = isolate::run(|| panic!("here")).join().unwrap_err().into_panic().unwrap();
    /// assert!(panic.location().is_some());
    /// ```
    pub fn location(&self) -> Option<&Location> {
        self.inner.location.as_ref()
    }

    /// The backtrace captured where the isolate panicked, as text, when
    /// `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asked for one: captured by
    /// the crate's panic hook on the isolate's thread, or, for a panic in a
    /// process isolate's child, by the child, which sends it as text.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let panic = isolate::run(|| panic!("deep")).join().unwrap_err().into_panic().unwrap();
    /// if let Some(backtrace) = panic.backtrace_text() {
    ///     eprintln!("{backtrace}");
    /// }
    /// ```
    pub fn backtrace_text(&self) -> Option<String> {
        match &self.inner.backtrace {
            Some(backtrace) => Some(backtrace.to_string()),
            None => self.inner.backtrace_text.clone(),
        }
    }

    /// The name of the isolate that panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let err = isolate::Builder::new().name("worker").run(|| panic!()).join().unwrap_err();
    /// assert_eq!(err.into_panic().unwrap().isolate_name(), "worker");
    /// ```
    pub fn isolate_name(&self) -> &str {
        &self.inner.isolate_name
    }

    /// Gives back the original payload, as
    /// [`std::thread::JoinHandle::join`] would: inspect it with
    /// `downcast_ref` (or read a string payload with
    /// [`message`](Self::message)), or re-raise the panic on this thread
    /// with [`std::panic::resume_unwind`].
    ///
    /// # Examples
    ///
    /// ```
    /// # isolate::print_panics(false);
    /// let panic = isolate::run(|| std::panic::panic_any(42_u8)).join().unwrap_err().into_panic().unwrap();
    /// let payload = panic.into_payload();
    /// assert_eq!(payload.downcast_ref::<u8>(), Some(&42));
    /// ```
    ///
    /// Re-raising it:
    ///
    /// ```should_panic
    /// # isolate::print_panics(false);
    /// match isolate::run(|| panic!("fatal")).join() {
    ///     Ok(()) => {}
    ///     Err(err) => std::panic::resume_unwind(err.into_panic().unwrap().into_payload()),
    /// }
    /// ```
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.inner
            .payload
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner.isolate_name {
            UNNAMED => f.write_str("an isolate panicked")?,
            name => write!(f, "isolate '{name}' panicked")?,
        }
        if let Some(location) = &self.inner.location {
            write!(f, " at {location}")?;
        }
        match &self.inner.message {
            Some(message) => write!(f, ": {message}"),
            None => f.write_str(" with a non-string payload"),
        }
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The location as `file:line:column`, as the panic hook prints it.
        let location = self.inner.location.as_ref().map(Location::to_string);
        f.debug_struct("Panic")
            .field("isolate_name", &self.inner.isolate_name)
            .field("message", &self.inner.message)
            .field("location", &location)
            .finish_non_exhaustive()
    }
}

/// Whether panics inside isolates are also printed by the previous hook.
static PRINT_PANICS: AtomicBool = AtomicBool::new(false);
static INSTALL_HOOK: Once = Once::new();

/// Chooses whether a panic inside an isolate is also printed to stderr (by
/// the panic hook that was in place before the crate's), besides being
/// returned as [`IsolateError::Panicked`](crate::IsolateError::Panicked).
///
/// The default is `false`: a panic is reported once, through the `Result`.
/// Panics on threads that are not running an isolate are never affected.
///
/// # Examples
///
/// ```
/// // While debugging: see isolate panics as they happen.
/// isolate::print_panics(true);
/// # isolate::print_panics(false);
/// ```
pub fn print_panics(print: bool) {
    PRINT_PANICS.store(print, Ordering::Relaxed);
}

/// Installs the crate's panic hook, once per process.
pub(crate) fn install_hook() {
    INSTALL_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if context::in_isolate() {
                record(info);
                if !PRINT_PANICS.load(Ordering::Relaxed) {
                    return;
                }
            }
            previous(info);
        }));
    });
}

pub(crate) struct Recorded {
    location: Location,
    backtrace: Option<Backtrace>,
    payload: Fingerprint,
}

/// What tells two panic payloads apart without keeping them: their type and,
/// for the string payloads of `panic!`, their text.
#[derive(PartialEq, Eq)]
struct Fingerprint {
    type_id: std::any::TypeId,
    message: Option<String>,
}

impl Fingerprint {
    fn of(payload: &(dyn Any + Send)) -> Fingerprint {
        Fingerprint {
            type_id: payload.type_id(),
            message: payload
                .downcast_ref::<&'static str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned()),
        }
    }
}

/// How many of the latest panics on a thread are remembered: enough for a
/// payload caught, another panic caught meanwhile (a `Drop` that catches
/// one during the unwinding, say), and the first raised again.
const RECORDS_KEPT: usize = 8;

/// The panics the hook saw on one thread since its isolate started, oldest
/// first, at most [`RECORDS_KEPT`].
pub(crate) type Records = Vec<Recorded>;

thread_local! {
    /// The latest panics seen by the hook on this thread, for the runner
    /// that catches one.
    static RECORDED: RefCell<Records> = const { RefCell::new(Vec::new()) };
}

fn record(info: &PanicHookInfo<'_>) {
    let Some(location) = info.location() else {
        return;
    };
    let backtrace = Backtrace::capture();
    let backtrace = match backtrace.status() {
        std::backtrace::BacktraceStatus::Captured => Some(backtrace),
        _ => None,
    };
    let recorded = Recorded {
        location: Location {
            file: location.file().to_owned(),
            line: location.line(),
            column: location.column(),
        },
        backtrace,
        payload: Fingerprint::of(info.payload()),
    };
    // `try_with`: the hook may run while this thread's locals are being torn
    // down; then there is simply nothing to record.
    let _ = RECORDED.try_with(|slot| {
        let mut records = slot.borrow_mut();
        if records.len() == RECORDS_KEPT {
            records.remove(0);
        }
        records.push(recorded);
    });
}

fn take_recorded() -> Records {
    RECORDED.try_with(|slot| slot.take()).unwrap_or_default()
}

/// Takes this thread's records aside while it runs another isolate (the
/// last resort of a wait), so that the one it runs neither sees nor erases
/// them.
pub(crate) fn take_recorded_for_later() -> Records {
    take_recorded()
}

/// Puts back records taken aside by [`take_recorded_for_later`].
pub(crate) fn restore_recorded(recorded: Records) {
    let _ = RECORDED.try_with(|slot| slot.replace(recorded));
}

/// Forgets what the hook recorded, so that a panic an earlier isolate on
/// this thread caught is not attributed to this one's payload.
pub(crate) fn clear_recorded() {
    let _ = RECORDED.try_with(|slot| slot.take());
}
