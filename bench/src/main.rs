//! `compare`: isolate against its peers, each system in its own process, on
//! the scenarios of the performance issue; prints one table per scenario with
//! the ratio of isolate to each peer.
//!
//! ```text
//! cargo run --release -p isolate-bench --bin compare            # everything
//! cargo run --release -p isolate-bench --bin compare -- roundtrip burst
//! ```
//!
//! Absolute times on shared machines mean little; the ratios, measured in
//! one run on one machine, are the result. Where the figures sit close to a
//! peer's, the systems run in interleaved rounds and each reports its median
//! round.

mod systems;
mod targets;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let chosen: Vec<Scenario> = if args.is_empty() {
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
    println!("isolate compare: {cores} cores, each system in its own process");
    let mut results = Results::default();
    for scenario in chosen {
        report(scenario, &mut results);
    }
    targets::print(&results);
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

/// Runs every system on `scenario` and prints the table.
fn report(scenario: Scenario, results: &mut Results) {
    println!("\n## {}: {}\n", scenario.name(), scenario.unit());
    // Several rounds, each running every system once, interleaved so that a
    // change in the machine's load hits all systems alike; each system's
    // median round is reported.
    let mut samples: Vec<Vec<Measured>> = vec![Vec::new(); scenario.systems().len()];
    let mut failed = vec![false; scenario.systems().len()];
    for _ in 0..scenario.rounds() {
        for (i, &system) in scenario.systems().iter().enumerate() {
            if failed[i] {
                continue;
            }
            match run_child(scenario, system) {
                Some(measured) => samples[i].push(measured),
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
    println!("| system | result | isolate ÷ system |");
    println!("| --- | --- | --- |");
    for (system, measured) in &rows {
        let value = match measured {
            Some(m) => m.shown.clone(),
            None => "deadlock or timeout".to_owned(),
        };
        let ratio = match (&ours, measured) {
            (Some(o), Some(m)) if m.value > 0.0 => format!("{:.2}×", o.value / m.value),
            _ => "—".to_owned(),
        };
        println!("| {} | {value} | {ratio} |", system.name());
    }
}

#[derive(Clone)]
pub(crate) struct Measured {
    pub(crate) value: f64,
    pub(crate) shown: String,
}

/// Runs one system on one scenario in a child process, with a time limit
/// (a deadlocking peer is killed and reported as such).
fn run_child(scenario: Scenario, system: System) -> Option<Measured> {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let mut child = Command::new(exe)
        .args(["--child", scenario.name(), system.name()])
        .envs(scenario.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a child process");
    let start = Instant::now();
    loop {
        match child.try_wait().expect("wait for the child") {
            Some(_) => break,
            None if start.elapsed() > scenario.time_limit() => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let output = child.wait_with_output().expect("child output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("RESULT "))?;
    let value: f64 = line.split_whitespace().next()?.parse().ok()?;
    Some(Measured {
        value,
        shown: line.to_owned(),
    })
}
