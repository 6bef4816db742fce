trait Job {
    fn run(self) -> u32;
}

struct Double(u32);

impl Job for Double {
    #[isolate::isolated]
    fn run(self) -> u32 {
        self.0 * 2
    }
}

fn main() {}
