//! The scanner on arbitrary text (any bytes; the scanner reads them as lossy UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn scanner() -> &'static miji::Scanner {
    static S: OnceLock<miji::Scanner> = OnceLock::new();
    S.get_or_init(miji::Scanner::default)
}

fuzz_target!(|data: &[u8]| {
    let report = scanner().scan(data);
    let text = String::from_utf8_lossy(data);
    for f in &report.findings {
        // Offsets are UTF-8 byte offsets into the (lossily decoded) text.
        assert!(f.start <= f.end && f.end as usize <= text.len(), "{f:?}");
    }
});
