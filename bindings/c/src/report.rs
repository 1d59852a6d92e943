//! The report handle and its accessors.

use crate::ffi::{Failure, alloc_string, c_string, clear_out, guard, guard_void, in_ptr, out_ptr};
use crate::{miji_action, miji_confidence, miji_finding_kind, miji_level, miji_result};
use miji::Report;
use std::ffi::{CString, c_char};
use std::ptr::null;
use std::sync::OnceLock;

/// The record of one scanned input (contract §2): immutable, readable from any thread. The
/// strings its accessors hand out stay valid until `miji_report_free`.
#[derive(Debug)]
pub struct miji_report {
    report: Report,
    strings: OnceLock<Strings>,
}

/// The report's texts as C strings, made on first use.
#[derive(Debug)]
struct Strings {
    marking: Option<MarkingStrings>,
    findings: Vec<FindingStrings>,
    errors: Vec<ErrorStrings>,
}

#[derive(Debug)]
struct MarkingStrings {
    scheme: CString,
    label: CString,
    text: CString,
    period: Option<CString>,
    declassify_on: Option<CString>,
    condition: Option<CString>,
    caveats: CString,
    location: CString,
    role: CString,
    rule: CString,
}

#[derive(Debug)]
struct FindingStrings {
    rule: CString,
    scheme: Option<CString>,
    category: Option<CString>,
    excerpt: Option<CString>,
    location: CString,
    role: CString,
    fingerprint: CString,
}

#[derive(Debug)]
struct ErrorStrings {
    kind: CString,
    location: CString,
    message: CString,
}

fn opt(s: &Option<String>) -> Option<CString> {
    s.as_deref().map(c_string)
}

fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(null(), |s| s.as_ptr())
}

fn location(components: &[String]) -> CString {
    c_string(&Report::render_location(components))
}

impl miji_report {
    pub(crate) fn new(report: Report) -> miji_report {
        miji_report {
            report,
            strings: OnceLock::new(),
        }
    }

    fn strings(&self) -> &Strings {
        self.strings.get_or_init(|| {
            let r = &self.report;
            Strings {
                marking: r.marking.as_ref().map(|m| MarkingStrings {
                    scheme: c_string(&m.scheme),
                    label: c_string(&m.label),
                    text: c_string(&m.text),
                    period: opt(&m.period),
                    declassify_on: opt(&m.declassify_on),
                    condition: opt(&m.condition),
                    caveats: c_string(&m.caveats.join("//")),
                    location: location(&m.location),
                    role: c_string(m.role.as_str()),
                    rule: c_string(&m.rule),
                }),
                findings: r
                    .findings
                    .iter()
                    .map(|f| FindingStrings {
                        rule: c_string(&f.rule),
                        scheme: opt(&f.scheme),
                        category: opt(&f.category),
                        excerpt: opt(&f.excerpt),
                        location: location(&f.location),
                        role: c_string(f.role.as_str()),
                        fingerprint: c_string(&f.fingerprint),
                    })
                    .collect(),
                errors: r
                    .errors
                    .iter()
                    .map(|e| ErrorStrings {
                        kind: c_string(e.kind.as_str()),
                        location: location(&e.location),
                        message: c_string(&e.message),
                    })
                    .collect(),
            }
        })
    }
}

/// The report's top marking (contract §2 `marking`). When the report has none, `present` is
/// false, every string is NULL and `level` is `MIJI_LEVEL_PUBLIC`. Strings are owned by the
/// report: valid until `miji_report_free`, never to be freed by the caller.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct miji_marking {
    /// Whether the report has a marking at all.
    pub present: bool,
    /// The scheme (`"cn"`, `"us"`, `"tlp"`…).
    pub scheme: *const c_char,
    /// The level word as the scheme names it (`"机密"`, `"SECRET"`).
    pub label: *const c_char,
    /// Its rung on the ladder.
    pub level: miji_level,
    /// The marking as found (`"机密★10年"`).
    pub text: *const c_char,
    /// The protection period (`"10年"`), or NULL.
    pub period: *const c_char,
    /// The declassification date, or NULL.
    pub declassify_on: *const c_char,
    /// The declassification condition (`"启用前"`), or NULL.
    pub condition: *const c_char,
    /// Caveats joined with `"//"` (`"NOFORN"`), `""` when none.
    pub caveats: *const c_char,
    /// Location components joined with `"!/"`, `""` for plain text.
    pub location: *const c_char,
    /// The role of its segment (`"body"`, `"header"`…).
    pub role: *const c_char,
    /// How sure.
    pub confidence: miji_confidence,
    /// The rule that read it (`"cn.state-secret"`).
    pub rule: *const c_char,
}

