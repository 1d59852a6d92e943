//! Hostile input: bombs, overlapping entries, encryption, truncation, random bytes, deep XML,
//! huge lines. Each case asserts the error kind and that nothing panics; the whole suite also
//! runs once in a child process under a virtual-memory cap (`ulimit -v`), so an unbounded
//! allocation would abort the child and fail the test.

mod common;

use common::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use miji::{Document, ErrorKind, Role};
use miji_extract::{Extractor, Limits};
use std::io::Write;
use std::time::Duration;

/// No `internal` error: the extractor never panicked on the way.
fn no_panic(doc: &Document) {
    assert!(
        !kinds(doc).contains(&ErrorKind::Internal),
        "internal error: {:?}",
        doc.errors
    );
}

/// Deterministic pseudo-random bytes (xorshift).
fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

// ----- the cases (run by the tests below and by the memory-capped child) -----

fn case_nested_zip_bomb(extractor: &Extractor) {
    let doc = extractor.extract("bomb_nested.zip", &read("bomb_nested.zip"));
    no_panic(&doc);
    assert!(
        kinds(&doc).contains(&ErrorKind::LimitSize),
        "{:?}",
        kinds(&doc)
    );
    // What was read before the budget ran out is kept.
    assert!(
        doc.segments
            .iter()
            .any(|s| s.location == ["level2_0.zip", "level1_0.zip", "@zeros0.bin"])
    );
}

fn case_overlapping_entries(extractor: &Extractor) {
    let doc = extractor.extract("overlap.zip", &read("overlap.zip"));
    no_panic(&doc);
    let overlaps = doc
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::Corrupt && e.message.contains("overlaps"))
        .count();
    assert_eq!(overlaps, 49, "{:?}", doc.errors);
}

/// 100 MB of zeros as 100 gzip members of 1 MiB each: about 100 kB that claims nothing true.
fn gz_bomb() -> Vec<u8> {
    let mut member = GzEncoder::new(Vec::new(), Compression::best());
    member.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = member.finish().unwrap();
    member.repeat(100)
}

fn case_gz_bomb(extractor: &Extractor) {
    let bomb = gz_bomb();
    assert!(bomb.len() < 200_000);
    let doc = extractor.extract("zeros.bin.gz", &bomb);
    no_panic(&doc);
    assert!(
        kinds(&doc).contains(&ErrorKind::LimitRatio),
        "{:?}",
        doc.errors
    );
    // The prefix that was read is still looked at (here: zeros, so not text).
    assert!(
        doc.errors
            .iter()
            .all(|e| matches!(e.kind, ErrorKind::LimitRatio | ErrorKind::UnsupportedFormat))
    );
}

fn case_encrypted_member(extractor: &Extractor) {
    let doc = extractor.extract("encrypted.zip", &read("encrypted.zip"));
    no_panic(&doc);
    assert!(
        has_error(&doc, ErrorKind::Encrypted, &["plan.txt"]),
        "{:?}",
        doc.errors
    );
    assert!(
        !doc.segments.iter().any(|s| s.text.contains(US)),
        "ciphertext is not text"
    );
    assert_has(&doc, "plan.txt", &["@plan.txt"], Role::Filename);
}

fn case_truncated_and_corrupt(extractor: &Extractor) {
    let zip = read("zip_nested.zip");
    let doc = extractor.extract("zip_nested.zip", &zip[..zip.len() / 2]);
    no_panic(&doc);
    assert_eq!(kinds(&doc), [ErrorKind::Corrupt], "{:?}", doc.errors);

    // Every prefix and a corrupted copy of a docx: errors, never a panic.
    let docx = read("docx_header.docx");
    for cut in (0..docx.len()).step_by(311) {
        let doc = extractor.extract("docx_header.docx", &docx[..cut]);
        no_panic(&doc);
        assert!(
            !doc.errors.is_empty(),
            "a docx cut at {cut} must not look complete"
        );
    }
    let mut flipped = docx.clone();
    for i in (200..flipped.len() - 200).step_by(97) {
        flipped[i] ^= 0x5A;
    }
    let doc = extractor.extract("docx_header.docx", &flipped);
    no_panic(&doc);
    assert!(!doc.errors.is_empty());
}

