//! Inputs: expands the command line's paths into files (a serial, sorted walk) and reads each
//! one into a `miji::Document` through `miji-extract`. Unreadable inputs become records with an
//! `io` error, never a silent skip.

use miji::{Document, ErrorKind, RecordError};
use miji_extract::Extractor;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One input to scan.
#[derive(Debug)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file (or something that turned out unreadable).
    File(PathBuf),
    /// A folder that could not be listed.
    Unlistable(PathBuf, String),
}

/// Expands `path` (a file, a folder walked recursively in name order, or `-`) into inputs.
/// Symbolic links are not followed inside folders (a link named on the command line is).
pub fn walk(path: &Path, out: &mut Vec<Input>) {
    if path.as_os_str() == "-" {
        out.push(Input::Stdin);
        return;
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => walk_dir(path, out),
        _ => out.push(Input::File(path.to_path_buf())),
    }
}

fn walk_dir(dir: &Path, out: &mut Vec<Input>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.push(Input::Unlistable(dir.to_path_buf(), e.to_string()));
            return;
        }
    };
    let mut paths: Vec<(PathBuf, std::fs::FileType)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
        .collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, t) in paths {
        if t.is_dir() {
            walk_dir(&p, out);
        } else if t.is_file() {
            out.push(Input::File(p));
        }
    }
}

/// The display name of a path, and its raw bytes when it is not UTF-8.
pub fn path_names(path: &Path) -> (String, Option<Vec<u8>>) {
    let display = path.to_string_lossy().into_owned();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        if path.to_str().is_none() {
            return (display, Some(path.as_os_str().as_bytes().to_vec()));
        }
    }
    (display, None)
}

/// Reads and extracts one input.
pub fn read(extractor: &Extractor, input: &Input) -> Document {
    match input {
        Input::Stdin => {
            let mut bytes = Vec::new();
            let limit = extractor.limits().max_size;
            let mut doc = match std::io::stdin()
                .lock()
                .take(limit.saturating_add(1))
                .read_to_end(&mut bytes)
            {
                Ok(_) => extractor.extract("-", &bytes),
                Err(e) => io_error_doc(format!("cannot read standard input: {e}")),
            };
            doc.path = Some("-".to_owned());
            doc
        }
        Input::File(p) => extractor.extract_path(p),
        Input::Unlistable(p, e) => {
            let mut doc = io_error_doc(format!("cannot list folder: {e}"));
            let (display, raw) = path_names(p);
            doc.path = Some(display);
            doc.path_bytes = raw;
            doc
        }
    }
}

fn io_error_doc(message: String) -> Document {
    Document {
        errors: vec![RecordError::new(ErrorKind::Io, Vec::new(), message)],
        ..Document::default()
    }
}
