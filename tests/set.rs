//! `IsolateSet`: results as they finish with their keys, blocking and
//! async; a bound on how many run; cancel on drop and `cancel_all`; batch
//! progress; `join_all` / `join_any` over plain handles.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use isolate::{Elapsed, IsolateError, IsolateSet};
use support::{in_child, run_child, tokio_runtime, DropCounter, Gate, Watchdog, WATCHDOG};

/// Spins until the isolate is cancelled or the flag is set, then says which.
fn spin_until(release: &AtomicBool) -> &'static str {
    while !isolate::is_cancelled() && !release.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    if isolate::is_cancelled() {
        "cancelled"
    } else {
        "released"
    }
}

#[test]
fn each_result_comes_once_with_its_key_blocking() {
    let _watchdog = Watchdog::arm(WATCHDOG, "a blocking batch".into());
    let mut set = IsolateSet::new();
    for i in 0..500_u64 {
        set.spawn(i, move || i * i);
    }
    assert_eq!(set.total(), 500);
    let mut seen = BTreeSet::new();
    while let Some((key, result)) = set.join_next() {
        assert_eq!(result.unwrap(), key * key);
        assert!(seen.insert(key), "key {key} came twice");
    }
    assert_eq!(seen.len(), 500);
    assert_eq!((set.total() - set.len(), set.len()), (500, 0));
}

#[test]
fn results_come_in_the_order_the_isolates_finish() {
    let _watchdog = Watchdog::arm(WATCHDOG, "finish order".into());
    let gate = Gate::new();
    let mut set = IsolateSet::new();
    let waiting = gate.clone();
    set.spawn("gated", move || waiting.wait());
    set.spawn("free", || ());
    assert_eq!(set.join_next().unwrap().0, "free");
    gate.open();
    assert_eq!(set.join_next().unwrap().0, "gated");
    assert!(set.join_next().is_none());
}

#[test]
fn errors_and_panics_arrive_typed_with_their_keys() {
    let _watchdog = Watchdog::arm(WATCHDOG, "typed errors".into());
    let mut set = IsolateSet::new();
    set.spawn("bad", isolate::Fold(|| "x".parse::<u8>()));
    set.spawn("good", isolate::Fold(|| "7".parse::<u8>()));
    set.spawn(
        "panics",
        isolate::Fold(|| -> Result<u8, _> { panic!("boom") }),
    );
    let mut results = set.join_all();
    results.sort_by_key(|(key, _)| *key);
    assert!(matches!(
        results[0],
        ("bad", Err(IsolateError::Failed { .. }))
    ));
    assert_eq!(*results[1].1.as_ref().unwrap(), 7);
    match &results[2] {
        ("panics", Err(IsolateError::Panicked(panic))) => assert_eq!(panic.message(), Some("boom")),
        other => panic!("unexpected: {other:?}"),
    }
}

#[test]
fn join_next_timeout_gives_up_without_cancelling() {
    let _watchdog = Watchdog::arm(WATCHDOG, "join_next_timeout".into());
    let release = Arc::new(AtomicBool::new(false));
    let mut set = IsolateSet::new();
    let flag = release.clone();
    set.spawn((), move || spin_until(&flag));
    assert_eq!(
        set.join_next_timeout(Duration::from_millis(5)).unwrap_err(),
        Elapsed
    );
    release.store(true, Ordering::Release);
    let (_, result) = set.join_next_timeout(WATCHDOG).unwrap().unwrap();
    assert_eq!(result.unwrap(), "released");
    assert!(matches!(set.join_next_timeout(Duration::ZERO), Ok(None)));
}

#[test]
fn a_bounded_set_never_runs_more_than_its_bound() {
    let _watchdog = Watchdog::arm(WATCHDOG, "a bounded batch".into());
    const BOUND: usize = 3;
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut set = IsolateSet::bounded(BOUND);
    for i in 0..300 {
        let (now, peak) = (now.clone(), peak.clone());
        set.spawn(i, move || {
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(running, Ordering::SeqCst);
            for _ in 0..(i % 7) {
                std::thread::yield_now();
            }
            now.fetch_sub(1, Ordering::SeqCst);
        });
        assert!(set.running() <= BOUND);
    }
    // The rest wait in the set, not in the pool.
    assert_eq!(set.len() - set.running(), 300 - BOUND);
    let mut count = 0;
    while let Some((_, result)) = set.join_next() {
        result.unwrap();
        assert!(set.running() <= BOUND);
        count += 1;
    }
    assert_eq!(count, 300);
    assert!(peak.load(Ordering::SeqCst) <= BOUND, "peak {peak:?}");
}

