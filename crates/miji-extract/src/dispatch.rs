//! Format sniffing (magic bytes first, the name's extension second) and dispatch to the
//! format modules, with the nesting-depth limit and a panic boundary around every document.

use crate::archive::{self, base_name};
use crate::ctx::Ctx;
use crate::mail::{self, MailKind};
use crate::{markup, odf, ole, ooxml, pdf, rtf, text};
use miji::{ErrorKind, Role};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What the bytes of a document are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Zip,
    Gzip,
    Tar,
    Text,
    Empty,
    /// A PDF document.
    Pdf,
    /// An RTF document.
    Rtf,
    /// An OLE compound document (doc, xls, ppt, wps, msg).
    Ole,
    /// A picture: nothing to read without OCR.
    Image(&'static str),
    /// A known format this crate does not read (yet).
    Unsupported(&'static str),
    /// One mail message (RFC 5322 / MIME).
    Mail,
    /// An mbox of mail messages.
    Mbox,
    /// A password-protected Office 2007+ document (an OLE container named like OOXML).
    EncryptedOffice,
    /// The name claims a container format the bytes are not.
    Mismatch(&'static str),
}

/// Extensions that promise a zip container.
const ZIP_EXTENSIONS: &[&str] = &[
    "zip", "docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm", "potx",
    "potm", "ppsx", "ppsm", "jar", "odt", "ods", "odp", "epub",
];
const OOXML_EXTENSIONS: &[&str] = &[
    "docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm", "potx", "potm",
    "ppsx", "ppsm",
];

fn extension(name: &str) -> String {
    let base = base_name(name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Sniffs the format of `bytes` named `name`.
pub(crate) fn sniff(name: &str, bytes: &[u8]) -> Format {
    let ext = extension(name);
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        return Format::Zip;
    }
    if starts(b"\x1F\x8B") {
        return Format::Gzip;
    }
    if archive::is_tar(bytes) {
        return Format::Tar;
    }
    if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        if OOXML_EXTENSIONS.contains(&ext.as_str()) {
            return Format::EncryptedOffice;
        }
        return Format::Ole;
    }
    // Readers accept a PDF header anywhere in the first KiB.
    if memchr::memmem::find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some() {
        return Format::Pdf;
    }
    if starts(b"{\\rtf") {
        return Format::Rtf;
    }
    let unsupported: &[(&[u8], &str)] = &[
        (b"Rar!\x1A\x07", "RAR archive"),
        (b"7z\xBC\xAF\x27\x1C", "7-Zip archive"),
        (b"BZh", "bzip2 stream"),
        (b"\xFD7zXZ\x00", "xz stream"),
        (b"\x28\xB5\x2F\xFD", "zstd stream"),
        (b"\x7FELF", "ELF executable"),
    ];
    for (magic, what) in unsupported {
        if starts(magic) {
            return Format::Unsupported(what);
        }
    }
    let images: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1A\n", "PNG"),
        (b"\xFF\xD8\xFF", "JPEG"),
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
    ];
    for (magic, what) in images {
        if starts(magic) {
            return Format::Image(what);
        }
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Format::Image("WebP");
    }
    if ZIP_EXTENSIONS.contains(&ext.as_str()) {
        return Format::Mismatch("zip");
    }
    if matches!(ext.as_str(), "gz" | "tgz") {
        return Format::Mismatch("gzip");
    }
    if ext == "tar" {
        return Format::Mismatch("tar");
    }
    if bytes.is_empty() {
        return Format::Empty;
    }
    match ext.as_str() {
        "eml" => return Format::Mail,
        "mbox" | "mbx" => return Format::Mbox,
        "" => match mail::sniff(bytes) {
            Some(MailKind::Message) => return Format::Mail,
            Some(MailKind::Mbox) => return Format::Mbox,
            None => {}
        },
        _ => {}
    }
    Format::Text
}

/// Extracts a member document (`location` names the member, `name` is its base name).
pub(crate) fn extract_member(
    ctx: &mut Ctx<'_>,
    location: &[String],
    name: &str,
    bytes: &[u8],
    depth: u32,
) {
    extract_inner(ctx, location, name, bytes, depth);
}

/// Extracts one document at `location`, `depth` containers deep, inside a panic boundary.
pub(crate) fn extract_inner(
    ctx: &mut Ctx<'_>,
    location: &[String],
    name: &str,
    bytes: &[u8],
    depth: u32,
) {
    if !ctx.go_on(location) {
        return;
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        extract_format(ctx, location, name, bytes, depth)
    }));
    if outcome.is_err() {
        ctx.error(
            ErrorKind::Internal,
            location,
            "extractor panicked; the part was not read",
        );
    }
}

