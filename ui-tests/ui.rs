//! What `#[isolated]` accepts and what it rejects, with the exact messages:
//! `pass/` holds every supported form, `fail/` one case per mistake.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("fail/*.rs");
}
