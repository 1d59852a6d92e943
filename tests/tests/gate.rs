//! The literal gate uses overlapping semantics: a dictionary term that contains or overlaps a
//! marking word must not hide the marking, nor a marking word a dictionary term.

use miji::{FindingKind, Level, PolicyBuilder, Scanner};

fn scanner(terms: &[&str]) -> Scanner {
    Scanner::new(
        PolicyBuilder::new()
            .dictionary("projects", terms.iter().copied())
            .build()
            .expect("policy"),
    )
}

fn kinds(s: &Scanner, text: &str) -> (Level, usize, usize) {
    let r = s.scan(text);
    let m = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Marking)
        .count();
    let k = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Keyword)
        .count();
    (r.level, m, k)
}

#[test]
fn dictionary_term_containing_a_marking_word_hides_nothing() {
    let s = scanner(&["机密★10年专项", "机密计划"]);
    assert_eq!(
        kinds(&s, "机密★10年\n\n机密计划进展"),
        (Level::Secret, 1, 1)
    );
    let s = scanner(&["机密★10年"]);
    assert_eq!(kinds(&s, "机密★10年\n正文"), (Level::Secret, 1, 1));
}

#[test]
fn marking_word_inside_a_dictionary_term_line_hides_nothing() {
    let s = scanner(&["SECRET SANTA 2025"]);
    // the term fires, the banner on its own line still fires
    assert_eq!(
        kinds(&s, "SECRET//NOFORN\n\nSECRET SANTA 2025 sign-up"),
        (Level::Secret, 1, 1)
    );
    // a term overlapping the marking keyword's span
    let s = scanner(&["RET//NOFORN"]);
    let (level, m, _) = kinds(&s, "SECRET//NOFORN");
    assert_eq!((level, m), (Level::Secret, 1));
}

#[test]
fn shorter_terms_inside_longer_terms_report_the_longest() {
    let s = scanner(&["天穹", "天穹计划"]);
    let r = s.scan("关于天穹计划的说明");
    let kw: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Keyword)
        .collect();
    assert_eq!(kw.len(), 1);
    assert_eq!(kw[0].excerpt.as_deref(), Some("天穹计划"));
}
