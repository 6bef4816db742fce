use isolate::{isolated, Port, Progress};

#[isolated]
fn convert(port: Port<String, String>, progress: Progress<usize>) {
    for (i, text) in port.receiver().iter().enumerate() {
        progress.send(i);
        let _ = port.send(text.to_uppercase());
    }
}

fn main() {}
