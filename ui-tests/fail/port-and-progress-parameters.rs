use isolate::{isolated, Port, Progress};

#[isolated]
fn convert(port: Port<String, String>, progress: Progress<usize>) {
    let (inbox, outbox) = port.into_parts();
    for (i, text) in inbox.iter().enumerate() {
        progress.send(i);
        let _ = outbox.send(text.to_uppercase());
    }
}

fn main() {}
