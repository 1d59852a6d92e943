//! Issue 8 formats: PDF, ODF, RTF, HTML/XML, Markdown/CSV/JSON and legacy OLE. Each fixture
//! of `tests/fixtures/extract3/` (made by `scripts/fixtures/make_extract3_fixtures.py` with
//! reportlab and LibreOffice) holds its marking in one place; the test asserts the level the
//! default scanner gives the document and the exact location and role of the marking.

mod common;

use common::*;
use miji::{ErrorKind, Level, Role};
use miji_extract::Extractor;
use std::path::PathBuf;

fn path3(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/extract3")
        .join(name)
}

fn read3(name: &str) -> Vec<u8> {
    std::fs::read(path3(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Extracts a fixture that must read without errors.
fn clean(name: &str) -> miji::Document {
    let doc = Extractor::default().extract(name, &read3(name));
    assert!(
        doc.errors.is_empty(),
        "{name}: unexpected errors {:?}",
        doc.errors
    );
    doc
}

fn level(doc: &miji::Document) -> Level {
    miji::Scanner::default().scan_document(doc.clone()).level
}

/// The marking the scanner reports, as (location, role).
fn marking_at(doc: &miji::Document) -> (Vec<String>, Role) {
    let report = miji::Scanner::default().scan_document(doc.clone());
    let m = report.marking.expect("a marking");
    (m.location, m.role)
}

fn loc(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

// ---- PDF ----

#[test]
fn pdf_marking_only_in_header_band() {
    let doc = clean("pdf_header.pdf");
    assert_only(&doc, CN, &["page[1]"], Role::Header);
    // The body only mentions the word.
    assert_has(&doc, "处理机密文件", &["page[1]"], Role::Body);
    assert_has(&doc, "Page 2 of 2", &["page[2]"], Role::Footer);
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&["page[1]"]), Role::Header));
}

#[test]
fn pdf_body_mention_alone_is_not_a_marking() {
    let doc = clean("pdf_header.pdf");
    let body: Vec<_> = doc
        .segments
        .into_iter()
        .filter(|s| s.role != Role::Header)
        .collect();
    let doc = miji::Document {
        segments: body,
        ..miji::Document::default()
    };
    assert!(level(&doc) < Level::Secret);
}

#[test]
fn pdf_marking_only_in_footer_band() {
    let doc = clean("pdf_footer.pdf");
    assert_only(&doc, US, &["page[2]"], Role::Footer);
    assert_has(&doc, "First page, unmarked.", &["page[1]"], Role::Body);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn pdf_cid_font_chinese_lines() {
    let doc = clean("pdf_cid.pdf");
    assert_has(
        &doc,
        "关于二〇二四年度工作安排的通知\n密级：秘密\n各单位：请按要求执行。",
        &["page[2]"],
        Role::Body,
    );
    assert_only(&doc, "密级：秘密", &["page[2]"], Role::Body);
    assert_eq!(level(&doc), Level::Confidential);
    assert_eq!(marking_at(&doc), (loc(&["page[2]"]), Role::Body));
}

#[test]
fn pdf_image_only_is_no_text_layer() {
    let doc = Extractor::default().extract("scan.pdf", &read3("pdf_image_only.pdf"));
    assert!(
        has_error(&doc, ErrorKind::NoTextLayer, &["page[1]"]),
        "{:?}",
        doc.errors
    );
    let report = miji::Scanner::default().scan_document(doc);
    assert!(!report.complete);
}

#[test]
fn pdf_with_user_password_is_encrypted() {
    let doc = Extractor::default().extract("locked.pdf", &read3("pdf_encrypted.pdf"));
    assert_eq!(kinds(&doc), vec![ErrorKind::Encrypted]);
    assert!(!doc.segments.iter().any(|s| s.text.contains(US)));
}

#[test]
fn pdf_with_owner_password_only_is_read() {
    let doc = clean("pdf_owner_only.pdf");
    assert_only(&doc, US, &["page[1]"], Role::Body);
}

#[test]
fn pdf_prefixes_and_bit_flips_never_panic() {
    let bytes = read3("pdf_header.pdf");
    let ex = Extractor::default();
    for cut in (0..bytes.len()).step_by(37) {
        let doc = ex.extract("cut.pdf", &bytes[..cut]);
        assert!(
            !doc.errors.iter().any(|e| e.kind == ErrorKind::Internal),
            "cut at {cut}: {:?}",
            doc.errors
        );
    }
    for i in (0..bytes.len()).step_by(53) {
        let mut b = bytes.clone();
        b[i] ^= 0x5A;
        let _ = ex.extract("flip.pdf", &b);
    }
}

#[test]
fn pdf_from_libreoffice_identity_h_to_unicode_header() {
    let doc = clean("pdf_lo_header.pdf");
    assert_only(&doc, CN, &["page[1]"], Role::Header);
    assert_has(
        &doc,
        "Quarterly plan\nNothing here is marked. Column two.",
        &["page[1]"],
        Role::Body,
    );
    assert_eq!(level(&doc), Level::Secret);
}

// ---- ODF ----

#[test]
fn odt_header_in_styles() {
    let doc = clean("odt_header.odt");
    assert_only(&doc, CN, &["styles.xml"], Role::Header);
    assert_has(
        &doc,
        "Quarterly plan\nNothing here is marked.\tColumn two.",
        &["content.xml"],
        Role::Body,
    );
    assert_has(&doc, "title: Quarterly plan", &["meta.xml"], Role::Metadata);
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&["styles.xml"]), Role::Header));
}

