//! `compare`: isolate against its peers, each system in its own process, on
//! the scenarios of the performance issue; prints one table per scenario with
//! the ratio of isolate to each peer.
//!
//! ```text
//! cargo run --release -p isolate-bench --bin compare            # everything
//! cargo run --release -p isolate-bench --bin compare -- roundtrip burst
//! cargo run --release -p isolate-bench --bin compare -- --contended  # beside busy neighbours
//! ```
//!
//! `--contended` runs the latency and throughput scenarios (`roundtrip`,
//! `await`, `burst`) beside one CPU-bound neighbour thread per core, and
//! reports for each system the share of their work rate the neighbours
//! keep beside it (over their rate alone, measured before each round).
//!
//! Absolute times on shared machines mean little; the ratios, measured in
//! one run on one machine, are the result. Where the figures sit close to a
//! peer's, the systems run in interleaved rounds and each reports its median
//! round.

mod neighbours;
mod systems;
mod targets;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use neighbours::Neighbours;

use systems::{Scenario, System};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let scenario = Scenario::parse(&args[1]).expect("a scenario name");
        let system = System::parse(&args[2]).expect("a system name");
        let result = systems::run(scenario, system);
        println!("RESULT {result}");
        return;
    }
    let contended = args.iter().any(|a| a == "--contended");
    let args: Vec<&String> = args.iter().filter(|a| *a != "--contended").collect();
    let chosen: Vec<Scenario> = if args.is_empty() && contended {
        Scenario::CONTENDED.to_vec()
    } else if args.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.iter()
            .map(|a| {
                Scenario::parse(a).unwrap_or_else(|| {
                    panic!(
                        "unknown scenario {a:?}; one of {:?}",
                        Scenario::ALL.map(|s| s.name())
                    )
                })
            })
            .collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let neighbours = contended.then_some(cores);
    match neighbours {
        Some(n) => println!(
            "isolate compare: {cores} cores, each system in its own process, beside {n} CPU-bound neighbour threads"
        ),
        None => println!("isolate compare: {cores} cores, each system in its own process"),
    }
    let mut results = Results::default();
    for scenario in chosen {
        report(scenario, &mut results, neighbours);
    }
    if contended {
        targets::print_contended(&results);
    } else {
        targets::print(&results);
    }
}

/// Every measurement of this run, for the targets.
#[derive(Default)]
pub(crate) struct Results(Vec<(Scenario, System, Measured)>);

impl Results {
    pub(crate) fn get(&self, scenario: Scenario, system: System) -> Option<&Measured> {
        self.0
            .iter()
            .find(|(sc, sy, _)| *sc == scenario && *sy == system)
            .map(|(_, _, m)| m)
    }
}