#[test]
fn a_set_dropped_mid_batch_cancels_the_rest_and_drops_every_argument_once() {
    let _watchdog = Watchdog::arm(WATCHDOG, "dropping a set mid-batch".into());
    let counter = DropCounter::new();
    let started = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let mut set = IsolateSet::bounded(4);
    for i in 0..100 {
        let tracked = counter.track();
        let (started, release) = (started.clone(), release.clone());
        set.spawn(i, move || {
            let _tracked = tracked;
            started.fetch_add(1, Ordering::SeqCst);
            // The first three finish; the others run until cancelled.
            if i < 3 {
                "finished"
            } else {
                spin_until(&release)
            }
        });
    }
    for _ in 0..3 {
        let (key, result) = set.join_next().unwrap();
        assert!(key < 3, "isolate {key} finished first");
        assert_eq!(result.unwrap(), "finished");
    }
    drop(set);
    counter.assert_balanced();
    assert_eq!(counter.created(), 100);
    // Three results taken, four running at most: the rest never started.
    assert!(started.load(Ordering::SeqCst) <= 3 + 4);
}

#[test]
fn cancel_all_cancels_running_and_waiting_isolates() {
    let _watchdog = Watchdog::arm(WATCHDOG, "cancel_all".into());
    let counter = DropCounter::new();
    let release = Arc::new(AtomicBool::new(false));
    let mut set = IsolateSet::bounded(2);
    for i in 0..10 {
        let tracked = counter.track();
        let release = release.clone();
        set.spawn(i, move || {
            let _tracked = tracked;
            spin_until(&release)
        });
    }
    set.cancel_all();
    let results = set.join_all();
    assert_eq!(results.len(), 10);
    for (_, result) in results {
        match result {
            Ok(said) => assert_eq!(said, "cancelled"),
            Err(error) => assert!(matches!(error, IsolateError::Cancelled { .. }), "{error:?}"),
        }
    }
    counter.assert_balanced();
}

#[test]
fn added_handles_and_lazy_starts_are_collected_with_the_rest() {
    let _watchdog = Watchdog::arm(WATCHDOG, "insert and insert_with".into());
    let mut set = IsolateSet::bounded(2);
    set.insert("run", isolate::run(|| 1));
    set.insert("async", isolate::run(isolate::Async(|| async { 2 })));
    let done = isolate::run(|| 3);
    done.wait_finished_for_tests();
    set.insert("finished already", done);
    for n in 0..5 {
        set.insert_with("lazy", move || isolate::run(move || 10 + n));
    }
    assert_eq!(set.len(), 8);
    let mut sum = 0;
    while let Some((_, result)) = set.join_next() {
        assert!(set.running() <= 2);
        sum += result.unwrap();
    }
    assert_eq!(sum, 1 + 2 + 3 + 10 + 11 + 12 + 13 + 14);
}

/// Waits for a handle to end without taking its result.
trait WaitFinished {
    fn wait_finished_for_tests(&self);
}

impl<T, E> WaitFinished for isolate::IsolateHandle<T, E> {
    fn wait_finished_for_tests(&self) {
        while !self.is_finished() {
            std::thread::yield_now();
        }
    }
}

#[test]
fn async_callers_take_results_with_join_next_async_and_the_stream() {
    let _watchdog = Watchdog::arm(WATCHDOG, "async callers".into());
    let runtime = tokio_runtime();
    let sum = runtime.block_on(async {
        let mut set = IsolateSet::bounded(3);
        for i in 0..200_u64 {
            set.spawn(i, move || i);
        }
        let mut sum = 0;
        for _ in 0..100 {
            let (key, result) = set.join_next_async().await.unwrap();
            assert_eq!(key, result.unwrap());
            sum += key;
        }
        while let Some((_, result)) = set.next().await {
            sum += result.unwrap();
        }
        assert!(set.join_next_async().await.is_none());
        sum
    });
    assert_eq!(sum, 199 * 200 / 2);
    // Any executor: smol's too, with a batch that mixes kinds of isolates.
    let keys = smol::block_on(async {
        let mut set = IsolateSet::new();
        set.spawn(1, || ());
        set.insert(2, isolate::run(isolate::Async(|| async {})));
        let mut keys: Vec<i32> = set.map(|(key, _)| key).collect().await;
        keys.sort();
        keys
    });
    assert_eq!(keys, [1, 2]);
}

