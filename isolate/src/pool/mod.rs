//! The shared pool of threads that runs isolates (`threads`), its
//! configuration (`config`), and how a thread waits for an isolate without
//! starving the pool: the last resort of a waiter (`wait`) and the executor
//! that drives an async isolate (`block_on`).

pub(crate) mod block_on;
pub(crate) mod config;
mod global;
pub(crate) mod threads;
pub(crate) mod wait;

// The channel's blocking waits ask the pool about the calling thread.
pub(crate) use threads::{enter_blocked, on_pool_worker};