/// Extracts the mail message `bytes` at `location` (an attached `message/rfc822` part, an
/// mbox message), `depth` containers deep, inside a panic boundary, whatever its bytes
/// look like.
pub(crate) fn extract_mail(ctx: &mut Ctx<'_>, location: &[String], bytes: &[u8], depth: u32) {
    if !ctx.go_on(location) {
        return;
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if may_open(ctx, location, depth) {
            mail::message(ctx, location, bytes, depth);
        }
    }));
    if outcome.is_err() {
        ctx.error(
            ErrorKind::Internal,
            location,
            "extractor panicked; the message was not read",
        );
    }
}

/// `true` when a container at `depth` may be opened; else records `limit.depth`.
fn may_open(ctx: &mut Ctx<'_>, location: &[String], depth: u32) -> bool {
    if depth >= ctx.limits.max_depth {
        let max = ctx.limits.max_depth;
        ctx.error(
            ErrorKind::LimitDepth,
            location,
            format!("containers nested deeper than {max}"),
        );
        return false;
    }
    true
}

fn extract_format(ctx: &mut Ctx<'_>, location: &[String], name: &str, bytes: &[u8], depth: u32) {
    match sniff(name, bytes) {
        Format::Zip => {
            if !may_open(ctx, location, depth) {
                return;
            }
            let Some(index) = archive::zip_index(ctx, location, bytes) else {
                return;
            };
            match ooxml::kind(&index) {
                Some(kind) => ooxml::extract(ctx, location, &index, kind, depth),
                None if odf::is_odf(&index) => odf::extract(ctx, location, &index),
                None => archive::zip_archive(ctx, location, &index, depth),
            }
        }
        Format::Gzip => {
            if may_open(ctx, location, depth) {
                archive::gzip(ctx, location, name, bytes, depth);
            }
        }
        Format::Tar => {
            if may_open(ctx, location, depth) {
                archive::tar_archive(ctx, location, bytes, depth);
            }
        }
        // Markup is text to the sniffer (mail reads its text parts its own way); a document
        // of its own is read by its markup.
        Format::Text if markup::kind(&extension(name), bytes).is_some() => {
            markup::extract(ctx, location, &extension(name), bytes)
        }
        Format::Text => match text::decode(bytes) {
            Some(decoded) => {
                if location.is_empty() {
                    ctx.encoding = Some(decoded.encoding.to_string());
                }
                ctx.segment(decoded.text, location.to_vec(), Role::Body);
            }
            None => ctx.error(
                ErrorKind::UnsupportedFormat,
                location,
                "binary data of no known format",
            ),
        },
        Format::Mail => {
            if may_open(ctx, location, depth) {
                mail::message(ctx, location, bytes, depth);
            }
        }
        Format::Mbox => {
            if may_open(ctx, location, depth) {
                mail::mbox(ctx, location, bytes, depth);
            }
        }
        Format::Pdf => pdf::extract(ctx, location, bytes),
        Format::Rtf => rtf::extract(ctx, location, bytes),
        Format::Ole => ole::extract(ctx, location, bytes),
        Format::Empty => {}
        Format::Image(what) => ctx.error(
            ErrorKind::NoTextLayer,
            location,
            format!("{what} image: no text layer"),
        ),
        Format::Unsupported(what) => ctx.error(
            ErrorKind::UnsupportedFormat,
            location,
            format!("{what} is not read"),
        ),
        Format::EncryptedOffice => ctx.error(
            ErrorKind::Encrypted,
            location,
            "password-protected office document",
        ),
        Format::Mismatch(what) => ctx.error(
            ErrorKind::Corrupt,
            location,
            if bytes.is_empty() {
                format!("empty file named as {what}")
            } else {
                format!("named as {what} but is not")
            },
        ),
    }
}
