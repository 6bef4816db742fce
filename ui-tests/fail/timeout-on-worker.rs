// A long-running worker runs until its caller stops it: no time limit.
use isolate::Port;

#[isolate::isolated(timeout = "1s")]
fn echo(port: Port<u8, u8>) {
    for n in &port {
        let _ = port.send(n);
    }
}

fn main() {}