#[test]
fn odt_footer_in_styles() {
    let doc = clean("odt_footer.odt");
    assert_only(&doc, US, &["styles.xml"], Role::Footer);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn odt_footnote() {
    let doc = clean("odt_footnote.odt");
    assert_only(&doc, US, &["content.xml"], Role::Footnote);
    assert_has(&doc, "See the note.", &["content.xml"], Role::Body);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn odt_comment() {
    let doc = clean("odt_comment.odt");
    assert_only(&doc, US, &["content.xml"], Role::Comment);
    assert!(
        !doc.segments.iter().any(|s| s.text.contains("QA")),
        "author is not text"
    );
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn odt_user_defined_metadata() {
    let doc = clean("odt_meta.odt");
    assert_only(&doc, US, &["meta.xml"], Role::Metadata);
    assert_has(
        &doc,
        "Classification: TOP SECRET//NOFORN",
        &["meta.xml"],
        Role::Metadata,
    );
}

#[test]
fn ods_cell_with_repeats() {
    let doc = clean("ods_cell.ods");
    assert_only(&doc, CN, &["sheet['Budget']!C7"], Role::Cell);
    assert_has(&doc, "42", &["sheet['Budget']!B1"], Role::Cell);
    assert_has(&doc, "Budget", &["sheet['Budget']"], Role::Title);
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&["sheet['Budget']!C7"]), Role::Cell));
}

#[test]
fn odp_notes() {
    let doc = clean("odp_notes.odp");
    assert_only(&doc, US, &["content.xml"], Role::Notes);
    assert_has(
        &doc,
        "Quarterly review\nNothing here is marked.",
        &["content.xml"],
        Role::Body,
    );
    assert_eq!(level(&doc), Level::TopSecret);
}

// ---- RTF (location [] like plain text; roles from the destination) ----

#[test]
fn rtf_header() {
    let doc = clean("rtf_header.rtf");
    assert_only(&doc, CN, &[], Role::Header);
    assert_has(
        &doc,
        "Quarterly plan\nNothing here is marked.\tColumn two.",
        &[],
        Role::Body,
    );
    assert_has(&doc, "title: Quarterly plan", &[], Role::Metadata);
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&[]), Role::Header));
}

#[test]
fn rtf_footer() {
    let doc = clean("rtf_footer.rtf");
    assert_only(&doc, US, &[], Role::Footer);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn rtf_footnote() {
    let doc = clean("rtf_footnote.rtf");
    assert_only(&doc, US, &[], Role::Footnote);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn rtf_annotation() {
    let doc = clean("rtf_comment.rtf");
    assert_only(&doc, US, &[], Role::Comment);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn rtf_user_properties() {
    let doc = clean("rtf_meta.rtf");
    assert_only(&doc, US, &[], Role::Metadata);
    assert_has(
        &doc,
        "Classification: TOP SECRET//NOFORN",
        &[],
        Role::Metadata,
    );
}

#[test]
fn rtf_gbk_escapes_and_unicode() {
    let doc = clean("rtf_gbk.rtf");
    assert_only(&doc, CN, &[], Role::Header);
    assert_has(&doc, "关于年度工作的通知\n密级: 公开", &[], Role::Body);
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&[]), Role::Header));
}

