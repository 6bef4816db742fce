//! The parent side: a warm pool of child processes, each driven by a thread
//! of its own, and one watcher thread that kills children.
//!
//! # Protocol
//!
//! - A call is queued as a [`Pending`]. A *driver* thread takes it, claims
//!   its task (a call cancelled while queued was already completed by
//!   `cancel`, and is dropped), starts its child if it has none, sends the
//!   request and blocks reading the reply. Each driver owns at most one
//!   child, so the pool has at most `size` children; a driver idle for the
//!   keep-alive retires, killing and reaping its child. A new driver starts
//!   only for a call that no waiting or answering driver will take next.
//! - While a call runs, it is *watched*: its child's pid, its task and its
//!   deadline sit in the watcher's list, and the task's runner thread (the
//!   thread `cancel` unparks) is the watcher. On an unpark or a deadline the
//!   watcher kills (SIGKILL) every watched child whose task was cancelled or
//!   whose deadline passed, and notes why. The driver then reads the end of
//!   the pipe, takes the call off the list (under the list's lock, so the
//!   watcher never kills a pid after it was reaped), reaps the child and
//!   reports `Cancelled` or `TimedOut`.
//! - A child that dies by itself, or breaks the protocol (it is killed
//!   then), is reaped at once and replaced at the next call; its exit
//!   status and stderr tail make the [`Crash`]. An idle driver looks at its
//!   child every [`LIVENESS_CHECK`], and before it sends a call. A child
//!   that dies between that look and the call is not blamed when it is
//!   certain it never had the whole request: the write failed (`EPIPE`),
//!   or, on Linux, the request's bytes are still in the pipe (the writing
//!   end's `FIONREAD`); the call then goes to a fresh child.
//! - The driver thread starts its child and outlives it (a retiring driver
//!   reaps its child first), which matters on Linux: `PR_SET_PDEATHSIG`
//!   fires when the *thread* that started the child ends.
//!
//! One child's start, pipes and reaping are `child_process.rs`; its stderr
//! tail, `stderr_tail.rs`; the watcher, `watch.rs`; what an exit status
//! means, [`CrashReason`]'s constructor in `crash.rs`.

use crate::sync::process::{lock, AtomicU64, AtomicUsize, Condvar, Mutex, OnceLock, Ordering};
use std::collections::VecDeque;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::builder::Builder;
use super::child_process::{ChildProcess, Status};
use super::crash::{Crash, CrashReason};
use super::registry::Entry;
use super::stderr_tail::Seen;
use super::task::{DecodeError, ProcessTask};
use super::watch::{Kill, Watch};
use super::wire::{self, ProtocolError, ReadError, ReplyHead, Request};
use super::{AlreadyStarted, PoolBuilder, PoolStats};
use crate::name::Name;
use crate::sync::Arc;
use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::header::Runnable;
use crate::task::panic::{install_hook, Panic};
use crate::task::state::Remote;

static POOL: OnceLock<Pool> = OnceLock::new();

/// How often an idle driver looks whether its child is still alive: one
/// that died while idle (a thread it left behind aborted it, a kill from
/// outside) is reaped within this time, and not blamed on the next call.
const LIVENESS_CHECK: Duration = Duration::from_millis(250);

pub(crate) fn configure(builder: PoolBuilder) -> Result<(), AlreadyStarted> {
    let mut fresh = Some(builder);
    POOL.get_or_init(|| Pool::new(fresh.take().unwrap_or_default()));
    match fresh {
        None => Ok(()),
        Some(_) => Err(AlreadyStarted),
    }
}

fn pool() -> &'static Pool {
    POOL.get_or_init(|| Pool::new(PoolBuilder::new()))
}

pub(crate) fn stats() -> PoolStats {
    let Some(pool) = POOL.get() else {
        return PoolStats::default();
    };
    let state = lock(&pool.state);
    PoolStats {
        children: pool.children.load(Ordering::Relaxed),
        idle: state.idle_children,
        // A call cancelled while queued stays in the queue until a driver
        // drops it: it waits for nothing.
        queued: state
            .queue
            .iter()
            .filter(|pending| !pending.call.is_finished())
            .count(),
        started: pool.started.load(Ordering::Relaxed),
        crashed: pool.crashed.load(Ordering::Relaxed),
        retired: pool.retired.load(Ordering::Relaxed),
    }
}

pub(super) struct Pool {
    config: PoolBuilder,
    state: Mutex<State>,
    work: Condvar,
    watch: Watch,
    children: AtomicUsize,
    started: AtomicU64,
    crashed: AtomicU64,
    retired: AtomicU64,
}

struct State {
    queue: VecDeque<Pending>,
    drivers: usize,
    /// Drivers waiting for a call (some may have no child: theirs died or
    /// was killed, and is replaced at their next call).
    idle: usize,
    /// Of those, the ones with a child: the children waiting for a call.
    idle_children: usize,
    /// Drivers answering the call they ran, about to look at the queue.
    answering: usize,
}

