//! The functions a child can run, found by a key registered at compile
//! time, never by an address: each `#[isolated(process)]` function adds an
//! [`Entry`] to the link-time slice [`ENTRIES`]; the parent sends the key,
//! the child looks it up in its own copy of the same executable.

use serde::de::DeserializeOwned;
use serde::Serialize;

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
    let args = match super::payload::decode::<A>(input) {
        Ok(args) => args,
        Err(e) => return Served::Refused(format!("the arguments did not decode: {e}")),
    };
    match f(args) {
        Ok(value) => match super::payload::encode(&value) {
            Ok(bytes) => Served::Value(bytes),
            Err(e) => Served::Refused(format!("the result could not be serialized: {e}")),
        },
        Err(error) => match super::payload::encode(&error) {
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