#[test]
fn an_awaited_set_dropped_mid_batch_cancels_the_rest() {
    let _watchdog = Watchdog::arm(WATCHDOG, "dropping an awaited set".into());
    let counter = DropCounter::new();
    let release = Arc::new(AtomicBool::new(false));
    tokio_runtime().block_on(async {
        let mut set = IsolateSet::bounded(2);
        for i in 0..20 {
            let tracked = counter.track();
            let release = release.clone();
            set.spawn(i, move || {
                let _tracked = tracked;
                if i == 0 {
                    "finished"
                } else {
                    spin_until(&release)
                }
            });
        }
        let (key, _) = set.join_next_async().await.unwrap();
        assert_eq!(key, 0);
    });
    counter.assert_balanced();
}

#[test]
fn progress_counts_done_of_total_as_results_arrive() {
    let _watchdog = Watchdog::arm(WATCHDOG, "batch progress".into());
    let mut set = IsolateSet::bounded(2);
    for i in 0..20 {
        set.spawn(i, move || i);
    }
    let mut expected_done = 0;
    for finished in set.progress() {
        expected_done += 1;
        assert_eq!((finished.done, finished.total), (expected_done, 20));
        assert_eq!(finished.result.unwrap(), finished.key);
    }
    assert_eq!(expected_done, 20);
    // Async, while more are added between results.
    let seen = tokio_runtime().block_on(async {
        set.spawn(100, || 100);
        let mut seen = Vec::new();
        loop {
            let Some(finished) = set.progress().next().await else {
                break;
            };
            seen.push((finished.done, finished.total));
            if finished.total < 22 {
                set.spawn(101, || 101);
            }
        }
        seen
    });
    assert_eq!(seen, [(21, 21), (22, 22)]);
}

#[test]
fn join_all_and_join_any_over_plain_handles() {
    let _watchdog = Watchdog::arm(WATCHDOG, "join_all and join_any".into());
    let handles: Vec<_> = (0..10).map(|i| isolate::run(move || i)).collect();
    let values: Vec<i32> = isolate::join_all(handles)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(values, (0..10).collect::<Vec<_>>());

    let release = Arc::new(AtomicBool::new(false));
    let spinning = |release: Arc<AtomicBool>| isolate::run(move || spin_until(&release));
    let handles = vec![
        spinning(release.clone()),
        isolate::run(|| "quick"),
        spinning(release.clone()),
    ];
    let ((index, result), rest) = isolate::join_any(handles).unwrap();
    assert_eq!((index, result.unwrap()), (1, "quick"));
    assert_eq!(rest.len(), 2);
    release.store(true, Ordering::Release);
    let ((index, result), rest) = isolate::join_any(rest).unwrap();
    assert!(index < 2);
    assert_eq!(result.unwrap(), "released");
    assert_eq!(isolate::join_all(rest)[0].as_ref().unwrap(), &"released");
    assert!(isolate::join_any(Vec::<isolate::IsolateHandle<()>>::new()).is_none());
}

/// Every outer isolate joins a set of inner ones: the waits count as
/// blocked, and at the pool's cap the last resort runs the inner ones.
fn nested_sets() -> u64 {
    let mut outer = IsolateSet::new();
    for i in 0..8_u64 {
        outer.spawn(i, move || {
            let mut inner = IsolateSet::bounded(2);
            for j in 0..8_u64 {
                inner.spawn(j, move || i * j);
            }
            inner
                .join_all()
                .into_iter()
                .map(|(_, r)| r.unwrap())
                .sum::<u64>()
        });
    }
    outer.join_all().into_iter().map(|(_, r)| r.unwrap()).sum()
}

#[test]
fn sets_joined_inside_isolates_do_not_deadlock() {
    let _watchdog = Watchdog::arm(WATCHDOG, "nested sets".into());
    assert_eq!(nested_sets(), 28 * 28);
}

#[test]
fn sets_joined_inside_isolates_do_not_deadlock_at_a_cap_of_one() {
    run_child("scenario_nested_sets_at_a_cap_of_one", &[]);
}

#[test]
fn scenario_nested_sets_at_a_cap_of_one() {
    if !in_child() {
        return;
    }
    let _watchdog = Watchdog::arm(WATCHDOG, "nested sets at a cap of one".into());
    isolate::PoolBuilder::new()
        .max_threads(1)
        .build_global()
        .unwrap();
    assert_eq!(nested_sets(), 28 * 28);
    // The first-of helper too.
    let (index, result) = isolate::run(|| {
        let ((index, result), _rest) =
            isolate::join_any(vec![isolate::run(|| 1), isolate::run(|| 2)]).unwrap();
        (index, result.unwrap())
    })
    .join()
    .unwrap();
    assert!(index < 2 && result == index + 1);
}