impl Pool {
    /// Reaps `child` (see [`ChildProcess::reap`]), which the pool no longer
    /// counts.
    fn reap(&self, child: ChildProcess) -> (Status, (String, Seen)) {
        let reaped = child.reap();
        self.children.fetch_sub(1, Ordering::Relaxed);
        reaped
    }

    /// Reaps `child` without its stderr tail (see
    /// [`ChildProcess::reap_quietly`]), which the pool no longer counts.
    fn reap_quietly(&self, child: ChildProcess) {
        child.reap_quietly();
        self.children.fetch_sub(1, Ordering::Relaxed);
    }

    /// Reaps the child in `slot` if it has died, counting it as crashed.
    fn reap_if_dead(&self, slot: &mut Option<ChildProcess>) {
        if slot.as_mut().is_some_and(ChildProcess::has_ended) {
            if let Some(dead) = slot.take() {
                self.crashed.fetch_add(1, Ordering::Relaxed);
                self.reap_quietly(dead);
            }
        }
    }

    fn new(config: PoolBuilder) -> Pool {
        Pool {
            config,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                drivers: 0,
                idle: 0,
                idle_children: 0,
                answering: 0,
            }),
            work: Condvar::new(),
            watch: Watch::default(),
            children: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            crashed: AtomicU64::new(0),
            retired: AtomicU64::new(0),
        }
    }
}

/// A queued call.
struct Pending {
    entry: &'static Entry,
    builder: Builder,
    payload: Vec<u8>,
    call: Box<dyn Finish>,
}

/// The typed end of a call: its task.
trait Finish: Send {
    fn claim(&self) -> bool;
    /// Whether the call has its outcome already (cancelled while queued).
    fn is_finished(&self) -> bool;
    fn runnable(&self) -> Arc<dyn Runnable>;
    fn finish(self: Box<Self>, reply: Reply);
}

/// How a call ended, before decoding.
enum Reply {
    /// The value, encoded from `start`, from child `pid`.
    Value {
        body: Vec<u8>,
        start: usize,
        pid: u32,
    },
    /// The function's error, encoded from `start`, from child `pid`.
    Error {
        body: Vec<u8>,
        start: usize,
        pid: u32,
    },
    Panicked {
        message: Option<String>,
        location: Option<(String, u32, u32)>,
        backtrace: Option<String>,
    },
    Crashed(Crash),
    /// The function called `isolate::exit()`.
    Ended,
    Cancelled,
    TimedOut,
    Spawn(io::Error),
}

/// A call's task, and how to decode its function's error.
struct ProcessCall<T, E> {
    task: Arc<ProcessTask<T, E>>,
    decode_error: DecodeError<E>,
}

impl<T, E> Finish for ProcessCall<T, E>
where
    T: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    fn claim(&self) -> bool {
        self.task.claim_remotely()
    }

    fn is_finished(&self) -> bool {
        self.task.header().is_complete()
    }

    fn runnable(&self) -> Arc<dyn Runnable> {
        self.task.clone()
    }

    fn finish(self: Box<Self>, reply: Reply) {
        let name: &Name = self.task.header().name();
        // The child answered, but its answer's type does not round-trip
        // through postcard (see `CrashReason::Refused`); the child is fine,
        // and stays in the pool.
        let undecodable = |what: &str, why: String, pid: u32| {
            IsolateError::Crashed(Crash {
                reason: CrashReason::Refused(format!(
                    "the {what} did not decode in the parent: {why}"
                )),
                stderr_tail: String::new(),
                pid,
                isolate: name.to_string(),
            })
        };
        // Decoding runs the caller's `Deserialize` impls, here on the
        // driver's thread, as part of the isolate (its name, its panic
        // hook): their panic is the call's outcome, not the driver's end.
        let decode = |decode: &mut dyn FnMut() -> Result<T, IsolateError<E>>| {
            install_hook();
            let _entered = context::enter(self.task.clone());
            catch_unwind(AssertUnwindSafe(decode)).unwrap_or_else(|payload| {
                Err(IsolateError::Panicked(Panic::new(payload, name.clone())))
            })
        };
        let outcome = match reply {
            Reply::Value { body, start, pid } => decode(&mut || {
                super::payload::decode::<T>(&body[start..])
                    .map_err(|why| undecodable("result", why, pid))
            }),
            Reply::Error { body, start, pid } => {
                decode(&mut || match (self.decode_error)(&body[start..]) {
                    Ok(error) => Err(IsolateError::failed(error)),
                    Err(e) => Err(undecodable("function's error", e, pid)),
                })
            }
            Reply::Panicked {
                message,
                location,
                backtrace,
            } => Err(IsolateError::Panicked(Panic::from_parts(
                message,
                location,
                backtrace,
                name.clone(),
            ))),
            Reply::Crashed(mut crash) => {
                crash.isolate = name.to_string();
                Err(IsolateError::Crashed(crash))
            }
            Reply::Ended => Err(IsolateError::ended_without_result()),
            Reply::Cancelled => Err(IsolateError::cancelled()),
            Reply::TimedOut => Err(IsolateError::timed_out()),
            Reply::Spawn(error) => Err(IsolateError::spawn(error)),
        };
        self.task.complete_remotely(outcome);
    }
}

