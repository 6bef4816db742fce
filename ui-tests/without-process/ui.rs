//! What `#[isolated]` says when an option needs a feature of the runtime
//! that is not enabled: one case per option, in `fail/`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("fail/*.rs");
}
