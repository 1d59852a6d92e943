//! Every failure the binding can report, and the one place where each becomes a Python
//! exception (the polars `From` pattern).
//!
//! | source                                   | Python exception                              |
//! |------------------------------------------|-----------------------------------------------|
//! | `miji::Error` (policy diagnostics)       | `PolicyError(MijiError, ValueError)`          |
//! | `std::io::Error` on a named file         | `OSError(errno, msg, path)`: `FileNotFoundError`, `PermissionError`, `IsADirectoryError`… |
//! | record error `limit.*` (`strict=True`)   | `LimitExceeded(MijiError)`                    |
//! | other record errors (`strict=True`)      | `ExtractError(MijiError)`                     |
//! | a panic caught at the boundary           | `MijiError` (never a `BaseException`)         |
//! | a bad argument                           | `ValueError`                                  |
//!
//! Errors are built as [`BindError`] while the GIL is released and converted once it is held.

use crate::report::PyReport;
use miji::{ErrorKind, RecordError};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use std::path::{Path, PathBuf};

/// A failure inside the binding, independent of the GIL.
#[derive(Debug)]
pub(crate) enum BindError {
    /// A policy that does not compile: every diagnostic.
    Policy(miji::Error),
    /// A named file that cannot be opened.
    Io {
        error: std::io::Error,
        path: PathBuf,
    },
    /// `strict=True` and the record is incomplete: the first error, and the record itself.
    Incomplete {
        error: RecordError,
        report: Box<PyReport>,
    },
    /// A panic caught at the boundary (a bug in miji).
    Internal(String),
    /// A bad argument.
    Value(String),
}

impl BindError {
    pub(crate) fn io(error: std::io::Error, path: &Path) -> BindError {
        BindError::Io {
            error,
            path: path.to_path_buf(),
        }
    }
}

/// The exception classes, created once at module import.
pub(crate) struct Classes {
    pub(crate) miji_error: Py<PyType>,
    pub(crate) policy_error: Py<PyType>,
    pub(crate) extract_error: Py<PyType>,
    pub(crate) limit_exceeded: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

const MIJI_ERROR_DOC: &str = "Base class of every error miji raises itself.";
const POLICY_ERROR_DOC: &str = "A policy that does not compile (also a `ValueError`).

`code` (`P001`…), `message`, `file`, `line` and `column` describe the first diagnostic;
`diagnostics` lists every one as a dict with the same keys. Line and column are 1-based, 0
when unknown.";
const EXTRACT_ERROR_DOC: &str = "Part of a file could not be read (`strict=True` scans only).

`kind` is the contract's error kind (`encrypted`, `unsupported-format`, `corrupt`,
`no-text-layer`, `io`, `internal`), `location` where it happened, and `report` the record
with whatever was read.";
const LIMIT_EXCEEDED_DOC: &str = "A file hit an extraction limit (`strict=True` scans only).

`kind` is `limit.size`, `limit.ratio`, `limit.depth`, `limit.entries`, `limit.time` or
`limit.findings`; `location` and `report` as for `ExtractError`.";

fn new_class<'py>(
    py: Python<'py>,
    name: &str,
    bases: Bound<'py, PyTuple>,
    doc: &str,
    attrs: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<Py<PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__module__", "miji")?;
    dict.set_item("__doc__", doc)?;
    for (k, v) in attrs {
        dict.set_item(*k, v)?;
    }
    let builtins = py.import("builtins")?;
    let class = builtins.getattr("type")?.call1((name, bases, dict))?;
    Ok(class.cast_into::<PyType>()?.unbind())
}

/// The exception classes (created on first use; the module registers them at import).
pub(crate) fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let none = py.None().into_bound(py);
        let exception = py.get_type::<pyo3::exceptions::PyException>();
        let value_error = py.get_type::<PyValueError>();
        let miji_error = new_class(
            py,
            "MijiError",
            PyTuple::new(py, [exception])?,
            MIJI_ERROR_DOC,
            &[],
        )?;
        let base = miji_error.bind(py).clone();
        let policy_error = new_class(
            py,
            "PolicyError",
            PyTuple::new(py, [base.clone(), value_error])?,
            POLICY_ERROR_DOC,
            &[
                ("code", "".into_pyobject(py)?.into_any()),
                ("message", "".into_pyobject(py)?.into_any()),
                ("file", none.clone()),
                ("line", 0u32.into_pyobject(py)?.into_any()),
                ("column", 0u32.into_pyobject(py)?.into_any()),
                ("diagnostics", PyTuple::empty(py).into_any()),
            ],
        )?;
        let record_attrs = [
            ("kind", "".into_pyobject(py)?.into_any()),
            ("location", PyTuple::empty(py).into_any()),
            ("report", none.clone()),
        ];
        let extract_error = new_class(
            py,
            "ExtractError",
            PyTuple::new(py, [base.clone()])?,
            EXTRACT_ERROR_DOC,
            &record_attrs,
        )?;
        let limit_exceeded = new_class(
            py,
            "LimitExceeded",
            PyTuple::new(py, [base.clone()])?,
            LIMIT_EXCEEDED_DOC,
            &record_attrs,
        )?;
        Ok(Classes {
            miji_error,
            policy_error,
            extract_error,
            limit_exceeded,
        })
    })
}

