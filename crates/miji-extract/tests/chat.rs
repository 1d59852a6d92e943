//! The chat payload reader on OpenAI-shaped Chat Completions and Responses payloads
//! (`tests/fixtures/chat/`): locations, one document per conversation, embedded files,
//! pictures and malformed JSON as coverage errors, and the rewrite walk.

use miji::{Action, Document, ErrorKind, Level, PolicyBuilder, Report, Role, Scanner};
use miji_extract::{Extractor, rewrite_chat};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/chat")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scanner() -> Scanner {
    Scanner::new(PolicyBuilder::new().build().expect("default policy"))
}

fn read(name: &str) -> Document {
    Extractor::default().extract_chat(&fixture(name))
}

fn locations(doc: &Document) -> Vec<String> {
    doc.segments.iter().map(|s| s.location.join("!/")).collect()
}

fn error_at(doc: &Document, location: &str) -> ErrorKind {
    doc.errors
        .iter()
        .find(|e| e.location.join("!/") == location)
        .unwrap_or_else(|| panic!("no error at {location}: {:?}", doc.errors))
        .kind
}

fn scan(name: &str) -> Report {
    scanner().scan_document(read(name))
}

#[test]
fn chat_completions_locations() {
    let doc = read("chat_completions.json");
    let locs = locations(&doc);
    for expected in [
        "messages[0].content",
        "@messages[1].content[0]:plan.docx",
        "messages[1].content[0]:plan.docx!/word/document.xml",
        "messages[1].content[0]:plan.docx!/word/header1.xml",
        "messages[1].content[1]",
        "messages[2].tool_calls[0].function.arguments",
        "messages[3].content",
        "messages[4].content",
    ] {
        assert!(
            locs.iter().any(|l| l == expected),
            "{expected} not in {locs:?}"
        );
    }
    // Ids, roles and names are not content.
    assert!(
        !locs
            .iter()
            .any(|l| l.contains("tool_call_id") || l.contains(".role"))
    );
    assert!(doc.segments.iter().all(|s| s.role == Role::Body
        || (s.role == Role::Header && s.location[0].ends_with("plan.docx"))
        || s.role == Role::Filename
        || s.role == Role::Metadata));
    let tool = doc
        .segments
        .iter()
        .find(|s| s.location == ["messages[3].content"])
        .unwrap();
    assert!(tool.text.starts_with("TOP SECRET//NOFORN"));
    assert_eq!(
        doc.members,
        vec![vec!["messages[1].content[0]:plan.docx".to_string()]]
    );
}

#[test]
fn pictures_audio_and_remote_urls_are_coverage_errors() {
    let doc = read("chat_completions.json");
    assert_eq!(
        error_at(&doc, "messages[1].content[2]"),
        ErrorKind::NoTextLayer
    );
    assert_eq!(
        error_at(&doc, "messages[1].content[3]"),
        ErrorKind::NoTextLayer
    );
    assert_eq!(
        error_at(&doc, "messages[1].content[4]"),
        ErrorKind::UnsupportedFormat
    );
    let report = scanner().scan_document(doc);
    assert!(
        !report.complete,
        "an unread picture is never a clean record"
    );
}

#[test]
fn chat_completions_findings() {
    let report = scan("chat_completions.json");
    assert_eq!(report.level, Level::TopSecret);
    assert_eq!(report.action, Action::Block);
    let top = report.marking.as_ref().unwrap();
    assert_eq!(top.location, ["messages[3].content"]);
    // the docx header inside the file part is read, at its own location
    assert!(
        report.findings.iter().any(|f| f.location
            == ["messages[1].content[0]:plan.docx", "word/header1.xml"]
            && f.level == Some(Level::Secret)),
        "{:?}",
        report.findings
    );
    // a phone number in tool-call arguments
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.location == ["messages[2].tool_calls[0].function.arguments"]),
        "{:?}",
        report.findings
    );
}

#[test]
fn responses_locations_and_files() {
    let doc = read("responses.json");
    let locs = locations(&doc);
    for expected in [
        "instructions",
        "input[0].content[0]",
        "input[0].content[1]:memo.docx!/word/header1.xml",
        "input[1].arguments",
        "input[2].output",
        "input[3].content[0]",
    ] {
        assert!(
            locs.iter().any(|l| l == expected),
            "{expected} not in {locs:?}"
        );
    }
    assert_eq!(
        error_at(&doc, "input[4].content[0]"),
        ErrorKind::NoTextLayer
    );
    let report = scanner().scan_document(doc);
    assert_eq!(report.level, Level::TopSecret);
    let top = report.marking.as_ref().unwrap();
    assert_eq!(top.location, ["input[2].output"]);
    assert_eq!(top.condition.as_deref(), Some("启用前"));
    assert!(report.findings.iter().any(|f| f.location
        == ["input[0].content[1]:memo.docx", "word/header1.xml"]
        && f.level == Some(Level::Secret)));
}

