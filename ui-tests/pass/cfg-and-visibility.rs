mod inner {
    #[isolate::isolated]
    pub(crate) fn visible(n: u8) -> u8 {
        n
    }

    #[cfg(any())]
    #[isolate::isolated]
    pub fn compiled_out(n: u8) -> u8 {
        n
    }
}

fn main() {
    assert_eq!(inner::visible_isolated(4).join().unwrap(), 4);
}
