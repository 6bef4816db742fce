//! A long-running service answering requests from many callers.
//!
//! A spell checker's dictionary is costly to build, so it is built once per
//! worker, on the worker's thread, and then serves every request. Several
//! client threads and an async task share the service; each gets its own
//! reply. A request that makes the handler panic is reported to its caller
//! and to the error listener while the workers go on; a ping is the liveness
//! probe; dropping the last handle lets the workers finish and exit.
//!
//! `cargo run --release --example spellcheck_service`

use std::collections::HashSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use isolate::{Exit, IsolateError};

/// The words the dictionary knows, and a "costly" build step.
fn build_dictionary() -> HashSet<String> {
    let started = Instant::now();
    let words = "the quick brown fox jumps over lazy dog isolate thread worker request \
                 reply service message channel port progress pause resume ping kill"
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    println!(
        "  [{}] dictionary built in {:?}",
        isolate::current_name().unwrap_or_default(),
        started.elapsed()
    );
    words
}

/// `None` for a known word, or the known words one edit away.
fn check(dictionary: &mut HashSet<String>, word: String) -> Result<Option<Vec<String>>, String> {
    if word.is_empty() {
        return Err("an empty word cannot be checked".to_owned());
    }
    assert!(
        word.len() < 40,
        "a {}-letter word is not a word",
        word.len()
    );
    if dictionary.contains(&word) {
        return Ok(None);
    }
    let mut suggestions: Vec<String> = dictionary
        .iter()
        .filter(|known| one_edit_apart(known, &word))
        .cloned()
        .collect();
    suggestions.sort();
    Ok(Some(suggestions))
}

fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    match a.len() as isize - b.len() as isize {
        0 => a.iter().zip(&b).filter(|(x, y)| x != y).count() == 1,
        1 | -1 => {
            let (long, short) = if a.len() > b.len() {
                (&a, &b)
            } else {
                (&b, &a)
            };
            (0..long.len()).any(|skip| {
                long.iter()
                    .enumerate()
                    .filter(|&(i, _)| i != skip)
                    .map(|(_, c)| c)
                    .eq(short.iter())
            })
        }
        _ => false,
    }
}

fn main() {
    isolate::print_panics(false);
    let spellcheck = isolate::Builder::new()
        .name("spellcheck")
        .service()
        .threads(2)
        .errors_are_fatal(false)
        .spawn(build_dictionary, isolate::Fold(check));

    let (exited_tx, exited) = mpsc::channel();
    spellcheck.on_exit(move |exit| exited_tx.send(exit).unwrap());
    spellcheck.on_error(|error: &IsolateError<String>| match error {
        IsolateError::Panicked(panic) => println!("  [listener] a request panicked: {panic}"),
        other => println!("  [listener] a request failed: {other}"),
    });

    println!("three client threads share the service:");
    let clients: Vec<_> = [
        ["quik", "quick", "foxx"],
        ["lazzy", "dog", ""],
        ["ping", "servise", "porg"],
    ]
    .into_iter()
    .enumerate()
    .map(|(client, words)| {
        let spellcheck = spellcheck.clone();
        std::thread::spawn(move || {
            for word in words {
                let reply = spellcheck.request(word.to_owned()).join();
                match reply {
                    Ok(None) => println!("  client {client}: {word:?} is spelled right"),
                    Ok(Some(suggestions)) => {
                        println!("  client {client}: {word:?} unknown, suggestions {suggestions:?}")
                    }
                    Err(IsolateError::Failed { error: reason, .. }) => {
                        println!("  client {client}: {word:?} refused: {reason}")
                    }
                    Err(other) => println!("  client {client}: {word:?} failed: {other}"),
                }
            }
        })
    })
    .collect();
    for client in clients {
        client.join().expect("a client thread panicked");
    }

    println!("a request that panics in the handler; the workers go on:");
    let long_word = "a".repeat(50);
    match spellcheck.request(long_word).join() {
        Err(IsolateError::Panicked(panic)) => println!("  caller got: {panic}"),
        other => println!("  unexpected: {other:?}"),
    }

    println!("an async caller, on any executor:");
    let reply = futures::executor::block_on(spellcheck.request_async("worker".to_owned()));
    println!("  \"worker\" -> {reply:?}");

    println!("liveness probe:");
    let started = Instant::now();
    match spellcheck.ping().join_timeout(Duration::from_secs(1)) {
        Ok(()) => println!("  both workers answered in {:?}", started.elapsed()),
        Err(error) => println!("  no answer: {error}"),
    }

    println!("dropping the last handle: the workers finish and exit");
    drop(spellcheck);
    let exit = exited
        .recv_timeout(Duration::from_secs(10))
        .expect("the workers did not exit");
    println!("  exit listener: {exit:?}");
    assert_eq!(exit, Exit::Completed);
}
