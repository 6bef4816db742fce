//! The `#[isolated]` attribute of the [`isolates`](https://docs.rs/isolates)
//! crate. Depend on `isolates`, which re-exports it; this crate is its
//! implementation.
//!
//! The work is split in phases, one file each: `args` parses the
//! attribute's options, `model` reads the function into a small typed
//! model, `valid` checks it against the rules (collecting every mistake),
//! and `expand` emits the function unchanged beside its `_isolated`
//! sibling. `types` holds the type walks the others share, and `locate`
//! reads the source file for the one context the tokens cannot tell.

#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod args;
mod expand;
mod locate;
mod model;
mod process;
#[cfg(test)]
mod robustness;
mod types;
mod valid;

use proc_macro::TokenStream;

/// Generates `name_isolated`, a sibling of the function that runs it on an
/// isolate. Documented where users meet it: `isolate::isolated`.
#[proc_macro_attribute]
pub fn isolated(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::isolated(args.into(), item.into()).into()
}
