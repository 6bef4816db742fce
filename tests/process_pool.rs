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

/// Uses `ms` milliseconds of the child's CPU time (by its own clock, so a
/// busy machine only makes it take longer).
#[isolated(process)]
fn burn_cpu(ms: u64) -> u32 {
    let cpu_ms = || {
        let used = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        used.tv_sec as u64 * 1000 + used.tv_nsec as u64 / 1_000_000
    };
    let start = cpu_ms();
    while cpu_ms() < start + ms {
        std::hint::spin_loop();
    }
    std::process::id()
}

/// Serializes (as a map with a "type" key) but does not deserialize from
/// postcard, which is not self-describing.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type")]
enum InternallyTagged {
    Circle { radius: f64 },
}

#[isolated(process)]
fn tagged(radius: f64) -> InternallyTagged {
    InternallyTagged::Circle { radius }
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

/// Runs `scenario`, a test of this binary, in a process of its own (whose
/// pool configuration is its own), and asserts that it passed.
fn run_scenario(scenario: &str) {
    let output = child_output(scenario, &[]);
    assert!(output.status.success(), "{output:?}");
}

/// In a scenario's own process, configures a pool of one child and returns
/// `true`; run as a test of its own, a scenario does nothing (`false`).
fn in_scenario_with_one_child() -> bool {
    if !in_child() {
        return false;
    }
    isolate::process::PoolBuilder::new()
        .size(1)
        .forward_stderr(false)
        .build_global()
        .expect("the first configuration");
    true
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
    run_scenario("scenario_cancelled_while_queued");
}

#[test]
fn scenario_cancelled_while_queued() {
    if !in_scenario_with_one_child() {
        return;
    }
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

#[test]
fn a_warm_child_gives_each_call_its_whole_cpu_limit() {
    run_scenario("scenario_cpu_limit_on_a_warm_child");
}

#[test]
fn scenario_cpu_limit_on_a_warm_child() {
    if !in_scenario_with_one_child() {
        return;
    }
    // 0.9 s used: the limit of a 1 s call must count from there (it was
    // rounded to the whole second below, which left the call 0.1 s).
    let warm = burn_cpu_isolated(900).join().unwrap();
    let limited = isolate::process::Builder::new().cpu_limit(Duration::from_secs(1));
    let same = burn_cpu_isolated_with(limited, 500).join().unwrap();
    assert_eq!(same, warm, "the call ran on another child");
}

#[test]
fn a_child_that_dies_while_idle_is_reaped_and_no_call_is_blamed() {
    run_scenario("scenario_idle_child_dies");
}

#[test]
fn scenario_idle_child_dies() {
    if !in_scenario_with_one_child() {
        return;
    }
    let first = pid_isolated().join().unwrap();
    let id = rustix::process::Pid::from_raw(first as i32).unwrap();
    rustix::process::kill_process(id, rustix::process::Signal::KILL).unwrap();
    // Reaped by the pool (not a zombie: signal 0 finds no process at all),
    // and no longer counted.
    wait_until("the dead idle child to be reaped", || {
        rustix::process::test_kill_process(id).is_err()
            && isolate::process::pool_stats().children == 0
    });
    let stats = isolate::process::pool_stats();
    assert_eq!((stats.idle, stats.crashed), (0, 1), "{stats:?}");
    // The next call is not charged with that death.
    let second = pid_isolated()
        .join()
        .expect("a fresh child serves the call");
    assert_ne!(second, first);
}

#[test]
fn a_result_postcard_cannot_decode_is_refused_and_its_child_serves_on() {
    run_scenario("scenario_undecodable_result");
}

#[test]
fn scenario_undecodable_result() {
    if !in_scenario_with_one_child() {
        return;
    }
    let child = pid_isolated().join().unwrap();
    let error = tagged_isolated(1.0).join().unwrap_err();
    assert_eq!(error.isolate_name(), Some("tagged"));
    let isolate::IsolateError::Crashed(crash) = error else {
        panic!("expected a crash, got {error:?}");
    };
    let isolate::process::CrashReason::Refused(why) = crash.reason() else {
        panic!("expected Refused, got {crash:?}");
    };
    assert!(
        why.starts_with("the result did not decode in the parent: "),
        "{why}"
    );
    assert_eq!(crash.pid(), child);
    // The child answered: it is not counted as crashed, and serves on.
    assert_eq!(isolate::process::pool_stats().crashed, 0);
    assert_eq!(pid_isolated().join().unwrap(), child);
}

#[test]
fn a_call_sent_to_a_child_that_died_while_idle_goes_to_a_fresh_child() {
    run_scenario("scenario_call_sent_to_a_dead_idle_child");
}

#[test]
fn scenario_call_sent_to_a_dead_idle_child() {
    if !in_scenario_with_one_child() {
        return;
    }
    // Stopped, the idle child cannot die before the call is sent, nor read
    // it; killed at once after, it dies before or after the driver's look
    // (before, the driver starts a fresh child; after, the request waits
    // unread in the pipe of a dead child, which used to be the call's
    // "crash": SIGKILL). Either way the call must be served.
    for round in 0..30 {
        let idle = pid_isolated().join().unwrap();
        let id = rustix::process::Pid::from_raw(idle as i32).unwrap();
        rustix::process::kill_process(id, rustix::process::Signal::STOP).unwrap();
        let call = pid_isolated();
        rustix::process::kill_process(id, rustix::process::Signal::KILL).unwrap();
        let fresh = call
            .join()
            .unwrap_or_else(|e| panic!("round {round}: the call was blamed: {e}"));
        assert_ne!(fresh, idle);
    }
    assert_eq!(isolate::process::pool_stats().crashed, 30);
}

#[isolated(process)]
fn abort() {
    std::process::abort()
}

#[test]
fn with_sigchld_ignored_a_crash_says_its_status_is_lost_not_sigkill() {
    run_scenario("scenario_sigchld_ignored");
}

#[test]
fn scenario_sigchld_ignored() {
    if !in_scenario_with_one_child() {
        return;
    }
    // A program that does not care about its children's exit statuses:
    // the kernel reaps them itself.
    // SAFETY: sets a signal's disposition to SIG_IGN, in this scenario's
    // own process, before any other thread depends on it.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGCHLD, libc::SIG_IGN);
    }
    for result in [abort_isolated().join(), quit_isolated(3).join()] {
        let Err(isolate::IsolateError::Crashed(crash)) = result else {
            panic!("expected a crash, got {result:?}");
        };
        assert_eq!(
            crash.reason(),
            &isolate::process::CrashReason::StatusLost,
            "{crash}"
        );
        assert_eq!(crash.signal(), None);
        assert!(crash.to_string().contains("SIGCHLD is ignored"), "{crash}");
    }
}

#[isolated(process)]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[test]
fn a_deleted_executable_is_named_and_a_restart_asked_for() {
    // A copy of this test binary, which its scenario deletes, as a rebuild
    // replaces a running program's file.
    let copy = std::env::temp_dir().join(format!("isolate-deleted-exe-{}", std::process::id()));
    std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    let output = std::process::Command::new(&copy)
        .args([
            "--exact",
            "scenario_deleted_executable",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ISOLATE_TEST_SCENARIO", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&copy);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "{output:?}"
    );
}

#[test]
fn scenario_deleted_executable() {
    if !in_scenario_with_one_child() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    std::fs::remove_file(&exe).unwrap();
    let error = add_isolated(1, 2).join().unwrap_err();
    let isolate::IsolateError::Spawn { error, .. } = &error else {
        panic!("expected Spawn, got {error:?}");
    };
    let text = error.to_string();
    let name = exe.file_name().unwrap().to_string_lossy();
    assert!(text.contains(&*name), "{text}");
    assert!(text.contains("restart the program"), "{text}");
}
