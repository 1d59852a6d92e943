//! Each fixture of `tests/fixtures/extract/` (made by `scripts/fixtures/make_extract_fixtures.py`)
//! holds its marking in one part only; the marking must come out once, at the exact location,
//! with the exact role.

mod common;

use common::*;
use miji::Role;
use miji_extract::{Extractor, Limits};

fn extract(name: &str) -> miji::Document {
    let doc = Extractor::default().extract(name, &read(name));
    assert!(
        doc.errors.is_empty(),
        "{name}: unexpected errors {:?}",
        doc.errors
    );
    doc
}

#[test]
fn docx_header_only() {
    let doc = extract("docx_header.docx");
    assert_only(&doc, CN, &["word/header1.xml"], Role::Header);
    assert_has(
        &doc,
        "Quarterly plan\nNothing here is marked.\tColumn two.",
        &["word/document.xml"],
        Role::Body,
    );
    assert!(
        doc.members.is_empty(),
        "an OOXML document is one document: {:?}",
        doc.members
    );
}

#[test]
fn docx_footer_only() {
    assert_only(
        &extract("docx_footer.docx"),
        US,
        &["word/footer1.xml"],
        Role::Footer,
    );
}

#[test]
fn docx_comment_only() {
    assert_only(
        &extract("docx_comment.docx"),
        US,
        &["word/comments.xml"],
        Role::Comment,
    );
}

#[test]
fn docx_textbox_only_once() {
    // The VML fallback repeats the box; it must not be read twice.
    assert_only(
        &extract("docx_textbox.docx"),
        CN,
        &["word/document.xml"],
        Role::Textbox,
    );
}

#[test]
fn docx_footnote_only() {
    assert_only(
        &extract("docx_footnote.docx"),
        US,
        &["word/footnotes.xml"],
        Role::Footnote,
    );
}

#[test]
fn docx_custom_property_only() {
    let doc = extract("docx_custom_property.docx");
    assert_only(&doc, US, &["docProps/custom.xml"], Role::Metadata);
    let custom = doc
        .segments
        .iter()
        .find(|s| s.location == ["docProps/custom.xml"])
        .unwrap();
    assert!(
        custom
            .text
            .lines()
            .any(|l| l == format!("MSIP_Label_3f2b6c1a-0d4e-4b8a-9c7f-5e6d1a2b3c4d_Name: {US}")),
        "{:?}",
        custom.text
    );
    assert_has(
        &doc,
        "creator: fixture",
        &["docProps/core.xml"],
        Role::Metadata,
    );
}

#[test]
fn xlsx_cell() {
    let doc = extract("xlsx_cell.xlsx");
    assert_only(&doc, US, &["sheet['Budget']!C7"], Role::Cell);
    assert_has(&doc, "1200", &["sheet['Budget']!B2"], Role::Cell);
    assert_only(&doc, "Budget", &["sheet['Budget']"], Role::Title);
}

#[test]
fn xlsx_sheet_name_only() {
    let doc = extract("xlsx_sheet_name.xlsx");
    let hits: Vec<_> = doc
        .segments
        .iter()
        .filter(|s| s.text.contains(CN))
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].location, [format!("sheet['{CN}']")]);
    assert_eq!(hits[0].role, Role::Title);
    // Cells of that sheet name it in their location.
    assert_has(&doc, "figures", &[&format!("sheet['{CN}']!A1")], Role::Cell);
}

#[test]
fn xlsx_comment_only() {
    assert_only(
        &extract("xlsx_comment.xlsx"),
        CN,
        &["sheet['Budget']!B2"],
        Role::Comment,
    );
}

#[test]
fn pptx_notes_only() {
    let doc = extract("pptx_notes.pptx");
    assert_only(&doc, US, &["ppt/notesSlides/notesSlide3.xml"], Role::Notes);
    assert_has(&doc, "Slide 3", &["ppt/slides/slide3.xml"], Role::Body);
}

#[test]
fn pptx_slide() {
    let doc = extract("pptx_slide.pptx");
    assert_only(&doc, CN, &["ppt/slides/slide1.xml"], Role::Body);
    // Paragraphs are lines.
    assert_has(
        &doc,
        &format!("Agenda\n{CN}"),
        &["ppt/slides/slide1.xml"],
        Role::Body,
    );
}

#[test]
fn zip_member_name_only() {
    let doc = extract("zip_member_name.zip");
    let name = format!("{CN}.txt");
    assert_only(&doc, CN, &[&format!("@{name}")], Role::Filename);
    assert_has(&doc, "ordinary text", &[&name], Role::Body);
    assert_eq!(doc.members, vec![vec![name]]);
}

#[test]
fn zip_gbk_member_name() {
    let doc = extract("zip_gbk_name.zip");
    let name = format!("{CN}.txt");
    assert_only(&doc, CN, &[&format!("@{name}")], Role::Filename);
    assert_eq!(doc.members, vec![vec![name]]);
}

