use isolate::isolated;

pub struct Stats;

#[isolated]
impl Stats {
    /// Neither takes `self` nor mentions `Self`: needs the attribute on the impl block.
    #[isolated]
    pub fn mean(values: Vec<f64>) -> f64 {
        values.iter().sum::<f64>() / values.len() as f64
    }

    pub fn not_isolated() -> u8 {
        1
    }
}

pub struct Wrapper<T>(T);

#[isolated]
impl<T: Clone + std::fmt::Debug> Wrapper<T> {
    #[isolated]
    fn show(self) -> String {
        format!("{:?}", self.0)
    }

    #[isolated(name = "twice")]
    fn twice(self, extra: T) -> Vec<T> {
        vec![self.0.clone(), extra]
    }
}

fn main() {
    assert_eq!(Stats::mean_isolated(vec![1.0, 3.0]).join().unwrap(), 2.0);
    assert_eq!(Stats::not_isolated(), 1);
    assert_eq!(Wrapper(5).show_isolated().join().unwrap(), "5");
    let handle = Wrapper(1).twice_isolated(2);
    assert_eq!(handle.name(), "twice");
    assert_eq!(handle.join().unwrap(), [1, 2]);
}
