use isolate::{isolated, Progress};

#[isolated]
async fn download(url: String, progress: Progress<u8>) -> usize {
    progress.send(100);
    url.len()
}

fn main() {}
