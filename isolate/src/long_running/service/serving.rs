//! Ending a service from inside its handler: [`close_service`] finds the
//! service whose thread runs on this thread through a thread-local set
//! while a service thread runs its loop.

use super::routes::Routes;
use crate::sync::Arc;

/// Ends the service whose handler calls it, cleanly (Dart's
/// `Isolate.exit()`, or closing the isolate's receive port): it closes the
/// service's inboxes, as [`Service::join`](crate::Service::join) does, without waiting. The
/// request in hand is answered with what the handler returns, the requests
/// already queued are still answered, then the threads end and the
/// service ends [`Exit::Completed`](crate::Exit::Completed) (its `join` is `Ok`). Later requests
/// are refused ([`IsolateError::EndedWithoutResult`](crate::IsolateError::EndedWithoutResult)).
///
/// Returns `false`, doing nothing, when not called from a service's
/// handler.
///
/// # Examples
///
/// ```
/// use isolate::{Exit, Service};
///
/// let (tx, rx) = std::sync::mpsc::channel();
/// let service = isolate::Builder::new()
///     .on_exit(move |exit| tx.send(exit).unwrap())
///     .service()
///     .spawn(|| (), |_: &mut (), command: &'static str| {
///         if command == "shutdown" {
///             isolate::close_service();
///         }
///         command.len()
///     });
/// assert_eq!(service.request("shutdown").join().unwrap(), 8);
/// assert_eq!(rx.recv().unwrap(), Exit::Completed);
/// assert!(service.request("late").join().is_err());
/// assert!(service.join().is_ok());
/// ```
pub fn close_service() -> bool {
    // An isolate run on the handler's thread as a waiter's last resort is
    // not the handler.
    if crate::task::context::running_inline() {
        return false;
    }
    SERVING
        .try_with(|serving| serving.borrow().as_ref().map(|routes| routes.close_all()))
        .ok()
        .flatten()
        .is_some()
}

/// The service whose thread runs on this thread, for [`close_service`].
pub(super) trait Closable {
    fn close_all(&self);
}

impl<Req, Resp, E> Closable for Routes<Req, Resp, E> {
    fn close_all(&self) {
        self.close();
    }
}

thread_local! {
    static SERVING: std::cell::RefCell<Option<Arc<dyn Closable>>> =
        const { std::cell::RefCell::new(None) };
}

/// Marks this thread as a thread of `routes`' service until dropped.
pub(super) struct Serving;

impl Serving {
    pub(super) fn enter(routes: Arc<dyn Closable>) -> Self {
        SERVING.with(|serving| *serving.borrow_mut() = Some(routes));
        Serving
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = SERVING.try_with(|serving| serving.borrow_mut().take());
    }
}
