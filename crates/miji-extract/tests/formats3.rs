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

// ---- Legacy OLE: .doc location [] (roles from the story), .ppt `slide[N]`/`master[N]`,
// .xls like xlsx; document properties at ["SummaryInformation"] /
// ["DocumentSummaryInformation"] ----

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

/// The findings of a detector rule, as (location, role).
fn detector_at(doc: &miji::Document, rule: &str) -> Vec<(Vec<String>, Role)> {
    let report = miji::Scanner::default().scan_document(doc.clone());
    report
        .findings
        .into_iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.location, f.role))
        .collect()
}

#[test]
fn doc_custom_property_in_document_summary() {
    let doc = clean("doc_meta.doc");
    assert_only(&doc, US, &["DocumentSummaryInformation"], Role::Metadata);
    assert_has(
        &doc,
        "Classification: TOP SECRET//NOFORN",
        &["DocumentSummaryInformation"],
        Role::Metadata,
    );
    assert_has(
        &doc,
        "title: Quarterly plan",
        &["SummaryInformation"],
        Role::Metadata,
    );
    assert_eq!(level(&doc), Level::TopSecret);
    assert_eq!(
        marking_at(&doc),
        (loc(&["DocumentSummaryInformation"]), Role::Metadata)
    );
}

#[test]
fn ppt_notes_of_slide_one() {
    let doc = clean("ppt_notes.ppt");
    assert_only(&doc, US, &["slide[1]"], Role::Notes);
    assert_has(&doc, "Quarterly review", &["slide[1]"], Role::Body);
    assert_has(&doc, "Nothing here is marked.", &["slide[2]"], Role::Body);
    assert_eq!(level(&doc), Level::TopSecret);
    assert_eq!(marking_at(&doc), (loc(&["slide[1]"]), Role::Notes));
}

#[test]
fn ppt_marking_on_slide_two_only() {
    let doc = clean("ppt_slides.ppt");
    assert_only(&doc, US, &["slide[2]"], Role::Body);
    assert_has(
        &doc,
        "Quarterly review\nNothing here is marked.",
        &["slide[1]"],
        Role::Body,
    );
    assert_has(&doc, "Closing remarks", &["slide[3]"], Role::Body);
    assert_has(
        &doc,
        "Speaker notes for the close.",
        &["slide[3]"],
        Role::Notes,
    );
    assert_has(&doc, "Click to edit", &["master[1]"], Role::Header);
    // Each string once: the slide text is not repeated elsewhere.
    assert_only(&doc, "Programme status", &["slide[2]"], Role::Body);
    assert_eq!(level(&doc), Level::TopSecret);
    assert_eq!(marking_at(&doc), (loc(&["slide[2]"]), Role::Body));
}

#[test]
fn xls_marking_in_a_cell_of_the_second_sheet() {
    let doc = clean("xls_sheet2.xls");
    assert_only(&doc, CN, &["sheet['预算']!C4"], Role::Cell);
    assert_has(&doc, "预算", &["sheet['预算']"], Role::Title);
    assert_has(&doc, "年度预算汇总", &["sheet['Summary']!A1"], Role::Cell);
    assert_has(&doc, "差旅费", &["sheet['预算']!A2"], Role::Cell);
    // Numbers: RK integers, MULRK, floats; plain digits.
    assert_has(&doc, "1200", &["sheet['预算']!B2"], Role::Cell);
    assert_has(&doc, "42", &["sheet['Summary']!B1"], Role::Cell);
    assert_has(&doc, "3.5", &["sheet['Summary']!C1"], Role::Cell);
    assert_has(&doc, "1234567", &["sheet['Summary']!B2"], Role::Cell);
    // A hidden sheet is read like any other.
    assert_has(&doc, "Hidden", &["sheet['Hidden']"], Role::Title);
    assert_has(
        &doc,
        "internal worksheet",
        &["sheet['Hidden']!A1"],
        Role::Cell,
    );
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&["sheet['预算']!C4"]), Role::Cell));
}

#[test]
fn xls_same_cells_as_the_ods_twin() {
    // xls_cell.xls and ods_cell.ods are the same source converted twice: same locations.
    let xls = clean("xls_cell.xls");
    let ods = clean("ods_cell.ods");
    for d in [&xls, &ods] {
        assert_only(d, CN, &["sheet['Budget']!C7"], Role::Cell);
        assert_has(d, "42", &["sheet['Budget']!B1"], Role::Cell);
        assert_has(d, "Budget", &["sheet['Budget']"], Role::Title);
        assert_has(d, "Totals", &["sheet['Summary']!A1"], Role::Cell);
    }
    assert_eq!(level(&xls), Level::Secret);
}

#[test]
fn xls_marking_only_in_the_page_header() {
    let doc = clean("xls_header.xls");
    assert_only(&doc, CN, &["sheet['Budget']"], Role::Header);
    assert_has(&doc, "Quarterly plan", &["sheet['Budget']!A1"], Role::Cell);
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(marking_at(&doc), (loc(&["sheet['Budget']"]), Role::Header));
}

#[test]
fn xls_marking_only_in_a_cell_note() {
    let doc = clean("xls_note.xls");
    assert_only(&doc, US, &["sheet['Budget']!B2"], Role::Comment);
    assert_has(&doc, "1200", &["sheet['Budget']!B2"], Role::Cell);
    assert!(
        !doc.segments.iter().any(|s| s.text.contains("QA")),
        "the note's author is not text"
    );
    assert_eq!(level(&doc), Level::TopSecret);
    assert_eq!(
        marking_at(&doc),
        (loc(&["sheet['Budget']!B2"]), Role::Comment)
    );
}

