//! The end of a child's stderr, kept by a reader thread for a crash report.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use super::overflow::STACK_OVERFLOWED;
use crate::sync::process::{lock, Condvar, Mutex};

/// How much of a child's stderr is kept for a [`Crash`](super::Crash).
const TAIL_BYTES: usize = 4096;

/// The end of a child's stderr, kept for a crash report, and which of the
/// lines that explain a death went by since the call began (a backtrace
/// after one may push it out of the tail).
#[derive(Default)]
pub(super) struct Tail {
    state: Mutex<TailState>,
    done: Condvar,
}

#[derive(Default)]
struct TailState {
    bytes: VecDeque<u8>,
    closed: bool,
    seen: Seen,
}

/// What a child's stderr said about its death.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Seen {
    /// The standard library's message before it aborts on a failed
    /// allocation went by.
    pub(super) allocation_failed: bool,
    /// The child's own stack overflow report went by.
    pub(super) stack_overflowed: bool,
}

/// What the standard library prints before it aborts on a failed allocation.
const ALLOCATION_FAILED: &[u8] = b"memory allocation of ";

/// The longest marker, kept from one chunk to look across into the next.
const MARKER_MAX: usize = if ALLOCATION_FAILED.len() > STACK_OVERFLOWED.len() {
    ALLOCATION_FAILED.len()
} else {
    STACK_OVERFLOWED.len()
};

impl Tail {
    pub(super) fn drain(&self, mut stderr: impl Read, forward: bool) {
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
            // Look for the markers across the chunk boundary too.
            let kept = state.bytes.len().min(MARKER_MAX);
            let mut window: Vec<u8> = state
                .bytes
                .range(state.bytes.len() - kept..)
                .copied()
                .collect();
            window.extend_from_slice(&buffer[..n]);
            let holds = |marker: &[u8]| window.windows(marker.len()).any(|w| w == marker);
            state.seen.allocation_failed |= holds(ALLOCATION_FAILED);
            state.seen.stack_overflowed |= holds(STACK_OVERFLOWED);
            state.bytes.extend(&buffer[..n]);
            let excess = state.bytes.len().saturating_sub(TAIL_BYTES);
            state.bytes.drain(..excess);
        }
        lock(&self.state).closed = true;
        self.done.notify_all();
    }

    pub(super) fn clear(&self) {
        let mut state = lock(&self.state);
        state.bytes.clear();
        state.seen = Seen::default();
    }

    /// The tail and what it said, once the pipe closed or after `wait` at
    /// most.
    pub(super) fn text(&self, wait: Duration) -> (String, Seen) {
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
        (String::from_utf8_lossy(&bytes).into_owned(), state.seen)
    }
}
