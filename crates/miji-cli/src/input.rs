//! Inputs named one at a time: standard input and `miji explain FILE`. Folders are walked by
//! [`crate::engine`].

use miji::{Document, ErrorKind, RecordError};
use miji_extract::Extractor;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One input to read.
#[derive(Debug)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
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

/// The raw bytes of a path (lossless on Unix).
pub fn path_key(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned().into_bytes()
    }
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
    }
}

/// A document that could not be read at all.
pub fn io_error_doc(message: String) -> Document {
    Document {
        errors: vec![RecordError::new(ErrorKind::Io, Vec::new(), message)],
        ..Document::default()
    }
}
