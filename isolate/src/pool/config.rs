//! Configuration of the shared pool: `PoolBuilder`, the environment variables,
//! and the defaults.

use std::env;
use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

/// The environment variable that sets the pool's thread cap, read when the
/// pool is built unless [`PoolBuilder::max_threads`] was given.
///
/// # Examples
///
/// ```
/// assert_eq!(isolate::MAX_THREADS_VAR, "ISOLATE_MAX_THREADS");
/// // In a child process, say: cap the pool at 16 threads.
/// let mut command = std::process::Command::new("true");
/// command.env(isolate::MAX_THREADS_VAR, "16");
/// ```
pub const MAX_THREADS_VAR: &str = "ISOLATE_MAX_THREADS";
/// The environment variable that sets, in milliseconds, how long an idle
/// pool thread waits before it retires, unless [`PoolBuilder::keep_alive`] was
/// given.
///
/// # Examples
///
/// ```
/// assert_eq!(isolate::KEEP_ALIVE_MS_VAR, "ISOLATE_KEEP_ALIVE_MS");
/// let mut command = std::process::Command::new("true");
/// command.env(isolate::KEEP_ALIVE_MS_VAR, "500");
/// ```
pub const KEEP_ALIVE_MS_VAR: &str = "ISOLATE_KEEP_ALIVE_MS";

const DEFAULT_MAX_THREADS: usize = 512;
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);
const DEFAULT_THREAD_NAME: &str = "isolate";

/// The settings the pool runs with.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
}

impl Config {
    /// The defaults, with the environment variables applied.
    pub(crate) fn from_env() -> Result<Config, io::Error> {
        PoolBuilder::new()
            .resolve()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }
}

/// Configures the shared pool that runs isolates, once, before the first
/// isolate starts.
///
/// Every setting left unset takes its value from the environment
/// (`ISOLATE_MAX_THREADS`, `ISOLATE_KEEP_ALIVE_MS`) or else the default:
/// at most 512 threads, sized for blocking work as tokio's blocking pool is;
/// idle threads retire after 10 seconds; threads named `isolate-N`; the
/// platform's default stack size.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// isolate::PoolBuilder::new()
///     .max_threads(64)
///     .keep_alive(Duration::from_secs(2))
///     .thread_name("render")
///     .build_global()
///     .expect("configured before the first isolate");
/// assert_eq!(isolate::run(|| 1).join().unwrap(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct PoolBuilder {
    max_threads: Option<usize>,
    keep_alive: Option<Duration>,
    thread_name: Option<String>,
    stack_size: Option<usize>,
}

impl PoolBuilder {
    /// A builder with nothing set.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::PoolBuilder::new();
    /// # let _ = builder;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The most threads the pool runs at once; beyond it, isolates wait in
    /// the queue. Zero makes every pooled isolate fail with
    /// [`IsolateError::Spawn`](crate::IsolateError::Spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::PoolBuilder::new().max_threads(8);
    /// # let _ = builder;
    /// ```
    pub fn max_threads(mut self, max_threads: usize) -> Self {
        self.max_threads = Some(max_threads);
        self
    }

    /// How long an idle thread waits for work before it exits. A duration
    /// too long to add to the clock (such as [`Duration::MAX`]) means that
    /// idle threads never exit.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::PoolBuilder::new().keep_alive(std::time::Duration::from_secs(1));
    /// # let _ = builder;
    /// ```
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = Some(keep_alive);
        self
    }

    /// The prefix of the pool's thread names: `prefix-0`, `prefix-1`, ...
    ///
    /// A name with a NUL byte cannot name a thread:
    /// [`build_global`](Self::build_global) refuses it with
    /// [`PoolBuildError::InvalidThreadName`].
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::PoolBuilder::new().thread_name("codec");
    /// # let _ = builder;
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = Some(prefix.into());
        self
    }

    /// The stack size, in bytes, of the pool's threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = isolate::PoolBuilder::new().stack_size(8 << 20);
    /// # let _ = builder;
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The configuration this builder describes, with unset settings taken
    /// from the environment or the defaults.
    pub(crate) fn resolve(self) -> Result<Config, PoolBuildError> {
        if let Some(name) = &self.thread_name {
            if name.contains('\0') {
                return Err(PoolBuildError::InvalidThreadName(name.clone()));
            }
        }
        let max_threads = match self.max_threads {
            Some(n) => n,
            None => from_env(MAX_THREADS_VAR)?.unwrap_or(DEFAULT_MAX_THREADS),
        };
        let keep_alive = match self.keep_alive {
            Some(d) => d,
            None => from_env(KEEP_ALIVE_MS_VAR)?.map_or(DEFAULT_KEEP_ALIVE, Duration::from_millis),
        };
        Ok(Config {
            max_threads,
            keep_alive,
            thread_name: self
                .thread_name
                .unwrap_or_else(|| DEFAULT_THREAD_NAME.to_owned()),
            stack_size: self.stack_size,
        })
    }
}

fn from_env<N: std::str::FromStr>(name: &'static str) -> Result<Option<N>, PoolBuildError> {
    match env::var(name) {
        Err(env::VarError::NotPresent) => Ok(None),
        Ok(value) => match value.trim().parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(PoolBuildError::InvalidVariable { name, value }),
        },
        Err(env::VarError::NotUnicode(value)) => Err(PoolBuildError::InvalidVariable {
            name,
            value: value.to_string_lossy().into_owned(),
        }),
    }
}

/// Why [`PoolBuilder::build_global`] did not install the pool.
///
/// # Examples
///
/// ```
/// # let _ = isolate::run(|| ()).join();
/// // An isolate already ran, so the pool exists with its defaults.
/// let err = isolate::PoolBuilder::new().build_global().unwrap_err();
/// assert_eq!(err.to_string(), "the isolate pool was already built: configure it before the first isolate starts");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolBuildError {
    /// The pool was configured before, or built with the defaults by the
    /// first isolate.
    AlreadyBuilt,
    /// An environment variable holds something other than a whole number.
    InvalidVariable {
        /// The variable.
        name: &'static str,
        /// What it holds.
        value: String,
    },
    /// The thread name given to [`PoolBuilder::thread_name`] holds a NUL
    /// byte, which no thread name can.
    ///
    /// ```
    /// let err = isolate::PoolBuilder::new().thread_name("bad\0name").build_global().unwrap_err();
    /// assert!(matches!(err, isolate::PoolBuildError::InvalidThreadName(_)));
    /// ```
    InvalidThreadName(String),
}

impl fmt::Display for PoolBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolBuildError::AlreadyBuilt => f.write_str(
                "the isolate pool was already built: configure it before the first isolate starts",
            ),
            PoolBuildError::InvalidVariable { name, value } => {
                write!(f, "{name}={value:?} is not a whole number")
            }
            PoolBuildError::InvalidThreadName(name) => {
                write!(
                    f,
                    "the thread name {name:?} holds a NUL byte, which no thread name can"
                )
            }
        }
    }
}

impl Error for PoolBuildError {}
