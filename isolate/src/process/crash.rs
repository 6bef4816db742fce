//! How a child process failed a call: [`Crash`] and its [`CrashReason`].

use std::fmt;

use super::limits::Limit;
use super::wire::ProtocolError;

/// A child process that died during a call, or broke the protocol: why,
/// and the tail of its stderr. Carried by
/// [`IsolateError::Crashed`](crate::IsolateError::Crashed).
///
/// # Examples
///
/// ```
/// use isolate::{isolated, IsolateError};
///
/// #[isolated(process)]
/// fn quit(code: i32) {
///     std::process::exit(code)
/// }
///
/// match quit_isolated(3).join() {
///     Err(IsolateError::Crashed(crash)) => {
///         assert_eq!(crash.exit_code(), Some(3));
///         println!("{crash}; stderr ended with {:?}", crash.stderr_tail());
///     }
///     other => panic!("unexpected: {other:?}"),
/// }
/// ```
#[derive(Clone)]
pub struct Crash {
    pub(crate) reason: CrashReason,
    pub(crate) stderr_tail: String,
    pub(crate) pid: u32,
    pub(crate) isolate: String,
}

/// Why a child process failed a call.
///
/// # Examples
///
/// ```
/// use isolate::process::CrashReason;
///
/// fn describe(reason: &CrashReason) -> String {
///     match reason {
///         CrashReason::Signal(signal) => format!("killed by signal {signal}"),
///         CrashReason::Exit(code) => format!("exited with {code}"),
///         CrashReason::LimitExceeded(limit) => format!("went over its {limit}"),
///         other => other.to_string(),
///     }
/// }
/// assert_eq!(describe(&CrashReason::Exit(2)), "exited with 2");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrashReason {
    /// The child was ended by this signal (`SIGSEGV`, `SIGABRT` for an
    /// abort, `SIGKILL`, ...).
    Signal(i32),
    /// The call overflowed the child's stack (Linux; elsewhere this is a
    /// [`Signal`](Self::Signal), `SIGSEGV` or `SIGBUS`). The child died of
    /// the `SIGSEGV`, as a thread's overflow would have ended the process.
    ///
    /// Only the stack the function is called on is watched (the child's
    /// main thread): an overflow on a thread the function starts (an
    /// isolate, `std::thread::spawn`) is a `Signal(11)` with no message.
    StackOverflow,
    /// The child exited with this code before it answered.
    Exit(i32),
    /// The child went over one of the call's limits and was stopped.
    LimitExceeded(Limit),
    /// The child sent a message the parent could not read; it was killed.
    Protocol(ProtocolError),
    /// The call's values could not cross: the arguments could not be sent
    /// faithfully (seen in the parent, before any child: the crash's
    /// [`pid`](Crash::pid) is 0), the child's executable has no such
    /// function (it is not the same program), the arguments did not decode
    /// in the child, the function's result or error could not be sent
    /// faithfully or serialized (its `Serialize` returned an error), or
    /// they did not decode in the parent. The text says which, with the
    /// reason; a type that does not round-trip through postcard is the
    /// usual cause (see the [module docs](super)). The child is replaced,
    /// as after any crash, except after a failed decode in the parent: it
    /// answered, and serves the next call.
    Refused(String),
    /// The child ended, but how is unknown: this process ignores `SIGCHLD`
    /// (`SIG_IGN`, or `SA_NOCLDWAIT`), so the kernel reaped the child
    /// itself and its exit status, signal or code, was dropped. Leave
    /// `SIGCHLD` at its default to have them.
    StatusLost,
}

impl Crash {
    /// Why the child failed the call.
    ///
    /// # Examples
    ///
    /// ```
    /// # use isolate::{isolated, IsolateError, process::CrashReason};
    /// #[isolated(process)]
    /// fn quit() { std::process::exit(4) }
    /// let crash = quit_isolated().join().unwrap_err();
    /// # let IsolateError::Crashed(crash) = crash else { panic!() };
    /// assert_eq!(crash.reason(), &CrashReason::Exit(4));
    /// ```
    pub fn reason(&self) -> &CrashReason {
        &self.reason
    }

    /// The signal that ended the child, if one did and it is all the reason
    /// says: `None` for [`CrashReason::StackOverflow`] (a `SIGSEGV`) and
    /// for a limit (`SIGXCPU`, `SIGABRT`), which name the cause instead.
    ///
    /// # Examples
    ///
    /// ```
    /// # use isolate::{isolated, IsolateError};
    /// #[isolated(process)]
    /// fn die() { std::process::abort() }
    /// # let IsolateError::Crashed(crash) = die_isolated().join().unwrap_err() else { panic!() };
    /// assert_eq!(crash.signal(), Some(6)); // SIGABRT
    /// ```
    pub fn signal(&self) -> Option<i32> {
        match self.reason {
            CrashReason::Signal(signal) => Some(signal),
            _ => None,
        }
    }

    /// The child's exit code, if it exited.
    ///
    /// # Examples
    ///
    /// ```
    /// # use isolate::{isolated, IsolateError};
    /// #[isolated(process)]
    /// fn quit() { std::process::exit(5) }
    /// # let IsolateError::Crashed(crash) = quit_isolated().join().unwrap_err() else { panic!() };
    /// assert_eq!(crash.exit_code(), Some(5));
    /// ```
    pub fn exit_code(&self) -> Option<i32> {
        match self.reason {
            CrashReason::Exit(code) => Some(code),
            _ => None,
        }
    }

