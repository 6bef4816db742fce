//! The shared pool of threads that runs isolates (`threads`), its
//! configuration (`config`), and how a thread waits for an isolate without
//! starving the pool: the last resort of a waiter (`wait`) and the executor
//! that drives an async isolate (`block_on`).
//!
//! `threads` is one concept (the pool: queue, growth, sleep, retirement),
//! kept in one file past 600 lines of code; in its comments a "thread" is
//! a *pool thread* (the glossary's word; a "worker" is the `Worker` type).

pub(crate) mod block_on;
pub(crate) mod config;
mod global;
pub(crate) mod threads;
pub(crate) mod wait;
