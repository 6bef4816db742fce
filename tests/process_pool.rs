//! The pool of child processes: warm children are reused, a dead one is
//! replaced, idle ones retire, and no child outlives its parent. A binary of
//! its own, so that its pool configuration (a short keep-alive) is its own.

mod support;

use std::time::{Duration, Instant};

use isolate::isolated;
use support::{child_output, in_child};

#[isolated(process)]
fn pid() -> u32 {
    std::process::id()
}

#[isolated(process)]
fn quit(code: i32) {
    std::process::exit(code)
}

#[isolated(process)]
fn pid_then_spin(path: String) {
    let _ = std::fs::write(&path, std::process::id().to_string());
    loop {
        std::hint::spin_loop();
    }
}

/// Spins (yielding) until `condition` holds, for at most 30 s.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

/// No process runs under `pid` any more (a zombie that init has yet to reap
/// counts as gone: it runs nothing).
fn gone(pid: u32) -> bool {
    let Some(id) = rustix::process::Pid::from_raw(pid as i32) else {
        return true;
    };
    if rustix::process::test_kill_process(id).is_err() {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn warm_children_are_reused_replaced_and_retired() {
    isolate::process::PoolBuilder::new()
        .size(2)
        .keep_alive(Duration::from_millis(300))
        .forward_stderr(false)
        .build_global()
        .expect("the first configuration");

    // Warm: one caller, one call at a time, one child.
    let first = pid_isolated().join().unwrap();
    for _ in 0..20 {
        assert_eq!(pid_isolated().join().unwrap(), first);
    }
    let stats = isolate::process::pool_stats();
    assert_eq!((stats.started, stats.children), (1, 1), "{stats:?}");

    // Replaced: the child that died is reaped, a fresh one serves.
    assert!(quit_isolated(1).join().is_err());
    assert!(gone(first));
    let second = pid_isolated().join().unwrap();
    assert_ne!(second, first);
    let stats = isolate::process::pool_stats();
    assert_eq!((stats.started, stats.crashed), (2, 1), "{stats:?}");
    // Idle children are children: the driver whose child died is not one.
    wait_until("the child that served to wait for a call", || {
        let stats = isolate::process::pool_stats();
        assert!(stats.idle <= stats.children, "{stats:?}");
        stats.idle == 1
    });

    // Retired after the keep-alive, and reaped.
    wait_until("the idle child to retire", || {
        isolate::process::pool_stats().children == 0
    });
    assert!(gone(second));
    let stats = isolate::process::pool_stats();
    assert_eq!((stats.retired, stats.idle), (1, 0), "{stats:?}");

    // And a call after that starts a fresh one.
    let third = pid_isolated().join().unwrap();
    assert!(third != first && third != second);
}

#[test]
fn no_child_outlives_its_parent() {
    let path = std::env::temp_dir()
        .join(format!("isolate-orphan-{}", std::process::id()))
        .to_string_lossy()
        .into_owned();
    let _ = std::fs::remove_file(&path);
    let output = child_output("scenario_parent_exits_mid_call", &[("ORPHAN_PATH", &path)]);
    let child: u32 = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("the scenario did not start its child: {output:?}"))
        .parse()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    wait_until("the orphaned child to die", || gone(child));
}

#[test]
fn scenario_parent_exits_mid_call() {
    if !in_child() {
        return;
    }
    let path = std::env::var("ORPHAN_PATH").unwrap();
    let handle = pid_then_spin_isolated(path.clone());
    wait_until("the child's pid", || {
        std::fs::read_to_string(&path).is_ok_and(|s| !s.is_empty())
    });
    handle.detach();
    // Ends the process at once, with the child still spinning.
    std::process::exit(0);
}

#[test]
fn calls_cancelled_while_queued_are_not_counted_as_queued() {
    let output = child_output("scenario_cancelled_while_queued", &[]);
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn scenario_cancelled_while_queued() {
    if !in_child() {
        return;
    }
    isolate::process::PoolBuilder::new()
        .size(1)
        .build_global()
        .expect("the first configuration");
    let path = std::env::temp_dir()
        .join(format!("isolate-queued-{}", std::process::id()))
        .to_string_lossy()
        .into_owned();
    let _ = std::fs::remove_file(&path);
    // The one child is busy for as long as the test needs.
    let busy = pid_then_spin_isolated(path.clone());
    wait_until("the busy call to start", || {
        std::fs::read_to_string(&path).is_ok_and(|s| !s.is_empty())
    });
    let _ = std::fs::remove_file(&path);
    let kept = pid_isolated();
    drop((pid_isolated(), pid_isolated())); // cancelled while queued
    let stats = isolate::process::pool_stats();
    assert_eq!(stats.queued, 1, "{stats:?}");
    drop(busy); // kills the busy child; the kept call gets a fresh one
    kept.join().unwrap();
    assert_eq!(isolate::process::pool_stats().queued, 0);
}
