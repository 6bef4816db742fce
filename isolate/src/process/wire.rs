//! The protocol between a parent and its child process.
//!
//! Every message is a frame: a little-endian `u32` length, then that many
//! bytes of body. A body is a postcard-encoded head, immediately followed
//! by the payload (the arguments, or the result or error), itself postcard.
//!
//! - parent -> child: [`Request`] head, then the arguments;
//! - child -> parent: a [`ReplyHead::Hello`] once at start, then one
//!   [`ReplyHead`] per request, followed by the result or error for
//!   [`ReplyHead::Value`] and [`ReplyHead::Error`].
//!
//! postcard rather than bincode: it is maintained and `#![forbid(unsafe)]`
//! in its decoder, its varints keep small messages small, a malformed
//! message is an error rather than a panic or a huge allocation (lengths
//! are checked against the bytes actually there), and bincode's current
//! release line is not maintained.

// Off Unix only the types are used: no child is ever started.
#![cfg_attr(not(unix), allow(dead_code))]

use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// The protocol's version, sent in the child's hello.
pub(crate) const VERSION: u32 = 2;

/// The head of a request.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Request<'a> {
    /// The function's registered key.
    pub(crate) key: &'a str,
    /// The isolate's name, for `isolate::current_name()` in the child.
    pub(crate) name: &'a str,
    /// `RLIMIT_AS` for the call, in bytes.
    pub(crate) memory: Option<u64>,
    /// `RLIMIT_CPU` for the call, in milliseconds (rounded up to seconds).
    pub(crate) cpu_ms: Option<u64>,
}

/// The head of a message from the child.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum ReplyHead {
    /// The child started and serves calls.
    Hello { version: u32, pid: u32 },
    /// The function returned; the payload is the value.
    Value,
    /// The function returned `Err`; the payload is the error.
    Error,
    /// The function panicked.
    Panicked {
        message: Option<String>,
        location: Option<(String, u32, u32)>,
        backtrace: Option<String>,
    },
    /// The child could not run the call.
    Refused(String),
    /// The function called `isolate::exit()`.
    Ended,
}

/// A message from a child that the parent could not read.
///
/// # Examples
///
/// ```
/// use isolate::process::ProtocolError;
///
/// let err = ProtocolError::Oversized { len: 5 << 30, max: 1 << 30 };
/// assert!(err.to_string().contains("larger than"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The message ended early: `got` of `expected` bytes arrived before the
    /// pipe closed.
    Truncated {
        /// The bytes announced.
        expected: u64,
        /// The bytes that arrived.
        got: u64,
    },
    /// The message announced more bytes than the largest accepted.
    Oversized {
        /// The announced length.
        len: u64,
        /// The largest accepted ([`PoolBuilder::max_message`](super::PoolBuilder::max_message)).
        max: u64,
    },
    /// The message's bytes did not decode as what was expected.
    Garbled(String),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Truncated { expected, got } => {
                write!(f, "a message was cut short: {got} of {expected} bytes")
            }
            ProtocolError::Oversized { len, max } => {
                write!(
                    f,
                    "a message of {len} bytes is larger than the {max} accepted"
                )
            }
            ProtocolError::Garbled(why) => write!(f, "a message did not decode: {why}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Why no frame was read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The pipe closed between frames.
    Closed,
    /// The pipe closed inside a frame, or the frame is too big.
    Protocol(ProtocolError),
    /// Reading failed.
    Io,
}

