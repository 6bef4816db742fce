//! Process isolates: `#[isolated(process)]` runs the function in a child
//! process; every way the child can fail is one typed error, the parent
//! survives, the child is reaped, and the pool serves the next call.
//!
//! No test sleeps: waits are joins, or bounded spins on a condition.

mod support;

use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use isolate::process::{CrashReason, Limit, ProtocolError};

/// How long a crash may take to be reported before the test fails instead
/// of hanging (a hang would come back as `TimedOut`, not a crash).
const BOUND: Duration = Duration::from_secs(60);
use isolate::{isolated, IsolateError};
use serde::{Deserialize, Serialize};

#[isolated(process)]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[isolated(process)]
fn parse(text: String) -> Result<u32, String> {
    text.trim().parse().map_err(|e| format!("{e}"))
}

#[isolated(process)]
fn quit(code: i32) {
    std::process::exit(code)
}

#[isolated(process)]
fn abort() {
    std::process::abort()
}

#[isolated(process)]
fn raise_segv() {
    let me = rustix::process::getpid();
    let _ = rustix::process::kill_process(me, rustix::process::Signal::SEGV);
    // The signal is delivered before the call returns; never reached.
    loop {
        std::hint::spin_loop();
    }
}

fn recurse(depth: u64) -> u64 {
    let frame = [depth as u8; 4096];
    if depth == u64::MAX {
        return 0;
    }
    std::hint::black_box(&frame);
    recurse(depth + 1) + u64::from(frame[7])
}

/// A result whose `Deserialize` panics: it runs in the parent, on the pool's
/// side, when the reply is decoded.
#[derive(Debug, Serialize)]
struct PanicsWhenRead;

impl<'de> Deserialize<'de> for PanicsWhenRead {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        panic!("PanicsWhenRead cannot be read")
    }
}

#[isolated(process)]
fn unreadable() -> PanicsWhenRead {
    PanicsWhenRead
}

/// Starts a program that outlives the call (its pid goes to `path`), then
/// aborts.
#[isolated(process)]
fn abort_leaving_a_program_running(path: String) {
    let program = std::process::Command::new("sleep")
        .arg("600")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sleep starts");
    std::fs::write(&path, program.id().to_string()).expect("the pid is written");
    std::process::abort()
}

#[isolated(process)]
fn ends_early() -> u32 {
    isolate::exit()
}

/// What the isolate helpers say in a child: its name, never cancelled.
#[isolated(process)]
fn context_in_child() -> (Option<String>, bool) {
    (
        isolate::current_name().map(|name| name.into_owned()),
        isolate::is_cancelled(),
    )
}

#[isolated(process)]
fn write_through_null() {
    // SAFETY: none: the point is a fault the kernel raises, in a child
    // process that the test expects to die of it.
    #[allow(unsafe_code)]
    unsafe {
        std::ptr::null_mut::<u8>().write_volatile(1)
    }
}

#[isolated(process)]
fn overflow_stack() -> u64 {
    recurse(0)
}

#[isolated(process)]
fn boom(message: String) -> u32 {
    panic!("{message}")
}

#[isolated(process)]
fn spin_forever() {
    loop {
        std::hint::spin_loop();
    }
}

#[isolated(process, timeout = "300ms")]
fn spin_with_timeout() {
    loop {
        std::hint::spin_loop();
    }
}

#[isolated(process, memory_limit = "256MiB")]
fn allocate(bytes: usize) -> usize {
    let block = vec![1_u8; bytes];
    std::hint::black_box(&block).len()
}

#[isolated(process, cpu_limit = "1s")]
fn burn_cpu() -> u64 {
    let mut n = 0_u64;
    loop {
        n = std::hint::black_box(n.wrapping_mul(31).wrapping_add(7));
    }
}

#[isolated(process)]
fn echo(data: Vec<u8>) -> Vec<u8> {
    data.into_iter().rev().collect()
}

