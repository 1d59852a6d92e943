//! # miji — classification markings and sensitive content, found fast
//!
//! miji tells whether a document, a mail or an LLM prompt carries a security-classification
//! *marking* (`机密★10年`, `TOP SECRET//NOFORN`, `OFFICIAL-SENSITIVE`, `TLP:AMBER`,
//! `Company Confidential`…), a dictionary term, or sensitive data (IDs, cards, keys), while
//! leaving prose that merely *mentions* secrecy alone.
//!
//! The shape is the `aho-corasick`/`regex` one: a [`PolicyBuilder`] compiles policy sources
//! (the embedded packs under `patterns/`, user TOML, dictionaries) once into an immutable
//! [`Policy`]; a [`Scanner`] holds it in an `Arc` and scans many inputs from many threads,
//! returning one [`Report`] per input (the record of the project's contract, §2).
//!
//! ```
//! use miji::{Level, Scanner};
//!
//! let scanner = Scanner::builder()
//!     .dictionary("projects", ["天穹计划"])
//!     .build()
//!     .map(Scanner::new)
//!     .unwrap();
//! let report = scanner.scan("机密★10年\n\n关于天穹计划的补充说明");
//! assert_eq!(report.level, Level::Secret);
//! assert_eq!(report.marking.as_ref().unwrap().period.as_deref(), Some("10年"));
//! assert!(report.findings.iter().any(|f| f.rule == "dict.projects"));
//! ```
//!
//! Modules: [`fold`] (normaliser and offset map), [`policy`] (format, diagnostics, compile),
//! [`scanner`] (the scan), [`report`] (the output types and JSON Schema), [`mask`] (excerpts and
//! redaction), [`detect`] (validators), [`segment`] (the input model).
//!
//! # Untrusted input
//! Scanning is linear in the input: one pass of the fold, one pass of the literal gate (at
//! worst a few binary searches per character, even where thousands of terms share a prefix),
//! and regexes (the `regex` crate: no backtracking) run only on lines or segments the gate
//! selected. Segments over 4 MiB are scanned in line-aligned pieces. Memory per record is the
//! folded copy of a segment or piece (only when folding changes something), its sparse offset
//! map and the findings, capped by `limits.max_findings` in reports.
//! Invalid UTF-8 is replaced, never a panic.
#![deny(missing_docs)]

pub mod detect;
mod error;
pub mod fold;
mod gate;
pub mod level;
pub mod mask;
pub mod policy;
pub mod report;
pub mod scanner;
pub mod segment;

pub use error::Error;
pub use level::{Action, Confidence, Level};
pub use policy::{Diagnostic, Policy, PolicyBuilder};
pub use report::{
    ErrorKind, FileFacts, Finding, FindingKind, Marking, MemberSummary, REPORT_SCHEMA_ID,
    RecordError, Report, Role, Truncated, report_json_schema,
};
pub use scanner::{ExampleFailure, InputText, ScanInput, Scanner, TraceEntry, redact_with};
pub use segment::{Document, Segment};

#[cfg(test)]
mod auto_traits {
    fn assert_send_sync<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}

    #[test]
    fn public_types_are_send_sync_unwind_safe() {
        assert_send_sync::<crate::Scanner>();
        assert_send_sync::<crate::Policy>();
        assert_send_sync::<crate::Report>();
        assert_send_sync::<crate::Error>();
    }
}
