//! Long segments are scanned in line-aligned pieces (`Scanner::with_piece_bytes`, 4 MiB by
//! default). The report must not depend on where the pieces are cut: every labelled corpus
//! document, every semantic case and all of them joined into one long text give the same
//! report and the same decision trace with pieces of one line, of a few lines and whole.

use miji::Scanner;

fn texts() -> Vec<(String, String)> {
    let root = miji_tests::root();
    let mut out = Vec::new();
    for kind in ["positive", "negative"] {
        let mut stack = vec![root.join("tests/corpus").join(kind)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    out.push((path.display().to_string(), text));
                }
            }
        }
    }
    out.sort();
    for case in miji_tests::semantic_cases() {
        out.push((format!("case {}", case.name), case.text));
    }
    let joined = out
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    out.push(("all joined".into(), joined));
    // a bare marking far from the edges but with only blank lines around it: the position cue
    // walks past the blank lines, so a piece needs more context than the window cues
    let prose = "第一段正文，说明会议安排。\n第二段正文，列出参会人员。\n第三段正文，说明材料。\n";
    // (more blank lines than the widest window of the built-in packs, 30 lines)
    let blanks = "\n".repeat(40);
    out.push((
        "marking between blank lines".into(),
        format!("{prose}{blanks}机密★10年\n{blanks}秘密\n{blanks}{prose}{prose}"),
    ));
    let english =
        "The meeting is on Monday.\nPlease bring the papers.\nWe will discuss the budget.\n";
    out.push((
        "bare banner word between blank lines".into(),
        format!("{english}{blanks}CONFIDENTIAL\n{blanks}{english}{english}"),
    ));
    out.push((
        "marking after blank lines at the top".into(),
        format!("{blanks}机密★10年\n{blanks}{prose}{prose}{blanks}机密\n{blanks}"),
    ));
    out
}

#[test]
fn the_report_does_not_depend_on_the_piece_size() {
    let whole = Scanner::default();
    let texts = texts();
    assert!(texts.len() > 40, "corpus and cases found: {}", texts.len());
    for piece_bytes in [1, 24, 200, 4096] {
        let pieces = Scanner::default().with_piece_bytes(piece_bytes);
        for (name, text) in &texts {
            let (a, ta) = whole.explain(text);
            let (b, tb) = pieces.explain(text);
            assert_eq!(
                serde_json::to_value(&a).unwrap(),
                serde_json::to_value(&b).unwrap(),
                "{name}: report with {piece_bytes}-byte pieces"
            );
            assert_eq!(
                serde_json::to_value(&ta).unwrap(),
                serde_json::to_value(&tb).unwrap(),
                "{name}: trace with {piece_bytes}-byte pieces"
            );
            assert_eq!(
                serde_json::to_value(whole.scan(text)).unwrap(),
                serde_json::to_value(pieces.scan(text)).unwrap(),
                "{name}: scan with {piece_bytes}-byte pieces"
            );
        }
    }
}
