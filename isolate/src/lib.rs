//! Run any function on another thread with one attribute, and get every
//! failure of that work back as one ordinary, typed `Result`.
//!
//! This is Dart's `Isolate.run(f)` for Rust. Put `#[isolated]` on an ordinary
//! function: the function stays as written, and a sibling `name_isolated`
//! moves the arguments to an *isolate* (a pooled thread), runs the function
//! there, and returns an [`IsolateHandle`]. Wait on the handle with
//! [`join`](IsolateHandle::join) or `.await` it on any executor. A panic, the
//! function's own `Err`, a cancellation, a timeout and a failure to start
//! all arrive as one [`IsolateError`].
//!
//! # Glossary
//!
//! One word per concept, used the same way everywhere in these docs:
//!
//! | word | means |
//! | --- | --- |
//! | *isolate* | one piece of work moved to another thread, with its own name, cancellation and outcome |
//! | *body* | what an isolate runs: a closure, [`Async`] or [`Fold`] of one (a [`Body`]); a service runs a [`Handler`] per request |
//! | *handle* | the caller's side of an isolate: [`IsolateHandle`] (and [`ProgressHandle`], [`Worker`], [`Service`] for the other kinds) |
//! | *outcome* | the value, or the [`IsolateError`] that says why there is none |
//! | *fold* | turning a body's `Result<T, E>` into the handle's value `T` and error `E` ([`Fold`]) |
//! | *pool* | the shared, elastic set of *pool threads* that run isolates ([`PoolBuilder`]) |
//! | *dedicated* | an isolate on a thread of its own instead of a pool thread |
//! | *long-running isolate* | a [`Worker`] or a [`Service`]: it lives on a thread of its own, fed through channels |
//! | *worker* | the [`Worker`] type only: a long-running isolate that owns its loop, with a [`Port`] |
//! | *service thread* | one of a [`Service`]'s threads, each with its own state and inbox |
//! | *channel*, *sender*, *receiver* | [`channel`]'s typed queues and their two ends; a port and a worker hand out theirs |
//! | *last resort* | what a waiter does for an isolate still queued at a stalled pool (see [`IsolateHandle`]) |
//!
//! The package is published as `isolates` (`cargo add isolates`); the
//! library is named `isolate`, as in every path below. Renamed in your
//! `Cargo.toml`, tell the attribute where it is: `#[iso::isolated(crate = iso)]`.
//!
//! ```
//! use isolate::{isolated, IsolateError};
//! use std::collections::BTreeMap;
//!
//! #[derive(Debug)]
//! struct ConfigError(String);
//! # impl std::fmt::Display for ConfigError {
//! #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
//! # }
//! # impl std::error::Error for ConfigError {}
//!
//! /// Parses `key = value` lines: ordinary code, testable as it is.
//! #[isolated]
//! fn parse_config(text: String) -> Result<BTreeMap<String, String>, ConfigError> {
//!     text.lines()
//!         .filter(|line| !line.trim().is_empty())
//!         .map(|line| match line.split_once('=') {
//!             Some((k, v)) => Ok((k.trim().to_owned(), v.trim().to_owned())),
//!             None => Err(ConfigError(format!("not a `key = value` line: {line:?}"))),
//!         })
//!         .collect()
//! }
//!
//! // Blocking caller: the parse runs on an isolate.
//! let config = parse_config_isolated("port = 8080\nhost = ::1".to_owned()).join()?;
//! assert_eq!(config["port"], "8080");
//!
//! // The function's own error arrives typed, beside panics and cancellations.
//! match parse_config_isolated("oops".to_owned()).join() {
//!     Err(IsolateError::Failed { error: ConfigError(message), .. }) => assert!(message.contains("oops")),
//!     other => panic!("unexpected: {other:?}"),
//! }
//!
//! // Async caller, on any executor: the handle is a future.
//! let config = futures::executor::block_on(parse_config_isolated("a = 1".to_owned()))?;
//! assert_eq!(config["a"], "1");
//!
//! // Inline, like `Isolate.run(() => ...)`:
//! let n = isolate::run(|| (1..=10_u64).product::<u64>()).join()?;
//! assert_eq!(n, 3_628_800);
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```
//!
//! # Where isolates run
//!
//! Isolates run on one shared, elastic pool of threads: it starts a thread
//! when none is idle (until one per core is running; threads blocked in a
//! wait do not count, up to [`PoolBuilder::max_threads`]), lets idle threads
//! retire after a keep-alive, and hands work over in about a microsecond.
//! Use [`Builder::dedicated`] (or `#[isolated(dedicated)]`) for work that
//! should have a thread of its own.
//!
//! An isolate that waits for another (nested isolates) never deadlocks,
//! whatever the cap, and never runs the other one on its own stack while the
//! pool can start a thread for it; what happens at the cap is described
//! under [waiting from inside an isolate](IsolateHandle#waiting-from-inside-an-isolate).
//!
//! # Choosing how to start an isolate
//!
//! | you have | use |
//! | --- | --- |
//! | a named function you call off-thread from several places | `#[isolated]` on it, then `name_isolated(args)` |
//! | a one-off closure | [`run`], or [`run`]`(`[`Fold`]`(f))` when it returns a `Result` whose error should be folded |
//! | async code, perhaps holding `Rc` or `RefCell` across `.await` | [`run`]`(`[`Async`]`(f))` (or `#[isolated] async fn`): the future stays on the isolate's thread |
//! | options for any kind of isolate (name, thread, stack, time limit, inbox) | [`Builder`], then [`run`](Builder::run), [`run_with_progress`](Builder::run_with_progress), [`spawn`](Builder::spawn) or [`service`](Builder::service) |
//! | long or blocking work that should not hold a pool thread, or needs a big stack | [`Builder::dedicated`], [`Builder::stack_size`] (`#[isolated(dedicated)]`) |
//! | a long-running worker that owns its loop, with messages both ways (Dart's `Isolate.spawn`) | [`Worker::spawn`] with a [`Port`] |
//! | requests answered by one or several long-running threads, whose state is built once | [`Service::spawn`]: every request gets its own reply handle |
//! | progress updates from a long computation | [`run_with_progress`], or `#[isolated]` on a function with a [`Progress`] parameter |
//! | many isolates, each result as it finishes (a batch), perhaps at most `n` at once | [`IsolateSet`] (its [`progress`](IsolateSet::progress) for one progress bar); [`join_all`] / [`join_any`] for a plain list of handles |
//! | a time limit for each isolate, from when it starts | [`Builder::timeout`], `#[isolated(timeout = "250ms")]` |
//! | code that may crash, abort, loop or blow up its memory (FFI, untrusted input) | `#[isolated(process)]`: a child process, with the `process` feature (see `process`) |
//!
//! # Long-running isolates
//!
//! A [`Worker`] is a long-running isolate that owns its loop: its function
//! gets a [`Port`] to receive the caller's messages and send its own, over
//! bounded (back-pressure) or unbounded [`channel`]s; the caller's `Worker`
//! sends and receives (`send`, `recv`, `recv_async`, iterator, `Stream`, and
//! the channel ends themselves for the rest) and finally joins it. A
//! [`Service`] answers requests: each service thread builds its state once,
//! and every request gets its own [`IsolateHandle`] for the reply, however
//! many callers share it. Both report how they ended through
//! [`on_exit`](Worker::on_exit) and [`on_error`](Worker::on_error)
//! listeners and fold every failure into [`IsolateError`]; a service can
//! outlive a panicking request ([`ServiceBuilder::errors_are_fatal`]), be
//! paused ([`Service::pause`]) and probed ([`Service::ping`]).
//!
//! ```
//! use isolate::Service;
//!
//! let lengths = isolate::Builder::new().service()
//!     .threads(2)
//!     .spawn(|| (), |_: &mut (), text: String| text.chars().count());
//! let replies: Vec<_> = ["one", "three"].map(|t| lengths.request(t.to_owned())).into();
//! let counts: Vec<usize> = replies.into_iter().map(|r| r.join().unwrap()).collect();
//! assert_eq!(counts, [3, 5]);
//! ```
//!
//! Dart's `kill` has no forced form here: Rust cannot stop a thread from
//! outside, so [`Worker::kill`] and [`Service::kill`] close the channels
//! and cancel, and code inside sees [`is_cancelled`]. Dart's pause
//! capabilities become a [`Paused`] guard that resumes when dropped, and
//! `Isolate.spawn(paused: true)` becomes [`Builder::start_paused`], then
//! `start()`. A running [`Worker`] has no pause or ping: its
//! loop is the user's code, and they would travel in its inbox as control
//! messages beside the plain channel ends it hands out; a `Ping` variant of
//! the worker's own message type does the same job. A service can also
//! restart its threads ([`Restart`], [`Service::restart`]).
//!
//! # How it differs from the usual tools
//!
//! - **`std::thread::spawn`** starts a thread per call (about 40 µs a round
//!   trip here) and reports a panic as an untyped `Box<dyn Any>`; an isolate
//!   reuses pooled threads (about 1 µs), and every failure arrives typed.
//! - **`tokio::task::spawn_blocking`** needs a tokio runtime and can only be
//!   awaited; its round trip is 10-25 µs. An isolate works from any thread
//!   and any executor, blocking or awaited, at about 1 µs, and a queued
//!   isolate costs about 200 bytes (tokio: about 1 KB).
//! - **rayon** is built for data parallelism: `join`, `scope` and parallel
//!   iterators beat everything for splitting one computation across cores.
//!   But `rayon::spawn` has no handle, blocking inside its pool can deadlock
//!   it, and a panic aborts unless you catch it. An isolate is for moving a
//!   call off the current thread and getting its result, error or panic
//!   back; nested joins never deadlock.
//!
//! The repository's `bench/` compares them side by side on 2 and 16 cores.
//!
//! # With `panic = "abort"`
//!
//! A panic inside an isolate aborts the whole process, as any panic does in
//! such a build: there is nothing to catch, so
//! [`IsolateError::Panicked`] is never returned. [`exit`] still works (it
//! unwinds only in builds that can unwind; with `panic = "abort"` it aborts
//! too), so do not rely on it there.
//!
//! # Tracing
//!
//! With the `tracing` feature, each isolate runs inside a span named
//! `isolate`, with a `name` field, whose parent is the caller's current
//! span, and under the caller's subscriber: logs and traces read as one story
//! across threads.
//!
//! # Compile-time checks
//!
//! An argument or result that cannot cross threads is a compile error at
//! the user's own parameter, in this crate's words (an `Rc` argument, a
//! borrowed `&str`, a `&self` method, ...). The cases are documented as
//! compile-fail tests in the repository's `ui-tests/` folder.

