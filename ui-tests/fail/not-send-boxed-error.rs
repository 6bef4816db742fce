use std::error::Error;

#[isolate::isolated]
fn load(path: String) -> Result<String, Box<dyn Error>> {
    Ok(std::fs::read_to_string(path)?)
}

fn main() {}
