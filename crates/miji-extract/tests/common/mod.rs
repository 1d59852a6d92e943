//! Helpers shared by the integration tests.
#![allow(dead_code)]

use miji::{Document, ErrorKind, Role};
use std::path::PathBuf;

pub const CN: &str = "机密★10年";
pub const US: &str = "TOP SECRET//NOFORN";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/extract")
        .join(name)
}

pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Asserts that `marking` is found in exactly one segment (so it lives only in that part),
/// which has `location` and `role`.
pub fn assert_only(doc: &Document, marking: &str, location: &[&str], role: Role) {
    let hits: Vec<_> = doc
        .segments
        .iter()
        .filter(|s| s.text.contains(marking))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{marking:?} expected in exactly one segment, got {hits:#?}"
    );
    assert_eq!(hits[0].location, location, "location of {marking:?}");
    assert_eq!(hits[0].role, role, "role of {marking:?}");
}

/// Asserts a segment with `marking`, `location` and `role` exists.
pub fn assert_has(doc: &Document, marking: &str, location: &[&str], role: Role) {
    assert!(
        doc.segments
            .iter()
            .any(|s| s.text.contains(marking) && s.location == location && s.role == role),
        "no {role} segment at {location:?} containing {marking:?}: {:#?}",
        doc.segments
    );
}

pub fn kinds(doc: &Document) -> Vec<ErrorKind> {
    doc.errors.iter().map(|e| e.kind).collect()
}

pub fn has_error(doc: &Document, kind: ErrorKind, location: &[&str]) -> bool {
    doc.errors
        .iter()
        .any(|e| e.kind == kind && e.location == location)
}
