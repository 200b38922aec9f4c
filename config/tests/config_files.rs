//! Test description: every shipped example validates, and every file under `invalid/` is
//! rejected with an error that names the field path and the reason (`<name>.expect` holds a
//! substring the message must contain).

use std::path::Path;

#[test]
fn examples_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("examples dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "yaml") {
            if let Err(errs) = config::load(&p) {
                panic!(
                    "{}: {:?}",
                    p.display(),
                    errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()
                );
            }
            n += 1;
        }
    }
    assert!(n >= 2, "examples found: {n}");
}

#[test]
fn invalid_files_name_the_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("invalid dir") {
        let p = e.expect("entry").path();
        if p.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let want = std::fs::read_to_string(p.with_extension("expect"))
            .expect("an .expect file beside each case");
        let want = want.trim();
        let errs = config::load(&p)
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", p.display()));
        let got: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            got.iter().any(|g| g.contains(want)),
            "{}: want `{want}`, got {got:?}",
            p.display()
        );
        n += 1;
    }
    assert!(n >= 10, "cases found: {n}");
}
