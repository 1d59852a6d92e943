//! Mail extraction: each fixture of `tests/fixtures/mail/` (made by
//! `scripts/fixtures/make_mail_fixtures.py` with Python's `email` package) holds its marking in
//! one part only; the marking must come out once, at the exact location, with the exact role,
//! and the scanner must give the record its level. Hostile mail (bombs, deep nesting, many
//! parts, huge headers, truncation, bad charsets and encodings) stops at the budgets with the
//! right error kinds, never a panic or hang.

mod common;

use common::{CN, US, assert_has, assert_only, has_error, kinds};
use miji::{Document, ErrorKind, Level, Role, Scanner};
use miji_extract::{Extractor, Limits};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CN_TOP: &str = "绝密★启用前";

fn mail_fixture(name: &str) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/mail")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Extracts a fixture, expecting it to be read completely.
fn extract(name: &str) -> Document {
    let doc = Extractor::default().extract(name, &mail_fixture(name));
    assert!(
        doc.errors.is_empty(),
        "{name}: unexpected errors {:?}",
        doc.errors
    );
    doc
}

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(Scanner::default)
}

fn level(doc: &Document) -> Level {
    scanner().scan_document(doc.clone()).level
}

fn members(doc: &Document) -> Vec<String> {
    doc.members.iter().map(|m| m.join("!/")).collect()
}

