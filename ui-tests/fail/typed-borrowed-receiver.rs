use std::pin::Pin;

struct Counter(u32);

impl Counter {
    #[isolate::isolated]
    fn bump(self: Pin<&mut Self>) -> u32 {
        self.0 + 1
    }
}

fn main() {}