// Implementation notes (for readers of the source, not the API docs).
//
// The runtime is laid out in wings that import downward only (checked by
// hand and in review: no module imports one that imports it back):
//
// - `sync`: the loom seam, the one place that names synchronisation
//   primitives (`sync::process` for what no loom model can hold).
// - `name`, `message`: the isolate's name and the `Send + 'static` bound.
// - `task/`: one isolate. `header` (state bits, `Runnable`) < `context`
//   (what code inside an isolate can ask) < `panic`, `error` < `state` (the
//   single-allocation protocol) < `deadline`, `handle`, `promise`.
// - `pool/`: `config` <
//   `threads` (the elastic pool; one concept, kept in one file) < `global`
//   (installing a configuration), `wait` (a waiter's last resort),
//   `block_on` (an async isolate's executor).
// - `body`, `builder`, `progress`: what is run, the shared options, and the
//   progress flavour of a one-shot isolate.
// - `long_running/`: `catch_outcome` (how a long-running thread ends),
//   `lifecycle` (exit and error listeners), `control` (pause and ping),
//   `worker`, and `service/` (`routes` < `serving` < `member` < `builder`,
//   with the `Service` handle in `service/mod.rs`).
// - `set/`: `IsolateSet` < `join` (async wait, plain-list joins), `batch`
//   (batch progress).
// - `channel/`: typed channels, used by the wings above.