/// No `internal` error: the extractor never panicked on the way.
fn no_panic(doc: &Document) {
    assert!(
        !kinds(doc).contains(&ErrorKind::Internal),
        "internal error: {:?}",
        doc.errors
    );
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let mut n = [0u8; 3];
        n[..chunk.len()].copy_from_slice(chunk);
        let v = u32::from(n[0]) << 16 | u32::from(n[1]) << 8 | u32::from(n[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(v >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ----- fixtures: one marking, one place -----

#[test]
fn subject_gbk_base64_word() {
    let doc = extract("subject_gbk.eml");
    assert_only(&doc, CN, &["header:Subject"], Role::Subject);
    assert_eq!(level(&doc), Level::Secret);
}

#[test]
fn subject_utf8_q_word() {
    let doc = extract("subject_utf8_q.eml");
    assert_only(&doc, CN_TOP, &["header:Subject"], Role::Subject);
    let report = scanner().scan_document(doc);
    assert_eq!(report.level, Level::TopSecret);
    let marking = report.marking.expect("a marking");
    assert_eq!(marking.location, ["header:Subject"]);
    assert_eq!(marking.role, Role::Subject);
    assert_eq!(marking.condition.as_deref(), Some("启用前"));
}

#[test]
fn body_quoted_printable_gbk() {
    let doc = extract("body_qp_gbk.eml");
    assert_only(&doc, CN, &["body[1]"], Role::Body);
    // CRLF of the MIME canonical form becomes LF: the marking is a line of its own.
    assert_has(&doc, "各位：\n机密★10年\n", &["body[1]"], Role::Body);
    assert_eq!(level(&doc), Level::Secret);
}

#[test]
fn docx_attachment_header() {
    let doc = extract("attachment_docx.eml");
    assert_only(
        &doc,
        CN,
        &["attachment[1]:plan.docx", "word/header1.xml"],
        Role::Header,
    );
    assert_has(
        &doc,
        "plan.docx",
        &["@attachment[1]:plan.docx"],
        Role::Filename,
    );
    assert_eq!(members(&doc), ["attachment[1]:plan.docx"]);
    let report = scanner().scan_document(doc);
    assert_eq!(report.level, Level::Secret);
    let marking = report.marking.expect("a marking");
    assert_eq!(
        miji::Report::render_location(&marking.location),
        "attachment[1]:plan.docx!/word/header1.xml"
    );
    assert_eq!(marking.role, Role::Header);
}

#[test]
fn zip_attachment_member() {
    let doc = extract("attachment_zip.eml");
    assert_only(
        &doc,
        US,
        &["attachment[1]:docs.zip", "notes/secret.txt"],
        Role::Body,
    );
    assert_eq!(
        members(&doc),
        [
            "attachment[1]:docs.zip",
            "attachment[1]:docs.zip!/notes/readme.txt",
            "attachment[1]:docs.zip!/notes/secret.txt"
        ]
    );
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn nested_message_body() {
    let doc = extract("nested_rfc822.eml");
    assert_only(
        &doc,
        US,
        &["attachment[1]:forwarded.eml", "body[1]"],
        Role::Body,
    );
    assert_has(
        &doc,
        "Original",
        &["attachment[1]:forwarded.eml", "header:Subject"],
        Role::Subject,
    );
    assert_has(&doc, "Fwd: Original", &["header:Subject"], Role::Subject);
    assert_eq!(members(&doc), ["attachment[1]:forwarded.eml"]);
    assert_eq!(level(&doc), Level::TopSecret);
}

#[test]
fn mbox_messages() {
    let doc = extract("archive.mbox");
    assert_only(&doc, CN, &["message[2]", "body[1]"], Role::Body);
    assert_eq!(members(&doc), ["message[1]", "message[2]", "message[3]"]);
    // The escaped `>From ` body line did not start a message.
    assert_has(
        &doc,
        "Third message.\n>From the start",
        &["message[3]", "body[1]"],
        Role::Body,
    );
    assert_has(
        &doc,
        "Message 2",
        &["message[2]", "header:Subject"],
        Role::Subject,
    );
    let report = scanner().scan_document(doc);
    assert_eq!(report.level, Level::Secret);
    assert_eq!(
        report.marking.expect("a marking").location,
        ["message[2]", "body[1]"]
    );
}

#[test]
fn html_body_entities() {
    let doc = extract("html_entities.eml");
    assert_only(&doc, CN, &["body[1]"], Role::Body);
    assert_has(
        &doc,
        "Notice\n机密★10年\nBudget & schedule <draft>\u{a0}v2",
        &["body[1]"],
        Role::Body,
    );
    // <style>, <script> and comments are not text.
    assert!(
        doc.segments
            .iter()
            .all(|s| s.role == Role::MailHeader || !s.text.contains("TOP SECRET")),
        "{:#?}",
        doc.segments
    );
    assert_eq!(level(&doc), Level::Secret);
}

#[test]
fn msip_labels_header() {
    let doc = extract("msip_labels.eml");
    let guid = "4b7a1e2c-9d3f-4a6b-8c21-5e0f7d9a3b14";
    assert_only(
        &doc,
        "_Name=Highly Confidential",
        &["header"],
        Role::MailHeader,
    );
    assert_has(
        &doc,
        &format!(
            "msip_labels: MSIP_Label_{guid}_Enabled=true;\nMSIP_Label_{guid}_SetDate=2024-01-01T01:00:00Z;"
        ),
        &["header"],
        Role::MailHeader,
    );
    assert_has(
        &doc,
        &format!("\nMSIP_Label_{guid}_Name=Highly Confidential;\n"),
        &["header"],
        Role::MailHeader,
    );
    assert_has(
        &doc,
        "\nX-Protective-Marking: VER=2018.4, NS=gov.au, SEC=OFFICIAL:Sensitive, ORIGIN=alice@example.com\n",
        &["header"],
        Role::MailHeader,
    );
    let report = scanner().scan_document(doc);
    assert_eq!(report.level, Level::Secret);
    let marking = report.marking.expect("a marking");
    assert_eq!(marking.scheme, "label");
    assert_eq!(marking.location, ["header"]);
    assert_eq!(marking.role, Role::MailHeader);
}

#[test]
fn rfc2231_attachment_name() {
    let doc = extract("cn_filename.eml");
    let name = "机密★10年-计划.txt";
    let component = format!("attachment[1]:{name}");
    assert_only(&doc, CN, &[&format!("@{component}")], Role::Filename);
    assert_eq!(members(&doc), std::slice::from_ref(&component));
    assert_has(&doc, "nothing marked", &[&component], Role::Body);
}

#[test]
fn sniffed_without_extension() {
    let extractor = Extractor::default();
    let doc = extractor.extract("", &mail_fixture("subject_gbk.eml"));
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_only(&doc, CN, &["header:Subject"], Role::Subject);
    let doc = extractor.extract("INBOX", &mail_fixture("archive.mbox"));
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_only(&doc, CN, &["message[2]", "body[1]"], Role::Body);
    // Only names without an extension are sniffed: a .txt stays plain text.
    let doc = extractor.extract("notes.txt", &mail_fixture("subject_gbk.eml"));
    assert!(
        doc.segments
            .iter()
            .all(|s| s.location == ["@notes.txt"] || s.location.is_empty())
    );
}

// ----- built in the test: more shapes of real mail -----

fn mail(headers: &str, body: &str) -> Vec<u8> {
    format!("From: a@example.com\r\nTo: b@example.com\r\n{headers}\r\n\r\n{body}").into_bytes()
}

#[test]
fn big5_subject_and_outlook_names() {
    let big5 = encoding_rs::BIG5.encode("極機密").0;
    let gbk_name = encoding_rs::GBK.encode("计划.txt").0;
    let body = format!(
        "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
         --b\r\nContent-Type: text/plain; name=\"=?gbk?B?{}?=\"\r\n\
         Content-Disposition: attachment; filename=\"=?gbk?B?{}?=\"\r\n\r\nplain\r\n--b--\r\n",
        b64(&gbk_name),
        b64(&gbk_name)
    );
    let bytes = mail(
        &format!(
            "Subject: =?big5?B?{}?=\r\nContent-Type: multipart/mixed; boundary=b",
            b64(&big5)
        ),
        &body,
    );
    let doc = Extractor::default().extract("m.eml", &bytes);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_only(&doc, "極機密", &["header:Subject"], Role::Subject);
    assert_has(&doc, "plain", &["attachment[1]:计划.txt"], Role::Body);
    assert_has(&doc, "hello", &["body[1]"], Role::Body);
}

#[test]
fn inline_images_are_coverage_errors() {
    let png = b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR";
    let body = format!(
        "--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{US}</p><img src=\"cid:i1\">\r\n\
         --r\r\nContent-Type: image/png\r\nContent-ID: <i1>\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --r\r\nContent-Type: image/jpeg; name=logo.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --r--\r\n",
        b64(png),
        b64(b"not really a jpeg")
    );
    let bytes = mail(
        "Subject: s\r\nContent-Type: multipart/related; boundary=r",
        &body,
    );
    let doc = Extractor::default().extract("m.eml", &bytes);
    assert_only(&doc, US, &["body[1]"], Role::Body);
    assert!(
        has_error(&doc, ErrorKind::NoTextLayer, &["attachment[1]"]),
        "{:?}",
        doc.errors
    );
    assert!(
        has_error(&doc, ErrorKind::NoTextLayer, &["attachment[2]:logo.jpg"]),
        "{:?}",
        doc.errors
    );
    assert_eq!(doc.errors.len(), 2, "{:?}", doc.errors);
}

#[test]
fn signed_encrypted_and_unknown_encodings() {
    // A detached signature is no content: no error.
    let signed = mail(
        "Subject: s\r\nContent-Type: multipart/signed; boundary=s; protocol=\"application/pkcs7-signature\"",
        &format!(
            "--s\r\nContent-Type: text/plain\r\n\r\n{US}\r\n--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n"
        ),
    );
    let doc = Extractor::default().extract("s.eml", &signed);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_only(&doc, US, &["body[1]"], Role::Body);

    let pgp = mail(
        "Subject: s\r\nContent-Type: multipart/encrypted; boundary=e; protocol=\"application/pgp-encrypted\"",
        "--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e--\r\n",
    );
    let doc = Extractor::default().extract("e.eml", &pgp);
    assert_eq!(kinds(&doc), [ErrorKind::Encrypted]);

    let smime = mail(
        "Subject: s\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64",
        "MIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n",
    );
    let doc = Extractor::default().extract("p.eml", &smime);
    assert!(
        has_error(&doc, ErrorKind::Encrypted, &["attachment[1]:smime.p7m"]),
        "{:?}",
        doc.errors
    );

    let uu = mail(
        "Subject: s\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: x-uuencode",
        "begin 644 a.bin\r\n`\r\nend\r\n",
    );
    let doc = Extractor::default().extract("u.eml", &uu);
    assert!(
        has_error(&doc, ErrorKind::UnsupportedFormat, &["attachment[1]:a.bin"]),
        "{:?}",
        doc.errors
    );
}

#[test]
fn bad_base64_is_corrupt_and_keeps_the_prefix() {
    let body = format!(
        "--b\r\nContent-Type: text/plain; name=a.txt\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n%%%%\r\n--b--\r\n",
        b64(format!("{US}\n").as_bytes())
    );
    let bytes = mail(
        "Subject: s\r\nContent-Type: multipart/mixed; boundary=b",
        &body,
    );
    let doc = Extractor::default().extract("m.eml", &bytes);
    assert!(
        has_error(&doc, ErrorKind::Corrupt, &["attachment[1]:a.txt"]),
        "{:?}",
        doc.errors
    );
    assert_only(&doc, US, &["attachment[1]:a.txt"], Role::Body);
}

#[test]
fn a_zip_sent_as_text_is_still_opened() {
    // The base64 zip of a fixture, sent again as an inline text/plain body.
    let eml = mail_fixture("attachment_zip.eml");
    let start = eml
        .windows(4)
        .position(|w| w == b"UEsD")
        .expect("the base64 zip");
    let len = eml[start..]
        .windows(4)
        .position(|w| w == b"\r\n--")
        .expect("its end");
    let bytes = mail(
        "Subject: s\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64",
        std::str::from_utf8(&eml[start..start + len]).unwrap(),
    );
    let doc = Extractor::default().extract("t.eml", &bytes);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_only(&doc, US, &["body[1]", "notes/secret.txt"], Role::Body);
    assert_eq!(members(&doc)[0], "body[1]");
}

// ----- hostile mail -----

fn timed(limits: Limits, name: &str, bytes: &[u8]) -> Document {
    let start = Instant::now();
    let doc = Extractor::new(limits).extract(name, bytes);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{name} took {:?}",
        start.elapsed()
    );
    no_panic(&doc);
    doc
}

#[test]
fn base64_zip_bomb_attachment() {
    let bytes = mail_fixture("bomb_zip_attachment.eml");
    let doc = timed(Limits::default(), "bomb_zip_attachment.eml", &bytes);
    assert!(
        has_error(
            &doc,
            ErrorKind::LimitRatio,
            &["attachment[1]:zeros.zip", "zeros.bin"]
        ),
        "{:?}",
        doc.errors
    );
    assert_has(&doc, "Zeros attached.", &["body[1]"], Role::Body);
    // Without the ratio check, the cumulative budget stops it.
    let doc = timed(
        Limits {
            max_ratio: u64::MAX,
            max_total_decompressed: 8 << 20,
            ..Limits::default()
        },
        "bomb_zip_attachment.eml",
        &bytes,
    );
    assert!(
        kinds(&doc).contains(&ErrorKind::LimitSize),
        "{:?}",
        doc.errors
    );
}

#[test]
fn thousand_nested_multiparts() {
    let depth = 1000;
    let mut bytes = String::from("From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
    for i in 0..depth {
        bytes.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    bytes.push_str(&format!("Content-Type: text/plain\r\n\r\n{US}\r\n"));
    for i in (0..depth).rev() {
        bytes.push_str(&format!("--b{i}--\r\n"));
    }
    let doc = timed(Limits::default(), "deep.eml", bytes.as_bytes());
    assert!(
        has_error(&doc, ErrorKind::LimitDepth, &[]),
        "{:?}",
        doc.errors
    );
    assert_eq!(kinds(&doc), [ErrorKind::LimitDepth]);
    // With a stack-breaking limit set by the user, the parts still come out.
    let doc = timed(
        Limits {
            max_mime_depth: 2000,
            ..Limits::default()
        },
        "deep.eml",
        bytes.as_bytes(),
    );
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_only(&doc, US, &["body[1]"], Role::Body);
}

#[test]
fn deeply_forwarded_messages() {
    let mut message = format!("Subject: inner\r\n\r\n{US}\r\n");
    for _ in 0..50 {
        message = format!("Subject: fwd\r\nContent-Type: message/rfc822\r\n\r\n{message}");
    }
    let doc = timed(Limits::default(), "fwd.eml", message.as_bytes());
    assert_eq!(kinds(&doc), [ErrorKind::LimitDepth], "{:?}", doc.errors);
    assert!(!doc.segments.iter().any(|s| s.text.contains(US)));
}

fn many_attachments(n: usize) -> Vec<u8> {
    let mut body = String::new();
    for i in 0..n {
        body.push_str(&format!(
            "--b\r\nContent-Type: application/octet-stream; name=\"f{i}.txt\"\r\n\r\nx{i}\r\n"
        ));
    }
    body.push_str("--b--\r\n");
    mail(
        "Subject: many\r\nContent-Type: multipart/mixed; boundary=b",
        &body,
    )
}

#[test]
fn ten_thousand_attachments() {
    let bytes = many_attachments(10_000);
    let doc = timed(
        Limits {
            max_entries: 100,
            ..Limits::default()
        },
        "many.eml",
        &bytes,
    );
    assert_eq!(kinds(&doc), [ErrorKind::LimitEntries], "{:?}", doc.errors);
    assert!(has_error(&doc, ErrorKind::LimitEntries, &[]));
    assert_eq!(doc.members.len(), 100);
    // The record-wide budget stops it too.
    let doc = timed(
        Limits {
            max_total_entries: 50,
            ..Limits::default()
        },
        "many.eml",
        &bytes,
    );
    assert_eq!(kinds(&doc), [ErrorKind::LimitEntries], "{:?}", doc.errors);
    assert_eq!(doc.members.len(), 50);
    // Default limits read 10,000 parts.
    let doc = timed(Limits::default(), "many.eml", &bytes);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_eq!(doc.members.len(), 10_000);
    assert_has(&doc, "x9999", &["attachment[10000]:f9999.txt"], Role::Body);
}

#[test]
fn mbox_with_many_messages() {
    let mut bytes = String::new();
    for i in 0..1000 {
        bytes.push_str(&format!(
            "From a@example.com Mon Jan  1 00:00:00 2024\nSubject: m{i}\n\nbody {i}\n\n"
        ));
    }
    let doc = timed(
        Limits {
            max_entries: 10,
            ..Limits::default()
        },
        "box.mbox",
        bytes.as_bytes(),
    );
    assert_eq!(kinds(&doc), [ErrorKind::LimitEntries], "{:?}", doc.errors);
    assert_eq!(doc.members.len(), 10);
    let doc = timed(Limits::default(), "box.mbox", bytes.as_bytes());
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_has(&doc, "body 999", &["message[1000]", "body[1]"], Role::Body);
}

#[test]
fn ten_megabyte_header_line() {
    let junk = "a".repeat(10 << 20);
    let words = "=?utf-8?B?".repeat(1 << 20);
    let bytes = mail(
        &format!("X-Junk: {junk}\r\nSubject: {words}{CN}\r\nX-Words: =?a?b?{junk}"),
        &format!("{US}\r\n"),
    );
    let doc = timed(Limits::default(), "huge.eml", &bytes);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_only(&doc, US, &["body[1]"], Role::Body);
    assert_only(&doc, CN, &["header:Subject"], Role::Subject);
    // A header that never ends (no body): all header.
    let doc = timed(
        Limits::default(),
        "h.eml",
        format!("Subject: {junk}").as_bytes(),
    );
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    // Past the size limit, the input is refused whole.
    let doc = timed(
        Limits {
            max_size: 1 << 20,
            ..Limits::default()
        },
        "huge.eml",
        &bytes,
    );
    assert_eq!(kinds(&doc), [ErrorKind::LimitSize]);
}

#[test]
fn truncated_boundaries() {
    let full = format!(
        "--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n\
         --b\r\nContent-Type: application/zip; name=docs.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        b64(b"PK\x03\x04 truncated zip")
    );
    let headers = "Subject: t\r\nContent-Type: multipart/mixed; boundary=b";
    // Cut at every byte: never a panic; a cut message is never complete.
    let bytes = mail(headers, &full);
    let body_at = bytes.len() - full.len();
    for cut in body_at..bytes.len() - 8 {
        let doc = Extractor::default().extract("t.eml", &bytes[..cut]);
        no_panic(&doc);
        assert!(!doc.errors.is_empty(), "cut at {cut} reads as complete");
    }
    // No closing delimiter: the parts read, and `corrupt` at the message.
    let open = mail(
        headers,
        "--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\n\r\nsecond",
    );
    let doc = Extractor::default().extract("t.eml", &open);
    assert_eq!(kinds(&doc), [ErrorKind::Corrupt]);
    assert!(has_error(&doc, ErrorKind::Corrupt, &[]));
    assert_has(&doc, "second", &["body[2]"], Role::Body);
    // The boundary never appears: `corrupt`, and the body is read as text.
    let missing = mail(headers, &format!("--other\r\n\r\n{US}\r\n"));
    let doc = Extractor::default().extract("t.eml", &missing);
    assert_eq!(kinds(&doc), [ErrorKind::Corrupt]);
    assert_only(&doc, US, &["body[1]"], Role::Body);
    // No boundary parameter at all.
    let doc = Extractor::default().extract(
        "t.eml",
        &mail(
            "Subject: t\r\nContent-Type: multipart/mixed",
            &format!("{US}\r\n"),
        ),
    );
    assert_eq!(kinds(&doc), [ErrorKind::Corrupt]);
    assert_only(&doc, US, &["body[1]"], Role::Body);
}

#[test]
fn invalid_charset_names() {
    let gbk = encoding_rs::GBK.encode(CN).0;
    for label in [
        "x-no-such-charset",
        "",
        "utf-7",
        "hz-gb-2312",
        "\"\"",
        &"z".repeat(10_000),
        "gbk\0",
        "../../etc/passwd",
    ] {
        let mut bytes = format!(
            "Subject: =?{label}?B?{}?=\r\nContent-Type: text/plain; charset={label}\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n",
            b64(&gbk)
        )
        .into_bytes();
        bytes.extend_from_slice(&gbk);
        let doc = timed(Limits::default(), "c.eml", &bytes);
        assert!(doc.errors.is_empty(), "{label}: {:?}", doc.errors);
        // Unknown charsets are detected: the GBK subject and body still read (an encoded word
        // with a label longer than 64 bytes is not one, and stays as it is).
        assert_has(&doc, CN, &["body[1]"], Role::Body);
        if label.len() <= 64 {
            assert_has(&doc, CN, &["header:Subject"], Role::Subject);
        }
    }
}

#[test]
fn random_and_garbage_mail() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut random = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect()
    };
    for len in [0, 1, 17, 4096, 1 << 20] {
        let doc = timed(Limits::default(), "r.eml", &random(len));
        no_panic(&doc);
        let doc = timed(Limits::default(), "r.mbox", &random(len));
        no_panic(&doc);
    }
    // MIME-shaped noise: headers and delimiters in random order.
    let pieces = [
        "--b\r\n",
        "--b--\r\n",
        "Content-Type: multipart/mixed; boundary=b\r\n",
        "Content-Type: message/rfc822\r\n",
        "Content-Transfer-Encoding: base64\r\n",
        "Content-Transfer-Encoding: quoted-printable\r\n",
        "\r\n",
        "=?gbk?B?u/rD3A==?=\r\n",
        "=\r\n",
        "<p>&#x",
        "From x\r\n",
    ];
    for round in 0..300 {
        let picks = random(200);
        let mut bytes = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for p in picks {
            bytes.extend_from_slice(pieces[p as usize % pieces.len()].as_bytes());
        }
        let doc = Extractor::default().extract(&format!("n{round}.eml"), &bytes);
        no_panic(&doc);
    }
}

#[test]
fn size_and_time_budgets() {
    let big = b64(&vec![b'x'; 100_000]);
    let bytes = mail(
        "Subject: s\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64",
        &big,
    );
    let doc = timed(
        Limits {
            max_size: 50_000,
            ..Limits::default()
        },
        "s.eml",
        &bytes[..],
    );
    // The input itself is over 50,000 bytes: refused whole.
    assert_eq!(kinds(&doc), [ErrorKind::LimitSize]);
    let doc = timed(
        Limits {
            max_size: 140_000,
            max_total_decompressed: 10_000,
            ..Limits::default()
        },
        "s.eml",
        &bytes[..],
    );
    assert!(
        has_error(&doc, ErrorKind::LimitSize, &["body[1]"]),
        "{:?}",
        doc.errors
    );
    assert!(
        doc.segments
            .iter()
            .any(|s| s.location == ["body[1]"] && s.text.len() == 10_000)
    );
    let doc = timed(
        Limits {
            max_time: Some(Duration::ZERO),
            ..Limits::default()
        },
        "many.eml",
        &many_attachments(100),
    );
    assert_eq!(kinds(&doc), [ErrorKind::LimitTime], "{:?}", doc.errors);
}

/// The hostile cases again, in a child process under a 1.5 GiB address-space cap (`ulimit
/// -v`): an unbounded allocation would abort the child and fail this test.
#[test]
#[cfg(unix)]
fn hostile_mail_under_memory_cap() {
    if std::env::var_os("MIJI_EXTRACT_MAIL_CHILD").is_some() {
        return; // no grandchildren
    }
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1572864 && exec \"$0\" \"$@\"")
        .arg(exe)
        .args([
            "base64_zip_bomb_attachment",
            "thousand_nested_multiparts",
            "deeply_forwarded_messages",
            "ten_thousand_attachments",
            "mbox_with_many_messages",
            "ten_megabyte_header_line",
            "truncated_boundaries",
            "invalid_charset_names",
            "random_and_garbage_mail",
            "size_and_time_budgets",
            "--exact",
            "--test-threads=1",
        ])
        .env("MIJI_EXTRACT_MAIL_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("10 passed"),
        "child failed: {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
