//! A server that parses untrusted input with a parser that can crash: each
//! parse runs in a child process (`#[isolated(process)]`), so an input that
//! overflows the parser's stack, makes it abort or sends it into an endless
//! loop costs one request an error, and the server keeps serving.
//!
//! ```text
//! cargo run --example parse_untrusted
//! ```
//!
//! The server listens on localhost; a client in the same program sends it
//! one document per connection and prints each answer.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use isolate::process::CrashReason;
use isolate::{isolated, IsolateError};
use serde::{Deserialize, Serialize};

/// A parsed document: nested lists of numbers, `[1, [2, 3]]`.
#[derive(Debug, Serialize, Deserialize)]
enum Value {
    Number(i64),
    List(Vec<Value>),
}

#[derive(Debug, Serialize, Deserialize)]
struct ParseError(String);

/// The "third-party" parser: fast, and wrong in ways a thread cannot survive.
/// It recurses without a depth limit (deep nesting overflows its stack), it
/// aborts on a byte it does not expect (as a C library's assertion would),
/// and a `~` sends it into an endless loop.
#[isolated(process, timeout = "1s", memory_limit = "1GiB")]
fn parse(text: String) -> Result<Value, ParseError> {
    fn value(bytes: &[u8], at: &mut usize) -> Result<Value, ParseError> {
        while bytes.get(*at) == Some(&b' ') {
            *at += 1;
        }
        match bytes.get(*at) {
            Some(b'[') => {
                *at += 1;
                let mut items = Vec::new();
                loop {
                    match bytes.get(*at) {
                        Some(b']') => {
                            *at += 1;
                            return Ok(Value::List(items));
                        }
                        Some(b',' | b' ') => *at += 1,
                        Some(_) => items.push(value(bytes, at)?),
                        None => return Err(ParseError("unclosed list".into())),
                    }
                }
            }
            Some(b'0'..=b'9') => {
                let start = *at;
                while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                    *at += 1;
                }
                let digits = std::str::from_utf8(&bytes[start..*at]).unwrap_or("0");
                digits
                    .parse()
                    .map(Value::Number)
                    .map_err(|e| ParseError(format!("bad number {digits}: {e}")))
            }
            Some(b'~') => loop {
                std::hint::spin_loop();
            },
            Some(b'\0'..=b'\x1f') => std::process::abort(),
            Some(other) => Err(ParseError(format!("unexpected {:?}", *other as char))),
            None => Err(ParseError("empty input".into())),
        }
    }
    value(text.as_bytes(), &mut 0)
}

/// Answers one connection: one document in, one line out.
fn handle(stream: TcpStream) -> std::io::Result<()> {
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let answer = match parse_isolated(line.trim_end_matches('\n').to_owned()).join() {
        Ok(value) => format!("ok: {value:?}"),
        Err(IsolateError::Failed {
            error: ParseError(why),
            ..
        }) => format!("rejected: {why}"),
        Err(IsolateError::TimedOut { .. }) => "rejected: the parser ran out of time".to_owned(),
        Err(IsolateError::Crashed(crash)) => match crash.reason() {
            CrashReason::StackOverflow => "rejected: the parser overflowed its stack".to_owned(),
            CrashReason::Signal(_) => format!("rejected: the parser crashed ({})", crash.reason()),
            other => format!("rejected: the parser failed ({other})"),
        },
        Err(other) => format!("error: {other:?}"),
    };
    writeln!(&stream, "{answer}")
}

fn main() -> std::io::Result<()> {
    // The children's stderr (a stack-overflow report, an abort) stays out of
    // the way; each crash still carries its tail.
    let _ = isolate::process::PoolBuilder::new()
        .forward_stderr(false)
        .build_global();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // One thread per connection: slow parses do not hold others up.
            std::thread::spawn(move || handle(stream));
        }
    });
    drop(server);

    let deep = format!("{}1{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let documents = [
        "[1, [2, 3], []]".to_owned(),
        "[1, 2".to_owned(),
        deep,                    // overflows the parser's stack
        "[1, \u{1}]".to_owned(), // makes it abort
        "[~]".to_owned(),        // an endless loop
        "[4, [5, [6]]]".to_owned(),
    ];
    for document in documents {
        let mut stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        writeln!(stream, "{document}")?;
        let mut answer = String::new();
        BufReader::new(&stream).read_line(&mut answer)?;
        let shown: String = document.escape_debug().take(24).collect();
        println!("{shown:<26} -> {}", answer.trim_end());
    }
    let stats = isolate::process::pool_stats();
    println!(
        "served every request: {} parser processes started, {} lost to crashes",
        stats.started, stats.crashed
    );
    Ok(())
}
