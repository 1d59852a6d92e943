//! The native half of the `miji` Python package (`miji._native`), re-exported by the pure-Python
//! `miji/__init__.py`. Thin by design: every decision is the core's; this crate converts types,
//! offsets (UTF-8 bytes → code points) and errors, and releases the GIL around every scan.
//!
//! Modules mirror the core's: [`scanner`] (`Scanner`), [`chat`] (chat payloads for the LLM guard), [`report`] (`Report`, `Finding`,
//! `Marking`), [`errors`] (the exception classes and the one mapping of every failure).

mod chat;
mod errors;
mod report;
mod scanner;

use pyo3::prelude::*;

/// miji's native module. Import `miji`, not this.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<scanner::PyScanner>()?;
    m.add_class::<report::PyReport>()?;
    m.add_class::<report::PyFinding>()?;
    m.add_class::<report::PyMarking>()?;
    errors::register(m)?;
    m.add(
        "LEVELS",
        miji::Level::ALL
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>(),
    )?;
    m.add(
        "ACTIONS",
        miji::Action::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    )?;
    m.add("SCHEMA", miji::REPORT_SCHEMA_ID)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
