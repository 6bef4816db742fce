#[isolate::isolated(process)]
fn file_len(path: String) -> std::io::Result<u64> {
    Ok(std::fs::metadata(path)?.len())
}

fn main() {}
