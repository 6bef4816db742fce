#[isolate::isolated]
fn write_all<W: std::io::Write>(out: &mut W, data: Vec<u8>) -> std::io::Result<()> {
    out.write_all(&data)
}

fn main() {}
