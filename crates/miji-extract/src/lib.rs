//! Bounded extraction of text from files and mail for miji: bytes of a file → [`miji::Document`], a
//! list of [`miji::Segment`]s (text, `location`, `role`) plus the coverage errors of the parts
//! that could not be read.
//!
//! The primary types are [`Limits`] (every budget, with safe defaults) and [`Extractor`]
//! (configured once, immutable, `Send + Sync`, used by any number of threads).
//!
//! ```
//! use miji_extract::{Extractor, Limits};
//!
//! let extractor = Extractor::new(Limits::default());
//! let doc = extractor.extract("note.txt", "TOP SECRET//NOFORN\nplans".as_bytes());
//! assert_eq!(doc.encoding.as_deref(), Some("UTF-8"));
//! assert!(doc.segments.iter().any(|s| s.text.contains("TOP SECRET")));
//! assert!(doc.errors.is_empty());
//! ```
//!
//! # What is read
//!
//! - Plain text in UTF-8 (with or without BOM), UTF-16LE/BE (BOM, or ASCII-heavy without),
//!   GBK/GB18030, Big5, Shift_JIS, EUC-KR and windows-125x, detected also on tiny files.
//! - zip, tar, gzip (and so `.tar.gz`/`.tgz`), nested to [`Limits::max_depth`].
//! - docx, xlsx, pptx (see the conventions below).
//! - Mail: `.eml` (and extensionless files that start like mail) and `.mbox`, with MIME
//!   multiparts, RFC 2047 / RFC 2231 headers and parameters in any charset, quoted-printable and
//!   base64, HTML bodies as text, and attachments extracted recursively (see below).
//! - PDF text layers per page (`["page[N]"]`; glyphs in the top/bottom bands are role
//!   header/footer), OpenDocument (odt/ods/odp), RTF, HTML (`<title>` role title), XML, JSON,
//!   Markdown, CSV, and legacy OLE files: Word `.doc`/`.wps`, Excel `.xls` (BIFF8/BIFF5) and
//!   PowerPoint `.ppt`, with their document properties (see the README).
//! - Everything else is an error on the record (`unsupported-format`, `no-text-layer` for
//!   pictures, `encrypted`, `corrupt`), never a silent empty record.
//!
//! # Location and role conventions
//!
//! - Plain text at the top: location `[]`, role `body`.
//! - The file name: one segment, text = the name, location `["@<name>"]`, role `filename`.
//!   An archive member's name (full member path): location `[..outer, "@<member path>"]`.
//! - zip/tar member: its path is a component (`["docs/plan.docx", …]`); each member file is
//!   listed in [`miji::Document::members`]. A `.gz` layer adds no component.
//! - docx: `["word/document.xml"]` body, `word/headerN.xml` header, `word/footerN.xml` footer,
//!   `word/footnotes.xml` / `word/endnotes.xml` footnote, `word/comments.xml` comment; text
//!   boxes (`w:txbxContent`) are separate segments at their part's location with role `textbox`
//!   (role header / footer when the box is in a header or footer). WordArt watermark strings
//!   keep the part's role.
//! - `docProps/core.xml`, `docProps/app.xml`, `docProps/custom.xml`: role metadata, one
//!   `Name: value` line per property.
//! - xlsx: one segment per non-empty cell, location `["sheet['Budget']!C7"]`, role `cell`;
//!   one segment per sheet name, location `["sheet['Budget']"]`, role `title`; cell comments
//!   at the cell's location with role comment.
//! - pptx: `ppt/slides/slideN.xml` body, `ppt/notesSlides/notesSlideN.xml` notes, slide
//!   masters, layouts and the notes master header, `ppt/comments/*` comment.
//! - Legacy OLE: `.xls` like xlsx (`["sheet['Budget']!C7"]` cells, the sheet's page header and
//!   footer at `["sheet['Budget']"]` with role header / footer); `.ppt` `["slide[N]"]` body and
//!   notes, masters `["master[N]"]` role header; `.doc` stories at `[]` by role; summary
//!   properties at `["SummaryInformation"]` / `["DocumentSummaryInformation"]`, role metadata.
//! - Embedded objects of OOXML documents (`word/embeddings/…`) are member documents.
//!
//! - Mail: the decoded `Subject` at `["header:Subject"]` (role subject); every other header
//!   field a `Name: value` line of one `["header"]` segment (role mail-header; `msip_labels`
//!   one property per line); text parts `["body[N]"]` (role body; HTML converted);
//!   other parts `["attachment[N]:<filename>", …]` (`attachment[N]` without a name), members
//!   read through the same extractors (`["attachment[1]:plan.docx", "word/header1.xml"]`),
//!   attached messages recursed; mbox messages `["message[N]", …]`.
//!
//! Paragraphs end with a newline and tabs stay tabs, so line-shaped markings stay lines.
//!
//! # Untrusted input
//!
//! Every input is assumed hostile. MIME multipart nesting is bounded by
//! [`Limits::max_mime_depth`], the parts of a message by [`Limits::max_entries`]. Parsing runs on a worker thread with an explicit stack
//! size ([`Limits::stack_size`]), or, through [`Extractor::extract_on_current_thread`], on a
//! long-lived caller thread that has at least that much; a panic is caught at every document boundary and becomes an
//! `internal` error; XML nesting is bounded ([`Limits::max_xml_depth`]); decompressed streams
//! are read in chunks through the record's budget, never sized from a declared length, so
//! memory stays within about twice [`Limits::max_size`] plus the input, and time within
//! [`Limits::max_time`] (checked between parts, members and chunks). Hitting a limit is a
//! `limit.*` error on the record; the segments read before it are kept.
#![deny(missing_docs)]

