//! Batches (`IsolateSet::spawn_iter`) in bounded sets: every way of taking
//! results × every place it is called from × small
//! bounds, each item once; what an item sees (its panic, `exit()`, error,
//! name, the bound); a panic of the batch's iterator; `cancel_all` and drop
//! mid-batch; a pool capped at one thread.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use isolate::{Fold, IsolateError, IsolateSet};
use support::{in_child, run_child, tokio_runtime, DropCounter, Watchdog, WATCHDOG};

const ITEMS: u64 = 300;
const BOUNDS: [usize; 4] = [1, 2, 3, 16];

#[derive(Clone, Copy, Debug)]
enum Way {
    JoinNext,
    JoinNextTimeout,
    JoinAll,
    Progress,
    JoinNextAsync,
    Stream,
}

const WAYS: [Way; 6] = [
    Way::JoinNext,
    Way::JoinNextTimeout,
    Way::JoinAll,
    Way::Progress,
    Way::JoinNextAsync,
    Way::Stream,
];

/// Takes every result of `set` in `way`: (key, value) pairs.
fn drain(mut set: IsolateSet<u64, u64>, way: Way) -> Vec<(u64, u64)> {
    match way {
        Way::JoinNext => std::iter::from_fn(|| set.join_next())
            .map(|(k, r)| (k, r.unwrap()))
            .collect(),
        Way::JoinNextTimeout => {
            let mut out = Vec::new();
            loop {
                match set.join_next_timeout(Duration::from_millis(1)) {
                    Ok(Some((k, r))) => out.push((k, r.unwrap())),
                    Ok(None) => return out,
                    Err(isolate::Elapsed) => {}
                }
            }
        }
        Way::JoinAll => set
            .join_all()
            .into_iter()
            .map(|(k, r)| (k, r.unwrap()))
            .collect(),
        Way::Progress => set
            .progress()
            .into_iter()
            .map(|finished| {
                assert!(finished.done <= finished.total);
                (finished.key, finished.result.unwrap())
            })
            .collect(),
        Way::JoinNextAsync => futures::executor::block_on(async {
            let mut out = Vec::new();
            while let Some((k, r)) = set.join_next_async().await {
                out.push((k, r.unwrap()));
            }
            out
        }),
        Way::Stream => tokio_runtime()
            .block_on(async move { set.map(|(k, r)| (k, r.unwrap())).collect::<Vec<_>>().await }),
    }
}

/// A batch of `ITEMS` items under `bound`, drained in `way`: each key once
/// with its value, and every item made is dropped once.
fn batch_each_item_once(bound: usize, way: Way) {
    let counter = DropCounter::new();
    let made = counter.clone();
    let mut set = IsolateSet::bounded(bound);
    set.spawn_iter((0..ITEMS).map(move |i| {
        let tracked = made.track();
        (i, move || {
            let _tracked = tracked;
            i * 2
        })
    }));
    let results = drain(set, way);
    assert_eq!(results.len() as u64, ITEMS, "{way:?} under {bound}");
    let keys: BTreeSet<u64> = results.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys.len() as u64,
        ITEMS,
        "{way:?} under {bound}: a key twice"
    );
    assert!(results.iter().all(|(k, v)| *v == k * 2));
    counter.assert_balanced();
    assert_eq!(counter.created() as u64, ITEMS);
}

fn every_way_under_every_bound() {
    for bound in BOUNDS {
        for way in WAYS {
            batch_each_item_once(bound, way);
        }
    }
}

#[test]
fn each_item_comes_once_whatever_the_way_and_the_bound() {
    let _watchdog = Watchdog::arm(WATCHDOG, "batches from the main thread".into());
    every_way_under_every_bound();
}

#[test]
fn each_item_comes_once_when_the_set_is_drained_inside_an_isolate() {
    let _watchdog = Watchdog::arm(WATCHDOG, "batches inside an isolate".into());
    isolate::run(every_way_under_every_bound).join().unwrap();
}

#[test]
fn each_item_comes_once_at_a_cap_of_one_and_two() {
    for cap in ["1", "2"] {
        run_child("scenario_batches_at_a_small_cap", &[("BATCH_CAP", cap)]);
    }
}

#[test]
fn scenario_batches_at_a_small_cap() {
    if !in_child() {
        return;
    }
    let _watchdog = Watchdog::arm(WATCHDOG * 2, "batches at a small cap".into());
    let cap = support::env_u64("BATCH_CAP", 1) as usize;
    isolate::PoolBuilder::new()
        .max_threads(cap)
        .build_global()
        .unwrap();
    every_way_under_every_bound();
    // From inside an isolate, which holds one of the few threads.
    isolate::run(every_way_under_every_bound).join().unwrap();
}