#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(clippy::undocumented_unsafe_blocks)]
// The process backend needs two `#[link_section]` statics (its registry and
// the child's start hook), allowed item by item in `process/`.
#![cfg_attr(not(feature = "process"), forbid(unsafe_code))]
#![cfg_attr(feature = "process", deny(unsafe_code))]

mod body;
mod builder;
pub mod channel;
mod long_running;
#[cfg(all(test, loom))]
mod loom_models;
mod message;
mod name;
mod pool;
#[cfg(feature = "process")]
pub mod process;
mod progress;
mod set;
mod sync;
mod task;
#[cfg(feature = "tracing")]
mod tracing_support;

#[doc(hidden)]
pub mod __private;

pub use body::{Async, Body, Fold, Handler};
pub use builder::{run, Builder};
pub use long_running::control::Paused;
pub use long_running::lifecycle::{Exit, ListenerId};
pub use long_running::service::builder::{Restart, ServiceBuilder};
pub use long_running::service::routes::Dispatch;
pub use long_running::service::serving::close_service;
pub use long_running::service::Service;
pub use long_running::worker::{Port, Worker};
pub use message::Message;
pub use pool::config::{PoolBuildError, PoolBuilder, KEEP_ALIVE_MS_VAR, MAX_THREADS_VAR};
pub use pool::threads::PoolStats;
pub use progress::{run_with_progress, Progress, ProgressHandle, Updates};
pub use set::batch::{BatchProgress, BatchProgressIter};
pub use set::join::{join_all, join_any, JoinNext};
pub use set::{Elapsed, Finished, IsolateSet, Joined};
pub use task::context::{current_name, exit, is_cancelled};
pub use task::error::{IsolateError, IsolateName};
pub use task::handle::IsolateHandle;
pub use task::panic::{print_panics, Location, Panic};