/// Queues a call for a child.
pub(crate) fn submit<T, E>(
    entry: &'static Entry,
    builder: Builder,
    payload: Vec<u8>,
    task: Arc<ProcessTask<T, E>>,
    decode_error: DecodeError<E>,
) where
    T: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    let pool = pool();
    let mut state = lock(&pool.state);
    state.queue.push_back(Pending {
        entry,
        builder,
        payload,
        call: Box::new(ProcessCall { task, decode_error }),
    });
    let available = state.idle + state.answering;
    if state.queue.len() > available && state.drivers < pool.config.size {
        state.drivers += 1;
        let started = thread::Builder::new()
            .name("isolate-process-driver".to_owned())
            .spawn(move || drive(pool));
        if let Err(error) = started {
            state.drivers -= 1;
            if state.drivers == 0 {
                if let Some(pending) = state.queue.pop_back() {
                    drop(state);
                    if pending.call.claim() {
                        pending.call.finish(Reply::Spawn(error));
                    }
                    return;
                }
            }
        }
    }
    drop(state);
    pool.work.notify_one();
}

/// A driver thread: takes calls, one at a time, to its child.
fn drive(pool: &'static Pool) {
    let mut child: Option<ChildProcess> = None;
    let mut answering = false;
    loop {
        let pending = {
            let mut state = lock(&pool.state);
            if answering {
                state.answering -= 1;
                answering = false;
            }
            let idle_since = Instant::now();
            loop {
                if let Some(pending) = state.queue.pop_front() {
                    break pending;
                }
                let idle_for = idle_since.elapsed();
                if idle_for >= pool.config.keep_alive {
                    state.drivers -= 1;
                    drop(state);
                    if let Some(child) = child.take() {
                        // Closing its stdin ends an idle child; it is reaped.
                        pool.retired.fetch_add(1, Ordering::Relaxed);
                        pool.reap_quietly(child);
                    }
                    return;
                }
                let with_child = usize::from(child.is_some());
                state.idle += 1;
                state.idle_children += with_child;
                let wait = (pool.config.keep_alive - idle_for).min(LIVENESS_CHECK);
                let (next, _) = pool
                    .work
                    .wait_timeout(state, wait)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state = next;
                state.idle -= 1;
                state.idle_children -= with_child;
                if state.queue.is_empty() && child.is_some() {
                    drop(state);
                    pool.reap_if_dead(&mut child);
                    state = lock(&pool.state);
                }
            }
        };
        if !pending.call.claim() {
            // Cancelled while queued: `cancel` completed it.
            continue;
        }
        let reply = run_call(pool, &mut child, &pending);
        // Counted before its caller hears back: a caller that sends its next
        // call at once finds this driver about to take it, and no second
        // child is started for it.
        lock(&pool.state).answering += 1;
        answering = true;
        pending.call.finish(reply);
    }
}

/// How many times a call goes to a fresh child because the one it was sent
/// to died before it took it: more would be a child that dies as it starts,
/// whose crash is then the call's.
const FRESH_CHILD_TRIES: u32 = 3;

