use isolate::{isolated, IsolateError, Progress, ProgressHandle};

#[isolated]
fn count_lines(text: String, progress: Progress<usize>) -> usize {
    let mut lines = 0;
    for _ in text.lines() {
        lines += 1;
        progress.send(lines);
    }
    lines
}

// Anywhere among the parameters, under any path, with a folded `Result`.
#[isolated]
fn parse_all(progress: isolate::Progress<f32>, items: Vec<String>) -> Result<Vec<u32>, std::num::ParseIntError> {
    let total = items.len() as f32;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            progress.send((i + 1) as f32 / total);
            item.parse()
        })
        .collect()
}

struct Indexer {
    root: String,
}

impl Indexer {
    #[isolated]
    fn index(self, depth: u8, progress: Progress<String>) -> usize {
        progress.send(format!("{} at depth {depth}", self.root));
        self.root.len()
    }
}

#[isolated]
fn generic<T: Clone + Send + 'static>(item: T, progress: Progress<T>) -> T {
    progress.send(item.clone());
    item
}

fn main() {
    let handle: ProgressHandle<usize, usize> = count_lines_isolated("a\nb".to_owned());
    assert_eq!(handle.updates().iter().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(handle.into_handle().join().unwrap(), 2);

    let handle: ProgressHandle<f32, Vec<u32>, std::num::ParseIntError> =
        parse_all_isolated(vec!["1".to_owned(), "x".to_owned()]);
    assert!(matches!(handle.into_handle().join().unwrap_err(), IsolateError::Failed { .. }));

    let handle = Indexer { root: "src".to_owned() }.index_isolated(2);
    assert_eq!(handle.recv().ok().as_deref(), Some("src at depth 2"));
    assert_eq!(handle.into_handle().join().unwrap(), 3);

    assert_eq!(generic_isolated(5_u8).into_handle().join().unwrap(), 5);
}
