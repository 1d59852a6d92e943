//! The extractor on an arbitrary file name and arbitrary bytes.
//!
//! Input layout (shared with `crates/miji-extract/tests/fuzz_corpus.rs`, which replays the seed
//! corpus on stable): the first byte picks the file name from `NAMES` (modulo its length), the
//! rest is the file. `extract` must never panic, and every record it returns must scan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const NAMES: &[&str] = &[
    "", "a.txt", "a.pdf", "a.docx", "a.xlsx", "a.pptx", "a.odt", "a.ods", "a.odp", "a.rtf",
    "a.html", "a.xml", "a.json", "a.md", "a.csv", "a.doc", "a.xls", "a.ppt", "a.wps", "a.zip",
    "a.tar", "a.gz", "a.eml", "a.mbox", "a.png", "名前.txt",
];

fn extractor() -> &'static miji_extract::Extractor {
    static E: OnceLock<miji_extract::Extractor> = OnceLock::new();
    E.get_or_init(|| {
        let limits = miji_extract::Limits {
            max_size: 8 << 20,
            max_total_decompressed: 16 << 20,
            max_time: Some(std::time::Duration::from_secs(5)),
            ..miji_extract::Limits::default()
        };
        miji_extract::Extractor::new(limits)
    })
}

fn scanner() -> &'static miji::Scanner {
    static S: OnceLock<miji::Scanner> = OnceLock::new();
    S.get_or_init(miji::Scanner::default)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[pick as usize % NAMES.len()];
    let doc = extractor().extract(name, bytes);
    assert!(
        !doc.errors.iter().any(|e| e.kind == miji::ErrorKind::Internal),
        "extractor panicked inside: {:?}",
        doc.errors
    );
    let _ = scanner().scan_document(doc);
});
