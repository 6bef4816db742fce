//! Process isolates: `#[isolated(process)]` runs the function in a child
//! process, so that a crash, an abort, a stack overflow, a runaway loop or a
//! memory blow-up is one typed error and a cancel kills the child at once.
//!
//! ```
//! use isolate::{isolated, IsolateError};
//!
//! #[isolated(process)]
//! fn parse(text: String) -> Result<u32, String> {
//!     text.trim().parse().map_err(|e| format!("{e}"))
//! }
//!
//! assert_eq!(parse_isolated("42".to_owned()).join().unwrap(), 42);
//! assert!(matches!(parse_isolated("x".to_owned()).join(), Err(IsolateError::Failed { .. })));
//! ```
//!
//! # How it works
//!
//! - **The child is the same executable.** The runtime starts
//!   `std::env::current_exe()` with one environment variable set; a start
//!   hook that the `process` feature links into every binary (an
//!   `.init_array` constructor on ELF systems, `__mod_init_func` on macOS)
//!   sees it before `main` runs and turns the process into a child that
//!   serves calls until its parent goes away. Nothing is written in `main`,
//!   and the same works in binaries, examples and under `cargo test` (where
//!   the child is the test binary, and the harness never starts in it).
//!   So the executable's file must still be there: once it is deleted or
//!   replaced (a rebuild renames the new one over it), a call that needs a
//!   new child ends with [`IsolateError::Spawn`] naming the file and asking
//!   for a restart of the program.
//! - **Functions are found by name, never by address.** Each
//!   `#[isolated(process)]` function registers an entry, keyed by its
//!   module path and name, in a link-time table (the `linkme` crate); the
//!   child looks the key up in its own table.
//! - **The wire is postcard** over the child's inherited stdin and stdout
//!   pipes: only the parent holds their other ends. Every message is a
//!   length-prefixed frame, at most [`PoolBuilder::max_message`] bytes; a
//!   truncated, oversized or garbled one is a [`Crash`] with
//!   [`CrashReason::Protocol`], never a panic or a hang in the parent.
//!   On Linux the parent also watches the child process itself (a pidfd),
//!   so a process the function forked without `exec`, which holds the
//!   pipes open, delays no timeout, cancel or crash report (at most the
//!   half second a crash report waits for the rest of stderr); elsewhere
//!   the end of the pipe is what the parent sees, and such a fork delays
//!   them until it exits.
//!   Inside the child, stdout is pointed at stderr, so the function's
//!   `println!` cannot corrupt the protocol.
//! - **A warm pool of children** (see [`PoolBuilder`]): one per core by
//!   default, each reused call after call, replaced when it dies, retired
//!   after [`PoolBuilder::keep_alive`] idle. Every child is reaped by its
//!   parent (no zombies; one that dies while idle, within a quarter of a
//!   second, and the next call gets a fresh child) and dies with it:
//!   `PR_SET_PDEATHSIG` on Linux, and everywhere the end of its stdin. A
//!   call sent to an idle child that died before the pool noticed goes to
//!   a fresh child when the child certainly never had the whole request:
//!   always on Linux (the request is still in the pipe), elsewhere when
//!   writing it failed; otherwise (a large request it was reading, or a
//!   system other than Linux) the call ends with the child's crash, since
//!   the function may have started, and is never run twice.
//! - **Exit statuses need `SIGCHLD`.** A program that ignores `SIGCHLD`
//!   (`SIG_IGN`, or `SA_NOCLDWAIT`) has its children reaped by the kernel,
//!   which drops their exit status: a child that dies is then a crash with
//!   [`CrashReason::StatusLost`], never a guessed signal or code.
//! - **Limits per call** ([`Builder`], or the attribute's `timeout`,
//!   `memory_limit` and `cpu_limit`): the wall clock is watched by the
//!   parent, which kills the child ([`IsolateError::TimedOut`]); memory
//!   (`RLIMIT_AS`) and CPU time (`RLIMIT_CPU`) are set by the child on
//!   itself around the call, so that going over one is a
//!   [`CrashReason::LimitExceeded`] naming it.
//!
//! Arguments, result and error must be `serde::Serialize +
//! serde::de::DeserializeOwned`; the attribute says so at the user's type.
//! postcard is not self-describing (a struct is its fields in order, with
//! no names), so a few serde shapes that compile do not round-trip through
//! it. Each of these ends the call with a [`Crash`] whose reason is
//! [`CrashReason::Refused`], whichever side sees it, with a text that says
//! what could not cross and why:
//!
//! - a field skipped by `#[serde(skip_serializing_if)]` when it is
//!   skipped, and `#[serde(flatten)]` (a map of unknown length): refused
//!   when written, so before any child runs for arguments (the crash's
//!   [`pid`](Crash::pid) is then 0) and before the reply for a result or
//!   error (the child is replaced);
//! - internally tagged (`#[serde(tag = "..")]`) and untagged enums: they
//!   are written, but refused when read.
//!
//! A field skipped by `#[serde(skip_serializing)]` alone is not caught
//! when written (serde leaves it out without a word); the reader is handed
//! the next value's bytes in its place. The call is refused when those
//! bytes run out or some are left over, which is the case when the type is
//! the last argument, or the result or error; otherwise it can run with
//! wrong values. Skip such a field on both sides (`#[serde(skip)]`).
//!
//! Unix only: elsewhere every call ends with [`IsolateError::Spawn`] of kind
//! [`std::io::ErrorKind::Unsupported`].
//!
//! [`IsolateError::TimedOut`]: crate::IsolateError::TimedOut
//! [`IsolateError::Spawn`]: crate::IsolateError::Spawn

