//! Golden diagnostics: every `tests/policy-errors/NAME.toml` must be refused with exactly the
//! text in `NAME.out` (code, message, file:line:column). Regenerate with MIJI_UPDATE_GOLDEN=1.

use miji::PolicyBuilder;

#[test]
fn every_policy_error_has_its_golden_diagnostic() {
    let dir = miji_tests::root().join("tests/policy-errors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    assert!(files.len() >= 15, "one golden per code");
    let mut failures = Vec::new();
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let name = format!("tests/policy-errors/{stem}.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let err = match PolicyBuilder::new()
            .source(&name, text, Some(dir.display().to_string()))
            .build()
        {
            Ok(_) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Err(e) => e,
        };
        let code = stem.split('-').next().unwrap();
        assert_eq!(err.code(), code, "{name}: wrong code\n{err}");
        let out = path.with_extension("out");
        let got = format!("{err}\n");
        if std::env::var_os("MIJI_UPDATE_GOLDEN").is_some() {
            std::fs::write(&out, &got).unwrap();
        }
        let want = std::fs::read_to_string(&out).unwrap_or_default();
        if got != want {
            failures.push(format!("{name}:\n--- want\n{want}--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bad_source_never_half_loads() {
    // the first rule is fine, the second is broken: the whole build is refused
    let text = "[[marking]]\nid = \"a.ok\"\nscheme = \"corp\"\nkeywords = [\"OK\"]\npattern = '^OK$'\nlevel = \"internal\"\n\n[[marking]]\nid = \"a.bad\"\nscheme = \"corp\"\nkeywords = [\"BAD\"]\npattern = '^(BAD$'\nlevel = \"internal\"\n";
    assert!(
        PolicyBuilder::new()
            .source("x.toml", text, None)
            .build()
            .is_err()
    );
}
