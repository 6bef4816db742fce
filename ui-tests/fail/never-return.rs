#[isolate::isolated]
fn serve_forever(port: u16) -> ! {
    loop {
        let _ = port;
    }
}

fn main() {}
