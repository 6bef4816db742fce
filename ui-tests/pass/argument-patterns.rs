use isolate::isolated;

#[isolated]
fn patterns(mut count: u32, (a, b): (u32, u32), _: String, Point { x, y }: Point) -> u32 {
    count += 1;
    count + a + b + x + y
}

pub struct Point {
    x: u32,
    y: u32,
}

// A parameter named like the function must not shadow it in the wrapper.
#[isolated]
fn echo(echo: u32) -> u32 {
    echo
}

fn main() {
    let handle = patterns_isolated(1, (2, 3), String::new(), Point { x: 4, y: 5 });
    assert_eq!(handle.join().unwrap(), 16);
    assert_eq!(echo_isolated(9).join().unwrap(), 9);
}