/// Whether a record-error kind is a limit (`LimitExceeded`) or a reading failure (`ExtractError`).
/// Written out kind by kind so that a new kind in the core is a decision here, not an accident.
fn is_limit(kind: ErrorKind) -> bool {
    match kind {
        ErrorKind::LimitSize
        | ErrorKind::LimitRatio
        | ErrorKind::LimitDepth
        | ErrorKind::LimitEntries
        | ErrorKind::LimitTime
        | ErrorKind::LimitFindings => true,
        ErrorKind::Encrypted
        | ErrorKind::UnsupportedFormat
        | ErrorKind::Corrupt
        | ErrorKind::NoTextLayer
        | ErrorKind::Io
        | ErrorKind::Internal => false,
        // `ErrorKind` is `#[non_exhaustive]`: an unknown kind is a reading failure.
        _ => kind.as_str().starts_with("limit."),
    }
}

fn instance<'py>(
    class: &Py<PyType>,
    py: Python<'py>,
    message: String,
) -> PyResult<Bound<'py, PyAny>> {
    class.bind(py).call1((message,))
}

fn to_pyerr(py: Python<'_>, error: BindError) -> PyResult<PyErr> {
    let classes = classes(py)?;
    Ok(match error {
        BindError::Policy(e) => {
            let exc = instance(&classes.policy_error, py, e.to_string())?;
            let mut diags = Vec::new();
            for d in e.diagnostics() {
                let item = PyDict::new(py);
                item.set_item("code", d.code)?;
                item.set_item("message", &d.message)?;
                item.set_item("file", &d.file)?;
                item.set_item("line", d.line)?;
                item.set_item("column", d.column)?;
                diags.push(item);
            }
            let first = &e.diagnostics()[0];
            exc.setattr("code", first.code)?;
            exc.setattr("message", &first.message)?;
            exc.setattr("file", &first.file)?;
            exc.setattr("line", first.line)?;
            exc.setattr("column", first.column)?;
            exc.setattr("diagnostics", PyTuple::new(py, diags)?)?;
            PyErr::from_value(exc)
        }
        BindError::Io { error, path } => {
            // `OSError(errno, strerror, filename)` picks the subclass from errno, exactly as
            // `open()` does: FileNotFoundError, PermissionError, IsADirectoryError…
            let message = strip_os_suffix(&error);
            match error.raw_os_error() {
                Some(errno) => PyOSError::new_err((errno, message, path.into_os_string())),
                None => PyErr::from(error),
            }
        }
        BindError::Incomplete { error, report } => {
            let class = if is_limit(error.kind) {
                &classes.limit_exceeded
            } else {
                &classes.extract_error
            };
            let location = miji::Report::render_location(&error.location);
            let message = if location.is_empty() {
                format!("{}: {}", error.kind, error.message)
            } else {
                format!("{}: {} (at {location})", error.kind, error.message)
            };
            let exc = instance(class, py, message)?;
            exc.setattr("kind", error.kind.as_str())?;
            exc.setattr("location", PyTuple::new(py, &error.location)?)?;
            exc.setattr("report", Py::new(py, *report)?)?;
            PyErr::from_value(exc)
        }
        BindError::Internal(message) => PyErr::from_value(instance(
            &classes.miji_error,
            py,
            format!("internal error in miji: {message}"),
        )?),
        BindError::Value(message) => PyValueError::new_err(message),
    })
}

/// `No such file or directory (os error 2)` → `No such file or directory`.
fn strip_os_suffix(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

impl From<BindError> for PyErr {
    fn from(error: BindError) -> PyErr {
        Python::attach(|py| to_pyerr(py, error).unwrap_or_else(|e| e))
    }
}

/// Runs `f`, turning a panic into [`BindError::Internal`]: a bug fails visibly as a `MijiError`,
/// never as pyo3's `PanicException` (a `BaseException` that `except Exception` misses).
pub(crate) fn guard<R>(f: impl FnOnce() -> Result<R, BindError>) -> Result<R, BindError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Err(BindError::Internal(message))
        }
    }
}

/// Registers the exception classes on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let c = classes(py)?;
    m.add("MijiError", c.miji_error.bind(py))?;
    m.add("PolicyError", c.policy_error.bind(py))?;
    m.add("ExtractError", c.extract_error.bind(py))?;
    m.add("LimitExceeded", c.limit_exceeded.bind(py))?;
    Ok(())
}
