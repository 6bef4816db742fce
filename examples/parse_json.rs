//! The main demonstration, the scenario of Dart's `Isolate.run`
//! announcement: read and parse a large JSON document on an isolate while
//! the main thread stays free, then see a typed error and a panic arrive
//! folded into the same `Result`.
//!
//! Run it with `cargo run --release --example parse_json`.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use isolate::{isolated, IsolateError};
use serde::Deserialize;

#[derive(Deserialize)]
struct Order {
    id: u64,
    customer: String,
    total_cents: u64,
}

/// What the isolate sends back: small, instead of the whole document.
#[derive(Debug)]
struct Summary {
    orders: usize,
    revenue_cents: u64,
    top_customer: String,
}

/// The function's own error type: it arrives typed, as `IsolateError::Failed`.
#[derive(Debug)]
enum LoadError {
    Read(std::io::Error),
    Parse(serde_json::Error),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read(e) => write!(f, "cannot read the orders file: {e}"),
            LoadError::Parse(e) => write!(f, "the orders file is not valid JSON: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Ordinary code: callable directly, and testable as it is. `#[isolated]`
/// adds `summarize_orders_isolated`, which runs it on an isolate.
#[isolated]
fn summarize_orders(path: PathBuf) -> Result<Summary, LoadError> {
    let text = std::fs::read_to_string(&path).map_err(LoadError::Read)?;
    let orders: Vec<Order> = serde_json::from_str(&text).map_err(LoadError::Parse)?;
    let mut by_customer = std::collections::HashMap::<&str, u64>::new();
    for order in &orders {
        assert!(
            order.id > 0,
            "order ids start at 1, found order {}",
            order.id
        );
        *by_customer.entry(&order.customer).or_default() += order.total_cents;
    }
    let top_customer = by_customer
        .iter()
        .max_by_key(|(_, total)| **total)
        .map(|(name, _)| (*name).to_owned())
        .unwrap_or_default();
    Ok(Summary {
        orders: orders.len(),
        revenue_cents: orders.iter().map(|o| o.total_cents).sum(),
        top_customer,
    })
}

fn write_orders(path: &Path, count: u64, first_id: u64) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(file, "[")?;
    for i in 0..count {
        let separator = if i == 0 { "" } else { "," };
        let customer = ["ada", "grace", "linus", "barbara", "ken"][(i % 5) as usize];
        let total = (i * 7_919) % 100_000;
        write!(
            file,
            "{separator}{{\"id\":{},\"customer\":\"{customer}\",\"total_cents\":{total}}}",
            first_id + i
        )?;
    }
    write!(file, "]")?;
    file.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dir = std::env::temp_dir().join(format!("isolate-parse-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let orders = dir.join("orders.json");
    write_orders(&orders, 1_000_000, 1)?;
    let size_mb = std::fs::metadata(&orders)?.len() as f64 / 1e6;

    // 1. The parse runs on an isolate; the main thread keeps working.
    println!("parsing {size_mb:.1} MB of JSON on an isolate...");
    let start = Instant::now();
    let handle = summarize_orders_isolated(orders.clone());
    let mut ticks = 0;
    while !handle.is_finished() {
        ticks += 1;
        std::thread::sleep(Duration::from_millis(5)); // the main thread's own work
    }
    let summary = handle.join()?;
    println!(
        "  {} orders, {:.2} in revenue, top customer {}; took {:?}, during which the main thread ran {ticks} ticks",
        summary.orders,
        summary.revenue_cents as f64 / 100.0,
        summary.top_customer,
        start.elapsed()
    );

    // 2. The function's own error arrives typed.
    std::fs::write(dir.join("broken.json"), "[{\"id\": 1,")?;
    match summarize_orders_isolated(dir.join("broken.json")).join() {
        Err(IsolateError::Failed {
            error: LoadError::Parse(e),
            ..
        }) => println!(
            "typed error: invalid JSON at line {}, column {}",
            e.line(),
            e.column()
        ),
        other => println!("unexpected: {other:?}"),
    }
    match summarize_orders_isolated(dir.join("missing.json")).join() {
        Err(IsolateError::Failed {
            error: e @ LoadError::Read(_),
            ..
        }) => println!("typed error: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    // 3. A panic inside the isolate arrives as a value, with where it happened.
    write_orders(&dir.join("zero.json"), 3, 0)?;
    match summarize_orders_isolated(dir.join("zero.json")).join() {
        Err(IsolateError::Panicked(panic)) => println!("caught: {panic}"),
        other => println!("unexpected: {other:?}"),
    }

    // 4. The same handle is a future: await it on any executor.
    let summary = futures::executor::block_on(summarize_orders_isolated(orders))?;
    println!("awaited: {} orders", summary.orders);

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
