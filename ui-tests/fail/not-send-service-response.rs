use isolate::Service;
use std::cell::RefCell;
use std::sync::Arc;

fn main() {
    // The reply crosses back to the caller's thread: `RefCell` inside an
    // `Arc` is not `Send`.
    let cache = Service::spawn(|| (), |_: &mut (), key: String| Arc::new(RefCell::new(key)));
    drop(cache);
}
