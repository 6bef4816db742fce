//! A batch: hash every file of a directory tree, one isolate per file, with
//! a bounded `IsolateSet`, a time limit for each file counted from when its
//! isolate starts, and one progress bar for the whole batch.
//!
//! ```text
//! cargo run -p isolate-examples --example batch_hash                 # this repository
//! cargo run -p isolate-examples --example batch_hash -- /usr/share 50 # a tree, 50 ms a file
//! ```
//!
//! Hidden directories and `target/` are skipped. A file that takes longer
//! than its limit is reported as timed out; the others are unaffected,
//! however long they waited for a thread.

use std::hash::Hasher;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use isolate::{Builder, IsolateError, IsolateSet};

/// FNV-1a over the file's bytes, read in chunks; gives up early when the
/// isolate is cancelled (its time limit passed).
fn hash_file(path: &Path) -> io::Result<(u64, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Fnv1a::default();
    let mut buffer = vec![0; 64 * 1024];
    let mut size = 0_u64;
    loop {
        if isolate::is_cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok((hasher.finish(), size));
        }
        hasher.write(&buffer[..read]);
        size += read as u64;
    }
}

/// The 64-bit FNV-1a hash: simple, and enough to tell files apart here.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Every file under `root`, skipping hidden directories and `target/`.
fn files_under(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                let skip = name.to_string_lossy().starts_with('.') || name == "target";
                if !skip {
                    dirs.push(entry.path());
                }
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let root = args.next().map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    );
    let limit = match args.next() {
        Some(ms) => Duration::from_millis(ms.parse()?),
        None => Duration::from_secs(5),
    };
    let files = files_under(&root)?;

    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    // At most two isolates per core at once: the rest wait in the set.
    let mut set =
        IsolateSet::bounded(2 * threads).options(Builder::new().name("hash_file").timeout(limit));
    // Each file's isolate is made when the set has room for it.
    set.spawn_iter(files.into_iter().map(|path| {
        let on_isolate = path.clone();
        (path, isolate::Fold(move || hash_file(&on_isolate)))
    }));

    let bar = ProgressBar::new(set.total() as u64).with_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} files {msg}",
    )?);
    let (mut digest, mut bytes) = (0_u64, 0_u64);
    let (mut failed, mut timed_out) = (Vec::new(), Vec::new());
    for finished in set.progress() {
        bar.set_length(finished.total as u64);
        bar.set_position(finished.done as u64);
        match finished.result {
            Ok((hash, size)) => {
                // Order-independent, so the digest does not depend on
                // which file finished first.
                digest ^= hash;
                bytes += size;
            }
            Err(IsolateError::TimedOut { .. }) => timed_out.push(finished.key),
            Err(error) => failed.push((finished.key, error)),
        }
    }
    bar.finish_with_message("done");

    println!(
        "{} files, {} bytes, digest {digest:016x} in {:.2?}",
        bar.position(),
        bytes,
        started.elapsed()
    );
    for path in &timed_out {
        println!("timed out after {limit:?}: {}", path.display());
    }
    for (path, error) in &failed {
        println!("failed: {}: {error}", path.display());
    }
    Ok(())
}
