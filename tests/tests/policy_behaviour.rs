//! Issue 5 behaviour: redaction on CJK + emoji text, allow-lists (term, regex, fingerprint,
//! path glob + rule, expiry), fingerprint stability, `min_count`, action aggregation and
//! `on_error` (contract §4).

use miji::{
    Action, Document, ErrorKind, Level, PolicyBuilder, RecordError, Role, Scanner, Segment,
};

fn with(policy: &str) -> Scanner {
    Scanner::new(
        PolicyBuilder::new()
            .source("test.toml", policy, None)
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

#[test]
fn redaction_round_trips_on_cjk_and_emoji() {
    let s = Scanner::new(
        PolicyBuilder::new()
            .dictionary("projects", ["天穹计划"])
            .build()
            .unwrap(),
    );
    let text = "😀 联系电话：13812345678 🚀\n天穹计划 身份证号：110101199003074477 尾巴👍";
    let red = s.redact(text);
    assert_eq!(
        red,
        "😀 联系电话：*******5678 🚀\n[REDACTED:dict.projects] 身份证号：1101**********4477 尾巴👍"
    );
    // everything outside the findings is unchanged, and nothing sensitive is found again
    let again = s.scan(&red);
    assert!(
        again
            .findings
            .iter()
            .all(|f| f.rule == "dict.projects" || f.kind == miji::FindingKind::Marking),
        "{:?}",
        again.findings
    );
    // markings are never redacted by default
    let marked = "机密★10年\n联系电话：13812345678";
    assert!(Scanner::default().redact(marked).starts_with("机密★10年\n"));
}

#[test]
fn overlapping_findings_are_redacted_once() {
    // a dictionary term overlapping a detector match: one merged replacement
    let s = Scanner::new(
        PolicyBuilder::new()
            .dictionary("hot", ["系电话：13812345678"])
            .build()
            .unwrap(),
    );
    let red = s.redact("联系电话：13812345678。");
    assert_eq!(red, "联[REDACTED:dict.hot]。");
}

#[test]
fn markings_are_redacted_when_the_policy_says_so() {
    let s = with("[rule.\"cn.state-secret\"]\nmask = \"redact\"\n");
    assert_eq!(
        s.redact("机密★10年\n正文"),
        "[REDACTED:cn.state-secret]\n正文"
    );
}

#[test]
fn fingerprints_are_stable_across_offsets_and_differ_by_location() {
    let s = Scanner::default();
    let a = s.scan("机密★10年\n正文");
    let b = s.scan("\n\n\n前言\n\n机密★10年\n正文");
    assert_ne!(a.findings[0].start, b.findings[0].start);
    assert_eq!(a.findings[0].fingerprint, b.findings[0].fingerprint);
    let seg = |loc: &str| {
        s.scan_segments([Segment::new(
            "机密★10年",
            vec![loc.to_owned()],
            Role::Header,
        )])
    };
    assert_eq!(
        seg("word/header1.xml").findings[0].fingerprint,
        seg("word/header1.xml").findings[0].fingerprint
    );
    assert_ne!(
        seg("word/header1.xml").findings[0].fingerprint,
        seg("word/header2.xml").findings[0].fingerprint
    );
    // full-width and plain forms of the same marking share a fingerprint (normalised text)
    let fw = s.scan("ＳＥＣＲＥＴ//ＮＯＦＯＲＮ");
    let plain = s.scan("SECRET//NOFORN");
    assert_eq!(fw.findings[0].fingerprint, plain.findings[0].fingerprint);
}

#[test]
fn allow_lists_by_term_regex_fingerprint_and_path() {
    let text = "联系电话：13812345678\n身份证号：110101199003074477";
    let base = Scanner::default().scan(text);
    assert_eq!(base.findings.len(), 2);
    let fp = base
        .findings
        .iter()
        .find(|f| f.rule == "pii.cn-mobile")
        .unwrap()
        .fingerprint
        .clone();

    let by_term = with("[[allow]]\nterm = \"13812345678\"\nreason = \"switchboard\"\n");
    assert_eq!(by_term.scan(text).findings.len(), 1);

    let by_regex =
        with("[[allow]]\nregex = '^1381234'\nrule = \"pii.cn-mobile\"\nreason = \"switchboard\"\n");
    assert_eq!(by_regex.scan(text).findings.len(), 1);
    let other_rule =
        with("[[allow]]\nregex = '^1381234'\nrule = \"pii.card\"\nreason = \"wrong rule\"\n");
    assert_eq!(other_rule.scan(text).findings.len(), 2);

    let by_fp = with(&format!(
        "[[allow]]\nfingerprint = \"{fp}\"\nreason = \"reviewed\"\n"
    ));
    let r = by_fp.scan(text);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].rule, "pii.cn-resident-id");

    let by_path = with(
        "[[allow]]\npath = \"public/**\"\nrule = \"pii.cn-mobile\"\nreason = \"phone book\"\n",
    );
    let doc = |path: &str| Document {
        path: Some(path.into()),
        segments: vec![Segment::text(text)],
        ..Document::default()
    };
    assert_eq!(
        by_path.scan_document(doc("public/book.txt")).findings.len(),
        1
    );
    assert_eq!(
        by_path
            .scan_document(doc("private/book.txt"))
            .findings
            .len(),
        2
    );

    let expired =
        with("[[allow]]\nterm = \"13812345678\"\nreason = \"old\"\nexpires = \"2001-01-01\"\n");
    assert_eq!(
        expired.scan(text).findings.len(),
        2,
        "an expired entry no longer applies"
    );
    let future = with(
        "[[allow]]\nterm = \"13812345678\"\nreason = \"until then\"\nexpires = \"2999-01-01\"\n",
    );
    assert_eq!(future.scan(text).findings.len(), 1);

    let santa = with("[[allow]]\nterm = \"SECRET//NOFORN\"\nreason = \"training deck\"\n");
    assert_eq!(santa.scan("SECRET//NOFORN\nslide 1").level, Level::Public);
}

