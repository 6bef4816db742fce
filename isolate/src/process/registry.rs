//! The functions a child can run, found by a key registered at compile
//! time, never by an address: each `#[isolated(process)]` function adds an
//! [`Entry`] to the link-time slice [`ENTRIES`]; the parent sends the key,
//! the child looks it up in its own copy of the same executable.

use std::convert::Infallible;
use std::io;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::builder::Builder;
use crate::name::Name;
use crate::sync::Arc;
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::state::{Outcome, Remote, Task};

/// One function a child can run.
#[derive(Debug)]
pub struct Entry {
    /// The function's module path and name: its identity on the wire.
    pub key: &'static str,
    /// Decodes the arguments, calls the function, encodes what it returned.
    pub run: fn(&[u8]) -> Served,
}

/// What a child's run of an entry produced.
#[derive(Debug)]
pub enum Served {
    /// The encoded value.
    Value(Vec<u8>),
    /// The encoded error.
    Error(Vec<u8>),
    /// Why the call could not be run or answered.
    Refused(String),
}

/// Every process-isolated function of this executable.
#[allow(unsafe_code)] // linkme's `#[link_section]` statics
#[linkme::distributed_slice]
pub static ENTRIES: [Entry];

/// The entry registered under `key`.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn find(key: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|entry| entry.key == key)
}

/// Runs `f` on the decoded arguments and encodes its result: the body of
/// every [`Entry::run`]. A panic goes through, to the child's loop.
pub fn serve<A, T, E>(input: &[u8], f: impl FnOnce(A) -> Result<T, E>) -> Served
where
    A: DeserializeOwned,
    T: Serialize,
    E: Serialize,
{
    let args = match postcard::from_bytes::<A>(input) {
        Ok(args) => args,
        Err(e) => return Served::Refused(format!("the arguments did not decode: {e}")),
    };
    match f(args) {
        Ok(value) => match postcard::to_stdvec(&value) {
            Ok(bytes) => Served::Value(bytes),
            Err(e) => Served::Refused(format!("the result could not be serialized: {e}")),
        },
        Err(error) => match postcard::to_stdvec(&error) {
            Ok(bytes) => Served::Error(bytes),
            Err(e) => Served::Refused(format!("the error could not be serialized: {e}")),
        },
    }
}

/// Like [`serve`], for a function that returns a plain value.
pub fn serve_plain<A, T>(input: &[u8], f: impl FnOnce(A) -> T) -> Served
where
    A: DeserializeOwned,
    T: Serialize,
{
    serve(input, |args| Ok::<T, ()>(f(args)))
}

/// The never-run job of a process isolate's task: its outcome is produced
/// by the pool (see `Remote`).
pub(crate) type NeverRun<T, E> = fn() -> Outcome<T, E>;

/// A process isolate's task.
pub(crate) type ProcessTask<T, E> = Task<NeverRun<T, E>, T, E>;

fn never_run<T, E>() -> Outcome<T, E> {
    Err(IsolateError::ended_without_result())
}

/// What the generated code asks of a function's one generic helper: start
/// a call (in the parent), or serve one (in the child). One helper for both,
/// so that a type that cannot be serialized is reported once.
#[derive(Debug)]
pub enum Job<'i, A> {
    /// Start a call of `entry` with `args`.
    Call {
        /// The function's entry.
        entry: &'static Entry,
        /// The call's options.
        builder: Builder,
        /// The arguments.
        args: A,
    },
    /// Serve a call whose encoded arguments are `input`.
    Serve(&'i [u8]),
}

/// What the generic helper did: the [`Job`]'s answer.
#[derive(Debug)]
pub enum Done<T, E> {
    /// The handle of a started call.
    Handle(IsolateHandle<T, E>),
    /// A served call's reply.
    Served(Served),
}

impl<T, E> Done<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// The handle of a [`Job::Call`].
    pub fn into_handle(self) -> IsolateHandle<T, E> {
        match self {
            Done::Handle(handle) => handle,
            Done::Served(_) => {
                let task: Arc<ProcessTask<T, E>> =
                    Task::new(never_run::<T, E> as NeverRun<T, E>, Name::default(), false);
                fail(&task, io::Error::other("a served call has no handle"));
                IsolateHandle::new(task)
            }
        }
    }

    /// The reply of a [`Job::Serve`].
    pub fn into_served(self) -> Served {
        match self {
            Done::Served(served) => served,
            Done::Handle(_) => Served::Refused("a started call is not a reply".to_owned()),
        }
    }
}

/// Decodes the function's error, sent after [`Served::Error`].
pub(crate) type DecodeError<E> = fn(&[u8]) -> Result<E, String>;

fn decode<E: DeserializeOwned>(bytes: &[u8]) -> Result<E, String> {
    postcard::from_bytes(bytes).map_err(|e| e.to_string())
}

fn no_error(_: &[u8]) -> Result<Infallible, String> {
    Err("an error from a function that cannot fail".to_owned())
}

/// Starts a call of `entry`, a function that returns `Result<T, E>`, with
/// `args` in a child process.
pub fn call<A, T, E>(entry: &'static Entry, builder: Builder, args: A) -> IsolateHandle<T, E>
where
    A: Serialize,
    T: DeserializeOwned + Send + 'static,
    E: DeserializeOwned + Send + 'static,
{
    start(entry, builder, args, decode::<E>)
}

/// Starts a call of `entry`, a function that returns a plain `T`.
pub fn call_infallible<A, T>(entry: &'static Entry, builder: Builder, args: A) -> IsolateHandle<T>
where
    A: Serialize,
    T: DeserializeOwned + Send + 'static,
{
    start(entry, builder, args, no_error)
}

fn start<A, T, E>(
    entry: &'static Entry,
    builder: Builder,
    args: A,
    decode_error: DecodeError<E>,
) -> IsolateHandle<T, E>
where
    A: Serialize,
    T: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    let name = builder.name.clone().unwrap_or(Name::Static(entry.key));
    let task: Arc<ProcessTask<T, E>> = Task::new(never_run::<T, E> as NeverRun<T, E>, name, false);
    let handle = IsolateHandle::new(task.clone());
    let payload = match postcard::to_stdvec(&args) {
        Ok(payload) => payload,
        Err(e) => {
            fail(
                &task,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("the arguments could not be serialized: {e}"),
                ),
            );
            return handle;
        }
    };
    submit(entry, builder, payload, task, decode_error);
    handle
}

/// Ends a call that never reached a child with `Spawn(error)`.
pub(crate) fn fail<T, E>(task: &ProcessTask<T, E>, error: io::Error)
where
    T: Send + 'static,
    E: Send + 'static,
{
    if task.claim_remotely() {
        task.complete_remotely(Err(IsolateError::spawn(error)));
    }
}

#[cfg(unix)]
fn submit<T, E>(
    entry: &'static Entry,
    builder: Builder,
    payload: Vec<u8>,
    task: Arc<ProcessTask<T, E>>,
    decode_error: DecodeError<E>,
) where
    T: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    super::pool::submit(entry, builder, payload, task, decode_error);
}

#[cfg(not(unix))]
fn submit<T, E>(
    _: &'static Entry,
    _: Builder,
    _: Vec<u8>,
    task: Arc<ProcessTask<T, E>>,
    _: DecodeError<E>,
) where
    T: DeserializeOwned + Send + 'static,
    E: Send + 'static,
{
    fail(
        &task,
        io::Error::new(
            io::ErrorKind::Unsupported,
            "process isolates need a Unix system: this one cannot start a child process for them",
        ),
    );
}