#[test]
fn responses_string_input() {
    let doc =
        Extractor::default().extract_chat(br#"{"model":"m","input":"TOP SECRET//NOFORN\nplan"}"#);
    assert_eq!(locations(&doc), ["input"]);
    assert_eq!(scanner().scan_document(doc).level, Level::TopSecret);
}

#[test]
fn a_document_split_over_two_messages_is_one_document() {
    // Each half carries one mid-page "Confidential" banner: alone, a bare line in the middle
    // of a text is uncorroborated; the conversation as one document repeats it.
    let doc = read("split_document.json");
    for half in &doc.segments {
        if half.text.contains("Confidential") {
            let alone = scanner().scan(&half.text);
            assert_eq!(alone.level, Level::Public, "one half alone: {}", half.text);
        }
    }
    let report = scanner().scan_document(doc);
    assert_eq!(report.level, Level::Confidential);
    let marked: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.level == Some(Level::Confidential))
        .map(|f| f.location.join("!/"))
        .collect();
    assert_eq!(marked, ["messages[0].content", "messages[2].content"]);
}

#[test]
fn malformed_json_is_corrupt() {
    let doc = read("malformed.json");
    assert!(doc.segments.is_empty());
    assert_eq!(doc.errors.len(), 1);
    assert_eq!(doc.errors[0].kind, ErrorKind::Corrupt);
    assert!(
        !doc.errors[0].message.contains("机密"),
        "errors never carry content"
    );
    let report = scanner().scan_document(doc);
    assert!(!report.complete);
}

#[test]
fn not_a_chat_payload_is_not_clean() {
    for json in [&br#"{"model":"m"}"#[..], b"42", b"\"text\""] {
        let doc = Extractor::default().extract_chat(json);
        assert_eq!(doc.errors[0].kind, ErrorKind::UnsupportedFormat, "{json:?}");
    }
}

#[test]
fn bare_message_list_and_unknown_parts() {
    let json = br#"[{"role":"user","content":[{"type":"mystery","payload":{"note":"TOP SECRET//NOFORN"}}]}]"#;
    let doc = Extractor::default().extract_chat(json);
    assert_eq!(locations(&doc), ["messages[0].content[0].payload.note"]);
}

#[test]
fn bad_base64_file_data_is_corrupt() {
    let json = br#"{"messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.docx","file_data":"@@@@"}}]}]}"#;
    let doc = Extractor::default().extract_chat(json);
    assert!(
        doc.errors.iter().any(
            |e| e.kind == ErrorKind::Corrupt && e.location == ["messages[0].content[0]:a.docx"]
        ),
        "{:?}",
        doc.errors
    );
}

#[test]
fn file_data_within_limits() {
    let limits = miji_extract::Limits {
        max_size: 1000,
        ..Default::default()
    };
    let json = fixture("responses.json");
    // the payload itself is over the limit
    let doc = Extractor::new(limits.clone()).extract_chat(&json);
    assert_eq!(doc.errors[0].kind, ErrorKind::LimitSize);
}

#[test]
fn rewrite_puts_text_back_in_place() {
    let json = fixture("chat_completions.json");
    let mut seen = Vec::new();
    let out = rewrite_chat(&json, |location, text| {
        seen.push(location.join("!/"));
        text.contains("13800138000")
            .then(|| text.replace("13800138000", "138*****000"))
    })
    .unwrap();
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        value["messages"][2]["tool_calls"][0]["function"]["arguments"],
        "{\"phone\": \"138*****000\"}"
    );
    // the same walk as the reader: every text location, in order
    let doc = read("chat_completions.json");
    let body: Vec<String> = doc
        .segments
        .iter()
        .filter(|s| s.location.len() == 1 && s.role == Role::Body)
        .map(|s| s.location.join("!/"))
        .collect();
    assert_eq!(seen, body);
    assert!(rewrite_chat(b"{", |_, _| None).is_err());
}
