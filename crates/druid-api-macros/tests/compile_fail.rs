//! A broken spec is a compile error that names the file, the line, the
//! entry and the problem, and reports every problem at once.

#[test]
fn broken_specs_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