/// One finding (contract §2 `findings[i]`). Strings are owned by the report: valid until
/// `miji_report_free`, never to be freed by the caller.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct miji_finding {
    /// `MIJI_FINDING_MARKING`, `MIJI_FINDING_KEYWORD` or `MIJI_FINDING_DETECTOR`.
    pub kind: miji_finding_kind,
    /// The rule's ID (`"cn.state-secret"`, `"dict.projects"`).
    pub rule: *const c_char,
    /// Whether `level` is set (markings only).
    pub has_level: bool,
    /// For markings, the level it carries; `MIJI_LEVEL_PUBLIC` otherwise.
    pub level: miji_level,
    /// For markings, the scheme; NULL otherwise.
    pub scheme: *const c_char,
    /// For keywords and detectors, the category (`"pii"`); NULL otherwise.
    pub category: *const c_char,
    /// How sure.
    pub confidence: miji_confidence,
    /// UTF-8 byte offset of the start in the segment's text (the input itself for plain text).
    pub start: u64,
    /// UTF-8 byte offset one past the end.
    pub end: u64,
    /// 1-based line of `start`.
    pub line: u64,
    /// 1-based column of `start`, in code points.
    pub column: u64,
    /// The excerpt (markings as found, others masked per policy), or NULL when the policy
    /// drops excerpts.
    pub excerpt: *const c_char,
    /// Location components joined with `"!/"`, `""` for plain text.
    pub location: *const c_char,
    /// The role of its segment.
    pub role: *const c_char,
    /// Stable fingerprint (allow-lists and baselines use it).
    pub fingerprint: *const c_char,
}

/// Why part of an input could not be read (contract §2 `errors[i]`). Strings are owned by the
/// report.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct miji_record_error {
    /// The kind (`"corrupt"`, `"encrypted"`, `"limit.size"`, `"io"`…).
    pub kind: *const c_char,
    /// Location components joined with `"!/"`, `""` for the input itself.
    pub location: *const c_char,
    /// What happened (never scanned content).
    pub message: *const c_char,
}

/// Runs an accessor: checks `report` and `out`, then writes the value.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
unsafe fn read<T>(
    report: *const miji_report,
    out: *mut T,
    get: impl FnOnce(&miji_report) -> Result<T, Failure>,
) -> miji_result {
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (report, out) = unsafe { (in_ptr(report, "report")?, out_ptr(out, "out")?) };
        *out = get(report)?;
        Ok(())
    })
}

/// The report's level: the highest level of any marking, `MIJI_LEVEL_PUBLIC` when none.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_level(
    report: *const miji_report,
    out: *mut miji_level,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { read(report, out, |r| Ok(r.report.level.into())) }
}

/// The policy's verdict for the report (contract §4).
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_action(
    report: *const miji_report,
    out: *mut miji_action,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { read(report, out, |r| Ok(r.report.action.into())) }
}

/// Whether every part of the input was read (`false`: see `miji_report_error`).
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_complete(
    report: *const miji_report,
    out: *mut bool,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { read(report, out, |r| Ok(r.report.complete)) }
}

/// The input's size in bytes, as read.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_bytes(
    report: *const miji_report,
    out: *mut u64,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { read(report, out, |r| Ok(r.report.bytes)) }
}

