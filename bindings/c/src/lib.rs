//! # miji-capi — the C ABI of miji
//!
//! This crate builds `libmiji_c` (installed as `libmiji`): a `cdylib` and a `staticlib` whose
//! exports are declared in the committed, cbindgen-generated header `include/miji.h`.
//!
//! The shape is the core's: a policy is compiled once into an opaque, thread-safe
//! [`miji_scanner`] (an `Arc` of the compiled policy inside), which scans any number of buffers
//! or files, from any number of threads, into [`miji_report`] handles. A report is read through
//! accessors ([`miji_report_level`], [`miji_report_marking`], [`miji_report_finding`]…) or as
//! the contract's JSON ([`miji_report_json`]).
//!
//! Every export that can fail returns a [`miji_result`], null-checks its pointer arguments,
//! runs inside `std::panic::catch_unwind` (a panic becomes [`miji_result::MIJI_ERR_PANIC`],
//! never an abort) and records a thread-local last-error message ([`miji_last_error`]).
//!
//! The workspace's release profile must keep `panic = "unwind"` for this to hold; a test
//! checks it.
#![deny(missing_docs)]
#![allow(non_camel_case_types)]

mod ffi;
mod report;
mod scanner;

pub use ffi::{miji_last_error, miji_last_error_code, miji_string_free};
pub use report::*;
pub use scanner::*;

use std::ffi::c_char;

/// The version of the C ABI described by this header. It changes whenever an export, a
/// struct layout or an enum value changes incompatibly; compare it with
/// `miji_abi_version()` at run time to detect a header/library mismatch.
pub const MIJI_ABI_VERSION: u32 = 1;

/// Flag for the policy constructors: do not load the embedded default packs (a policy source
/// that says `extends = [...]` still chooses packs itself).
pub const MIJI_NO_DEFAULT_POLICY: u32 = 1;

/// The result of every fallible call. `MIJI_OK` is 0; on anything else `miji_last_error()`
/// describes what went wrong.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum miji_result {
    /// Success.
    MIJI_OK = 0,
    /// A required pointer argument was NULL.
    MIJI_ERR_NULL = 1,
    /// The policy was refused; `miji_last_error_code()` gives the first diagnostic's code
    /// (`P003`) and `miji_last_error()` every diagnostic (`error[P003]: ... --> file:4:7`).
    MIJI_ERR_POLICY = 2,
    /// A file could not be read (missing, unreadable, a directory).
    MIJI_ERR_IO = 3,
    /// A C string that must be UTF-8 (a policy text or policy file) is not.
    MIJI_ERR_UTF8 = 4,
    /// miji panicked; the panic was caught at the boundary. The handles passed in stay valid.
    MIJI_ERR_PANIC = 5,
    /// An index was out of range.
    MIJI_ERR_INDEX = 6,
    /// An argument had an invalid value (unknown flags, a length over `PTRDIFF_MAX`).
    MIJI_ERR_ARGUMENT = 7,
}

/// The level ladder of the contract (§1), lowest first: the numeric values are the ranks.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum miji_level {
    /// Rank 0: no marking, or a marking meaning public.
    MIJI_LEVEL_PUBLIC = 0,
    /// Rank 1: 内部, CUI, OFFICIAL-SENSITIVE, RESTRICTED, TLP:GREEN.
    MIJI_LEVEL_INTERNAL = 1,
    /// Rank 2: 秘密, CONFIDENTIAL, TLP:AMBER.
    MIJI_LEVEL_CONFIDENTIAL = 2,
    /// Rank 3: 机密, SECRET, TLP:RED.
    MIJI_LEVEL_SECRET = 3,
    /// Rank 4: 绝密, TOP SECRET.
    MIJI_LEVEL_TOP_SECRET = 4,
}

/// The four portable verbs of the contract (§4), ordered `allow < warn < redact < block`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum miji_action {
    /// Let it through.
    MIJI_ACTION_ALLOW = 0,
    /// Let it through, tagged or logged.
    MIJI_ACTION_WARN = 1,
    /// Rewrite (or hold for review where rewriting is impossible).
    MIJI_ACTION_REDACT = 2,
    /// Stop it.
    MIJI_ACTION_BLOCK = 3,
}

/// How sure a finding is, lowest first.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum miji_confidence {
    /// A weak signal.
    MIJI_CONFIDENCE_LOW = 0,
    /// The shape matched but corroboration is missing.
    MIJI_CONFIDENCE_MEDIUM = 1,
    /// Shape plus corroboration.
    MIJI_CONFIDENCE_HIGH = 2,
}

/// What kind of rule produced a finding.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum miji_finding_kind {
    /// A classification marking: it sets the report's level.
    MIJI_FINDING_MARKING = 0,
    /// A dictionary term.
    MIJI_FINDING_KEYWORD = 1,
    /// A pattern detector (PII, secrets).
    MIJI_FINDING_DETECTOR = 2,
}

