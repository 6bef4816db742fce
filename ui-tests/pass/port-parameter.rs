use isolate::{isolated, IsolateError, Port, Worker};

/// A worker function: it owns its loop; the sibling starts it on a thread of
/// its own and returns the caller's side of its port.
#[isolated(name = "totals")]
fn keep_total(start: u64, port: Port<u64, u64>) -> u64 {
    let mut total = start;
    for n in &port {
        total += n;
        if port.send(total).is_err() {
            break;
        }
    }
    total
}

// A folded `Result`, and the port anywhere among the parameters.
#[isolated(stack_size = 4 << 20)]
fn parse_lines(port: isolate::Port<String, i64>, strict: bool) -> Result<usize, String> {
    let mut parsed = 0;
    for line in &port {
        match line.trim().parse() {
            Ok(n) => {
                parsed += 1;
                let _ = port.send(n);
            }
            Err(_) if strict => return Err(format!("not a number: {line:?}")),
            Err(_) => {}
        }
    }
    Ok(parsed)
}

#[isolated]
fn echo<T: Clone + Send + 'static>(port: Port<T, T>) {
    let (inbox, outbox) = port.into_parts();
    inbox.iter().try_for_each(|m| outbox.send(m)).ok();
}

fn main() {
    let worker: Worker<u64, u64, u64> = keep_total_isolated(10);
    assert_eq!(worker.name(), "totals");
    worker.send(5).unwrap();
    assert_eq!(worker.recv().unwrap(), 15);
    assert_eq!(worker.into_handle().join().unwrap(), 15);

    let worker: Worker<String, i64, usize, String> = parse_lines_isolated(true);
    worker.send("12".to_owned()).unwrap();
    assert_eq!(worker.recv().unwrap(), 12);
    worker.send("x".to_owned()).unwrap();
    assert!(matches!(worker.into_handle().join().unwrap_err(), IsolateError::Failed { .. }));

    let worker = echo_isolated::<&'static str>();
    worker.send("hi").unwrap();
    assert_eq!(worker.recv().unwrap(), "hi");
}