fn case_random_bytes(extractor: &Extractor) {
    let noise = random_bytes(64 * 1024, 0x9E37_79B9_7F4A_7C15);
    let doc = extractor.extract("report.docx", &noise);
    assert_eq!(kinds(&doc), [ErrorKind::Corrupt], "{:?}", doc.errors);
    let doc = extractor.extract("noise.bin", &noise);
    assert_eq!(
        kinds(&doc),
        [ErrorKind::UnsupportedFormat],
        "{:?}",
        doc.errors
    );
    assert!(doc.segments.iter().all(|s| s.role == Role::Filename));
}

fn case_empty(extractor: &Extractor) {
    let doc = extractor.extract("empty.txt", b"");
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert!(doc.segments.iter().all(|s| s.role == Role::Filename));
    let doc = extractor.extract("empty.docx", b"");
    assert_eq!(kinds(&doc), [ErrorKind::Corrupt]);
    let doc = extractor.extract("", b"");
    assert!(doc.segments.is_empty() && doc.errors.is_empty());
}

fn case_deep_xml(extractor: &Extractor) {
    let doc = extractor.extract("deep_xml.docx", &read("deep_xml.docx"));
    no_panic(&doc);
    assert!(
        has_error(&doc, ErrorKind::LimitDepth, &["word/document.xml"]),
        "{:?}",
        doc.errors
    );
    // The text before the deep part is kept.
    assert_has(&doc, US, &["word/document.xml"], Role::Body);
}

fn case_huge_line(extractor: &Extractor) {
    let mut line = vec![b'a'; 50 << 20];
    line.extend_from_slice(format!(" {US}").as_bytes());
    let doc = extractor.extract("big.log", &line);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    let body = doc.segments.iter().find(|s| s.role == Role::Body).unwrap();
    assert!(body.text.ends_with(US));
    assert_eq!(body.text.len(), line.len());
}

