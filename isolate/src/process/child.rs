//! The child side: the start hook that turns a start of this executable
//! into a child, and the loop that serves calls.
//!
//! The hook is a constructor (`.init_array` on ELF systems,
//! `__mod_init_func` on macOS) that runs before `main`, in every start of
//! every binary that links this crate with the `process` feature. Without
//! [`CHILD_VAR`] set by a pool (its value names this process's parent) it
//! returns at once; with it, the process never reaches
//! `main` (nor, in a test binary, the test harness): it serves calls on its
//! main thread until its stdin closes, then exits.
//!
//! Before `main`, the standard library has not installed its stack
//! overflow handler; the child installs its own (see `overflow.rs`).

use crate::sync::process::{Mutex, OnceLock};
use std::fs::File;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

use std::borrow::Cow;

use super::limits::Applied;
use super::registry::{find, Served};
use super::task::{never_run, NeverRun, ProcessTask};
use super::wire::{self, ReadError, ReplyHead, Request, VERSION};
use super::{CHILD_VALUE_PREFIX, CHILD_VAR};
use crate::name::Name;
use crate::sync::Arc;
use crate::task::context::{self, ExitSignal};
use crate::task::state::Task;

/// The start hook, kept by the linker: the pool refers to it, so that any
/// binary that can start a child also carries the hook.
#[allow(unsafe_code)] // `#[link_section]`: a constructor the loader calls before `main`
#[used]
#[cfg_attr(
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris"
    ),
    link_section = ".init_array"
)]
#[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
pub(crate) static START_HOOK: extern "C" fn() = start_hook;

extern "C" fn start_hook() {
    // Nothing may unwind out of a constructor.
    let _ = catch_unwind(|| {
        if let Some(parent) = std::env::var_os(CHILD_VAR).and_then(|value| started_by(&value)) {
            serve(parent)
        }
    });
}

/// The parent's pid if `value` is what a pool writes and names this
/// process's parent; anything else, set by hand or inherited by accident,
/// is no start by a pool, and the program runs as usual.
fn started_by(value: &std::ffi::OsStr) -> Option<i32> {
    let parent = value
        .to_str()?
        .strip_prefix(CHILD_VALUE_PREFIX)?
        .parse::<i32>()
        .ok()?;
    let actual = rustix::process::getppid()?.as_raw_nonzero().get();
    (actual == parent).then_some(parent)
}

/// The protocol's way out, kept for [`write_raw`].
static TO_PARENT: OnceLock<Mutex<File>> = OnceLock::new();

/// Where the last panic in this child happened, and its backtrace when
/// `RUST_BACKTRACE` asks for one, recorded by its hook.
static LAST_PANIC: Mutex<Recorded> = Mutex::new((None, None));

type Recorded = (Option<(String, u32, u32)>, Option<String>);

/// The child's life: never returns.
fn serve(parent: i32) -> ! {
    // Programs the function starts must not take themselves for children:
    // the variable goes. (Before `main`, no other thread reads the
    // environment.)
    std::env::remove_var(CHILD_VAR);
    dies_with_parent(parent);
    super::overflow::report_stack_overflows();
    let (mut input, output) = match take_protocol_pipes() {
        Ok(pipes) => pipes,
        Err(_) => std::process::exit(101),
    };
    let output = TO_PARENT.get_or_init(|| Mutex::new(output));
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| (l.file().to_owned(), l.line(), l.column()));
        let backtrace = std::backtrace::Backtrace::capture();
        let backtrace = match backtrace.status() {
            std::backtrace::BacktraceStatus::Captured => Some(backtrace.to_string()),
            _ => None,
        };
        *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = (location, backtrace);
    }));
    let hello = ReplyHead::Hello {
        version: VERSION,
        pid: std::process::id(),
    };
    if send(output, &hello, &[]).is_err() {
        std::process::exit(0);
    }
    loop {
        let body = match wire::read_frame(&mut input, u32::MAX as usize, &mut wire::no_stall) {
            Ok(body) => body,
            // The parent closed our stdin (it retired us, or it is gone).
            Err(ReadError::Closed) => std::process::exit(0),
            Err(_) => std::process::exit(102),
        };
        let (head, reply) = answer(&body);
        if send(output, &head, &reply).is_err() {
            std::process::exit(0);
        }
    }
}