impl From<miji::Level> for miji_level {
    fn from(level: miji::Level) -> miji_level {
        match level {
            miji::Level::Public => miji_level::MIJI_LEVEL_PUBLIC,
            miji::Level::Internal => miji_level::MIJI_LEVEL_INTERNAL,
            miji::Level::Confidential => miji_level::MIJI_LEVEL_CONFIDENTIAL,
            miji::Level::Secret => miji_level::MIJI_LEVEL_SECRET,
            miji::Level::TopSecret => miji_level::MIJI_LEVEL_TOP_SECRET,
        }
    }
}

impl From<miji::Action> for miji_action {
    fn from(action: miji::Action) -> miji_action {
        match action {
            miji::Action::Allow => miji_action::MIJI_ACTION_ALLOW,
            miji::Action::Warn => miji_action::MIJI_ACTION_WARN,
            miji::Action::Redact => miji_action::MIJI_ACTION_REDACT,
            miji::Action::Block => miji_action::MIJI_ACTION_BLOCK,
        }
    }
}

impl From<miji::Confidence> for miji_confidence {
    fn from(confidence: miji::Confidence) -> miji_confidence {
        match confidence {
            miji::Confidence::Low => miji_confidence::MIJI_CONFIDENCE_LOW,
            miji::Confidence::Medium => miji_confidence::MIJI_CONFIDENCE_MEDIUM,
            miji::Confidence::High => miji_confidence::MIJI_CONFIDENCE_HIGH,
        }
    }
}

impl From<miji::FindingKind> for miji_finding_kind {
    fn from(kind: miji::FindingKind) -> miji_finding_kind {
        match kind {
            miji::FindingKind::Marking => miji_finding_kind::MIJI_FINDING_MARKING,
            miji::FindingKind::Keyword => miji_finding_kind::MIJI_FINDING_KEYWORD,
            miji::FindingKind::Detector => miji_finding_kind::MIJI_FINDING_DETECTOR,
        }
    }
}

/// The library's version (`"0.1.0"`), a static string. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn miji_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version the library was built with; equal to `MIJI_ABI_VERSION` when header and
/// library match. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn miji_abi_version() -> u32 {
    MIJI_ABI_VERSION
}

/// The contract name of a level (`"public"`, `"internal"`, `"confidential"`, `"secret"`,
/// `"top-secret"`), a static string, or NULL when `level` is not a `miji_level` value.
#[unsafe(no_mangle)]
pub extern "C" fn miji_level_name(level: i32) -> *const c_char {
    static NAMES: [&str; 5] = [
        "public\0",
        "internal\0",
        "confidential\0",
        "secret\0",
        "top-secret\0",
    ];
    static_name(&NAMES, level)
}

/// The contract name of an action (`"allow"`, `"warn"`, `"redact"`, `"block"`), a static
/// string, or NULL when `action` is not a `miji_action` value.
#[unsafe(no_mangle)]
pub extern "C" fn miji_action_name(action: i32) -> *const c_char {
    static NAMES: [&str; 4] = ["allow\0", "warn\0", "redact\0", "block\0"];
    static_name(&NAMES, action)
}

/// The name of a result code (`"MIJI_OK"`, `"MIJI_ERR_IO"`…), a static string, or NULL when
/// `result` is not a `miji_result` value.
#[unsafe(no_mangle)]
pub extern "C" fn miji_result_name(result: i32) -> *const c_char {
    static NAMES: [&str; 8] = [
        "MIJI_OK\0",
        "MIJI_ERR_NULL\0",
        "MIJI_ERR_POLICY\0",
        "MIJI_ERR_IO\0",
        "MIJI_ERR_UTF8\0",
        "MIJI_ERR_PANIC\0",
        "MIJI_ERR_INDEX\0",
        "MIJI_ERR_ARGUMENT\0",
    ];
    static_name(&NAMES, result)
}

fn static_name(names: &'static [&'static str], index: i32) -> *const c_char {
    usize::try_from(index)
        .ok()
        .and_then(|i| names.get(i))
        .map_or(std::ptr::null(), |n| n.as_ptr().cast())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn name(p: *const c_char) -> Option<&'static str> {
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap())
    }

    #[test]
    fn names_follow_the_core() {
        for level in miji::Level::ALL {
            let c = miji_level::from(*level);
            assert_eq!(c as u8, level.rank());
            assert_eq!(name(miji_level_name(c as i32)), Some(level.as_str()));
        }
        for (i, action) in miji::Action::ALL.iter().enumerate() {
            assert_eq!(miji_action::from(*action) as usize, i);
            assert_eq!(name(miji_action_name(i as i32)), Some(action.as_str()));
        }
        assert_eq!(name(miji_level_name(5)), None);
        assert_eq!(name(miji_level_name(-1)), None);
        assert_eq!(name(miji_action_name(4)), None);
        assert_eq!(
            name(miji_result_name(miji_result::MIJI_ERR_ARGUMENT as i32)),
            Some("MIJI_ERR_ARGUMENT")
        );
        assert_eq!(name(miji_result_name(8)), None);
        assert_eq!(name(miji_version()), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(miji_abi_version(), MIJI_ABI_VERSION);
    }
}