    /// The limit the child went over, if that is why it was stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use isolate::{isolated, IsolateError};
    /// #[isolated(process)]
    /// fn quit() { std::process::exit(5) }
    /// # let IsolateError::Crashed(crash) = quit_isolated().join().unwrap_err() else { panic!() };
    /// assert_eq!(crash.limit(), None);
    /// ```
    pub fn limit(&self) -> Option<Limit> {
        match self.reason {
            CrashReason::LimitExceeded(limit) => Some(limit),
            _ => None,
        }
    }

    /// The last few kilobytes the child wrote to stderr (its stdout goes
    /// there too), lossily decoded as UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// # use isolate::{isolated, IsolateError};
    /// #[isolated(process)]
    /// fn quit() { eprintln!("giving up"); std::process::exit(1) }
    /// # let IsolateError::Crashed(crash) = quit_isolated().join().unwrap_err() else { panic!() };
    /// assert!(crash.stderr_tail().contains("giving up"));
    /// ```
    pub fn stderr_tail(&self) -> &str {
        &self.stderr_tail
    }

    /// The child's process id; 0 when the parent refused the call before
    /// any child saw it (its arguments could not be sent faithfully: see
    /// [`CrashReason::Refused`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use isolate::{isolated, IsolateError};
    /// #[isolated(process)]
    /// fn quit() { std::process::exit(1) }
    /// # let IsolateError::Crashed(crash) = quit_isolated().join().unwrap_err() else { panic!() };
    /// assert_ne!(crash.pid(), std::process::id());
    /// ```
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl fmt::Display for CrashReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrashReason::Signal(signal) => match signal_name(*signal) {
                Some(name) => write!(f, "killed by signal {signal} ({name})"),
                None => write!(f, "killed by signal {signal}"),
            },
            CrashReason::Exit(code) => write!(f, "exited with code {code}"),
            CrashReason::StackOverflow => f.write_str("overflowed its stack"),
            CrashReason::LimitExceeded(limit) => write!(f, "went over its {limit}"),
            CrashReason::Protocol(error) => write!(f, "broke the protocol: {error}"),
            CrashReason::Refused(why) => write!(f, "could not run the call: {why}"),
            CrashReason::StatusLost => f.write_str(
                "ended, but its exit status could not be read: SIGCHLD is ignored in this \
                 process, so the kernel reaped the child and dropped its status",
            ),
        }
    }
}

impl Crash {
    /// The isolate's name, for [`IsolateError::isolate_name`](crate::IsolateError::isolate_name).
    pub(crate) fn isolate_name(&self) -> Option<&str> {
        (!self.isolate.is_empty()).then_some(self.isolate.as_str())
    }
}

impl fmt::Display for Crash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pid == 0 {
            // Refused in the parent: no child saw the call.
            write!(f, "isolate '{}' {}", self.isolate, self.reason)?;
        } else {
            write!(
                f,
                "the child process of isolate '{}' (pid {}) {}",
                self.isolate, self.pid, self.reason
            )?;
        }
        if let Some(last) = self
            .stderr_tail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
        {
            write!(f, "; its stderr ended with: {}", last.trim())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Crash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crash")
            .field("reason", &self.reason)
            .field("pid", &self.pid)
            .field("isolate", &self.isolate)
            .field("stderr_tail", &self.stderr_tail)
            .finish()
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 if cfg!(target_os = "linux") => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        24 if cfg!(target_os = "linux") => "SIGXCPU",
        _ => return None,
    })
}

impl Crash {
    /// A crash of the child `pid`, named after its isolate later.
    #[cfg(unix)]
    pub(super) fn new(pid: u32, reason: CrashReason, stderr_tail: String) -> Crash {
        Crash {
            reason,
            stderr_tail,
            pid,
            isolate: String::new(),
        }
    }
}

impl CrashReason {
    /// What a child's exit status says, given the call's limits and
    /// whether the child's stderr reported a failed allocation.
    #[cfg(unix)]
    pub(super) fn of_exit(
        status: std::process::ExitStatus,
        limits: &super::builder::Builder,
        seen: super::stderr_tail::Seen,
    ) -> CrashReason {
        use std::os::unix::process::ExitStatusExt;
        // The same numbers on Linux, macOS and the BSDs.
        const SIGABRT: i32 = 6;
        const SIGSEGV: i32 = 11;
        const SIGXCPU: i32 = 24;
        if let Some(signal) = status.signal() {
            if seen.stack_overflowed && matches!(signal, SIGSEGV | libc::SIGBUS) {
                return CrashReason::StackOverflow;
            }
            if let (Some(cpu), SIGXCPU) = (limits.cpu, signal) {
                return CrashReason::LimitExceeded(Limit::CpuTime(cpu));
            }
            if let (Some(memory), SIGABRT) = (limits.memory, signal) {
                if seen.allocation_failed {
                    return CrashReason::LimitExceeded(Limit::Memory(memory));
                }
            }
            return CrashReason::Signal(signal);
        }
        CrashReason::Exit(status.code().unwrap_or(-1))
    }
}
