trait Job {
    fn run(self) -> u32;
}

struct Double(u32);

#[isolate::isolated]
impl Job for Double {
    fn run(self) -> u32 {
        self.0 * 2
    }
}

fn main() {}
