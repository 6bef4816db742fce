//! Support for the code `#[isolated]` generates: the checks that turn a type
//! that cannot cross threads into an error at the user's own parameter, in
//! this crate's words. Not public API; it may change in any release.

/// A type that can be an argument of an isolated function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of an isolated function: it cannot be sent to another thread",
    label = "this argument is moved to the isolate's thread, so it must be `Send + 'static`",
    note = "an #[isolated] function runs on another thread and its arguments are moved there",
    note = "use a thread-safe type: `Arc` instead of `Rc`, `Mutex` or an atomic instead of `RefCell` or `Cell`, an owned value instead of a guard, `+ Send` on a trait object (`Box<dyn FnOnce() + Send>`)"
)]
pub trait IsolateArg: Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Send + 'static> IsolateArg for T {}

/// A type that can be returned by an isolated function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from an isolated function: it cannot be sent to another thread",
    label = "the result is moved from the isolate's thread back to the caller, so it must be `Send + 'static`",
    note = "an #[isolated] function runs on another thread and its result is moved back to the caller",
    note = "use a thread-safe type: `+ Send + Sync` on a trait object (`Box<dyn Error + Send + Sync>`), `Arc` instead of `Rc`, `Mutex` or an atomic instead of `RefCell` or `Cell`"
)]
pub trait IsolateReturn: Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Send + 'static> IsolateReturn for T {}

/// A parameter that `#[isolated]` supplies instead of taking it from the
/// caller: this crate's `Progress<P>` and `Port<In, Out>`, which the
/// attribute recognises by the last segment of the type's path. A type of
/// the user's of the same name is reported at its parameter.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `isolate::Progress` or `isolate::Port`, but #[isolated] supplies every parameter whose type's path ends in `Progress` or `Port`",
    label = "#[isolated] takes this for a parameter it supplies, by the last segment of its type's path",
    note = "to take a type of your own of that name as an argument, import it under another name (`use crate::Progress as Report;`) or write a path whose last segment differs"
)]
pub trait Supplied {
    /// What the isolate is given.
    type Given;

    /// The parameter, from what the isolate is given.
    fn from_given(given: Self::Given) -> Self;
}

impl<P> Supplied for crate::Progress<P> {
    type Given = Self;

    fn from_given(given: Self) -> Self {
        given
    }
}

impl<In, Out> Supplied for crate::Port<In, Out> {
    type Given = Self;

    fn from_given(given: Self) -> Self {
        given
    }
}

/// A return type that `#[isolated]` folds: `std::result::Result`, named
/// `Result` (also through an alias such as `io::Result<T>`), or under any
/// name with `fold`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `std::result::Result`, so #[isolated] cannot fold its error",
    label = "#[isolated] folds this return type into the handle's error, as it is named `Result` or the attribute says `fold`",
    note = "to return it as a plain value, add `no_fold` (#[isolated(no_fold)]) to a type named `Result`, or remove `fold`"
)]
pub trait FoldResult {
    /// The success type.
    type Ok;
    /// The error type.
    type Err;

    /// The value as the `Result` it is.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> FoldResult for Result<T, E> {
    type Ok = T;
    type Err = E;

    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// The items of `#[isolated(process)]`, as written, with the `process`
/// feature.
#[cfg(feature = "process")]
#[doc(hidden)]
#[macro_export]
macro_rules! __isolate_process_items {
    ({ $($items:tt)* } else { $($stand_in:tt)* }) => {
        $($items)*
    };
}

/// Without the `process` feature: the attribute's error, which says to
/// enable it, and a stand-in sibling, so that the items that name what the
/// feature leaves out, and the sibling's callers, add no errors.
#[cfg(not(feature = "process"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __isolate_process_items {
    ({ $($items:tt)* } else { { $($error:tt)* } $($stand_in:tt)* }) => {
        $($error)*
        $($stand_in)*
    };
}

pub use crate::__isolate_process_items as process_items;

/// What `#[isolated(process)]` generates code against.
#[cfg(feature = "process")]
pub mod process {
    pub use crate::process::__private::*;
}