mod archive;
pub mod chat;
mod ctx;
mod dispatch;
mod html;
mod limits;
mod mail;
mod markup;
mod mime;
mod odf;
mod ole;
mod ole_props;
mod ooxml;
mod pdf;
mod rtf;
mod text;
mod xls;
mod xml;

pub use chat::rewrite_chat;
pub use limits::Limits;

use ctx::Ctx;
use miji::{Document, ErrorKind, RecordError};

/// Turns the bytes of a file into a [`Document`] within [`Limits`].
///
/// Configure once with [`Extractor::new`]; the extractor is immutable and `Send + Sync`, so
/// one instance serves every thread.
#[derive(Debug, Clone, Default)]
pub struct Extractor {
    limits: Limits,
}

impl Extractor {
    /// An extractor with these limits.
    pub fn new(limits: Limits) -> Extractor {
        Extractor { limits }
    }

    /// The limits this extractor applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Extracts the document `bytes` named `name`.
    ///
    /// `name` (a file name, with or without directories) drives format sniffing together with
    /// the magic bytes, and is itself scanned as an `@name` segment with role `filename`
    /// (none when `name` is empty). `Document::path` is left unset: in-memory scans have none.
    ///
    /// Never panics; every part that could not be read is a [`miji::RecordError`] with its
    /// location, and the segments read before it are kept.
    pub fn extract(&self, name: &str, bytes: &[u8]) -> Document {
        let mut doc = Document {
            bytes: bytes.len() as u64,
            ..Document::default()
        };
        self.extract_into(&mut doc, name, bytes, Worker::Spawn);
        doc
    }

    /// [`Extractor::extract`] on the calling thread instead of a fresh worker thread: the same
    /// result, limits and panic handling (a panic becomes an `internal` error), without the
    /// cost of creating and joining a thread per record. For callers that already run on a
    /// long-lived thread of their own with at least [`Limits::stack_size`] bytes of stack (a
    /// scan pool); on a smaller stack, hostile input may overflow it and abort the process.
    /// When unwinding is not available (`panic = "abort"`) a panic aborts here too.
    pub fn extract_on_current_thread(&self, name: &str, bytes: &[u8]) -> Document {
        let mut doc = Document {
            bytes: bytes.len() as u64,
            ..Document::default()
        };
        self.extract_into(&mut doc, name, bytes, Worker::Current);
        doc
    }

