//! Replays the seed corpus of the cargo-fuzz targets (`fuzz/corpus/<target>/`) on stable Rust:
//! every `extract` seed through the extractor and the scanner, every `scan` seed through the
//! scanner. The input layout is the fuzz target's (`fuzz/fuzz_targets/extract.rs`): the first
//! byte picks the file name from `NAMES`, the rest is the file.

use miji_extract::Extractor;
use std::path::PathBuf;

const NAMES: &[&str] = &[
    "",
    "a.txt",
    "a.pdf",
    "a.docx",
    "a.xlsx",
    "a.pptx",
    "a.odt",
    "a.ods",
    "a.odp",
    "a.rtf",
    "a.html",
    "a.xml",
    "a.json",
    "a.md",
    "a.csv",
    "a.doc",
    "a.xls",
    "a.ppt",
    "a.wps",
    "a.zip",
    "a.tar",
    "a.gz",
    "a.eml",
    "a.mbox",
    "a.png",
    "名前.txt",
];

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty seed corpus {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("seed"))
        })
        .collect()
}

#[test]
fn extract_seed_corpus() {
    let limits = miji_extract::Limits {
        max_size: 8 << 20,
        max_total_decompressed: 16 << 20,
        max_time: Some(std::time::Duration::from_secs(5)),
        ..miji_extract::Limits::default()
    };
    let extractor = Extractor::new(limits);
    let scanner = miji::Scanner::default();
    for (seed, data) in corpus("extract") {
        let Some((&pick, bytes)) = data.split_first() else {
            continue;
        };
        let name = NAMES[pick as usize % NAMES.len()];
        let doc = extractor.extract(name, bytes);
        assert!(
            !doc.errors
                .iter()
                .any(|e| e.kind == miji::ErrorKind::Internal),
            "{seed}: {:?}",
            doc.errors
        );
        assert!(
            doc.segments.iter().any(|s| s.role != miji::Role::Filename),
            "{seed} ({name}): the seed is a readable document: {:?}",
            doc.errors
        );
        let _ = scanner.scan_document(doc);
    }
}

#[test]
fn scan_seed_corpus() {
    let scanner = miji::Scanner::default();
    for (seed, data) in corpus("scan") {
        let report = scanner.scan(&data);
        let text = String::from_utf8_lossy(&data);
        for f in &report.findings {
            assert!(
                f.start <= f.end && f.end as usize <= text.len(),
                "{seed}: {f:?}"
            );
        }
    }
}