mod builder;
mod call;
#[cfg(unix)]
mod child;
#[cfg(unix)]
mod child_process;
mod crash;
mod limits;
#[cfg(unix)]
mod overflow;
mod payload;
#[cfg(unix)]
mod pool;
mod registry;
#[cfg(unix)]
mod stderr_tail;
mod task;
#[cfg(unix)]
mod watch;
mod wire;

pub use builder::Builder;
pub use crash::{Crash, CrashReason};
pub use limits::Limit;
pub use wire::ProtocolError;

use std::fmt;
use std::time::Duration;

/// The environment variable that turns a start of this executable into a
/// process-isolate child. Its value is what only the pool writes,
/// [`CHILD_VALUE_PREFIX`] then the parent's process id, and it counts only
/// when that id is the process's actual parent: any other value (empty,
/// garbage, another process's id) is ignored, and the program runs as
/// usual. The child removes it before it serves a call, so programs that a
/// function starts do not inherit it.
///
/// # Examples
///
/// ```
/// // Never set in a parent, nor seen by the functions a child runs.
/// assert!(std::env::var_os(isolate::process::CHILD_VAR).is_none());
/// ```
pub const CHILD_VAR: &str = "ISOLATE_PROCESS_CHILD";

/// What [`CHILD_VAR`]'s value starts with, before the parent's process id.
///
/// # Examples
///
/// ```
/// let value = format!("{}{}", isolate::process::CHILD_VALUE_PREFIX, std::process::id());
/// assert!(value.starts_with("isolates-process-child-of-"));
/// ```
pub const CHILD_VALUE_PREFIX: &str = "isolates-process-child-of-";

/// Configures the pool of child processes before its first use.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// // Usually once, at the top of `main`, before the first process isolate.
/// let configured = isolate::process::PoolBuilder::new()
///     .size(2)
///     .keep_alive(Duration::from_secs(30))
///     .build_global();
/// # let _ = configured;
/// ```
#[derive(Clone, Debug)]
pub struct PoolBuilder {
    pub(crate) size: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) max_message: usize,
    pub(crate) forward_stderr: bool,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PoolBuilder {
    /// The defaults: one child per core, 60 s keep-alive, messages up to
    /// 1 GiB, the children's stderr copied to this process's stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::PoolBuilder::new();
    /// # let _ = builder;
    /// ```
    pub fn new() -> Self {
        PoolBuilder {
            size: std::thread::available_parallelism().map_or(2, usize::from),
            keep_alive: Duration::from_secs(60),
            max_message: 1 << 30,
            forward_stderr: true,
        }
    }

    /// At most `children` child processes at once (at least 1); more calls
    /// wait in a queue for one.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::PoolBuilder::new().size(4);
    /// # let _ = builder;
    /// ```
    pub fn size(mut self, children: usize) -> Self {
        self.size = children.max(1);
        self
    }

    /// How long a child may stay idle before it is retired.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::PoolBuilder::new().keep_alive(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn keep_alive(mut self, idle: Duration) -> Self {
        self.keep_alive = idle;
        self
    }

    /// The largest message, in bytes, accepted from a child (default 1 GiB,
    /// at most 4 GiB, which is also the most a call's arguments may take);
    /// a larger one is [`ProtocolError::Oversized`].
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::PoolBuilder::new().max_message(256 << 20);
    /// # let _ = builder;
    /// ```
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes.min(u32::MAX as usize);
        self
    }

    /// Whether the children's stderr is copied to this process's stderr as
    /// it comes (default `true`); its tail is kept for [`Crash`] either way.
    ///
    /// # Examples
    ///
    /// ```
    /// let quiet = isolate::process::PoolBuilder::new().forward_stderr(false);
    /// # let _ = quiet;
    /// ```
    pub fn forward_stderr(mut self, forward: bool) -> Self {
        self.forward_stderr = forward;
        self
    }

    /// Makes this the configuration of the process pool.
    ///
    /// # Errors
    ///
    /// [`AlreadyStarted`] if the pool was configured or used before.
    ///
    /// # Examples
    ///
    /// ```
    /// let first = isolate::process::PoolBuilder::new().size(2).build_global();
    /// let second = isolate::process::PoolBuilder::new().size(3).build_global();
    /// assert!(second.is_err());
    /// # let _ = first;
    /// ```
    pub fn build_global(self) -> Result<(), AlreadyStarted> {
        #[cfg(unix)]
        {
            pool::configure(self)
        }
        #[cfg(not(unix))]
        {
            let _ = self;
            Ok(())
        }
    }
}

