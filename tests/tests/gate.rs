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

/// Traditional characters are found by the gate and their lines gated again after simplifying:
/// every term is reported once, whether or not it touches a traditional character, with offsets
/// into the original text.
#[test]
fn traditional_lines_are_gated_again_without_duplicates() {
    let s = scanner(&["天穹计划", "星河项目", "海图", "会议纪要"]);
    let text = "天穹計劃 与 海图\n普通一行 海图 星河项目\n國家 天穹计划 星河項目 會議紀要\n";
    let r = s.scan(text);
    let mut got: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Keyword)
        .map(|f| &text[f.start as usize..f.end as usize])
        .collect();
    got.sort_unstable();
    let mut want = vec![
        "天穹計劃",
        "海图",
        "海图",
        "星河项目",
        "天穹计划",
        "星河項目",
        "會議紀要",
    ];
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn traditional_marking_inside_a_document_is_found() {
    let s = Scanner::default();
    let text = "前言一行\n  機密★10年  \n正文內容，國家";
    let r = s.scan(text);
    assert_eq!(r.level, Level::Secret);
    let m = r
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Marking)
        .expect("marking");
    assert_eq!(&text[m.start as usize..m.end as usize], "機密★10年");
    // prose in traditional characters about secrecy stays public
    assert_eq!(
        s.scan("國家秘密的密級分為絕密、機密、秘密三級。").level,
        Level::Public
    );
}
