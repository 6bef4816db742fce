struct Image(Vec<u8>);

#[isolate::isolated(process)]
fn render(width: u32) -> Result<Image, String> {
    Ok(Image(vec![0; width as usize]))
}

fn main() {}
