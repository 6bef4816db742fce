trait Job {
    #[isolate::isolated]
    fn run(self) -> u32;
}

fn main() {}
