//! One isolate, start to end: its shared state and protocol (`state`), the
//! caller's [`IsolateHandle`](handle::IsolateHandle), what code inside an
//! isolate can ask about it (`context`), how it ends badly (`panic`,
//! `error`), its time limit (`deadline`) and a value handed back from
//! another thread (`promise`).
//!
//! Imports go downward only: `state` knows no other module of the wing but
//! `error` and `panic`; `context` knows `state`'s header; `handle` and
//! `promise` sit on top.

pub(crate) mod context;
pub(crate) mod deadline;
pub(crate) mod error;
pub(crate) mod handle;
pub(crate) mod header;
pub(crate) mod panic;
pub(crate) mod promise;
pub(crate) mod state;
