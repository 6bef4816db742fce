use std::rc::Rc;

use isolate::{isolated, IsolateError, Port, Progress, ProgressHandle, Worker};

// An async function with a progress sender: the future runs on the isolate
// and need not be `Send`.
#[isolated]
async fn download(parts: u8, progress: Progress<u8>) -> usize {
    let received = Rc::new(std::cell::Cell::new(0)); // held across awaits
    for part in 1..=parts {
        std::future::ready(()).await;
        received.set(received.get() + 1);
        progress.send(part);
    }
    received.get()
}

#[isolated]
async fn checked(progress: Progress<()>, text: String) -> Result<u32, std::num::ParseIntError> {
    progress.send(());
    text.parse()
}

// An async worker body over its port.
#[isolated]
async fn doubler(port: Port<u32, u32>) -> u32 {
    let (inbox, outbox) = port.into_parts();
    let mut seen = 0;
    while let Ok(n) = inbox.recv_async().await {
        seen += 1;
        if outbox.send_async(n * 2).await.is_err() {
            break;
        }
    }
    seen
}

#[isolated]
async fn strict(port: Port<String, ()>) -> Result<u8, String> {
    let text = port.recv_async().await.map_err(|_| "no input".to_owned())?;
    text.parse().map_err(|_| format!("not a number: {text}"))
}

fn main() {
    let handle: ProgressHandle<u8, usize> = download_isolated(3);
    assert_eq!(handle.updates().iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(handle.into_handle().join().unwrap(), 3);

    let handle: ProgressHandle<(), u32, std::num::ParseIntError> = checked_isolated("x".to_owned());
    assert!(matches!(handle.into_handle().join().unwrap_err(), IsolateError::Failed { .. }));

    let worker: Worker<u32, u32, u32> = doubler_isolated();
    worker.send(21).unwrap();
    assert_eq!(worker.recv().unwrap(), 42);
    assert_eq!(worker.into_handle().join().unwrap(), 1);

    let worker: Worker<String, (), u8, String> = strict_isolated();
    worker.send("9".to_owned()).unwrap();
    assert_eq!(worker.into_handle().join().unwrap(), 9);
}
