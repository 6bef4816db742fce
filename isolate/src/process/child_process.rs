//! The parent's side of one child process: starting it (and waiting for
//! its hello), the ends of its pipes, and reaping it. The child's own side
//! is `child.rs`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::stderr_tail::{Seen, Tail};
use super::watch::Watch;
use super::wire::{self, ReadError, ReplyHead, Wait};
use super::{CHILD_VALUE_PREFIX, CHILD_VAR};
use crate::sync::Arc;

/// How long a new child may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a crash report waits for the rest of a dead child's stderr.
const TAIL_WAIT: Duration = Duration::from_millis(500);

/// One child process and the parent's ends of its pipes.
pub(super) struct ChildProcess {
    process: std::process::Child,
    pub(super) stdin: ChildStdin,
    /// The child's stdout, as a `File` so that it can be read through `&`
    /// while its descriptor is polled.
    pub(super) stdout: std::fs::File,
    pub(super) pid: u32,
    pub(super) tail: Arc<Tail>,
    /// A pidfd of the child (Linux), readable once it has ended: its end is
    /// seen even while a process it forked without `exec` holds the pipes
    /// open, so a timeout, a kill or a crash does not wait for that
    /// process. Elsewhere, or on a kernel without pidfds, the pipe's end
    /// is all there is.
    exited: Option<OwnedFd>,
}

/// The child's stdout as a reader that ends (`Ok(0)`) when the child
/// process has ended and nothing is left to read, pipe closed or not.
struct Output<'a> {
    file: &'a std::fs::File,
    exited: Option<BorrowedFd<'a>>,
}

impl io::Read for Output<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(exited) = self.exited {
            if wire::wait_readable(self.file.as_fd(), Some(exited), None) == Wait::Exited {
                return Ok(0);
            }
        }
        io::Read::read(&mut self.file, buf)
    }
}

impl ChildProcess {
    pub(super) fn start(forward_stderr: bool, watch: &'static Watch) -> io::Result<ChildProcess> {
        // The start hook must be in the executable the child runs: this
        // reference keeps the linker from leaving it out.
        std::hint::black_box(&super::child::START_HOOK);
        let exe = std::env::current_exe()?;
        let mut process = Command::new(&exe)
            .env(
                CHILD_VAR,
                format!("{CHILD_VALUE_PREFIX}{}", std::process::id()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| not_startable(&exe, error))?;
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
        let forward = forward_stderr;
        let reader_tail = tail.clone();
        let reader = thread::Builder::new()
            .name("isolate-process-stderr".to_owned())
            .spawn(move || reader_tail.drain(stderr, forward));
        if let Err(error) = reader {
            let _ = process.kill();
            let _ = process.wait();
            return Err(error);
        }
        let child = ChildProcess {
            process,
            stdin,
            stdout: std::fs::File::from(OwnedFd::from(stdout)),
            pid,
            tail,
            exited: pidfd(pid),
        };
        let ticket = watch.add(pid, None, Instant::now().checked_add(HELLO_TIMEOUT));
        let hello = child.read_frame(1 << 10);
        let killed = watch.remove(ticket);
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
        let (status, tail) = child.reap();
        let status = match status {
            Status::Ended(status) => status.to_string(),
            Status::Killed => "killed".to_owned(),
            Status::Lost => "unknown: SIGCHLD is ignored in this process".to_owned(),
        };
        Err(io::Error::other(format!(
            "the child process did not start serving calls (exit status: {status}; stderr: {:?}): \
             its executable must link the `isolates` crate with the `process` feature, whose start hook runs before `main`",
            tail.0.trim()
        )))
    }

    /// Reads one frame from the child, at most `max` bytes; the child's end
    /// ends it, even while a process it forked holds the pipe open.
    pub(super) fn read_frame(&self, max: usize) -> Result<Vec<u8>, ReadError> {
        let exited = self.exited.as_ref().map(|fd| fd.as_fd());
        let fd = self.stdout.as_fd();
        let mut output = Output {
            file: &self.stdout,
            exited,
        };
        // Mid-frame: a child that ended cuts the frame short at once.
        let mut ready =
            || wire::wait_readable(fd, exited, Some(wire::MID_FRAME_STALL)) != Wait::TimedOut;
        wire::read_frame(&mut output, max, &mut ready)
    }

    /// Whether bytes written to the child's stdin are still in the pipe,
    /// unread: then the child never had the whole request they belong to.
    /// Linux counts a pipe's unread bytes from its writing end too; elsewhere
    /// this cannot be known, and is `false`.
    pub(super) fn request_unread(&self) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            rustix::io::ioctl_fionread(&self.stdin).is_ok_and(|unread| unread > 0)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            false
        }
    }

    /// Whether the child has ended (it is then reaped, its status kept for
    /// [`reap`](Self::reap)).
    pub(super) fn has_ended(&mut self) -> bool {
        matches!(self.process.try_wait(), Ok(Some(_)))
    }

    /// Kills and reaps the child; what its end was (see [`Status`]), and
    /// its stderr tail, for which it waits up to
    /// [`TAIL_WAIT`] (a program the child started may hold the pipe open:
    /// see [`reap_quietly`](Self::reap_quietly) where the tail is not
    /// reported).
    pub(super) fn reap(self) -> (Status, (String, Seen)) {
        self.reap_waiting(TAIL_WAIT)
    }

    /// Kills and reaps the child without waiting for the rest of its
    /// stderr: for a cancel, a timeout or a retirement, which report none.
    pub(super) fn reap_quietly(self) {
        let _ = self.reap_waiting(Duration::ZERO);
    }

    fn reap_waiting(mut self, tail_wait: Duration) -> (Status, (String, Seen)) {
        let status = match self.process.try_wait() {
            Ok(Some(status)) => Status::Ended(status),
            // ECHILD: the kernel reaped it, its status is gone.
            Err(_) => Status::Lost,
            Ok(None) => {
                let _ = self.process.kill();
                match self.process.wait() {
                    Ok(status) if status.signal() == Some(9) => Status::Killed,
                    Ok(status) => Status::Ended(status),
                    Err(_) => Status::Lost,
                }
            }
        };
        drop(self.stdin);
        let tail = self.tail.text(tail_wait);
        (status, tail)
    }
}

/// What reaping a child learnt of its end.
#[derive(Clone, Copy, Debug)]
pub(super) enum Status {
    /// Its exit status, other than a `SIGKILL`.
    Ended(ExitStatus),
    /// It was killed by `SIGKILL`: by the parent at reaping, or from
    /// outside.
    Killed,
    /// It could not be waited for: this process ignores `SIGCHLD` (or set
    /// `SA_NOCLDWAIT`), so the kernel reaped the child and dropped its
    /// exit status.
    Lost,
}

/// A pidfd of `pid` (Linux 5.3 and later), or `None`.
fn pidfd(pid: u32) -> Option<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let pid = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
        rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = pid;
        None
    }
}

/// Says which executable could not be started, and, when it is gone, why
/// and what to do: a rebuild (cargo renames the new file over the old one)
/// or a deletion since the program started leaves no file to start a child
/// from, and only a restart runs the program from the new one.
fn not_startable(exe: &std::path::Path, error: io::Error) -> io::Error {
    let exe = exe.display();
    let why = if error.kind() == io::ErrorKind::NotFound {
        format!(
            "this program's executable {exe} could not be started as a child process ({error}): \
             it was deleted or replaced since the program started (a rebuild does that); \
             restart the program"
        )
    } else {
        format!("this program's executable {exe} could not be started as a child process: {error}")
    };
    io::Error::new(error.kind(), why)
}
