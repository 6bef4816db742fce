//! The `tracing` feature: an isolate runs in the caller's tracing context.

use tracing::dispatcher::{self, Dispatch};
use tracing::Span;

use crate::name::Name;

/// Wraps `job` so that it runs under the caller's subscriber, inside a span
/// `isolate { name }` whose parent is the caller's current span. Both are
/// captured here, on the caller's thread.
pub(crate) fn in_caller_context<J, R>(name: &Name, job: J) -> impl FnOnce() -> R + Send + 'static
where
    J: FnOnce() -> R + Send + 'static,
{
    let dispatch: Dispatch = dispatcher::get_default(Dispatch::clone);
    let span = dispatcher::with_default(
        &dispatch,
        || tracing::info_span!(parent: &Span::current(), "isolate", name = %name),
    );
    move || dispatcher::with_default(&dispatch, || span.in_scope(job))
}
