//! Per-call options of a process isolate: name and limits.

use std::borrow::Cow;
use std::time::Duration;

use crate::name::Name;

/// The options of one call of a process isolate: its name and its limits.
///
/// `#[isolated(process)]` generates, beside `name_isolated(args)`, a
/// `name_isolated_with(builder, args)` that takes one; the attribute's own
/// options (`timeout`, `memory_limit`, `cpu_limit`) make the builder that
/// `name_isolated` uses.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use isolate::{isolated, process::Builder, IsolateError};
///
/// #[isolated(process)]
/// fn spin() -> u64 {
///     let mut n = 0_u64;
///     loop {
///         n = std::hint::black_box(n.wrapping_add(1));
///     }
/// }
///
/// let limited = Builder::new().name("spinner").timeout(Duration::from_millis(200));
/// let err = spin_isolated_with(limited).join().unwrap_err();
/// assert!(matches!(err, IsolateError::TimedOut { .. }));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    pub(crate) name: Option<Name>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) memory: Option<u64>,
    pub(crate) cpu: Option<Duration>,
}

impl Builder {
    /// No name of its own, no limits.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::Builder::new();
    /// # let _ = builder;
    /// ```
    pub fn new() -> Self {
        Builder::default()
    }

    /// The isolate's name, shown in errors (default: the function's name).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::Builder::new().name("renderer");
    /// # let _ = builder;
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(Name::from(name.into()));
        self
    }

    /// A wall-clock limit counted from when the call is sent to its child:
    /// past it the child is killed and the call ends with
    /// [`IsolateError::TimedOut`](crate::IsolateError::TimedOut).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::Builder::new().timeout(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The child's address-space limit during the call (`RLIMIT_AS`), in
    /// bytes; it counts everything the child has mapped, its runtime and
    /// code included (some tens of megabytes). Going over it ends the call
    /// with a [`Crash`](super::Crash) whose limit is
    /// [`Limit::Memory`](super::Limit::Memory).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::Builder::new().memory_limit(512 << 20);
    /// # let _ = builder;
    /// ```
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory = Some(bytes);
        self
    }

    /// The child's CPU-time limit during the call (`RLIMIT_CPU`, which counts
    /// whole seconds: the call may use at least `limit` and less than a
    /// second more). Going over it ends the call with a
    /// [`Crash`](super::Crash) whose limit is
    /// [`Limit::CpuTime`](super::Limit::CpuTime).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::process::Builder::new().cpu_limit(std::time::Duration::from_secs(2));
    /// # let _ = builder;
    /// ```
    pub fn cpu_limit(mut self, limit: Duration) -> Self {
        self.cpu = Some(limit);
        self
    }

    /// Sets the name unless one was given (the generated code's default).
    #[doc(hidden)]
    pub fn default_name(mut self, name: &'static str) -> Self {
        if self.name.is_none() {
            self.name = Some(Name::Static(name));
        }
        self
    }
}