#[isolated(process)]
fn pid() -> u32 {
    std::process::id()
}

#[isolated(process)]
fn pid_then_spin(path: String) {
    let _ = std::fs::write(&path, std::process::id().to_string());
    loop {
        std::hint::spin_loop();
    }
}

#[isolated(process)]
fn child_variable_is_gone() -> bool {
    std::env::var_os(isolate::process::CHILD_VAR).is_none()
}

#[isolated(process)]
fn write_file(path: String, text: String) {
    let _ = std::fs::write(path, text);
}

#[isolated(process)]
fn garbage(bytes: Vec<u8>, then_exit: bool) {
    isolate::__private::process::write_raw_to_parent(&bytes);
    if then_exit {
        std::process::exit(0);
    }
}

#[isolated(process)]
fn noisy(text: String) {
    println!("{text}");
    eprintln!("{text}");
    std::process::exit(9);
}

fn crash_of<T: std::fmt::Debug, E: std::fmt::Debug>(
    result: Result<T, IsolateError<E>>,
) -> isolate::process::Crash {
    match result {
        Err(IsolateError::Crashed(crash)) => crash,
        other => panic!("expected a crash, got {other:?}"),
    }
}

/// The child is gone and reaped: no process (not even a zombie) has its pid.
fn assert_reaped(pid: u32) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a child's pid is positive");
    assert!(
        rustix::process::test_kill_process(pid).is_err(),
        "child {pid:?} still exists"
    );
}

/// The pool still serves: a fresh call gives the right answer.
fn pool_serves() {
    assert_eq!(add_isolated(20, 22).join().unwrap(), 42);
}

/// Spins (yielding) until `condition` holds, for at most 30 s.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

fn temp_path(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("isolate-process-{}-{name}", std::process::id()))
        .to_string_lossy()
        .into_owned()
}

