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
//!   keep-alive retires, killing and reaping its child.
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
//!   status and stderr tail make the [`Crash`].
//! - The driver thread starts its child and outlives it (a retiring driver
//!   reaps its child first), which matters on Linux: `PR_SET_PDEATHSIG`
//!   fires when the *thread* that started the child ends.

use crate::sync::process::{
    AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, OnceLock, Ordering,
};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::builder::Builder;
use super::crash::{Crash, CrashReason};
use super::limits::Limit;
use super::registry::{DecodeError, Entry, ProcessTask};
use super::wire::{self, ProtocolError, ReadError, ReplyHead, Request};
use super::{AlreadyStarted, PoolBuilder, PoolStats, CHILD_VAR};
use crate::name::Name;
use crate::sync::Arc;
use crate::task::error::IsolateError;
use crate::task::header::Runnable;
use crate::task::panic::Panic;
use crate::task::state::Remote;

/// How long a new child may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of a child's stderr is kept for a [`Crash`].
const TAIL_BYTES: usize = 4096;
/// How long a crash report waits for the rest of a dead child's stderr.
const TAIL_WAIT: Duration = Duration::from_millis(500);

static POOL: OnceLock<Pool> = OnceLock::new();

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
        idle: state.idle,
        queued: state.queue.len(),
        started: pool.started.load(Ordering::Relaxed),
        crashed: pool.crashed.load(Ordering::Relaxed),
        retired: pool.retired.load(Ordering::Relaxed),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Pool {
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
    idle: usize,
}