    /// Reads the file at `path` and extracts it. `Document::path` is the path as given (lossy
    /// UTF-8; the raw bytes also go to `path_bytes` when it is not UTF-8), the `@filename`
    /// segment is the file's last path component. The size limit is checked before the file
    /// is read; read failures are `io` errors.
    #[cfg(feature = "fs")]
    pub fn extract_path(&self, path: &std::path::Path) -> Document {
        use std::io::Read;
        let mut doc = Document {
            path: Some(path.to_string_lossy().into_owned()),
            ..Document::default()
        };
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            if path.to_str().is_none() {
                doc.path_bytes = Some(path.as_os_str().as_bytes().to_vec());
            }
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let io_error = |doc: &mut Document, e: std::io::Error| {
            doc.errors.push(RecordError::new(
                ErrorKind::Io,
                Vec::new(),
                format!("cannot read file: {e}"),
            ));
        };
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) => {
                io_error(&mut doc, e);
                return doc;
            }
        };
        let len = match file.metadata() {
            Ok(meta) if meta.is_dir() => {
                doc.errors.push(RecordError::new(
                    ErrorKind::Io,
                    Vec::new(),
                    "is a directory",
                ));
                return doc;
            }
            Ok(meta) => meta.len(),
            Err(e) => {
                io_error(&mut doc, e);
                return doc;
            }
        };
        doc.bytes = len;
        if len > self.limits.max_size {
            self.too_large(&mut doc, &name);
            return doc;
        }
        let mut bytes = Vec::new();
        // The file may grow while it is read: never read past the limit.
        if let Err(e) = (&mut file)
            .take(self.limits.max_size + 1)
            .read_to_end(&mut bytes)
        {
            io_error(&mut doc, e);
            return doc;
        }
        doc.bytes = bytes.len() as u64;
        self.extract_into(&mut doc, &name, &bytes, Worker::Spawn);
        doc
    }

    fn too_large(&self, doc: &mut Document, name: &str) {
        let mut ctx = Ctx::new(&self.limits);
        ctx.filename(&[], name);
        doc.segments.append(&mut ctx.segments);
        doc.errors.push(RecordError::new(
            ErrorKind::LimitSize,
            Vec::new(),
            format!(
                "input of {} bytes is larger than {} bytes",
                doc.bytes, self.limits.max_size
            ),
        ));
    }

    fn extract_into(&self, doc: &mut Document, name: &str, bytes: &[u8], worker: Worker) {
        if bytes.len() as u64 > self.limits.max_size {
            self.too_large(doc, name);
            return;
        }
        let limits = &self.limits;
        let work = move || {
            let mut ctx = Ctx::new(limits);
            ctx.filename(&[], name);
            dispatch::extract_inner(&mut ctx, &[], name, bytes, 0);
            ctx
        };
        let outcome = match worker {
            Worker::Current => std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .map_err(|_| "extractor panicked"),
            Worker::Spawn => std::thread::scope(|scope| {
                let worker = std::thread::Builder::new()
                    .name("miji-extract".into())
                    .stack_size(limits.stack_size)
                    .spawn_scoped(scope, work);
                match worker {
                    Ok(handle) => handle.join().map_err(|_| "extractor panicked"),
                    Err(_) => Err("cannot start the extraction thread"),
                }
            }),
        };
        match outcome {
            Ok(ctx) => {
                doc.segments = ctx.segments;
                doc.errors.extend(ctx.errors);
                doc.members = ctx.members;
                doc.encoding = ctx.encoding;
            }
            Err(message) => {
                doc.errors
                    .push(RecordError::new(ErrorKind::Internal, Vec::new(), message))
            }
        }
    }
}

/// Where [`Extractor::extract_into`] runs the parsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Worker {
    /// A fresh thread with [`Limits::stack_size`] of stack, joined before returning.
    Spawn,
    /// The calling thread (the caller vouches for its stack), under `catch_unwind`.
    Current,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_traits() {
        fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe + Clone>() {}
        check::<Extractor>();
        check::<Limits>();
    }
}