/// The report's top marking (see `miji_marking`; `present` is false when there is none).
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_marking(
    report: *const miji_report,
    out: *mut miji_marking,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        read(report, out, |r| {
            let none = miji_marking {
                present: false,
                scheme: null(),
                label: null(),
                level: miji_level::MIJI_LEVEL_PUBLIC,
                text: null(),
                period: null(),
                declassify_on: null(),
                condition: null(),
                caveats: null(),
                location: null(),
                role: null(),
                confidence: miji_confidence::MIJI_CONFIDENCE_LOW,
                rule: null(),
            };
            let (Some(m), Some(s)) = (&r.report.marking, &r.strings().marking) else {
                return Ok(none);
            };
            Ok(miji_marking {
                present: true,
                scheme: s.scheme.as_ptr(),
                label: s.label.as_ptr(),
                level: m.level.into(),
                text: s.text.as_ptr(),
                period: ptr(&s.period),
                declassify_on: ptr(&s.declassify_on),
                condition: ptr(&s.condition),
                caveats: s.caveats.as_ptr(),
                location: s.location.as_ptr(),
                role: s.role.as_ptr(),
                confidence: m.confidence.into(),
                rule: s.rule.as_ptr(),
            })
        })
    }
}

/// The number of findings (after allow-lists, thresholds and truncation).
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_finding_count(
    report: *const miji_report,
    out: *mut usize,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { read(report, out, |r| Ok(r.report.findings.len())) }
}

/// Finding number `index` (0-based, document order).
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL`, `MIJI_ERR_INDEX` (`index` >= the count) or
/// `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_finding(
    report: *const miji_report,
    index: usize,
    out: *mut miji_finding,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        read(report, out, |r| {
            let count = r.report.findings.len();
            let (Some(f), Some(s)) = (
                r.report.findings.get(index),
                r.strings().findings.get(index),
            ) else {
                return Err(Failure::new(
                    miji_result::MIJI_ERR_INDEX,
                    format!("finding index {index} out of range (count {count})"),
                ));
            };
            Ok(miji_finding {
                kind: f.kind.into(),
                rule: s.rule.as_ptr(),
                has_level: f.level.is_some(),
                level: f.level.map_or(miji_level::MIJI_LEVEL_PUBLIC, Into::into),
                scheme: ptr(&s.scheme),
                category: ptr(&s.category),
                confidence: f.confidence.into(),
                start: f.start,
                end: f.end,
                line: f.line,
                column: f.column,
                excerpt: ptr(&s.excerpt),
                location: s.location.as_ptr(),
                role: s.role.as_ptr(),
                fingerprint: s.fingerprint.as_ptr(),
            })
        })
    }
}

/// The number of coverage errors (non-zero exactly when `complete` is false).
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_error_count(
    report: *const miji_report,
    out: *mut usize,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { read(report, out, |r| Ok(r.report.errors.len())) }
}

/// Coverage error number `index` (0-based).
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL`, `MIJI_ERR_INDEX` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_error(
    report: *const miji_report,
    index: usize,
    out: *mut miji_record_error,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        read(report, out, |r| {
            let count = r.report.errors.len();
            let s = r.strings().errors.get(index).ok_or_else(|| {
                Failure::new(
                    miji_result::MIJI_ERR_INDEX,
                    format!("error index {index} out of range (count {count})"),
                )
            })?;
            Ok(miji_record_error {
                kind: s.kind.as_ptr(),
                location: s.location.as_ptr(),
                message: s.message.as_ptr(),
            })
        })
    }
}

/// The report as the contract's JSON (`schema/report.v1.json`), one line, in a new
/// NUL-terminated string `*out` to free with `miji_string_free`.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`. On failure `*out` is NULL.
///
/// # Safety
/// `report` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_json(
    report: *const miji_report,
    out: *mut *mut c_char,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        clear_out(out);
        read(report, out, |r| {
            Ok(alloc_string(r.report.to_json().as_bytes()))
        })
    }
}

/// Frees a report and every string its accessors handed out. NULL is a no-op.
///
/// # Safety
/// `report` is NULL or a live handle that no other thread is still using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_report_free(report: *mut miji_report) {
    if report.is_null() {
        return;
    }
    // SAFETY: the handle came from `Box::into_raw` and is freed once, by the caller's contract.
    guard_void(|| drop(unsafe { Box::from_raw(report) }));
}
