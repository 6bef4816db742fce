//! The one rule for everything that travels between a caller and a
//! long-running isolate, checked at compile time in the crate's own words.

/// A value that can travel between threads as a message: a request or reply
/// of a [`Service`](crate::Service), a message of a [`Worker`](crate::Worker),
/// a [`Progress`](crate::Progress) update. That is, any `Send + 'static`
/// type; the trait exists so that a type that is not says so in these words.
///
/// # Examples
///
/// ```
/// fn assert_message<M: isolate::Message>() {}
///
/// assert_message::<String>();
/// assert_message::<std::sync::Arc<Vec<u8>>>();
/// // assert_message::<std::rc::Rc<u8>>(); // error: `Rc<u8>` cannot be a message ...
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a message between isolates: it cannot be sent to another thread",
    label = "this type travels to or from another thread, so it must be `Send + 'static`",
    note = "requests, replies, worker messages and progress updates are moved between threads",
    note = "use a thread-safe type: `Arc` instead of `Rc`, `Mutex` or an atomic instead of `RefCell` or `Cell`, an owned value instead of a borrow, `+ Send` on a trait object (`Box<dyn Any + Send>`)"
)]
pub trait Message: Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Send + 'static> Message for T {}