impl Pool {
    fn new(config: PoolBuilder) -> Pool {
        Pool {
            config,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                drivers: 0,
                idle: 0,
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
    fn runnable(&self) -> Arc<dyn Runnable>;
    fn finish(self: Box<Self>, reply: Reply);
}

/// How a call ended, before decoding.
enum Reply {
    Value {
        body: Vec<u8>,
        start: usize,
    },
    Error {
        body: Vec<u8>,
        start: usize,
    },
    Panicked {
        message: Option<String>,
        location: Option<(String, u32, u32)>,
        backtrace: Option<String>,
    },
    Crashed(Crash),
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

    fn runnable(&self) -> Arc<dyn Runnable> {
        self.task.clone()
    }

    fn finish(self: Box<Self>, reply: Reply) {
        let name: &Name = self.task.header().name();
        let garbled = |why: String, pid: u32| {
            IsolateError::Crashed(Crash {
                reason: CrashReason::Protocol(ProtocolError::Garbled(why.to_string())),
                stderr_tail: String::new(),
                pid,
                isolate: name.to_string(),
            })
        };
        let outcome = match reply {
            Reply::Value { body, start } => {
                postcard::from_bytes::<T>(&body[start..]).map_err(|e| garbled(e.to_string(), 0))
            }
            Reply::Error { body, start } => match (self.decode_error)(&body[start..]) {
                Ok(error) => Err(IsolateError::failed(error)),
                Err(e) => Err(garbled(e, 0)),
            },
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
    if state.queue.len() > state.idle && state.drivers < pool.config.size {
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
    loop {
        let pending = {
            let mut state = lock(&pool.state);
            loop {
                if let Some(pending) = state.queue.pop_front() {
                    break pending;
                }
                state.idle += 1;
                let (next, waited) = pool
                    .work
                    .wait_timeout(state, pool.config.keep_alive)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state = next;
                state.idle -= 1;
                if waited.timed_out() && state.queue.is_empty() {
                    state.drivers -= 1;
                    drop(state);
                    if let Some(child) = child.take() {
                        pool.retired.fetch_add(1, Ordering::Relaxed);
                        child.retire(pool);
                    }
                    return;
                }
            }
        };
        if !pending.call.claim() {
            // Cancelled while queued: `cancel` completed it.
            continue;
        }
        let reply = run_call(pool, &mut child, &pending);
        pending.call.finish(reply);
    }
}

/// Runs one claimed call on the driver's child, starting one if needed.
fn run_call(pool: &'static Pool, slot: &mut Option<ChildProcess>, pending: &Pending) -> Reply {
    let task = pending.call.runnable();
    if slot.is_none() {
        match ChildProcess::start(pool) {
            Ok(child) => *slot = Some(child),
            Err(error) => return Reply::Spawn(error),
        }
    }
    let Some(child) = slot.as_mut() else {
        return Reply::Spawn(io::Error::other("no child process"));
    };
    let limits = &pending.builder;
    let request = Request {
        key: pending.entry.key,
        memory: limits.memory,
        cpu_ms: limits
            .cpu
            .map(|cpu| u64::try_from(cpu.as_millis()).unwrap_or(u64::MAX)),
    };
    child.tail.clear();
    let deadline = limits
        .timeout
        .and_then(|timeout| Instant::now().checked_add(timeout));
    let ticket = pool.watch.add(child.pid, Some(task.clone()), deadline);
    let sent = wire::write_frame(&mut child.stdin, &request, &pending.payload);
    let read = match sent {
        Ok(()) => {
            let fd = child.stdout.as_fd();
            let mut ready = || wire::readable_in_time(fd);
            Some(wire::read_frame(
                &mut &child.stdout,
                pool.config.max_message,
                &mut ready,
            ))
        }
        Err(_) => None,
    };
    let killed = pool.watch.remove(ticket);
    task.header().set_async_runner(None);

    let decoded = match read {
        Some(Ok(body)) => match wire::split::<ReplyHead>(&body) {
            Ok((head, rest)) => {
                let start = body.len() - rest.len();
                Ok(match head {
                    ReplyHead::Value => Reply::Value { body, start },
                    ReplyHead::Error => Reply::Error { body, start },
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
                    let _ = child.reap(pool);
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
    let (status, (tail, allocation_failed)) = child.reap(pool);
    pool.crashed.fetch_add(1, Ordering::Relaxed);
    match killed {
        Some(Kill::Cancelled) => return Reply::Cancelled,
        Some(Kill::TimedOut) => return Reply::TimedOut,
        None => {}
    }
    let from_status = status.map(|status| {
        (
            status.success(),
            reason_of(status, limits, allocation_failed),
        )
    });
    let reason = match (reported, from_status) {
        (None, Some((_, from_status))) => from_status,
        (None, None) => CrashReason::Signal(9),
        (
            Some(CrashReason::Protocol(ProtocolError::Truncated { .. })),
            Some((false, from_status)),
        ) => from_status,
        (Some(reported), _) => reported,
    };
    Reply::Crashed(crash(pid, reason, tail))
}

fn crash(pid: u32, reason: CrashReason, stderr_tail: String) -> Crash {
    Crash {
        reason,
        stderr_tail,
        pid,
        isolate: String::new(),
    }
}

/// What an exit status says, given the call's limits.
fn reason_of(status: ExitStatus, limits: &Builder, allocation_failed: bool) -> CrashReason {
    // The same numbers on Linux, macOS and the BSDs.
    const SIGABRT: i32 = 6;
    const SIGXCPU: i32 = 24;
    if let Some(signal) = status.signal() {
        if let (Some(cpu), SIGXCPU) = (limits.cpu, signal) {
            return CrashReason::LimitExceeded(Limit::CpuTime(cpu));
        }
        if let (Some(memory), SIGABRT) = (limits.memory, signal) {
            if allocation_failed {
                return CrashReason::LimitExceeded(Limit::Memory(memory));
            }
        }
        return CrashReason::Signal(signal);
    }
    CrashReason::Exit(status.code().unwrap_or(-1))
}

/// One child process and the parent's ends of its pipes.
struct ChildProcess {
    process: std::process::Child,
    stdin: ChildStdin,
    /// The child's stdout, as a `File` so that it can be read through `&`
    /// while its descriptor is polled.
    stdout: std::fs::File,
    pid: u32,
    tail: Arc<Tail>,
}

impl ChildProcess {
    fn start(pool: &'static Pool) -> io::Result<ChildProcess> {
        // The start hook must be in the executable the child runs: this
        // reference keeps the linker from leaving it out.
        std::hint::black_box(&super::child::START_HOOK);
        let exe = std::env::current_exe()?;
        let mut process = Command::new(exe)
            .env(CHILD_VAR, std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let pid = process.id();
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            process.stdin.take(),
            process.stdout.take(),
            process.stderr.take(),
        ) else {
            let _ = process.kill();
            let _ = process.wait();
            return Err(io::Error::other("the child's pipes were not set up"));
        };
        let tail = Arc::new(Tail::default());
        let forward = pool.config.forward_stderr;
        let reader_tail = tail.clone();
        let reader = thread::Builder::new()
            .name("isolate-process-stderr".to_owned())
            .spawn(move || reader_tail.drain(stderr, forward));
        if let Err(error) = reader {
            let _ = process.kill();
            let _ = process.wait();
            return Err(error);
        }
        pool.children.fetch_add(1, Ordering::Relaxed);
        pool.started.fetch_add(1, Ordering::Relaxed);
        let child = ChildProcess {
            process,
            stdin,
            stdout: std::fs::File::from(OwnedFd::from(stdout)),
            pid,
            tail,
        };
        let ticket = pool
            .watch
            .add(pid, None, Instant::now().checked_add(HELLO_TIMEOUT));
        let fd = child.stdout.as_fd();
        let hello = wire::read_frame(&mut &child.stdout, 1 << 10, &mut || {
            wire::readable_in_time(fd)
        });
        let killed = pool.watch.remove(ticket);
        let ok = match &hello {
            Ok(body) => matches!(
                wire::split::<ReplyHead>(body),
                Ok((
                    ReplyHead::Hello {
                        version: wire::VERSION,
                        ..
                    },
                    _
                ))
            ),
            Err(_) => false,
        };
        if ok && killed.is_none() {
            return Ok(child);
        }
        let (status, tail) = child.reap(pool);
        let status = status.map_or_else(|| "unknown".to_owned(), |s| s.to_string());
        Err(io::Error::other(format!(
            "the child process did not start serving calls (exit status: {status}; stderr: {:?}): \
             its executable must link the `isolates` crate with the `process` feature, whose start hook runs before `main`",
            tail.0.trim()
        )))
    }

    /// Kills and reaps the child; its stderr tail, and its exit status if
    /// it reached one on its own (it had ended before the kill, or ended
    /// some other way than by `SIGKILL`).
    fn reap(mut self, pool: &'static Pool) -> (Option<ExitStatus>, (String, bool)) {
        let ended = self.process.try_wait().ok().flatten();
        let status = match ended {
            Some(status) => Some(status),
            None => {
                let _ = self.process.kill();
                self.process
                    .wait()
                    .ok()
                    .filter(|status| status.signal() != Some(9))
            }
        };
        drop(self.stdin);
        pool.children.fetch_sub(1, Ordering::Relaxed);
        let tail = self.tail.text(TAIL_WAIT);
        (status, tail)
    }

    /// Retires an idle child: closing its stdin ends it; it is reaped.
    fn retire(self, pool: &'static Pool) {
        let _ = self.reap(pool);
    }
}

/// The end of a child's stderr, kept for a crash report, and whether the
/// standard library's allocation-failure message went by since the call
/// began (a backtrace after it may push it out of the tail).
#[derive(Default)]
struct Tail {
    state: Mutex<TailState>,
    done: Condvar,
}

#[derive(Default)]
struct TailState {
    bytes: VecDeque<u8>,
    closed: bool,
    allocation_failed: bool,
}

/// What the standard library prints before it aborts on a failed allocation.
const ALLOCATION_FAILED: &[u8] = b"memory allocation of ";

impl Tail {
    fn drain(&self, mut stderr: impl Read, forward: bool) {
        let mut buffer = [0_u8; 8192];
        loop {
            let n = match stderr.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            if forward {
                let _ = io::stderr().write_all(&buffer[..n]);
            }
            let mut state = lock(&self.state);
            // Look for the marker across the chunk boundary too.
            let kept = state.bytes.len().min(ALLOCATION_FAILED.len());
            let mut window: Vec<u8> = state
                .bytes
                .range(state.bytes.len() - kept..)
                .copied()
                .collect();
            window.extend_from_slice(&buffer[..n]);
            if window
                .windows(ALLOCATION_FAILED.len())
                .any(|w| w == ALLOCATION_FAILED)
            {
                state.allocation_failed = true;
            }
            state.bytes.extend(&buffer[..n]);
            let excess = state.bytes.len().saturating_sub(TAIL_BYTES);
            state.bytes.drain(..excess);
        }
        lock(&self.state).closed = true;
        self.done.notify_all();
    }

    fn clear(&self) {
        let mut state = lock(&self.state);
        state.bytes.clear();
        state.allocation_failed = false;
    }

    /// The tail and whether an allocation failed, once the pipe closed or
    /// after `wait` at most.
    fn text(&self, wait: Duration) -> (String, bool) {
        let deadline = Instant::now() + wait;
        let mut state = lock(&self.state);
        while !state.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .done
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        let (front, back) = state.bytes.as_slices();
        let mut bytes = front.to_vec();
        bytes.extend_from_slice(back);
        (
            String::from_utf8_lossy(&bytes).into_owned(),
            state.allocation_failed,
        )
    }
}

/// Why the watcher killed a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kill {
    Cancelled,
    TimedOut,
}

/// The children running a call, for the watcher.
#[derive(Default)]
struct Watch {
    list: Mutex<WatchList>,
    thread: OnceLock<Option<Thread>>,
}

#[derive(Default)]
struct WatchList {
    next: u64,
    watched: Vec<Watched>,
}

struct Watched {
    ticket: u64,
    pid: u32,
    task: Option<Arc<dyn Runnable>>,
    deadline: Option<Instant>,
    killed: Option<Kill>,
}

impl Watch {
    fn watcher(&'static self) -> Option<&'static Thread> {
        self.thread
            .get_or_init(|| {
                thread::Builder::new()
                    .name("isolate-process-watch".to_owned())
                    .spawn(move || self.run())
                    .ok()
                    .map(|handle| handle.thread().clone())
            })
            .as_ref()
    }

    /// Watches a child running a call (or starting); returns its ticket.
    fn add(
        &'static self,
        pid: u32,
        task: Option<Arc<dyn Runnable>>,
        deadline: Option<Instant>,
    ) -> u64 {
        let watcher = self.watcher();
        let cancelled = task.as_ref().is_some_and(|task| {
            task.header().set_async_runner(watcher.cloned());
            task.header().is_cancelled()
        });
        let ticket = {
            let mut list = lock(&self.list);
            list.next += 1;
            let ticket = list.next;
            list.watched.push(Watched {
                ticket,
                pid,
                task,
                deadline,
                killed: None,
            });
            ticket
        };
        if cancelled || deadline.is_some() {
            if let Some(watcher) = watcher {
                watcher.unpark();
            }
        }
        ticket
    }

    /// Stops watching; says whether (and why) the watcher killed the child.
    fn remove(&self, ticket: u64) -> Option<Kill> {
        let mut list = lock(&self.list);
        let index = list.watched.iter().position(|w| w.ticket == ticket)?;
        list.watched.swap_remove(index).killed
    }

    fn run(&self) {
        loop {
            let next = {
                let mut list = lock(&self.list);
                let now = Instant::now();
                let mut next: Option<Instant> = None;
                for watched in list.watched.iter_mut().filter(|w| w.killed.is_none()) {
                    let cancelled = watched
                        .task
                        .as_ref()
                        .is_some_and(|task| task.header().is_cancelled());
                    let expired = watched.deadline.is_some_and(|deadline| deadline <= now);
                    if cancelled || expired {
                        if let Some(pid) = rustix::process::Pid::from_raw(watched.pid as i32) {
                            let _ =
                                rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                        }
                        watched.killed = Some(if cancelled {
                            Kill::Cancelled
                        } else {
                            Kill::TimedOut
                        });
                    } else if let Some(deadline) = watched.deadline {
                        next = Some(next.map_or(deadline, |next| next.min(deadline)));
                    }
                }
                next
            };
            match next {
                Some(next) => thread::park_timeout(next.saturating_duration_since(Instant::now())),
                None => thread::park(),
            }
        }
    }
}