#[test]
fn xls_resident_id_and_card_number_cells() {
    let doc = clean("xls_id.xls");
    assert_only(
        &doc,
        "110101199003074477",
        &["sheet['People']!B2"],
        Role::Cell,
    );
    // A number cell comes back as plain digits (no `.0`, no exponent).
    assert_only(
        &doc,
        "4111111111111111",
        &["sheet['People']!B3"],
        Role::Cell,
    );
    assert_eq!(
        detector_at(&doc, "pii.cn-resident-id"),
        vec![(loc(&["sheet['People']!B2"]), Role::Cell)]
    );
    assert_eq!(level(&doc), Level::Public);
}

#[test]
fn xls_custom_property_classification() {
    let doc = clean("xls_meta.xls");
    assert_only(
        &doc,
        "Classification: SECRET",
        &["DocumentSummaryInformation"],
        Role::Metadata,
    );
    // A UTF-8 (code page 65001) built-in property.
    assert_has(
        &doc,
        "title: Quarterly plan\nsubject: 年度预算",
        &["SummaryInformation"],
        Role::Metadata,
    );
    assert_eq!(level(&doc), Level::Secret);
    assert_eq!(
        marking_at(&doc),
        (loc(&["DocumentSummaryInformation"]), Role::Metadata)
    );
}

#[test]
fn xls_prose_about_secrecy_stays_public() {
    let doc = clean("xls_prose.xls");
    assert_has(
        &doc,
        "本表讨论如何处理机密文件的归档流程。",
        &["sheet['说明']!A1"],
        Role::Cell,
    );
    assert_eq!(level(&doc), Level::Public);
}

/// The byte offset of the first SST record of an .xls file's workbook stream.
fn sst_at(bytes: &[u8]) -> usize {
    (0..bytes.len().saturating_sub(12))
        .find(|&i| {
            bytes[i..i + 2] == [0xFC, 0x00]
                && u32::from_le_bytes(bytes[i + 4..i + 8].try_into().unwrap())
                    == u32::from_le_bytes(bytes[i + 8..i + 12].try_into().unwrap())
                && u32::from_le_bytes(bytes[i + 4..i + 8].try_into().unwrap()) > 0
        })
        .expect("an SST record")
}

#[test]
fn xls_hostile_shared_strings_end() {
    let bytes = read3("xls_sheet2.xls");
    let at = sst_at(&bytes);
    // The first string claims 65,535 characters (and rich runs, ext data), the table
    // claims 4 billion strings: the reader stops at the end of the record, no loop.
    let mut b = bytes.clone();
    b[at + 4..at + 12].copy_from_slice(&[0xFF; 8]);
    b[at + 12..at + 15].copy_from_slice(&[0xFF, 0xFF, 0x0C]);
    let doc = Extractor::default().extract("sst.xls", &b);
    assert!(
        !doc.errors.iter().any(|e| e.kind == ErrorKind::Internal),
        "{:?}",
        doc.errors
    );
    assert!(has_error(&doc, ErrorKind::Corrupt, &[]), "{:?}", doc.errors);
    // The sheets and their number cells are still read.
    assert_has(&doc, "1200", &["sheet['预算']!B2"], Role::Cell);
    // A record length cut to the SST's first bytes: the strings end there.
    let mut b = bytes.clone();
    b[at + 2..at + 4].copy_from_slice(&[10, 0]);
    let doc = Extractor::default().extract("sst.xls", &b);
    assert!(!doc.errors.iter().any(|e| e.kind == ErrorKind::Internal));
}

#[test]
fn xls_with_filepass_is_encrypted() {
    let bytes = read3("xls_header.xls");
    // Turn the globals' second record (INTERFACEHDR, 0x00E1) into FILEPASS.
    let at = bytes
        .windows(6)
        .position(|w| w == [0xE1, 0x00, 0x02, 0x00, 0xB0, 0x04])
        .expect("INTERFACEHDR");
    let mut b = bytes.clone();
    b[at] = 0x2F;
    let doc = Extractor::default().extract("locked.xls", &b);
    assert!(
        kinds(&doc).contains(&ErrorKind::Encrypted),
        "{:?}",
        doc.errors
    );
    assert!(!doc.segments.iter().any(|s| s.text.contains(CN)));
}

#[test]
fn ole_prefixes_never_panic() {
    let ex = Extractor::default();
    for name in [
        "doc_header.doc",
        "doc_meta.doc",
        "ppt_notes.ppt",
        "ppt_slides.ppt",
        "xls_cell.xls",
        "xls_sheet2.xls",
        "xls_header.xls",
        "xls_id.xls",
        "xls_meta.xls",
        "xls_note.xls",
        "xls_prose.xls",
    ] {
        let bytes = read3(name);
        for cut in (0..bytes.len().min(20_000)).step_by(97) {
            let doc = ex.extract(name, &bytes[..cut]);
            assert!(
                !doc.errors.iter().any(|e| e.kind == ErrorKind::Internal),
                "{name} cut at {cut}: {:?}",
                doc.errors
            );
        }
        // Bit flips inside the streams (the OLE container stays readable).
        for i in (0..bytes.len()).step_by((bytes.len() / 400).max(7)) {
            let mut b = bytes.clone();
            b[i] ^= 0x5A;
            let doc = ex.extract(name, &b);
            assert!(
                !doc.errors.iter().any(|e| e.kind == ErrorKind::Internal),
                "{name} flip at {i}: {:?}",
                doc.errors
            );
        }
    }
}
