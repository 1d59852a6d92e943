//! The shared semantic cases (`tests/semantic/cases.toml`) through the core with the default
//! policy. Python and C run the same file.

use miji::Scanner;

#[test]
fn semantic_cases_hold() {
    let scanner = Scanner::default();
    let cases = miji_tests::semantic_cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for c in &cases {
        let r = scanner.scan(&c.text);
        let top = r.marking.as_ref();
        let ok = r.level.as_str() == c.level
            && c.rule
                .as_ref()
                .is_none_or(|rule| top.is_some_and(|m| &m.rule == rule))
            && c.period
                .as_ref()
                .is_none_or(|p| top.and_then(|m| m.period.as_ref()) == Some(p))
            && c.condition
                .as_ref()
                .is_none_or(|p| top.and_then(|m| m.condition.as_ref()) == Some(p));
        if !ok {
            failures.push(format!(
                "{}: expected {} got {} ({:?})",
                c.name,
                c.level,
                r.level,
                top.map(|m| (&m.rule, &m.period, &m.condition))
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
