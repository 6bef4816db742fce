use isolate::{isolated, Progress};
use std::rc::Rc;

#[isolated]
fn render(frames: u32, progress: Progress<Rc<String>>) -> u32 {
    progress.send(Rc::new(format!("{frames} frames")));
    frames
}

fn main() {}
