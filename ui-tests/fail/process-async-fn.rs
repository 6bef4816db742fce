#[isolate::isolated(process)]
async fn fetch(url: String) -> usize {
    url.len()
}

fn main() {}
