//! A pool allowed no threads at all cannot run a pooled isolate: each one
//! fails with `Spawn` through its handle, never hangs, never panics at the
//! call. Dedicated isolates do not use the pool and still run.

use isolate::{IsolateError, PoolBuilder};

#[test]
fn a_pool_of_zero_threads_fails_each_isolate_with_spawn() {
    PoolBuilder::new().max_threads(0).build_global().unwrap();
    for _ in 0..3 {
        match isolate::run(|| 1).join() {
            Err(IsolateError::Spawn { error: e, .. }) => assert!(!e.to_string().is_empty()),
            other => panic!("expected Spawn, got {other:?}"),
        }
    }
    let awaited = futures::executor::block_on(isolate::run(|| 1));
    assert!(matches!(awaited, Err(IsolateError::Spawn { .. })));
    assert_eq!(
        isolate::Builder::new()
            .dedicated()
            .run(|| 2)
            .join()
            .unwrap(),
        2
    );
}