#[test]
fn a_lazy_source_makes_items_only_when_there_is_room() {
    let _watchdog = Watchdog::arm(WATCHDOG, "a lazy source".into());
    const BOUND: usize = 4;
    let counter = DropCounter::new();
    let mut set = IsolateSet::bounded(BOUND);
    let made = counter.clone();
    set.spawn_iter((0..1_000_usize).map(move |i| {
        let tracked = made.track();
        (i, move || {
            let _tracked = tracked;
            i
        })
    }));
    assert_eq!(
        (set.total(), set.len(), set.running()),
        (1_000, 1_000, BOUND)
    );
    assert_eq!(counter.created(), BOUND);
    for taken in 1..=10 {
        set.join_next().unwrap().1.unwrap();
        assert!(counter.created() <= taken + BOUND);
    }
    // Dropped mid-batch: what was made is dropped once; the rest never made.
    drop(set);
    counter.assert_balanced();
    assert!(counter.created() <= 10 + BOUND);
}

#[test]
fn a_source_whose_size_hint_is_wrong_still_counts_right() {
    let _watchdog = Watchdog::arm(WATCHDOG, "size hints".into());
    let mut set = IsolateSet::bounded(3);
    // `filter` hints 0..=100; 50 items come.
    set.spawn_iter((0..100_u32).filter(|i| i % 2 == 0).map(|i| {
        (
            i,
            isolate::Fold(move || if i % 4 == 0 { Ok(i) } else { Err(i) }),
        )
    }));
    set.spawn_iter(std::iter::from_fn({
        let mut n = 0;
        move || {
            n += 1;
            (n <= 5).then(|| (1_000 + n, isolate::Fold(move || Ok(n))))
        }
    }));
    let mut last = None;
    for finished in set.progress() {
        assert!(finished.done <= finished.total);
        last = Some((finished.done, finished.total));
    }
    assert_eq!(last, Some((55, 55)));
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    // cancel_all reaches the items of a source not made yet.
    let mut set = IsolateSet::bounded(1);
    let release = Arc::new(AtomicBool::new(false));
    set.spawn_iter((0..5).map(move |i| {
        let release = release.clone();
        (i, move || spin_until(&release))
    }));
    set.cancel_all();
    assert_eq!(set.join_all().len(), 5);
}

#[test]
fn a_set_is_send_when_its_keys_and_results_are() {
    fn assert_send<S: Send>(_: &S) {}
    let set: IsolateSet<std::path::PathBuf, Vec<u8>, std::io::Error> = IsolateSet::new();
    assert_send(&set);
}

#[test]
fn join_next_timeout_inside_an_isolate_gives_up_in_time() {
    let _watchdog = Watchdog::arm(WATCHDOG, "join_next_timeout inside an isolate".into());
    let outcome = isolate::run(|| {
        let release = Arc::new(AtomicBool::new(false));
        let mut set = IsolateSet::new();
        let flag = release.clone();
        set.spawn((), move || spin_until(&flag));
        let first = set.join_next_timeout(Duration::from_millis(5)).map(|_| ());
        release.store(true, Ordering::Release);
        let second = set
            .join_next_timeout(WATCHDOG)
            .map(|joined| joined.map(|(_, r)| r));
        (first, second)
    })
    .join()
    .unwrap();
    assert_eq!(outcome.0, Err(Elapsed));
    assert_eq!(outcome.1.unwrap().unwrap().unwrap(), "released");
}

/// A `join_next_async()` polled once and dropped (by a timeout or a
/// `select`) does not keep a blocking `join_next` from the result (it hung
/// for good under tokio's `timeout`: a new user's test).
#[test]
fn a_blocking_join_next_after_an_abandoned_async_one_gets_the_result() {
    use futures::FutureExt;
    let _watchdog = Watchdog::arm(
        WATCHDOG,
        "join_next after an abandoned join_next_async".into(),
    );
    let mut set = IsolateSet::new();
    set.spawn(1, || {
        std::thread::sleep(Duration::from_millis(20));
        1
    });
    assert!(set.join_next_async().now_or_never().is_none());
    let (key, result) = set.join_next().unwrap();
    assert_eq!((key, result.unwrap()), (1, 1));
}