#[test]
fn values_and_errors_come_back_typed() {
    assert_eq!(add_isolated(2, 3).join().unwrap(), 5);
    assert_eq!(parse_isolated(" 17 ".into()).join().unwrap(), 17);
    match parse_isolated("x".into()).join() {
        Err(IsolateError::Failed { error: message, .. }) => {
            assert!(message.contains("invalid digit"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_function_runs_in_another_process() {
    let child = pid_isolated().join().unwrap();
    assert_ne!(child, std::process::id());
}

#[test]
fn programs_the_child_starts_do_not_inherit_the_child_variable() {
    assert!(child_variable_is_gone_isolated().join().unwrap());
}

#[test]
fn an_exit_code_is_a_crash_with_the_code() {
    let crash = crash_of(quit_isolated(3).join_timeout(BOUND));
    assert_eq!(crash.reason(), &CrashReason::Exit(3));
    assert_eq!(crash.exit_code(), Some(3));
    assert_reaped(crash.pid());
    pool_serves();
}

#[test]
fn an_abort_is_sigabrt() {
    let crash = crash_of(abort_isolated().join_timeout(BOUND));
    assert_eq!(crash.signal(), Some(6));
    assert!(crash.to_string().contains("SIGABRT"), "{crash}");
    assert_reaped(crash.pid());
    pool_serves();
}

#[test]
fn a_result_whose_deserialize_panics_is_that_panic_and_the_pool_serves_on() {
    // More calls than the pool has children: a driver lost to the panic
    // would leave some of them waiting for ever.
    let children = std::thread::available_parallelism().map_or(2, |n| n.get());
    let calls: Vec<_> = (0..2 * children + 1)
        .map(|_| unreadable_isolated())
        .collect();
    for call in calls {
        let panic = call
            .join_timeout(BOUND)
            .unwrap_err()
            .into_panic()
            .expect("the decoder's panic");
        assert_eq!(panic.message(), Some("PanicsWhenRead cannot be read"));
        assert_eq!(panic.isolate_name(), "unreadable");
        let location = panic.location().expect("recorded by the crate's hook");
        assert!(
            location.file().ends_with("process_isolates.rs"),
            "{location}"
        );
    }
    pool_serves();
}

#[test]
fn a_child_that_dies_is_a_crash_even_while_a_program_it_started_runs_on() {
    let path = std::env::temp_dir()
        .join(format!("isolate-grandchild-{}", std::process::id()))
        .to_string_lossy()
        .into_owned();
    // The program holds none of the protocol's pipes: the parent sees the
    // child die at once, not when the program ends (in 600 s).
    let crash =
        crash_of(abort_leaving_a_program_running_isolated(path.clone()).join_timeout(BOUND));
    assert_eq!(crash.signal(), Some(6), "{crash:?}");
    let program: i32 = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let _ = std::fs::remove_file(&path);
    if let Some(program) = rustix::process::Pid::from_raw(program) {
        let _ = rustix::process::kill_process(program, rustix::process::Signal::KILL);
    }
    pool_serves();
}

#[test]
fn exit_in_a_child_ends_the_call_without_a_result_and_the_child_serves_on() {
    assert!(matches!(
        ends_early_isolated().join_timeout(BOUND),
        Err(IsolateError::EndedWithoutResult { isolate: Some(name) }) if name == "ends_early"
    ));
    pool_serves();
}

#[test]
fn a_child_runs_the_call_as_a_named_isolate() {
    assert_eq!(
        context_in_child_isolated().join_timeout(BOUND).unwrap(),
        (Some("context_in_child".to_owned()), false)
    );
    let named = isolate::process::Builder::new().name("renamed");
    assert_eq!(
        context_in_child_isolated_with(named)
            .join_timeout(BOUND)
            .unwrap()
            .0
            .as_deref(),
        Some("renamed")
    );
}

#[test]
fn a_wild_pointer_is_a_sigsegv_not_a_stack_overflow() {
    let crash = crash_of(write_through_null_isolated().join_timeout(BOUND));
    assert_eq!(crash.reason(), &CrashReason::Signal(11), "{crash:?}");
    assert_reaped(crash.pid());
    pool_serves();
}

#[test]
fn a_segfault_raised_by_the_child_is_sigsegv() {
    let crash = crash_of(raise_segv_isolated().join_timeout(BOUND));
    assert_eq!(crash.signal(), Some(11));
    assert_reaped(crash.pid());
    pool_serves();
}

#[test]
fn a_stack_overflow_is_a_crash() {
    let crash = crash_of(overflow_stack_isolated().join_timeout(BOUND));
    if cfg!(target_os = "linux") {
        // The child's handler told it apart from other segfaults.
        assert_eq!(crash.reason(), &CrashReason::StackOverflow, "{crash:?}");
        assert!(
            crash.to_string().contains("overflowed its stack"),
            "{crash}"
        );
    } else {
        // SIGSEGV or SIGBUS on the guard page.
        assert!(matches!(crash.signal(), Some(11 | 10)), "{crash:?}");
    }
    assert_reaped(crash.pid());
    pool_serves();
}

#[test]
fn a_panic_keeps_its_message_and_location() {
    isolate::print_panics(false);
    let panic = boom_isolated("bad input".into())
        .join()
        .unwrap_err()
        .into_panic()
        .expect("a panic");
    assert_eq!(panic.message(), Some("bad input"));
    assert_eq!(panic.isolate_name(), "boom");
    let location = panic.location().expect("the child's hook records it");
    assert!(
        location.file().ends_with("process_isolates.rs"),
        "{location}"
    );
    // A panic does not kill the child: the same child serves the next call.
    let before = isolate::process::pool_stats().crashed;
    pool_serves();
    assert!(isolate::process::pool_stats().crashed >= before);
}

#[test]
fn a_childs_backtrace_comes_back_as_text_when_rust_backtrace_asks() {
    support::run_child(
        "scenario_child_backtrace",
        &[("RUST_BACKTRACE", "1"), ("EXPECT_BACKTRACE", "1")],
    );
    support::run_child("scenario_child_backtrace", &[]);
}

#[test]
fn scenario_child_backtrace() {
    if !support::in_child() {
        return;
    }
    isolate::print_panics(false);
    let panic = boom_isolated("deep".into())
        .join()
        .unwrap_err()
        .into_panic()
        .expect("a panic");
    let expected = std::env::var_os("EXPECT_BACKTRACE").is_some();
    assert_eq!(panic.backtrace_text().is_some(), expected);
}

#[test]
fn the_attribute_timeout_kills_a_runaway_loop() {
    let started = Instant::now();
    assert!(matches!(
        spin_with_timeout_isolated().join(),
        Err(IsolateError::TimedOut { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(20));
    pool_serves();
}

#[test]
fn the_builder_timeout_kills_a_runaway_loop() {
    let limited = isolate::process::Builder::new().timeout(Duration::from_millis(200));
    assert!(matches!(
        spin_forever_isolated_with(limited).join(),
        Err(IsolateError::TimedOut { .. })
    ));
    pool_serves();
}

#[test]
fn an_expired_join_timeout_kills_the_child() {
    let path = temp_path("join-timeout");
    let handle = pid_then_spin_isolated(path.clone());
    wait_until("the child's pid", || std::fs::metadata(&path).is_ok());
    let err = handle.join_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(err, IsolateError::TimedOut { .. }), "{err:?}");
    let child: u32 = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let _ = std::fs::remove_file(&path);
    wait_until("the child to be reaped", || {
        let pid = rustix::process::Pid::from_raw(child as i32).unwrap();
        rustix::process::test_kill_process(pid).is_err()
    });
    pool_serves();
}

#[test]
fn cancel_and_drop_kill_the_child() {
    for drop_it in [false, true] {
        let path = temp_path(if drop_it { "drop" } else { "cancel" });
        let handle = pid_then_spin_isolated(path.clone());
        wait_until("the child's pid", || {
            std::fs::read_to_string(&path).is_ok_and(|s| !s.is_empty())
        });
        let child: u32 = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let _ = std::fs::remove_file(&path);
        if drop_it {
            drop(handle);
        } else {
            handle.cancel();
            assert!(matches!(
                handle.join().unwrap_err(),
                IsolateError::Cancelled { .. }
            ));
        }
        wait_until("the child to be reaped", || {
            let pid = rustix::process::Pid::from_raw(child as i32).unwrap();
            rustix::process::test_kill_process(pid).is_err()
        });
    }
    pool_serves();
}

#[test]
fn a_detached_call_runs_to_the_end() {
    let path = temp_path("detached");
    write_file_isolated(path.clone(), "done".into()).detach();
    wait_until("the detached call", || {
        std::fs::read_to_string(&path).is_ok_and(|s| s == "done")
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn going_over_the_memory_limit_names_it() {
    assert_eq!(allocate_isolated(1 << 20).join().unwrap(), 1 << 20);
    let crash = crash_of(allocate_isolated(1 << 30).join_timeout(BOUND));
    assert_eq!(crash.limit(), Some(Limit::Memory(256 << 20)), "{crash:?}");
    assert_reaped(crash.pid());
    // The limit was the call's: the next call on a fresh child is unlimited.
    pool_serves();
}

#[test]
fn going_over_the_cpu_limit_names_it() {
    let crash = crash_of(burn_cpu_isolated().join_timeout(BOUND));
    assert_eq!(
        crash.limit(),
        Some(Limit::CpuTime(Duration::from_secs(1))),
        "{crash:?}"
    );
    pool_serves();
}

#[test]
fn garbage_on_the_protocol_is_a_typed_error() {
    // A length over the largest message.
    let crash = crash_of(garbage_isolated(vec![0xff; 8], false).join_timeout(BOUND));
    assert!(
        matches!(
            crash.reason(),
            CrashReason::Protocol(ProtocolError::Oversized { .. })
        ),
        "{crash:?}"
    );
    // A frame whose body is not a reply.
    let crash =
        crash_of(garbage_isolated(vec![3, 0, 0, 0, 0xff, 0xff, 0xff], false).join_timeout(BOUND));
    assert!(
        matches!(
            crash.reason(),
            CrashReason::Protocol(ProtocolError::Garbled(_))
        ),
        "{crash:?}"
    );
    // A frame cut short by a child that exits cleanly.
    let crash = crash_of(garbage_isolated(vec![100, 0, 0, 0, 1, 2, 3], true).join_timeout(BOUND));
    assert!(
        matches!(
            crash.reason(),
            CrashReason::Protocol(ProtocolError::Truncated { .. })
        ),
        "{crash:?}"
    );
    assert_reaped(crash.pid());
    pool_serves();
}

#[test]
fn a_length_that_promises_more_than_comes_is_not_a_hang() {
    // The child announces 1,000 bytes, sends 3, then its real reply and
    // waits for the next call: the frame stalls half-way and is cut off.
    let started = Instant::now();
    let crash = crash_of(garbage_isolated(vec![0xe8, 3, 0, 0, 1, 2, 3], false).join_timeout(BOUND));
    assert!(
        matches!(
            crash.reason(),
            CrashReason::Protocol(ProtocolError::Truncated { .. })
        ),
        "{crash:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_reaped(crash.pid());
    pool_serves();
}

#[test]
fn the_crash_carries_the_tail_of_stderr_and_stdout() {
    let crash = crash_of(noisy_isolated("a line before dying".into()).join_timeout(BOUND));
    assert_eq!(crash.exit_code(), Some(9));
    // stdout is pointed at stderr in the child: both lines are in the tail.
    assert_eq!(
        crash.stderr_tail().matches("a line before dying").count(),
        2,
        "{:?}",
        crash.stderr_tail()
    );
    assert!(crash.to_string().contains("a line before dying"), "{crash}");
}

#[test]
fn a_hundred_megabytes_round_trip() {
    let data: Vec<u8> = (0..100_000_000_u32).map(|i| (i % 251) as u8).collect();
    let expected: Vec<u8> = data.iter().rev().copied().collect();
    let back = echo_isolated(data).join().unwrap();
    assert_eq!(back.len(), expected.len());
    assert!(back == expected);
}

#[test]
fn awaited_on_any_executor() {
    assert_eq!(futures::executor::block_on(add_isolated(1, 2)).unwrap(), 3);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let sum = runtime.block_on(async {
        let (a, b) = tokio::join!(add_isolated(1, 1), add_isolated(2, 2));
        a.unwrap() + b.unwrap()
    });
    assert_eq!(sum, 6);
    assert_eq!(smol::block_on(add_isolated(5, 5)).unwrap(), 10);
}

#[test]
fn many_concurrent_calls() {
    let handles: Vec<_> = (0..300_u32).map(|i| add_isolated(i, 1)).collect();
    for (i, handle) in (0..300_u32).zip(handles) {
        assert_eq!(handle.join().unwrap(), i + 1);
    }
    let stats = isolate::process::pool_stats();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    assert!(stats.children <= cores, "{stats:?}");
}

#[test]
fn ten_thousand_mixed_calls_lose_nothing() {
    const CALLERS: u32 = 4;
    const CALLS: u32 = 2_500;
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            std::thread::spawn(move || {
                let mut sum = 0_u64;
                for i in 0..CALLS {
                    let n = caller * CALLS + i;
                    let value = match (caller % 2, i % 3) {
                        // Blocking callers, some failing calls among them.
                        (0, 0) => match parse_isolated(format!("x{n}")).join() {
                            Err(IsolateError::Failed { .. }) => n,
                            other => panic!("{other:?}"),
                        },
                        (0, _) => add_isolated(n, 0).join().unwrap(),
                        // Async callers.
                        (_, _) => futures::executor::block_on(add_isolated(0, n)).unwrap(),
                    };
                    sum += u64::from(value);
                }
                sum
            })
        })
        .collect();
    let total: u64 = callers.into_iter().map(|c| c.join().unwrap()).sum();
    let n = u64::from(CALLERS * CALLS);
    assert_eq!(total, n * (n - 1) / 2);
}

/// Values alive in this (parent) process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

#[derive(Debug, Serialize)]
struct Counted(u32);

impl Counted {
    fn new(n: u32) -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Counted(n)
    }
}

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u32::deserialize(d).map(Counted::new)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

#[isolated(process)]
fn double(value: Counted) -> Counted {
    Counted(value.0 * 2)
}

#[test]
fn drop_accounting_on_the_parent_side() {
    let handle = double_isolated(Counted::new(21));
    // The argument was serialized and dropped when the call was made.
    let result = handle.join().unwrap();
    assert_eq!(result.0, 42);
    assert_eq!(LIVE.load(Ordering::SeqCst), 1);
    drop(result);
    // A result nobody joins is dropped with its handle.
    let handle = double_isolated(Counted::new(1));
    wait_until("the result", || handle.is_finished());
    drop(handle);
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn crashes_among_concurrent_calls_cost_only_themselves() {
    let callers: Vec<_> = (0..4_u32)
        .map(|caller| {
            std::thread::spawn(move || {
                for i in 0..30_u32 {
                    match i % 3 {
                        0 => {
                            let crash = crash_of(quit_isolated(7).join_timeout(BOUND));
                            assert_eq!(crash.exit_code(), Some(7));
                        }
                        1 if caller % 2 == 0 => {
                            let crash = crash_of(abort_isolated().join_timeout(BOUND));
                            assert_eq!(crash.signal(), Some(6));
                        }
                        _ => assert_eq!(add_isolated(caller, i).join().unwrap(), caller + i),
                    }
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    pool_serves();
}

/// postcard writes no field names: a field serde leaves out on the writing
/// side shifts every value after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SkipsIfNone {
    #[serde(skip_serializing_if = "Option::is_none")]
    a: Option<u8>,
    b: u8,
    v: Vec<u8>,
    w: u8,
}

#[derive(Debug, Serialize, Deserialize)]
struct FlatInner {
    x: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Flattened {
    #[serde(flatten)]
    inner: FlatInner,
    y: u32,
}

/// Skipped unconditionally when written, expected when read.
#[derive(Debug, Serialize, Deserialize)]
struct SkipsAlways {
    #[serde(skip_serializing)]
    a: u8,
    b: u8,
}

#[isolated(process)]
fn echo_skips_if_none(value: SkipsIfNone) -> SkipsIfNone {
    value
}

#[isolated(process)]
fn make_skips_if_none() -> SkipsIfNone {
    SkipsIfNone {
        a: None,
        b: 1,
        v: vec![3, 0],
        w: 9,
    }
}

#[isolated(process)]
fn take_flattened(value: Flattened) -> u32 {
    value.y
}

#[isolated(process)]
fn take_skips_always(value: SkipsAlways) -> u8 {
    value.a.wrapping_add(value.b)
}

fn refused_why(crash: &isolate::process::Crash) -> &str {
    match crash.reason() {
        CrashReason::Refused(why) => why,
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[test]
fn shapes_postcard_would_get_wrong_are_refused_never_delivered_shifted() {
    let sent = SkipsIfNone {
        a: None,
        b: 1,
        v: vec![3, 0],
        w: 9,
    };
    // Seen in the parent, before any child: pid 0.
    let crash = crash_of(echo_skips_if_none_isolated(sent.clone()).join());
    assert_eq!(crash.pid(), 0, "{crash}");
    let why = refused_why(&crash);
    assert!(why.contains("field `a` of `SkipsIfNone`"), "{why}");
    assert!(crash
        .to_string()
        .starts_with("isolate 'echo_skips_if_none' "));
    // Sent whole, it round-trips.
    let whole = SkipsIfNone { a: Some(2), ..sent };
    assert_eq!(
        echo_skips_if_none_isolated(whole.clone()).join().unwrap(),
        whole
    );

    // The same shape as a result is refused in the child.
    let crash = crash_of(make_skips_if_none_isolated().join());
    assert_ne!(crash.pid(), 0);
    let why = refused_why(&crash);
    assert!(why.contains("the result could not be serialized"), "{why}");
    assert!(why.contains("field `a` of `SkipsIfNone`"), "{why}");

    // flatten writes a map of unknown length.
    let flat = Flattened {
        inner: FlatInner { x: 1 },
        y: 2,
    };
    let crash = crash_of(take_flattened_isolated(flat).join());
    assert_eq!(crash.pid(), 0);
    assert!(refused_why(&crash).contains("flatten"), "{crash}");

    // skip_serializing alone is not seen when written; as the last argument
    // its bytes run out in the child, which refuses it.
    let crash = crash_of(take_skips_always_isolated(SkipsAlways { a: 1, b: 2 }).join());
    assert_ne!(crash.pid(), 0);
    assert!(
        refused_why(&crash).starts_with("the arguments did not decode"),
        "{crash}"
    );
    pool_serves();
}

/// Forks without `exec` (as C libraries do for a helper): the copy holds
/// the child's pipes open until `release` exists (at most a minute), then
/// the function spins, or aborts.
#[isolated(process)]
fn fork_holding_the_pipes(release: String, then_abort: bool) {
    let _ = std::fs::write(format!("{release}.started"), "");
    let release = std::ffi::CString::new(release).expect("a path without NUL");
    // SAFETY: after fork the copy calls only async-signal-safe functions
    // (access, usleep, _exit) on memory prepared before it.
    #[allow(unsafe_code)]
    unsafe {
        if libc::fork() == 0 {
            for _ in 0..6000 {
                if libc::access(release.as_ptr(), libc::F_OK) == 0 {
                    break;
                }
                libc::usleep(10_000);
            }
            libc::_exit(0);
        }
    }
    if then_abort {
        std::process::abort();
    }
    loop {
        std::hint::spin_loop();
    }
}

#[test]
fn a_fork_holding_the_pipes_delays_no_timeout_cancel_or_crash() {
    let release = temp_path("fork-release");
    let _ = std::fs::remove_file(&release);
    // Far below the minute the fork holds the pipes.
    let bound = Duration::from_secs(20);

    let start = Instant::now();
    let limited = isolate::process::Builder::new().timeout(Duration::from_millis(500));
    let result = fork_holding_the_pipes_isolated_with(limited, release.clone(), false).join();
    assert!(
        matches!(result, Err(IsolateError::TimedOut { .. })),
        "{result:?}"
    );
    assert!(
        start.elapsed() < bound,
        "timed out after {:?}",
        start.elapsed()
    );

    let start = Instant::now();
    let crash = crash_of(fork_holding_the_pipes_isolated(release.clone(), true).join());
    assert_eq!(crash.signal(), Some(6), "{crash}");
    assert!(
        start.elapsed() < bound,
        "crash seen after {:?}",
        start.elapsed()
    );

    let started = format!("{release}.started");
    let _ = std::fs::remove_file(&started);
    let handle = fork_holding_the_pipes_isolated(release.clone(), false);
    wait_until("the call to start", || {
        std::path::Path::new(&started).exists()
    });
    let start = Instant::now();
    handle.cancel();
    let result = handle.join();
    assert!(
        matches!(result, Err(IsolateError::Cancelled { .. })),
        "{result:?}"
    );
    assert!(
        start.elapsed() < bound,
        "cancelled after {:?}",
        start.elapsed()
    );

    std::fs::write(&release, "").expect("the forks are released");
    let _ = std::fs::remove_file(&started);
    pool_serves();
}