fn case_other_formats(extractor: &Extractor) {
    let doc = extractor.extract("scan.png", b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR");
    assert_eq!(kinds(&doc), [ErrorKind::NoTextLayer]);
    // A PDF header without a body (issue 8 reads PDF).
    let doc = extractor.extract("paper.pdf", b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    assert_eq!(kinds(&doc), [ErrorKind::Corrupt]);
    // Password-protected OOXML is an OLE container.
    let doc = extractor.extract(
        "locked.docx",
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0\0\0\0\0",
    );
    assert_eq!(kinds(&doc), [ErrorKind::Encrypted]);
}

fn all_cases(extractor: &Extractor) {
    case_nested_zip_bomb(extractor);
    case_overlapping_entries(extractor);
    case_gz_bomb(extractor);
    case_encrypted_member(extractor);
    case_truncated_and_corrupt(extractor);
    case_random_bytes(extractor);
    case_empty(extractor);
    case_deep_xml(extractor);
    case_huge_line(extractor);
    case_other_formats(extractor);
}

/// Default limits, but a smaller cumulative budget so the nested bomb stops quickly in debug
/// builds (with the default 512 MiB it stops too, later).
fn test_extractor() -> Extractor {
    Extractor::new(Limits {
        max_total_decompressed: 32 << 20,
        ..Limits::default()
    })
}

#[test]
fn nested_zip_bomb() {
    case_nested_zip_bomb(&test_extractor());
}

#[test]
fn overlapping_entries() {
    case_overlapping_entries(&test_extractor());
}

#[test]
fn gz_bomb_stopped_by_ratio() {
    case_gz_bomb(&test_extractor());
}

#[test]
fn gz_bomb_stopped_by_cumulative_budget_without_ratio() {
    let limits = Limits {
        max_ratio: u64::MAX,
        max_total_decompressed: 4 << 20,
        ..Limits::default()
    };
    let doc = Extractor::new(limits).extract("zeros.gz", &gz_bomb());
    assert_eq!(kinds(&doc), [ErrorKind::LimitSize], "{:?}", doc.errors);
}

#[test]
fn encrypted_member() {
    case_encrypted_member(&test_extractor());
}

#[test]
fn truncated_and_corrupt() {
    case_truncated_and_corrupt(&test_extractor());
}

#[test]
fn random_bytes_named_docx() {
    case_random_bytes(&test_extractor());
}

#[test]
fn empty_files() {
    case_empty(&test_extractor());
}

#[test]
fn deep_xml() {
    case_deep_xml(&test_extractor());
}

#[test]
fn huge_single_line() {
    case_huge_line(&test_extractor());
}

#[test]
fn images_pdf_and_locked_office() {
    case_other_formats(&test_extractor());
}

#[test]
fn input_size_limit() {
    let doc = Extractor::new(Limits {
        max_size: 10,
        ..Limits::default()
    })
    .extract("a.txt", b"0123456789AB");
    assert_eq!(kinds(&doc), [ErrorKind::LimitSize]);
    assert_has(&doc, "a.txt", &["@a.txt"], Role::Filename);
}

#[test]
fn member_size_limit_keeps_the_prefix() {
    // A member larger than max_size is cut there; the prefix is still scanned.
    let limits = Limits {
        max_size: 1000,
        ..Limits::default()
    };
    let doc = Extractor::new(limits).extract("zip_nested.zip", &read("zip_nested.zip"));
    assert!(
        doc.errors.is_empty(),
        "small members pass: {:?}",
        doc.errors
    );
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(format!("{US}\n{}", "x".repeat(5000)).as_bytes())
        .unwrap();
    let gz = gz.finish().unwrap();
    let doc = Extractor::new(Limits {
        max_size: 1000,
        ..Limits::default()
    })
    .extract("memo.txt.gz", &gz);
    assert_eq!(kinds(&doc), [ErrorKind::LimitSize]);
    assert_has(&doc, US, &[], Role::Body);
}

#[test]
fn time_budget() {
    let limits = Limits {
        max_time: Some(Duration::ZERO),
        ..Limits::default()
    };
    let doc = Extractor::new(limits).extract("zip_nested.zip", &read("zip_nested.zip"));
    assert_eq!(kinds(&doc), [ErrorKind::LimitTime]);
    no_panic(&doc);
}

#[test]
fn entry_limits() {
    let doc = Extractor::new(Limits {
        max_entries: 1,
        ..Limits::default()
    })
    .extract("zip_nested.zip", &read("zip_nested.zip"));
    assert!(
        has_error(&doc, ErrorKind::LimitEntries, &[]),
        "{:?}",
        doc.errors
    );
    assert_has(&doc, "outer", &["readme.txt"], Role::Body);
    assert!(!doc.segments.iter().any(|s| s.text.contains(US)));

    let doc = Extractor::new(Limits {
        max_total_entries: 2,
        ..Limits::default()
    })
    .extract("zip_nested.zip", &read("zip_nested.zip"));
    assert!(
        has_error(&doc, ErrorKind::LimitEntries, &["inner.zip"]),
        "{:?}",
        doc.errors
    );
}

#[test]
fn xml_depth_limit_is_configurable() {
    let limits = Limits {
        max_xml_depth: 3,
        ..Limits::default()
    };
    let doc = Extractor::new(limits).extract("docx_header.docx", &read("docx_header.docx"));
    assert!(
        has_error(&doc, ErrorKind::LimitDepth, &["word/document.xml"]),
        "{:?}",
        doc.errors
    );
}

#[test]
fn extractor_is_shared_across_threads() {
    let extractor = std::sync::Arc::new(Extractor::default());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let extractor = extractor.clone();
            std::thread::spawn(move || {
                extractor.extract("docx_header.docx", &read("docx_header.docx"))
            })
        })
        .collect();
    for handle in handles {
        assert_only(
            &handle.join().unwrap(),
            CN,
            &["word/header1.xml"],
            Role::Header,
        );
    }
}

const CHILD_ENV: &str = "MIJI_EXTRACT_HOSTILE_CHILD";

/// Runs only inside the memory-capped child started by `hostile_suite_under_memory_cap`.
#[test]
fn hostile_suite_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    all_cases(&test_extractor());
    println!("hostile suite passed under the memory cap");
}

#[test]
#[cfg(unix)]
fn hostile_suite_under_memory_cap() {
    let exe = std::env::current_exe().unwrap();
    // 1.5 GiB of address space: the fully expanded nested bomb alone is 1000 MiB.
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1572864 && exec \"$0\" \"$@\"")
        .arg(exe)
        .args([
            "hostile_suite_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("hostile suite passed under the memory cap"),
        "child failed: {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn release_profile_keeps_unwinding() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    let profiles = manifest
        .get("profile")
        .and_then(|p| p.as_table())
        .cloned()
        .unwrap_or_default();
    for (name, profile) in &profiles {
        let panic = profile.get("panic").and_then(|p| p.as_str());
        assert_ne!(
            panic,
            Some("abort"),
            "profile.{name} sets panic = \"abort\": panics must stay catchable"
        );
    }
    assert!(profiles.contains_key("release"));
}
