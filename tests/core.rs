use isolate::{isolated, IsolateError};

#[isolated]
fn checksum(data: Vec<u8>) -> u64 {
    data.iter().map(|&b| u64::from(b)).sum()
}

#[isolated]
fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[isolated]
fn read(path: std::path::PathBuf) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

#[isolated]
async fn double(x: u32) -> u32 {
    x * 2
}

#[test]
fn smoke() {
    assert_eq!(checksum_isolated(vec![1, 2, 3]).join().unwrap(), 6);
    assert_eq!(parse_isolated("12".into()).join().unwrap(), 12);
    assert!(matches!(
        parse_isolated("x".into()).join(),
        Err(IsolateError::Failed(_))
    ));
    let err = read_isolated("/nonexistent".into()).join().unwrap_err();
    let io: std::io::Error = err.into_failed().unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(double_isolated(21).join().unwrap(), 42);
    assert_eq!(futures::executor::block_on(double_isolated(2)).unwrap(), 4);
    for i in 0..10000u64 {
        assert_eq!(isolate::run(move || i + 1).join().unwrap(), i + 1);
    }
}
