//! Starting a call in a child process: the parent's side of the code
//! `#[isolated(process)]` generates, which hands the call to the pool.

use std::convert::Infallible;
use std::io;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::builder::Builder;
use super::payload;
#[cfg(unix)]
use super::pool::submit;
use super::registry::{Entry, Served};
use super::task::{fail, never_run, refuse, DecodeError, NeverRun, ProcessTask};
use crate::name::Name;
use crate::sync::Arc;
use crate::task::handle::IsolateHandle;
use crate::task::state::Task;

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

fn decode<E: DeserializeOwned>(bytes: &[u8]) -> Result<E, String> {
    payload::decode(bytes)
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
    let payload = match payload::encode(&args) {
        Ok(payload) => payload,
        Err(why) => {
            // Refused as the child refuses arguments it cannot decode: one
            // error for one mistake, wherever it is seen.
            refuse(&task, format!("the arguments could not be sent: {why}"));
            return handle;
        }
    };
    submit(entry, builder, payload, task, decode_error);
    handle
}

/// Elsewhere than Unix, no child can be started: the call fails at once.
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