/// Runs one claimed call on the driver's child, starting one if needed.
fn run_call(pool: &'static Pool, slot: &mut Option<ChildProcess>, pending: &Pending) -> Reply {
    let task = pending.call.runnable();
    let limits = &pending.builder;
    let request = Request {
        key: pending.entry.key,
        name: task.header().name(),
        memory: limits.memory,
        cpu_ms: limits
            .cpu
            .map(|cpu| u64::try_from(cpu.as_millis()).unwrap_or(u64::MAX)),
    };
    let deadline = limits
        .timeout
        .and_then(|timeout| Instant::now().checked_add(timeout));
    let mut tries = 0;
    let (pid, read, killed) = loop {
        tries += 1;
        // Dead since the driver last looked: not this call's crash.
        pool.reap_if_dead(slot);
        if slot.is_none() {
            match ChildProcess::start(pool.config.forward_stderr, &pool.watch) {
                Ok(child) => {
                    pool.children.fetch_add(1, Ordering::Relaxed);
                    pool.started.fetch_add(1, Ordering::Relaxed);
                    *slot = Some(child);
                }
                Err(error) => return Reply::Spawn(error),
            }
        }
        let Some(child) = slot.as_mut() else {
            return Reply::Spawn(io::Error::other("no child process"));
        };
        let pid = child.pid;
        child.tail.clear();
        let ticket = pool.watch.add(pid, Some(task.clone()), deadline);
        let sent = wire::write_frame(&mut child.stdin, &request, &pending.payload);
        let never_taken = matches!(&sent, Err(e) if e.kind() == io::ErrorKind::BrokenPipe);
        let read = match sent {
            Ok(()) => Some(child.read_frame(pool.config.max_message)),
            Err(_) => None,
        };
        let killed = pool.watch.remove(ticket);
        // The child died before it had the whole request (it was killed
        // while idle, after the driver's last look): it never ran the call,
        // which goes to a fresh child. Only then: a call the child may have
        // started is never run twice.
        let never_taken =
            never_taken || matches!(read, Some(Err(ReadError::Closed))) && child.request_unread();
        if killed.is_none() && never_taken && tries < FRESH_CHILD_TRIES {
            if let Some(dead) = slot.take() {
                pool.crashed.fetch_add(1, Ordering::Relaxed);
                pool.reap_quietly(dead);
            }
            continue;
        }
        break (pid, read, killed);
    };
    task.header().set_async_runner(None);

    let decoded = match read {
        Some(Ok(body)) => match wire::split::<ReplyHead>(&body) {
            Ok((head, rest)) => {
                let start = body.len() - rest.len();
                Ok(match head {
                    ReplyHead::Value => Reply::Value { body, start, pid },
                    ReplyHead::Error => Reply::Error { body, start, pid },
                    ReplyHead::Ended => Reply::Ended,
                    ReplyHead::Panicked {
                        message,
                        location,
                        backtrace,
                    } => Reply::Panicked {
                        message,
                        location,
                        backtrace,
                    },
                    ReplyHead::Refused(why) => {
                        return child_ended(
                            pool,
                            slot,
                            Some(CrashReason::Refused(why)),
                            limits,
                            killed,
                        );
                    }
                    ReplyHead::Hello { .. } => {
                        return child_ended(
                            pool,
                            slot,
                            Some(CrashReason::Protocol(ProtocolError::Garbled(
                                "a second hello instead of a reply".to_owned(),
                            ))),
                            limits,
                            killed,
                        );
                    }
                })
            }
            Err(error) => Err(Some(error)),
        },
        Some(Err(ReadError::Protocol(error))) => Err(Some(error)),
        Some(Err(ReadError::Closed | ReadError::Io)) | None => Err(None),
    };
    match decoded {
        Ok(reply) => {
            if killed.is_some() {
                // The value arrived as the watcher killed the child: the value
                // wins, and the dead child is replaced.
                if let Some(child) = slot.take() {
                    pool.reap_quietly(child);
                }
            }
            reply
        }
        // A protocol error is what the child answered; none means its pipe
        // closed: it died.
        Err(protocol) => child_ended(
            pool,
            slot,
            protocol.map(CrashReason::Protocol),
            limits,
            killed,
        ),
    }
}

/// Reaps the child in `slot` (it is replaced) and says why the call ended:
/// the kill the parent sent; else `reported`, what the child answered that
/// was unusable, unless it was a truncated message from a child that died
/// (its death is the news); else, its pipe having closed, what its exit
/// status says.
fn child_ended(
    pool: &'static Pool,
    slot: &mut Option<ChildProcess>,
    reported: Option<CrashReason>,
    limits: &Builder,
    killed: Option<Kill>,
) -> Reply {
    let Some(child) = slot.take() else {
        return Reply::Spawn(io::Error::other("no child process"));
    };
    let pid = child.pid;
    pool.crashed.fetch_add(1, Ordering::Relaxed);
    // A cancel or a timeout reports no stderr: no wait for its end, which
    // a program the child started may hold open.
    if let Some(kill) = killed {
        pool.reap_quietly(child);
        return match kill {
            Kill::Cancelled => Reply::Cancelled,
            Kill::TimedOut => Reply::TimedOut,
        };
    }
    let (status, (tail, seen)) = pool.reap(child);
    let from_status = match status {
        Status::Ended(status) => {
            Some((status.success(), CrashReason::of_exit(status, limits, seen)))
        }
        Status::Killed => None,
        // Not a cause made up: the status is gone.
        Status::Lost => Some((false, CrashReason::StatusLost)),
    };
    let reason = match (reported, from_status) {
        (None, Some((_, from_status))) => from_status,
        (None, None) => CrashReason::Signal(9),
        (
            Some(CrashReason::Protocol(ProtocolError::Truncated { .. })),
            Some((false, from_status)),
        ) => from_status,
        (Some(reported), _) => reported,
    };
    Reply::Crashed(Crash::new(pid, reason, tail))
}
