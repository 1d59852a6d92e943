//! The core's one error type. Policy problems carry coded diagnostics
//! (`error[P003]: … --> patterns/x.toml:4:7`); nothing else in the core can fail.

use crate::policy::Diagnostic;
use std::fmt;

/// An error from building a scanner. Opaque: inspect it through its accessors.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKindInner,
}

#[derive(Debug, Clone)]
enum ErrorKindInner {
    Policy(Vec<Diagnostic>),
}

impl Error {
    pub(crate) fn policy(diagnostics: Vec<Diagnostic>) -> Error {
        debug_assert!(!diagnostics.is_empty());
        Error {
            kind: ErrorKindInner::Policy(diagnostics),
        }
    }

    /// Every diagnostic, in source order; the first is the headline.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match &self.kind {
            ErrorKindInner::Policy(d) => d,
        }
    }

    /// The first diagnostic's code (`P003`).
    pub fn code(&self) -> &str {
        self.diagnostics()[0].code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics().iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