/// Writes one frame whose body is `head` encoded, then `payload`, without
/// copying the payload (a 100 MB argument is not held twice).
pub(crate) fn write_frame<H: Serialize>(
    out: &mut impl Write,
    head: &H,
    payload: &[u8],
) -> io::Result<()> {
    let head = postcard::to_stdvec(head).map_err(io::Error::other)?;
    let len = u32::try_from(head.len() + payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message over 4 GiB"))?;
    // A small payload goes in the same write (one system call, one wake-up
    // of the reader); a large one is written from where it is.
    let inline = payload.len() <= 64 << 10;
    let mut start = Vec::with_capacity(4 + head.len() + if inline { payload.len() } else { 0 });
    start.extend_from_slice(&len.to_le_bytes());
    start.extend_from_slice(&head);
    if inline {
        start.extend_from_slice(payload);
        out.write_all(&start)?;
    } else {
        out.write_all(&start)?;
        out.write_all(payload)?;
    }
    out.flush()
}

/// How long a frame may stall, once its first byte arrived, before it
/// counts as truncated: a child writes each frame in one go from memory, so
/// a frame that stops half-way is garbage (a length that promised more than
/// was sent) and waiting longer would hang the call.
pub(crate) const MID_FRAME_STALL: std::time::Duration = std::time::Duration::from_secs(3);

/// Reads one frame's body, at most `max` bytes. The buffer grows with the
/// bytes that arrive, not with the announced length, so a garbled length
/// cannot make the reader allocate what was never sent. Once a frame has
/// begun and the bytes at hand are drained, `ready` is asked whether more
/// came in time; `false` ends the frame as truncated.
pub(crate) fn read_frame(
    input: &mut impl Read,
    max: usize,
    ready: &mut dyn FnMut() -> bool,
) -> Result<Vec<u8>, ReadError> {
    let mut len = [0_u8; 4];
    let mut got = 0;
    while got < len.len() {
        if got > 0 && !ready() {
            return Err(truncated(4, got));
        }
        match input.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Err(ReadError::Closed),
            Ok(0) => return Err(truncated(4, got)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(ReadError::Io),
        }
    }
    let len = u64::from(u32::from_le_bytes(len));
    if len > max as u64 {
        return Err(ReadError::Protocol(ProtocolError::Oversized {
            len,
            max: max as u64,
        }));
    }
    const CHUNK: usize = 64 << 10;
    let mut body = Vec::with_capacity((len as usize).min(1 << 20));
    let mut drained = false;
    while (body.len() as u64) < len {
        if drained && !ready() {
            return Err(truncated(len, body.len()));
        }
        let start = body.len();
        let want = ((len - start as u64) as usize).min(CHUNK);
        body.resize(start + want, 0);
        match input.read(&mut body[start..]) {
            Ok(0) => return Err(truncated(len, start)),
            Ok(n) => {
                body.truncate(start + n);
                drained = n < want;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => body.truncate(start),
            Err(_) => return Err(ReadError::Io),
        }
    }
    Ok(body)
}

fn truncated(expected: u64, got: usize) -> ReadError {
    ReadError::Protocol(ProtocolError::Truncated {
        expected,
        got: got as u64,
    })
}

/// Always ready: for a reader that never stalls, and for the child, whose
/// parent writes each request in one go.
pub(crate) fn no_stall() -> bool {
    true
}

/// What [`wait_readable`] saw.
#[cfg(unix)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The pipe has bytes, or is closed: a read will not block.
    Readable,
    /// The process behind the pipe ended and the pipe has nothing left (a
    /// process it forked may still hold it open).
    Exited,
    /// The timeout passed.
    TimedOut,
}

/// Waits for `fd` to have bytes (or to close), for the process behind
/// `exited` (a pidfd) to end, or for `timeout` to pass.
#[cfg(unix)]
pub(crate) fn wait_readable(
    fd: std::os::fd::BorrowedFd<'_>,
    exited: Option<std::os::fd::BorrowedFd<'_>>,
    timeout: Option<std::time::Duration>,
) -> Wait {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let timeout = timeout.map(|t| Timespec {
        tv_sec: t.as_secs() as _,
        tv_nsec: t.subsec_nanos() as _,
    });
    loop {
        let mut fds = [
            PollFd::new(&fd, PollFlags::IN),
            PollFd::new(&fd, PollFlags::empty()),
        ];
        let count = match exited {
            Some(ref pidfd) => {
                fds[1] = PollFd::new(pidfd, PollFlags::IN);
                2
            }
            None => 1,
        };
        match poll(&mut fds[..count], timeout.as_ref()) {
            Ok(0) => return Wait::TimedOut,
            // Bytes first: a child that answered and then died is heard.
            Ok(_) if !fds[0].revents().is_empty() => return Wait::Readable,
            Ok(_) => return Wait::Exited,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return Wait::Readable,
        }
    }
}

/// Splits a body into its head and the payload after it.
pub(crate) fn split<'a, H: Deserialize<'a>>(
    body: &'a [u8],
) -> Result<(H, &'a [u8]), ProtocolError> {
    postcard::take_from_bytes(body).map_err(|e| ProtocolError::Garbled(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_ones_are_typed() {
        let head = ReplyHead::Value;
        let payload = postcard::to_stdvec(&vec![1_u32, 2, 3]).unwrap();
        let mut wire = Vec::new();
        write_frame(&mut wire, &head, &payload).unwrap();
        let read = read_frame(&mut &wire[..], 1 << 20, &mut no_stall).unwrap();
        let (head, rest) = split::<ReplyHead>(&read).unwrap();
        assert!(matches!(head, ReplyHead::Value));
        assert_eq!(postcard::from_bytes::<Vec<u32>>(rest).unwrap(), [1, 2, 3]);

        assert!(matches!(
            read_frame(&mut &[][..], 10, &mut no_stall),
            Err(ReadError::Closed)
        ));
        assert!(matches!(
            read_frame(&mut &wire[..wire.len() - 1], 1 << 20, &mut no_stall),
            Err(ReadError::Protocol(ProtocolError::Truncated { .. }))
        ));
        assert!(matches!(
            read_frame(&mut &wire[..], 2, &mut no_stall),
            Err(ReadError::Protocol(ProtocolError::Oversized { .. }))
        ));
        assert!(split::<ReplyHead>(&[0xff, 0xff, 0xff]).is_err());
    }
}