/// Runs every system on `scenario` and prints the table; with
/// `neighbours`, beside that many busy neighbour threads.
fn report(scenario: Scenario, results: &mut Results, neighbours: Option<usize>) {
    println!("\n## {}: {}\n", scenario.name(), scenario.unit());
    // Several rounds, each running every system once, interleaved so that a
    // change in the machine's load hits all systems alike; each system's
    // median round is reported.
    let mut samples: Vec<Vec<Measured>> = vec![Vec::new(); scenario.systems().len()];
    let mut failed = vec![false; scenario.systems().len()];
    // Beside neighbours a system's process lands on a busy or an idle core
    // by chance, and its figure moves by 2-4x with it: five processes each,
    // so that the median is the common case (three left it to a coin toss).
    let rounds = match neighbours {
        Some(_) => scenario.rounds().max(5),
        None => scenario.rounds(),
    };
    for _ in 0..rounds {
        let alone = neighbours.map(|n| Neighbours::alone(n, Duration::from_millis(300)));
        for (i, &system) in scenario.systems().iter().enumerate() {
            if failed[i] {
                continue;
            }
            let beside = neighbours.map(Neighbours::start);
            match run_child(scenario, system, beside.as_ref()) {
                Some(mut measured) => {
                    measured.neighbour_share = measured
                        .neighbour_share
                        .zip(alone)
                        .map(|(rate, alone)| rate / alone);
                    samples[i].push(measured);
                }
                None => failed[i] = true,
            }
        }
    }
    let mut rows: Vec<(System, Option<Measured>)> = Vec::new();
    for (i, &system) in scenario.systems().iter().enumerate() {
        let mut runs = std::mem::take(&mut samples[i]);
        runs.sort_by(|a, b| a.value.total_cmp(&b.value));
        let median = (!failed[i] && !runs.is_empty()).then(|| runs.swap_remove(runs.len() / 2));
        if let Some(m) = &median {
            results.0.push((scenario, system, m.clone()));
        }
        rows.push((system, median));
    }
    let ours = rows
        .iter()
        .find(|(s, _)| *s == System::Isolate)
        .and_then(|(_, m)| m.clone());
    if neighbours.is_some() {
        println!("| system | result | isolate ÷ system | neighbours keep |");
        println!("| --- | --- | --- | --- |");
    } else {
        println!("| system | result | isolate ÷ system |");
        println!("| --- | --- | --- |");
    }
    for (system, measured) in &rows {
        let value = match measured {
            Some(m) => m.shown.clone(),
            None => "deadlock or timeout".to_owned(),
        };
        let ratio = match (&ours, measured) {
            (Some(o), Some(m)) if m.value > 0.0 => format!("{:.2}×", o.value / m.value),
            _ => "—".to_owned(),
        };
        match measured.as_ref().and_then(|m| m.neighbour_share) {
            Some(share) => println!("| {} | {value} | {ratio} | {share:.2} |", system.name()),
            None if neighbours.is_some() => {
                println!("| {} | {value} | {ratio} | — |", system.name())
            }
            None => println!("| {} | {value} | {ratio} |", system.name()),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Measured {
    pub(crate) value: f64,
    pub(crate) shown: String,
    /// Beside neighbours: their work rate while the child measured (rounds
    /// per second), then, once `report` divides it by their rate alone, the
    /// share they kept. The median round is the median of `value`.
    pub(crate) neighbour_share: Option<f64>,
}

/// Runs one system on one scenario in a child process, with a time limit
/// (a deadlocking peer is killed and reported as such). Beside
/// `neighbours`, also their work rate between the child's `START` and
/// `RESULT` lines, the window it measured in.
fn run_child(
    scenario: Scenario,
    system: System,
    neighbours: Option<&Neighbours>,
) -> Option<Measured> {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let mut child = Command::new(exe)
        .args(["--child", scenario.name(), system.name()])
        .envs(scenario.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a child process");
    let stdout = child.stdout.take().expect("the child's piped stdout");
    let counter = neighbours.map(Neighbours::counter);
    let (lines_tx, lines) = mpsc::channel();
    // Each line is stamped as it arrives, with the neighbours' count then.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let count = counter.as_ref().map(|c| c.load(Ordering::Relaxed));
            if lines_tx.send((line, Instant::now(), count)).is_err() {
                break;
            }
        }
    });
    let spawned = Instant::now();
    let deadline = spawned + scenario.time_limit();
    let mut start = None;
    let result = loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((line, at, count)) if line == "START" => start = Some((at, count)),
            Ok((line, at, count)) => {
                if let Some(result) = line.strip_prefix("RESULT ") {
                    break Some((result.to_owned(), at, count));
                }
            }
            // The child ended without a result, or ran out of time.
            Err(_) => break None,
        }
    };
    if result.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let (line, end, end_count) = result?;
    let value: f64 = line.split_whitespace().next()?.parse().ok()?;
    let neighbour_share = match (start, end_count) {
        (Some((start, Some(start_count))), Some(end_count)) => {
            let seconds = end.duration_since(start).as_secs_f64();
            (seconds > 0.0).then(|| (end_count - start_count) as f64 / seconds)
        }
        _ => None,
    };
    Some(Measured {
        value,
        shown: line,
        neighbour_share,
    })
}