/// The process pool was configured or used before
/// [`PoolBuilder::build_global`].
///
/// # Examples
///
/// ```
/// let _ = isolate::process::PoolBuilder::new().build_global();
/// let err = isolate::process::PoolBuilder::new().build_global().unwrap_err();
/// assert!(err.to_string().contains("already"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyStarted;

impl fmt::Display for AlreadyStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the process pool was already configured or started")
    }
}

impl std::error::Error for AlreadyStarted {}

/// Counters of the process pool.
///
/// # Examples
///
/// ```
/// let stats = isolate::process::pool_stats();
/// println!("{} children live, {} started, {} crashed", stats.children, stats.started, stats.crashed);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Child processes alive now.
    pub children: usize,
    /// Child processes waiting for a call.
    pub idle: usize,
    /// Calls waiting for a child.
    pub queued: usize,
    /// Child processes started since the program began.
    pub started: u64,
    /// Child processes that died, were killed or broke the protocol during
    /// a call, or died while idle.
    pub crashed: u64,
    /// Child processes retired after their keep-alive.
    pub retired: u64,
}

/// The process pool's counters now.
///
/// # Examples
///
/// ```
/// assert!(isolate::process::pool_stats().children <= 1024);
/// ```
pub fn pool_stats() -> PoolStats {
    #[cfg(unix)]
    {
        pool::stats()
    }
    #[cfg(not(unix))]
    {
        PoolStats::default()
    }
}

/// Support for the code `#[isolated(process)]` generates. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::call::{call, call_infallible, Done, Job};
    pub use super::registry::{serve, serve_plain, Entry, Served, ENTRIES};
    pub use linkme::{self, distributed_slice};

    /// A type that can be an argument of a process-isolated function.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an argument of a process isolate: it cannot be serialized",
        label = "this argument is sent to a child process, so it must be `Serialize + DeserializeOwned`",
        note = "an #[isolated(process)] function runs in another process; its arguments are serialized with serde",
        note = "derive `serde::Serialize` and `serde::Deserialize` for it, or pass plain data (no references, `Rc`, handles or closures)"
    )]
    pub trait ProcessArg: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {}

    #[diagnostic::do_not_recommend]
    impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static> ProcessArg for T {}

    /// A type that can be returned by a process-isolated function.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be returned from a process isolate: it cannot be serialized",
        label = "the result comes back from a child process, so it must be `Serialize + DeserializeOwned`",
        note = "an #[isolated(process)] function runs in another process; its result and error are serialized with serde",
        note = "derive `serde::Serialize` and `serde::Deserialize` for it"
    )]
    pub trait ProcessReturn:
        serde::Serialize + serde::de::DeserializeOwned + Send + 'static
    {
    }

    #[diagnostic::do_not_recommend]
    impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static> ProcessReturn for T {}

    /// Checks an argument type at the user's token.
    pub fn assert_arg<T: ProcessArg>() {}

    /// Checks a result or error type at the user's token.
    pub fn assert_return<T: ProcessReturn>() {}

    /// Writes raw bytes to the protocol pipe from inside a child: a test of
    /// the parent's defences against garbage. Does nothing in a parent.
    pub fn write_raw_to_parent(bytes: &[u8]) {
        #[cfg(unix)]
        super::child::write_raw(bytes);
        #[cfg(not(unix))]
        let _ = bytes;
    }
}