// ---- HTML / XML / JSON / Markdown / CSV (location [] like plain text) ----

#[test]
fn html_title_is_its_own_segment() {
    let doc = clean("page_title.html");
    assert_only(&doc, CN, &[], Role::Title);
    assert_has(
        &doc,
        "Quarterly\u{a0}plan\nNothing here is marked.\nFish & chips",
        &[],
        Role::Body,
    );
    assert!(
        !doc.segments
            .iter()
            .any(|s| s.text.contains("TOP SECRET") || s.text.contains("color")),
        "script and style are skipped: {:?}",
        doc.segments
    );
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&[]), Role::Title));
}

#[test]
fn html_body_entities() {
    let doc = clean("page_body.html");
    assert_only(&doc, "SECRET//NOFORN", &[], Role::Body);
    assert_has(&doc, "Plan", &[], Role::Title);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn xml_character_data() {
    let doc = clean("data.xml");
    assert_has(
        &doc,
        "Plan & budget\n机密★10年\nraw <text>",
        &[],
        Role::Body,
    );
    assert_eq!(level(&doc), Level::Secret);
}

#[test]
fn json_strings_unescaped_one_a_line() {
    let doc = clean("payload.json");
    assert_only(&doc, CN, &[], Role::Body);
    assert_has(&doc, "label\n机密★10年\nok", &[], Role::Body);
    assert_eq!(level(&doc), Level::Secret);
}

#[test]
fn markdown_and_csv_are_text_as_is() {
    let md = clean("notes.md");
    assert_has(&md, "# Plan\n\nTOP SECRET//NOFORN\n", &[], Role::Body);
    assert_eq!(level(&md), Level::TopSecret);
    // A one-field title row: the marking is its line.
    let csv = clean("table.csv");
    assert_has(
        &csv,
        "机密★10年\nitem,amount,label\nplan,42,budget\n",
        &[],
        Role::Body,
    );
    assert_eq!(level(&csv), Level::Secret);
    // CSV is one segment, text as is: a marking inside a row is text in a line, and the
    // scanner's line rules (not the extractor) decide what it is worth.
    let mid = clean("table_midrow.csv");
    assert_only(&mid, CN, &[], Role::Body);
}

// ---- Legacy OLE (location [] like the other single-stream formats; roles from the story) ----

#[test]
fn doc_header_story() {
    let doc = clean("doc_header.doc");
    assert_only(&doc, CN, &[], Role::Header);
    assert_has(
        &doc,
        "Quarterly plan\nNothing here is marked.\tColumn two.",
        &[],
        Role::Body,
    );
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&[]), Role::Header));
}

#[test]
fn doc_footer_story() {
    let doc = clean("doc_footer.doc");
    assert_only(&doc, US, &[], Role::Footer);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn doc_footnote_story() {
    let doc = clean("doc_footnote.doc");
    assert_only(&doc, US, &[], Role::Footnote);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn doc_annotation_story() {
    let doc = clean("doc_comment.doc");
    assert_only(&doc, US, &[], Role::Comment);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn ppt_notes_text() {
    let doc = clean("ppt_notes.ppt");
    assert_only(&doc, US, &[], Role::Notes);
    assert_has(
        &doc,
        "Quarterly review\nNothing here is marked.",
        &[],
        Role::Body,
    );
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn xls_is_an_error_not_silence() {
    let doc = Extractor::default().extract("book.xls", &read3("xls_cell.xls"));
    assert_eq!(kinds(&doc), vec![ErrorKind::UnsupportedFormat]);
    assert!(!miji::Scanner::default().scan_document(doc).complete);
}

#[test]
fn ole_prefixes_never_panic() {
    let ex = Extractor::default();
    for name in ["doc_header.doc", "ppt_notes.ppt"] {
        let bytes = read3(name);
        for cut in (0..bytes.len().min(20_000)).step_by(97) {
            let doc = ex.extract(name, &bytes[..cut]);
            assert!(
                !doc.errors.iter().any(|e| e.kind == ErrorKind::Internal),
                "{name} cut at {cut}: {:?}",
                doc.errors
            );
        }
    }
}