#[test]
fn a_batch_never_runs_more_items_at_once_than_its_bound() {
    let _watchdog = Watchdog::arm(WATCHDOG, "the bound".into());
    for bound in BOUNDS {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut set = IsolateSet::bounded(bound);
        let (n, m) = (Arc::clone(&now), Arc::clone(&most));
        set.spawn_iter((0..200_u64).map(move |i| {
            let (now, most) = (Arc::clone(&n), Arc::clone(&m));
            (i, move || {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(running, Ordering::SeqCst);
                std::thread::yield_now();
                now.fetch_sub(1, Ordering::SeqCst);
                i
            })
        }));
        // A slow caller too: a result not taken yet counts against the bound.
        let mut taken = 0;
        while let Some((_, result)) = set.join_next() {
            result.unwrap();
            taken += 1;
            if taken % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        assert_eq!(taken, 200);
        assert!(most.load(Ordering::SeqCst) <= bound, "bound {bound}");
    }
}

#[test]
fn an_item_panics_fails_and_exits_on_its_own_under_the_sets_name() {
    let _watchdog = Watchdog::arm(WATCHDOG, "items' own outcomes".into());
    isolate::print_panics(false);
    let mut set = IsolateSet::bounded(2).options(isolate::Builder::new().name("batch"));
    set.spawn_iter((0..40_u64).map(|i| {
        (
            i,
            Fold(move || -> Result<u64, String> {
                match i % 4 {
                    0 => panic!("item {i} panicked"),
                    1 => Err(format!("item {i} failed")),
                    2 => isolate::exit(),
                    _ => {
                        assert_eq!(isolate::current_name().as_deref(), Some("batch"));
                        Ok(i)
                    }
                }
            }),
        )
    }));
    let mut seen = 0;
    for (i, result) in set.join_all() {
        seen += 1;
        match (i % 4, result) {
            (0, Err(IsolateError::Panicked(panic))) => {
                assert_eq!(panic.message(), Some(format!("item {i} panicked").as_str()));
                assert_eq!(panic.location().map(|l| l.file()), Some(file!()));
                assert_eq!(panic.isolate_name(), "batch");
            }
            (1, Err(error @ IsolateError::Failed { .. })) => {
                assert_eq!(error.isolate_name(), Some("batch"));
                assert!(error.to_string().contains(&format!("item {i} failed")));
            }
            (2, Err(error)) => assert!(
                matches!(error, IsolateError::EndedWithoutResult { .. }),
                "{error:?}"
            ),
            (3, Ok(value)) => assert_eq!(value, i),
            (_, other) => panic!("item {i}: {other:?}"),
        }
    }
    assert_eq!(seen, 40);
}

#[test]
fn a_panic_of_the_batchs_iterator_reaches_the_caller() {
    let _watchdog = Watchdog::arm(WATCHDOG, "the iterator's panic".into());
    isolate::print_panics(false);
    let mut set = IsolateSet::bounded(2);
    set.spawn_iter((0..10_u64).map(|i| {
        assert!(i != 5, "no item 5");
        (i, move || i)
    }));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        while set.join_next().is_some() {}
    }))
    .unwrap_err();
    assert_eq!(caught.downcast_ref::<&str>(), Some(&"no item 5"));
}

#[test]
fn cancel_all_mid_batch_reports_every_item_once() {
    let _watchdog = Watchdog::arm(WATCHDOG, "cancel_all mid-batch".into());
    let counter = DropCounter::new();
    let made = counter.clone();
    let mut set = IsolateSet::bounded(3);
    set.spawn_iter((0..1_000_u64).map(move |i| {
        let tracked = made.track();
        (i, move || {
            let _tracked = tracked;
            if i >= 5 {
                while !isolate::is_cancelled() {
                    std::thread::yield_now();
                }
            }
            i
        })
    }));
    let mut keys = BTreeSet::new();
    let mut ok = 0;
    while ok < 5 {
        let (key, result) = set.join_next().unwrap();
        assert!(keys.insert(key));
        ok += usize::from(result.is_ok());
    }
    set.cancel_all();
    for (key, result) in set.join_all() {
        assert!(keys.insert(key), "key {key} twice");
        // Cancelled before it started, or it saw `is_cancelled` and returned.
        assert!(result.is_ok() || matches!(result.unwrap_err(), IsolateError::Cancelled { .. }));
    }
    assert_eq!(keys.len(), 1_000);
    counter.assert_balanced();
}

#[test]
fn a_set_dropped_mid_batch_drops_every_item_once_and_makes_no_more() {
    let _watchdog = Watchdog::arm(WATCHDOG, "drop mid-batch".into());
    let counter = DropCounter::new();
    let made = counter.clone();
    let mut set = IsolateSet::bounded(4);
    set.spawn_iter((0..100_000_u64).map(move |i| {
        let tracked = made.track();
        (i, move || {
            let _tracked = tracked;
            i
        })
    }));
    for _ in 0..10 {
        set.join_next().unwrap().1.unwrap();
    }
    drop(set);
    // The started items see the set gone (cancelled) and end.
    let deadline = std::time::Instant::now() + WATCHDOG;
    while counter.created() != counter.dropped() && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    counter.assert_balanced();
    assert!(counter.created() < 100_000);
}