#[test]
fn min_count_and_min_confidence_thresholds() {
    let phones: String = (0..5)
        .map(|i| format!("联系电话：1381234567{i}\n"))
        .collect();
    let s = with("[rule.\"pii.cn-mobile\"]\nmin_count = 5\naction = \"block\"\n");
    assert_eq!(s.scan(&phones).action, Action::Block);
    let four: String = phones.lines().take(4).map(|l| format!("{l}\n")).collect();
    let r = s.scan(&four);
    assert_eq!((r.action, r.findings.len()), (Action::Allow, 0));
    let strict = with("[rule.\"pii.cn-mobile\"]\nmin_confidence = \"high\"\n");
    assert!(
        strict.scan(&phones).findings.is_empty(),
        "context raises low to medium only"
    );
}

#[test]
fn action_is_the_maximum_of_level_findings_and_errors() {
    let s = Scanner::default();
    // internal level → warn; a detector with action redact raises it
    assert_eq!(s.scan("内部资料 注意保存\n正文").action, Action::Warn);
    assert_eq!(
        s.scan("内部资料 注意保存\n身份证号：110101199003074477")
            .action,
        Action::Redact
    );
    // a coverage error: on_error (default redact), complete = false, level unchanged
    let doc = Document {
        segments: vec![Segment::text("hello")],
        errors: vec![RecordError::new(
            ErrorKind::Encrypted,
            vec!["secret.zip".into()],
            "encrypted member",
        )],
        ..Document::default()
    };
    let r = s.scan_document(doc.clone());
    assert_eq!(
        (r.level, r.action, r.complete),
        (Level::Public, Action::Redact, false)
    );
    let strict = with("[actions.on_error]\nencrypted = \"block\"\n");
    assert_eq!(strict.scan_document(doc).action, Action::Block);
    // level actions are policy data
    let lax = with("[actions.levels]\nsecret = \"warn\"\n");
    assert_eq!(lax.scan("机密★10年").action, Action::Warn);
}

#[test]
fn members_summarise_each_member_document() {
    let s = Scanner::default();
    let doc = Document {
        segments: vec![
            Segment::new(
                "机密★10年",
                vec!["a.docx".into(), "word/header1.xml".into()],
                Role::Header,
            ),
            Segment::new("hello", vec!["b.txt".into()], Role::Body),
        ],
        members: vec![vec!["a.docx".into()], vec!["b.txt".into()]],
        ..Document::default()
    };
    let r = s.scan_document(doc);
    assert_eq!(r.members.len(), 2);
    assert_eq!(
        (r.members[0].level, r.members[0].action),
        (Level::Secret, Action::Block)
    );
    assert_eq!(
        (r.members[1].level, r.members[1].action),
        (Level::Public, Action::Allow)
    );
}

#[test]
fn findings_beyond_the_limit_are_truncated_with_exact_counts() {
    let s = with("[limits]\nmax_findings = 3\n[rule.\"pii.email\"]\naction = \"warn\"\n");
    let text: String = (0..10).map(|i| format!("user{i}@example.com\n")).collect();
    let r = s.scan(&text);
    assert_eq!(r.findings.len(), 3);
    assert_eq!(r.truncated.map(|t| t.findings), Some(10));
    assert_eq!(r.counts.get("pii.email"), Some(&10));
    assert_eq!(r.action, Action::Warn);
}
