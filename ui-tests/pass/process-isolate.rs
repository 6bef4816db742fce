use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Serialize, Deserialize, Debug)]
struct Document {
    text: String,
}

#[derive(Serialize, Deserialize, Debug)]
enum RenderError {
    Empty,
}

#[isolate::isolated(process)]
fn render(doc: Document, scale: u32) -> Result<Vec<u8>, RenderError> {
    if doc.text.is_empty() {
        return Err(RenderError::Empty);
    }
    Ok(doc.text.into_bytes().repeat(scale as usize))
}

#[isolate::isolated(process, name = "count", timeout = "2s", memory_limit = "512MiB", cpu_limit = "1s")]
pub fn count_words(text: String) -> usize {
    text.split_whitespace().count()
}

#[isolate::isolated(process, memory_limit = 1 << 30, cpu_limit = Duration::from_secs(3))]
fn nothing() {}

mod checked {
    pub type Result<T> = std::result::Result<T, String>;
}

#[isolate::isolated(process)]
fn through_alias(path: String) -> checked::Result<u64> {
    Ok(path.len() as u64)
}

fn main() {
    let _: isolate::IsolateHandle<Vec<u8>, RenderError> =
        render_isolated(Document { text: String::new() }, 2);
    let _: isolate::IsolateHandle<usize> = count_words_isolated(String::new());
    let _: isolate::IsolateHandle<()> =
        nothing_isolated_with(isolate::process::Builder::new().name("n"));
    let _: isolate::IsolateHandle<u64, String> = through_alias_isolated(String::new());
}
