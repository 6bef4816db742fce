use isolate::{isolated, IsolateError};
use std::rc::Rc;

#[isolated]
async fn add(a: u32, b: u32) -> u32 {
    // Not Send, held across an await: fine, the future never leaves the isolate.
    let local = Rc::new(a);
    std::future::ready(()).await;
    *local + b
}

#[isolated]
async fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

fn main() {
    assert_eq!(add_isolated(1, 2).join().unwrap(), 3);
    assert!(matches!(
        parse_isolated("x".to_owned()).join().unwrap_err(),
        IsolateError::Failed { .. }
    ));
    // The handle is a future too; the integration tests await it on real executors.
    assert_eq!(block_on(parse_isolated("5".to_owned())).unwrap(), 5);
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return output;
        }
        std::thread::park();
    }
}
