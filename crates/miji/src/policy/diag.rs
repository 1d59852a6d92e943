//! Coded policy diagnostics: a stable code, a lowercase message naming the offending value,
//! and the file, line and column it points at. `patterns/README.md` lists every code.

use std::fmt;

/// One problem found while loading a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code (`P001`…), listed in `patterns/README.md`.
    pub code: &'static str,
    /// What is wrong, lowercase, naming the offending value.
    pub message: String,
    /// The policy source's name (a path, or `<builtin:cn>`).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error[{}]: {}\n --> {}",
            self.code, self.message, self.file
        )?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        Ok(())
    }
}

/// The codes. Keep in sync with `patterns/README.md` and `tests/policy-errors/`.
pub mod codes {
    /// TOML syntax error.
    pub const SYNTAX: &str = "P001";
    /// Unknown field, wrong type or missing field.
    pub const STRUCTURE: &str = "P002";
    /// A regular expression that does not compile.
    pub const REGEX: &str = "P003";
    /// An unknown level name.
    pub const LEVEL: &str = "P004";
    /// An unknown scheme ID.
    pub const SCHEME: &str = "P005";
    /// The same rule ID twice in one file.
    pub const DUPLICATE: &str = "P006";
    /// A word-list file that cannot be read.
    pub const WORD_LIST: &str = "P007";
    /// An unknown value for an enumerated setting (confidence, action, excerpt, cue, mask).
    pub const VALUE: &str = "P008";
    /// An unknown validator.
    pub const VALIDATOR: &str = "P009";
    /// An unknown pack in `extends`.
    pub const EXTENDS: &str = "P010";
    /// An empty rule: no keywords, terms or pattern where one is required.
    pub const EMPTY: &str = "P011";
    /// A bad glob or date in an allow entry.
    pub const ALLOW_VALUE: &str = "P012";
    /// An allow entry without exactly one matcher, or without a reason.
    pub const ALLOW_SHAPE: &str = "P013";
    /// A `[rule."id"]` override naming no known rule.
    pub const UNKNOWN_RULE: &str = "P014";
    /// A rule's example that does not behave as declared (`miji check`).
    pub const EXAMPLE: &str = "P015";
    /// A capture group name the engine does not know.
    pub const GROUP: &str = "P016";
}

/// Converts a byte offset in `source` to a 1-based line and column (code points).
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let mut offset = offset;
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|p| p + 1).unwrap_or(0);
    (line, source[line_start..offset].chars().count() + 1)
}