/// Runs one request; returns the reply's head and payload.
fn answer(body: &[u8]) -> (ReplyHead, Vec<u8>) {
    let (request, args) = match wire::split::<Request<'_>>(body) {
        Ok(parts) => parts,
        Err(e) => {
            return (
                ReplyHead::Refused(format!("the request did not decode: {e}")),
                Vec::new(),
            )
        }
    };
    let Some(entry) = find(request.key) else {
        return (
            ReplyHead::Refused(format!(
                "this executable has no process-isolated function `{}`",
                request.key
            )),
            Vec::new(),
        );
    };
    let limits = Applied::apply(request.memory, request.cpu_ms);
    *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = (None, None);
    // The call runs as an isolate, so that `current_name()` names it and
    // `exit()` ends it; it is never cancelled here (a cancel kills the child).
    let name = Name::from(Cow::Owned(request.name.to_owned()));
    let task: Arc<ProcessTask<(), ()>> =
        Task::new(never_run::<(), ()> as NeverRun<(), ()>, name, false);
    let entered = context::enter(task);
    let served = catch_unwind(AssertUnwindSafe(|| (entry.run)(args)));
    drop(entered);
    drop(limits);
    match served {
        Ok(Served::Value(bytes)) => (ReplyHead::Value, bytes),
        Ok(Served::Error(bytes)) => (ReplyHead::Error, bytes),
        Ok(Served::Refused(why)) => (ReplyHead::Refused(why), Vec::new()),
        Err(payload) if payload.is::<ExitSignal>() => (ReplyHead::Ended, Vec::new()),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&'static str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned());
            // The payload is dropped here; a panic from its drop is contained.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            let (location, backtrace) =
                std::mem::take(&mut *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()));
            (
                ReplyHead::Panicked {
                    message,
                    location,
                    backtrace,
                },
                Vec::new(),
            )
        }
    }
}

fn send(output: &Mutex<File>, head: &ReplyHead, payload: &[u8]) -> std::io::Result<()> {
    let mut output = output.lock().unwrap_or_else(|p| p.into_inner());
    wire::write_frame(&mut *output, head, payload)
}

/// Writes raw bytes on the protocol pipe (a test of the parent's defences).
pub(crate) fn write_raw(bytes: &[u8]) {
    if let Some(output) = TO_PARENT.get() {
        let mut output = output.lock().unwrap_or_else(|p| p.into_inner());
        let _ = output.write_all(bytes);
        let _ = output.flush();
    }
}

/// Asks the kernel to kill this child when its parent dies (Linux), and
/// exits if the parent is already gone.
fn dies_with_parent(parent: i32) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    }
    // The parent may have died before the death signal was asked for.
    let now = rustix::process::getppid().map(|pid| pid.as_raw_nonzero().get());
    if now != Some(parent) {
        std::process::exit(0);
    }
}

/// Takes stdin and stdout for the protocol, and points the standard streams
/// elsewhere: stdin at `/dev/null`, stdout at stderr, so that nothing the
/// function prints can corrupt a message.
fn take_protocol_pipes() -> std::io::Result<(File, File)> {
    use rustix::stdio::{dup2_stdin, dup2_stdout, stderr, stdin, stdout};
    // Close-on-exec: a program the function starts must not hold the
    // protocol's pipes open, or the parent would not see this child die
    // until that program ends.
    let input = rustix::io::fcntl_dupfd_cloexec(stdin(), 3)?;
    let output = rustix::io::fcntl_dupfd_cloexec(stdout(), 3)?;
    dup2_stdout(stderr())?;
    let null = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    dup2_stdin(&null)?;
    Ok((File::from(input), File::from(output)))
}
