//! The performance issue's targets, checked against this run's figures.

use crate::systems::{Scenario, System};
use crate::Results;

/// Prints each target whose figures this run measured: met or missed.
pub(crate) fn print(results: &Results) {
    use Scenario::*;
    use System::*;
    println!("\n## targets\n");
    let value = |scenario, system| results.get(scenario, system).map(|m| m.value);
    let ratio = |scenario, peer| Some(value(scenario, Isolate)? / value(scenario, peer)?);
    check(
        "round trip ≤ 1.0× rayon::spawn + channel",
        ratio(RoundTrip, RayonSpawn),
        &|r| r <= 1.0,
    );
    check(
        "round trip ≤ 0.2× tokio spawn_blocking",
        ratio(RoundTrip, SpawnBlocking),
        &|r| r <= 0.2,
    );
    check(
        "round trip ≤ 0.2× blocking",
        ratio(RoundTrip, Blocking),
        &|r| r <= 0.2,
    );
    check(
        "#[isolated] round trip ≤ 1.0× rayon::spawn + channel",
        value(RoundTrip, IsolateMacro)
            .zip(value(RoundTrip, RayonSpawn))
            .map(|(a, b)| a / b),
        &|r| r <= 1.0,
    );
    check(
        "await inside tokio ≤ 0.25× spawn_blocking awaited",
        ratio(Await, SpawnBlocking),
        &|r| r <= 0.25,
    );
    check(
        "100k tiny tasks ≥ 1.0× rayon::spawn + channel",
        ratio(Burst, RayonSpawn),
        &|r| r >= 1.0,
    );
    check(
        "100k tiny tasks ≥ 4× tokio spawn_blocking",
        ratio(Burst, SpawnBlocking),
        &|r| r >= 4.0,
    );
    let best_cpu_peer = [ThreadSpawn, SpawnBlocking, Blocking, RayonSpawn, RayonScope]
        .into_iter()
        .filter_map(|peer| value(Cpu, peer))
        .fold(None, |best: Option<f64>, v| {
            Some(best.map_or(v, |b| b.max(v)))
        });
    check(
        "CPU speedup ≥ 0.95× the best peer's",
        value(Cpu, Isolate).zip(best_cpu_peer).map(|(a, b)| a / b),
        &|r| r >= 0.95,
    );
    check(
        "nested fib(22) ≤ 1.0× blocking's time",
        ratio(Nested, Blocking),
        &|r| r <= 1.0,
    );
    let peak = |system| {
        let shown = &results.get(Nested, system)?.shown;
        let (_, rest) = shown.split_once("(peak ")?;
        rest.split_whitespace().next()?.parse::<f64>().ok()
    };
    check(
        "nested fib(22) with fewer peak threads than blocking (ratio of peaks)",
        peak(Isolate).zip(peak(Blocking)).map(|(a, b)| a / b),
        &|r| r < 1.0,
    );
    check(
        "queued isolates ≤ 700 bytes of RSS each",
        value(Memory, Isolate),
        &|b| b <= 700.0,
    );
    check(
        "idle second after a burst < 1% of a core",
        value(Idle, Isolate),
        &|p| p < 1.0,
    );
}

/// Prints the contended mode's targets: met or missed.
pub(crate) fn print_contended(results: &Results) {
    use Scenario::*;
    use System::*;
    println!("\n## targets, beside busy neighbours\n");
    let value = |scenario, system| results.get(scenario, system).map(|m| m.value);
    let share = |scenario, system| results.get(scenario, system)?.neighbour_share;
    let ratio = |scenario, peer| Some(value(scenario, Isolate)? / value(scenario, peer)?);
    check(
        "round trip ≤ 0.2× tokio spawn_blocking (Handle::block_on)",
        ratio(RoundTrip, SpawnBlocking),
        &|r| r <= 0.2,
    );
    let best_other = [ThreadSpawn, Blocking, RayonSpawn]
        .into_iter()
        .filter_map(|peer| value(RoundTrip, peer))
        .reduce(f64::min);
    check(
        "round trip ≤ 0.5× the best other peer (std::thread, blocking, rayon::spawn)",
        value(RoundTrip, Isolate)
            .zip(best_other)
            .map(|(a, b)| a / b),
        &|r| r <= 0.5,
    );
    check(
        "awaited round trip ≤ 0.25× tokio spawn_blocking awaited",
        ratio(Await, SpawnBlocking),
        &|r| r <= 0.25,
    );
    check(
        "100k tiny tasks ≥ 1.0× rayon::spawn + channel",
        ratio(Burst, RayonSpawn),
        &|r| r >= 1.0,
    );
    check(
        "100k tiny tasks ≥ 4× tokio spawn_blocking",
        ratio(Burst, SpawnBlocking),
        &|r| r >= 4.0,
    );
    for (scenario, what) in [(RoundTrip, "round trip"), (Burst, "100k tiny tasks")] {
        check(
            &format!(
                "{what}: neighbours keep ≥ what they keep beside rayon (isolate's share ÷ rayon's)"
            ),
            share(scenario, Isolate)
                .zip(share(scenario, RayonSpawn))
                .map(|(a, b)| a / b),
            &|r| r >= 1.0,
        );
    }
}

/// Prints whether a target was met, when this run measured its figure.
fn check(what: &str, measured: Option<f64>, met: &dyn Fn(f64) -> bool) {
    if let Some(measured) = measured {
        let verdict = if met(measured) { "met" } else { "MISSED" };
        println!("- {verdict}: {what} (measured {measured:.2})");
    }
}