#[test]
fn zip_nested_in_zip() {
    let doc = extract("zip_nested.zip");
    assert_only(&doc, US, &["inner.zip", "secret.txt"], Role::Body);
    assert_has(
        &doc,
        "secret.txt",
        &["inner.zip", "@secret.txt"],
        Role::Filename,
    );
    assert!(doc.members.contains(&vec!["inner.zip".to_string()]));
    assert!(
        doc.members
            .contains(&vec!["inner.zip".to_string(), "secret.txt".to_string()])
    );
}

#[test]
fn zip_nested_beyond_depth_limit() {
    let limits = Limits {
        max_depth: 1,
        ..Limits::default()
    };
    let doc = Extractor::new(limits).extract("zip_nested.zip", &read("zip_nested.zip"));
    assert!(
        has_error(&doc, miji::ErrorKind::LimitDepth, &["inner.zip"]),
        "{:?}",
        doc.errors
    );
    assert!(!doc.segments.iter().any(|s| s.text.contains(US)));
    // The outer level is still read.
    assert_has(&doc, "outer", &["readme.txt"], Role::Body);
}

#[test]
fn zip_traversal_names_are_just_locations() {
    let doc = extract("zip_traversal.zip");
    assert_only(&doc, US, &["../../etc/evil.txt"], Role::Body);
    assert_has(&doc, "abs", &["/abs/path.txt"], Role::Body);
}

#[test]
fn docx_inside_zip() {
    let doc = extract("zip_with_docx.zip");
    assert_only(
        &doc,
        CN,
        &["docs/plan.docx", "word/header1.xml"],
        Role::Header,
    );
    assert!(doc.members.contains(&vec!["docs/plan.docx".to_string()]));
}

#[test]
fn tar_gz() {
    let doc = extract("archive.tar.gz");
    assert_only(&doc, US, &["docs/memo.txt"], Role::Body);
    assert_has(&doc, "docs/memo.txt", &["@docs/memo.txt"], Role::Filename);
    assert_eq!(
        doc.members,
        vec![
            vec!["docs/readme.txt".to_string()],
            vec!["docs/memo.txt".to_string()]
        ]
    );
}

#[test]
fn tiny_gbk_file() {
    let bytes = read("tiny_gbk.txt");
    assert_eq!(bytes.len(), 12);
    let doc = extract("tiny_gbk.txt");
    assert_eq!(doc.encoding.as_deref(), Some("GBK"));
    assert_only(&doc, CN, &[], Role::Body);
}

#[test]
fn utf16le_with_bom() {
    let doc = extract("utf16le_bom.txt");
    assert_eq!(doc.encoding.as_deref(), Some("UTF-16LE"));
    assert_only(&doc, US, &[], Role::Body);
    assert_eq!(
        doc.segments
            .iter()
            .find(|s| s.role == Role::Body)
            .unwrap()
            .text,
        format!("Header\r\n{US}\r\nbody\r\n")
    );
}

#[test]
fn big5_text() {
    let doc = extract("big5.txt");
    assert_eq!(doc.encoding.as_deref(), Some("Big5"));
    assert_only(&doc, "極機密", &[], Role::Body);
}

#[test]
fn shift_jis_text() {
    let doc = extract("shift_jis.txt");
    assert_eq!(doc.encoding.as_deref(), Some("Shift_JIS"));
    assert_only(&doc, "社外秘", &[], Role::Body);
}

#[test]
fn utf8_plain_and_filename() {
    let doc = Extractor::default().extract("绝密文件.txt", "第一行\n绝密★启用前\n".as_bytes());
    assert_eq!(doc.encoding.as_deref(), Some("UTF-8"));
    assert_has(&doc, "绝密★启用前", &[], Role::Body);
    assert_only(&doc, "绝密文件", &["@绝密文件.txt"], Role::Filename);
    assert_eq!(doc.bytes, "第一行\n绝密★启用前\n".len() as u64);
    assert!(doc.path.is_none());
}

#[test]
fn extract_path_reads_file() {
    let doc = Extractor::default().extract_path(&fixture("docx_header.docx"));
    assert!(doc.path.as_deref().unwrap().ends_with("docx_header.docx"));
    assert_eq!(doc.bytes, read("docx_header.docx").len() as u64);
    assert_only(&doc, CN, &["word/header1.xml"], Role::Header);
    assert_has(
        &doc,
        "docx_header.docx",
        &["@docx_header.docx"],
        Role::Filename,
    );
}

#[test]
fn extract_path_missing_file_is_io_error() {
    let doc = Extractor::default().extract_path(&fixture("does-not-exist.txt"));
    assert_eq!(kinds(&doc), [miji::ErrorKind::Io]);
}

#[test]
fn extract_path_checks_size_before_reading() {
    let limits = Limits {
        max_size: 100,
        ..Limits::default()
    };
    let doc = Extractor::new(limits).extract_path(&fixture("docx_header.docx"));
    assert_eq!(kinds(&doc), [miji::ErrorKind::LimitSize]);
    assert!(doc.segments.iter().all(|s| s.role == Role::Filename));
}
