//! What `#[isolated]` generates, exercised at run time: names, folding
//! through aliases, async functions, methods and options.

mod support;

use std::borrow::Cow;
use std::sync::Arc;

use futures::channel::oneshot;

use isolate::{isolated, IsolateError, IsolateHandle};
use support::{DropCounter, Gate, Tracked};

#[isolated]
fn named_after_the_function() -> Option<Cow<'static, str>> {
    isolate::current_name()
}

#[isolated(name = "custom")]
fn explodes() -> u8 {
    panic!("from a named isolate")
}

#[isolated]
fn with_anyhow(fail: bool) -> anyhow::Result<u8> {
    if fail {
        anyhow::bail!("anyhow failure")
    }
    Ok(1)
}

#[isolated]
async fn waits_for(_held: Tracked, started: Gate, wake_up: oneshot::Receiver<()>) {
    started.open();
    let _ = wake_up.await;
}

#[isolated(dedicated)]
fn thread_name() -> Option<String> {
    std::thread::current().name().map(str::to_owned)
}

struct Engine {
    factor: u64,
}

impl Engine {
    #[isolated]
    fn scale(self: Arc<Self>, values: Vec<u64>) -> Vec<u64> {
        values.into_iter().map(|v| v * self.factor).collect()
    }
}

#[test]
fn the_isolate_is_named_after_the_function() {
    let handle = named_after_the_function_isolated();
    assert_eq!(handle.name(), "named_after_the_function");
    // The name `#[isolated]` gives is static: read back without a copy.
    assert!(matches!(
        handle.join().unwrap(),
        Some(Cow::Borrowed("named_after_the_function"))
    ));
}

#[test]
fn a_named_isolate_shows_its_name_in_a_panic() {
    let err = explodes_isolated().join().unwrap_err();
    assert!(
        err.to_string().starts_with("isolate 'custom' panicked"),
        "{err}"
    );
}

#[test]
fn anyhow_result_is_folded_to_anyhow_error() {
    let handle: IsolateHandle<u8, anyhow::Error> = with_anyhow_isolated(true);
    match handle.join() {
        Err(IsolateError::Failed { error: e, .. }) => assert_eq!(e.to_string(), "anyhow failure"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(with_anyhow_isolated(false).join().unwrap(), 1);
}

#[test]
fn an_async_isolated_function_is_cancelled_for_real() {
    let counter = DropCounter::new();
    let started = Gate::new();
    // The sender stays alive, so the future is pending but could still be
    // woken: only the cancel can end it.
    let (_sender, wake_up) = oneshot::channel();
    let handle = waits_for_isolated(counter.track(), started.clone(), wake_up);
    started.wait();
    handle.cancel();
    assert!(matches!(handle.join(), Err(IsolateError::Cancelled { .. })));
    counter.assert_balanced();
}

#[test]
fn dedicated_runs_on_a_thread_named_after_the_function() {
    assert_eq!(
        thread_name_isolated().join().unwrap().as_deref(),
        Some("thread_name")
    );
}

#[test]
fn a_method_on_an_arc_receiver() {
    let engine = Arc::new(Engine { factor: 3 });
    let scaled = futures::executor::block_on(engine.scale_isolated(vec![1, 2]));
    assert_eq!(scaled.unwrap(), [3, 6]);
}

/// A generic impl with the method-level attribute alone.
struct Slot<T>(T);

impl<T> Slot<T> {
    #[isolated]
    fn take(self) -> T {
        self.0
    }

    #[isolated]
    fn filled(value: T) -> Self {
        Slot(value)
    }
}

#[isolated]
fn bytes_of<T>() -> usize {
    std::mem::size_of::<T>()
}

#[test]
fn methods_of_a_generic_impl_and_a_turbofish_reach_the_function() {
    let slot = Slot::filled_isolated(vec![1u8, 2]).join().unwrap();
    assert_eq!(slot.take_isolated().join().unwrap(), [1, 2]);
    assert_eq!(bytes_of_isolated::<u32>().join().unwrap(), 4);
    let handle = Slot(String::from("named")).take_isolated();
    assert_eq!(handle.name(), "take");
    assert_eq!(handle.join().unwrap(), "named");
}
