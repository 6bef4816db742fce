use isolate::{isolated, IsolateError, IsolateHandle};
use std::{fmt, io};

#[derive(Debug, PartialEq)]
struct ConfigError(String);

#[isolated]
fn plain(text: String) -> Result<u32, ConfigError> {
    text.parse().map_err(|_| ConfigError(text))
}

#[isolated]
fn full_path(flag: bool) -> std::result::Result<u8, String> {
    if flag { Ok(1) } else { Err("no".to_owned()) }
}

#[isolated]
fn io_alias(path: std::path::PathBuf) -> io::Result<Vec<u8>> {
    std::fs::read(path)
}

#[isolated]
fn fmt_alias(text: String) -> fmt::Result {
    if text.is_empty() { Err(fmt::Error) } else { Ok(()) }
}

mod config {
    use super::ConfigError;

    pub type Result<T> = std::result::Result<T, ConfigError>;

    #[isolate::isolated]
    pub fn local_alias(n: u32) -> Result<u32> {
        if n > 0 { Ok(n) } else { Err(ConfigError("zero".to_owned())) }
    }
}

fn main() {
    let handle: IsolateHandle<u32, ConfigError> = plain_isolated("7".to_owned());
    assert_eq!(handle.join().unwrap(), 7);
    assert!(matches!(plain_isolated("x".to_owned()).join(), Err(IsolateError::Failed { error: ConfigError(_), .. })));
    let handle: IsolateHandle<u8, String> = full_path_isolated(false);
    assert_eq!(handle.join().unwrap_err().into_failed().as_deref(), Some("no"));
    let handle: IsolateHandle<Vec<u8>, io::Error> = io_alias_isolated("/no/such/file".into());
    assert!(matches!(handle.join().unwrap_err(), IsolateError::Failed { .. }));
    let handle: IsolateHandle<(), fmt::Error> = fmt_alias_isolated(String::new());
    assert!(handle.join().is_err());
    let handle: IsolateHandle<u32, ConfigError> = config::local_alias_isolated(3);
    assert_eq!(handle.join().unwrap(), 3);
}
