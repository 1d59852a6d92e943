//! LLM chat payloads for the guard (`miji.screen_messages`): the payload is read by
//! `miji_extract`'s chat reader (one document per conversation) and scanned by the core; a
//! rewrite puts each text back in its JSON place with the core's masking of the findings that
//! came from it. Python only maps the verdict.

use crate::errors::{BindError, guard};
use crate::report::PyReport;
use crate::scanner::scan_doc;
use miji_extract::{Extractor, rewrite_chat};
use std::collections::HashMap;

/// Scans a chat payload (JSON bytes) as one document.
pub(crate) fn scan_chat(
    scanner: &miji::Scanner,
    extractor: &Extractor,
    json: &[u8],
) -> Result<PyReport, BindError> {
    guard(|| Ok(scan_doc(scanner, extractor.extract_chat(json))))
}

/// Scans a chat payload and rewrites it: every text with findings gets them masked
/// ([`miji::redact_with`], the masking of `Scanner.redact`), in place. The rewritten payload
/// is `None` when the JSON cannot be parsed. Texts inside embedded files are not rewritten
/// (their findings stay; a re-scan of the rewritten payload still sees them).
pub(crate) fn redact_chat(
    scanner: &miji::Scanner,
    extractor: &Extractor,
    json: &[u8],
) -> Result<(Option<String>, PyReport), BindError> {
    guard(|| {
        let report = scan_doc(scanner, extractor.extract_chat(json));
        let mut by_location: HashMap<&[String], Vec<miji::Finding>> = HashMap::new();
        for f in &report.inner().findings {
            if f.location.len() == 1 {
                by_location
                    .entry(f.location.as_slice())
                    .or_default()
                    .push(f.clone());
            }
        }
        let policy = scanner.policy();
        let rewritten = rewrite_chat(json, |location, text| {
            by_location
                .get(location)
                .map(|findings| miji::redact_with(policy, text, findings))
        })
        .ok();
        Ok((rewritten, report))
    })
}