/// Generates a sibling `name_isolated` of a function that runs it on an
/// isolate.
///
/// ```
/// #[isolate::isolated]
/// fn checksum(data: Vec<u8>) -> u64 {
///     data.iter().map(|&b| u64::from(b)).sum()
/// }
///
/// assert_eq!(checksum(vec![1, 2]), 3); // the function is unchanged
/// assert_eq!(checksum_isolated(vec![1, 2]).join().unwrap(), 3);
/// ```
///
/// The sibling has the function's visibility, generics, `#[cfg]`s,
/// `#[deprecated]` and `#[allow]`s (an `#[expect]` as an `#[allow]`, as the
/// sibling may not trigger the lint), and takes the same arguments, moved, with
/// their lint attributes. It returns [`IsolateHandle<T, E>`](IsolateHandle)
/// when the function returns a `Result<T, E>`, and `IsolateHandle<R>` for any
/// other return type `R`. The attribute sees the return type as written, so it
/// folds a type whose path ends in `Result`: `Result<T, E>`, or an alias of
/// that name (`std::io::Result<T>`, `fmt::Result`). An alias under another name
/// (`type MyResult<T> = Result<T, MyError>`) is returned whole unless the
/// attribute says `fold`, and `no_fold` returns a `Result` whole. An `async fn`
/// is driven to completion on the isolate (see [`Async`]). Methods that take
/// `self` by value (`self`, `self: Box<Self>`, `self: Arc<Self>`) and
/// associated functions work in inherent `impl` blocks, generic ones included:
/// the bounds on the block's parameters (`Send + 'static` for what crosses
/// threads) are checked where the sibling is called. Where `Self` is one type
/// (an `impl` block without parameters), a `self` that cannot cross threads
/// (one holding an `Rc`, or `self: Rc<Self>`) is reported at the definition, at
/// the receiver; in a generic `impl` block, or where the source file cannot
/// tell (see below), only where the sibling is called. A function's type
/// parameters must be `'static`, and a turbofish on the sibling reaches them
/// (`size_of_isolated::<u64>()`).
///
/// The attribute on a function sees only that function, so it tells an
/// associated function from a free one by `self`, by `Self` in the signature
/// or the body, or else by the source file the function was written in
/// (`fn new() -> Parser` in an `impl` block; a free function whose types
/// are named like type parameters, `-> Result<u8, E>`). Where the file cannot
/// tell, a name like a type parameter that the function does not declare
/// (`-> Slab<T>`) makes it associated. The file is read for the attribute
/// under its own name or one a `use` gives it (`use isolate::isolated as
/// offload;`). So where the file cannot tell (the function was written by
/// another macro, or the same file has a free `#[isolated]` function with
/// the same signature and body), an associated function with none of these needs
/// `#[isolated]` on its `impl` block as well, or `-> Self`; if a free
/// function of its name is in scope, its sibling would call that one.
/// In a trait, a method with a default body gets a provided sibling that
/// every implementor inherits, bound by `Self: Sized` so that the trait stays
/// dyn-compatible (the sibling is called on a concrete type); in a trait's `impl` block the attribute is
/// refused, as the trait has no sibling to implement. Refused, each with an
/// error at the mistake:
/// borrowed arguments, results and receivers (`&self`, `self: &Self`,
/// `self: Pin<&mut Self>`), an `impl` block whose type borrows (`impl<'a>
/// View<'a>`, when the block carries the attribute; otherwise the borrow is
/// reported where the sibling is called), and parameters under `#[cfg]`.
///
/// # Progress
///
/// A parameter of type [`Progress<P>`](Progress) is supplied by the sibling
/// instead of taken from the caller, and the sibling returns a
/// [`ProgressHandle<P, ..>`](ProgressHandle) that yields the updates, then
/// the result (at most one such parameter; an `async fn` works too):
///
/// ```
/// use isolate::{isolated, Progress};
///
/// #[isolated]
/// fn compress(data: Vec<u8>, progress: Progress<usize>) -> usize {
///     for (done, _chunk) in data.chunks(2).enumerate() {
///         progress.send(done + 1);
///     }
///     data.len() / 2
/// }
///
/// let handle = compress_isolated(vec![0; 6]);
/// assert_eq!(handle.updates().iter().collect::<Vec<_>>(), [1, 2, 3]);
/// assert_eq!(handle.into_handle().join().unwrap(), 3);
/// ```
///
/// # Long-running workers
///
/// A parameter of type [`Port<In, Out>`](Port) makes the function a
/// long-running worker's body: the sibling supplies the port, starts the
/// function on a thread of its own and returns the caller's side, a
/// [`Worker<In, Out, ..>`](Worker) (see [`Worker::spawn`]):
///
/// ```
/// use isolate::{isolated, Port};
///
/// #[isolated]
/// fn running_max(port: Port<i32, i32>) -> Option<i32> {
///     let mut max = None;
///     for n in &port {
///         let new_max = max.map_or(n, |m: i32| m.max(n));
///         max = Some(new_max);
///         if port.send(new_max).is_err() {
///             break;
///         }
///     }
///     max
/// }
///
/// let worker = running_max_isolated();
/// worker.send(3).unwrap();
/// worker.send(1).unwrap();
/// assert_eq!(worker.receiver().iter().take(2).collect::<Vec<_>>(), [3, 3]);
/// assert_eq!(worker.into_handle().join().unwrap(), Some(3));
/// ```
///
/// A function takes at most one `Progress` or `Port` parameter; both are
/// recognised by the last segment of their type's path (so that
/// `isolate::Progress<P>` and an imported `Progress<P>` both work). A type of
/// your own named `Progress` or `Port` is taken for one of them, and refused
/// with an error at the parameter; to take it as an ordinary argument, import
/// it under another name (`use crate::Progress as Report;`, then
/// `report: Report<u64>`).
///
/// # Options
///
/// | option | effect |
/// | --- | --- |
/// | `name = "..."` | the isolate's name (default: the function's name) |
/// | `dedicated` | run on a thread of its own, named after the isolate |
/// | `stack_size = "16MiB"` or `<usize expr>` | the thread's stack size in bytes (implies `dedicated`); units as `memory_limit`'s |
/// | `timeout = "250ms"` or `timeout = <Duration expr>` | a time limit counted from the start of the run (see [`Builder::timeout`]); units `ns`, `us`, `ms`, `s`, `m`, `h` |
/// | `process` | run in a child process (`process` feature, Unix; see `isolate::process`): arguments, result and error are serde types; also generates `name_isolated_with(process::Builder, ..)` |
/// | `memory_limit = "512MiB"` or `<u64 expr>` | with `process`: the child's address-space limit during the call; units `B`, `KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB` |
/// | `cpu_limit = "1s"` or `<Duration expr>` | with `process`: the child's CPU-time limit during the call |
/// | `wrapper = ident` | the sibling's name (default: `name_isolated`; `type_` gives `type_isolated`) |
/// | `no_fold` | return a type named `Result` as a plain value, not folded |
/// | `fold` | fold the return type whatever its name: an alias of `Result` such as `MyResult<T>` |
/// | `crate = path` or `crate = "path"` | where to find this crate, if it was renamed |
///
/// `dedicated`, `process`, `no_fold` and `fold` are flags: written alone, without a
/// value.
///
/// ```
/// #[isolate::isolated(name = "resizer", dedicated, wrapper = resize_on_isolate)]
/// fn resize(pixels: Vec<u32>, factor: usize) -> Vec<u32> {
///     pixels.into_iter().flat_map(|p| std::iter::repeat(p).take(factor)).collect()
/// }
///
/// let handle = resize_on_isolate(vec![1, 2], 2);
/// assert_eq!(handle.name(), "resizer");
/// assert_eq!(handle.join().unwrap(), [1, 1, 2, 2]);
/// ```
pub use isolate_macros::isolated;

/// The shared pool's current counters: live threads, idle ones, queued
/// isolates.
///
/// # Examples
///
/// ```
/// isolate::run(|| ()).join().unwrap();
/// let stats = isolate::pool_stats();
/// assert!(stats.threads >= 1);
/// println!("{} threads, {} idle, {} queued", stats.threads, stats.idle, stats.queued);
/// ```
pub fn pool_stats() -> PoolStats {
    pool::threads::stats()
}

/// The README's code blocks, compiled and run as doc tests; its error-handling
/// section uses anyhow, and the `anyhow` feature for the chain it shows.
#[cfg(all(doctest, feature = "anyhow"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
