//! The compiled-policy handle and the scan entry points.

use crate::ffi::{
    Failure, alloc_string, clear_out, guard, guard_void, in_bytes, in_cstr, in_ptr, out_ptr, utf8,
};
use crate::report::miji_report;
use crate::{MIJI_NO_DEFAULT_POLICY, miji_result};
use miji::{ErrorKind, PolicyBuilder, Scanner};
use miji_extract::Extractor;
use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};

/// A compiled policy, ready to scan: immutable and thread-safe. One handle may be used by any
/// number of threads at once; it holds the compiled policy in an `Arc`, so reports and reloaded
/// handles never depend on it. Free it with `miji_scanner_free`.
#[derive(Debug)]
pub struct miji_scanner {
    scanner: Scanner,
    extractor: Extractor,
    recipe: Recipe,
    digest: CString,
}

/// Where a handle's policy came from, so that `miji_scanner_reload` can compile it again.
#[derive(Debug, Clone)]
enum Recipe {
    Default,
    File {
        path: PathBuf,
        default_policy: bool,
    },
    Source {
        name: String,
        text: String,
        default_policy: bool,
    },
}

fn default_policy(flags: u32) -> Result<bool, Failure> {
    if flags & !MIJI_NO_DEFAULT_POLICY != 0 {
        return Err(Failure::new(
            miji_result::MIJI_ERR_ARGUMENT,
            format!("unknown flags {flags:#x}"),
        ));
    }
    Ok(flags & MIJI_NO_DEFAULT_POLICY == 0)
}

fn compile(recipe: Recipe) -> Result<miji_scanner, Failure> {
    let builder = match &recipe {
        Recipe::Default => PolicyBuilder::new(),
        Recipe::File {
            path,
            default_policy,
        } => {
            let name = path.display().to_string();
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::new(
                    miji_result::MIJI_ERR_IO,
                    format!("cannot read policy file {name}: {e}"),
                )
            })?;
            let text = String::from_utf8(bytes).map_err(|e| {
                Failure::new(
                    miji_result::MIJI_ERR_UTF8,
                    format!("policy file {name} is not valid UTF-8: {e}"),
                )
            })?;
            let base = path.parent().map(|p| p.display().to_string());
            PolicyBuilder::new()
                .default_policy(*default_policy)
                .source(name, text, base)
        }
        Recipe::Source {
            name,
            text,
            default_policy,
        } => PolicyBuilder::new().default_policy(*default_policy).source(
            name.clone(),
            text.clone(),
            None,
        ),
    };
    let policy = builder.build().map_err(|e| Failure {
        result: miji_result::MIJI_ERR_POLICY,
        message: e.to_string(),
        code: Some(e.code().to_owned()),
    })?;
    let digest = crate::ffi::c_string(policy.digest());
    Ok(miji_scanner {
        scanner: Scanner::new(policy),
        extractor: Extractor::default(),
        recipe,
        digest,
    })
}

fn publish(out: &mut *mut miji_scanner, recipe: Recipe) -> Result<(), Failure> {
    *out = Box::into_raw(Box::new(compile(recipe)?));
    Ok(())
}

#[cfg(unix)]
fn path_of(s: &CStr) -> Result<PathBuf, Failure> {
    use std::os::unix::ffi::OsStrExt;
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(s.to_bytes())))
}

#[cfg(not(unix))]
fn path_of(s: &CStr) -> Result<PathBuf, Failure> {
    utf8(s, "path").map(PathBuf::from)
}

/// Compiles the embedded default policy into `*out`.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`. On failure `*out` is NULL.
///
/// # Safety
/// `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scanner_new(out: *mut *mut miji_scanner) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { clear_out(out) };
    guard(|| {
        // SAFETY: forwarded caller contract.
        let out = unsafe { out_ptr(out, "out") }?;
        publish(out, Recipe::Default)
    })
}

/// Compiles the policy file at `path` (TOML; any bytes the OS accepts as a path) into `*out`.
/// The embedded default packs are loaded too unless `flags` has `MIJI_NO_DEFAULT_POLICY` or
/// the file says `extends = [...]`; word-list files resolve relative to the file.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL`, `MIJI_ERR_IO` (unreadable file), `MIJI_ERR_UTF8` (the
/// file is not UTF-8), `MIJI_ERR_POLICY` (see `miji_last_error_code()`), `MIJI_ERR_ARGUMENT`
/// (unknown flags) or `MIJI_ERR_PANIC`. On failure `*out` is NULL.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scanner_from_file(
    path: *const c_char,
    flags: u32,
    out: *mut *mut miji_scanner,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { clear_out(out) };
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (path, out) = unsafe { (in_cstr(path, "path")?, out_ptr(out, "out")?) };
        let default_policy = default_policy(flags)?;
        publish(
            out,
            Recipe::File {
                path: path_of(path)?,
                default_policy,
            },
        )
    })
}

/// Compiles a policy given as TOML text (UTF-8) into `*out`. `name` names the source in
/// diagnostics (`error[P003]: ... --> name:4:7`); NULL means `"<string>"`. The embedded
/// default packs are loaded too unless `flags` has `MIJI_NO_DEFAULT_POLICY` or the text says
/// `extends = [...]`.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL`, `MIJI_ERR_UTF8`, `MIJI_ERR_POLICY`,
/// `MIJI_ERR_ARGUMENT` or `MIJI_ERR_PANIC`. On failure `*out` is NULL.
///
/// # Safety
/// `policy` is NULL or a NUL-terminated string; `name` is NULL or a NUL-terminated string;
/// `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scanner_from_string(
    policy: *const c_char,
    name: *const c_char,
    flags: u32,
    out: *mut *mut miji_scanner,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { clear_out(out) };
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (policy, out) = unsafe { (in_cstr(policy, "policy")?, out_ptr(out, "out")?) };
        let text = utf8(policy, "policy")?.to_owned();
        let name = if name.is_null() {
            "<string>".to_owned()
        } else {
            // SAFETY: non-NULL and NUL-terminated by the caller's contract.
            utf8(unsafe { CStr::from_ptr(name) }, "name")?.to_owned()
        };
        let default_policy = default_policy(flags)?;
        publish(
            out,
            Recipe::Source {
                name,
                text,
                default_policy,
            },
        )
    })
}

/// Compiles `scanner`'s policy again from the same sources (re-reading a policy file) into a
/// new handle `*out`. `scanner` is left untouched and stays valid: swap the pointers when the
/// call succeeds, keep the old handle when it fails.
///
/// Returns the same codes as the constructor that made `scanner`. On failure `*out` is NULL.
///
/// # Safety
/// `scanner` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scanner_reload(
    scanner: *const miji_scanner,
    out: *mut *mut miji_scanner,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { clear_out(out) };
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (scanner, out) = unsafe { (in_ptr(scanner, "scanner")?, out_ptr(out, "out")?) };
        publish(out, scanner.recipe.clone())
    })
}

/// The digest of the compiled policy (`"sha256:"` + 16 hex digits), as every report's
/// `policy` field carries it. `*out` stays valid until the scanner is freed.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// `scanner` is NULL or a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scanner_digest(
    scanner: *const miji_scanner,
    out: *mut *const c_char,
) -> miji_result {
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (scanner, out) = unsafe { (in_ptr(scanner, "scanner")?, out_ptr(out, "out")?) };
        *out = scanner.digest.as_ptr();
        Ok(())
    })
}

/// Frees a scanner. Reports made with it stay valid. NULL is a no-op.
///
/// # Safety
/// `scanner` is NULL or a live handle that no other thread is still using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scanner_free(scanner: *mut miji_scanner) {
    if scanner.is_null() {
        return;
    }
    // SAFETY: the handle came from `Box::into_raw` and is freed once, by the caller's contract.
    guard_void(|| drop(unsafe { Box::from_raw(scanner) }));
}

fn publish_report(out: &mut *mut miji_report, report: miji::Report) {
    *out = Box::into_raw(Box::new(miji_report::new(report)));
}

/// Scans a buffer as plain text (UTF-8; invalid sequences are replaced, never an error) into
/// a new report `*out`. `(NULL, 0)` is the empty buffer.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL`, `MIJI_ERR_ARGUMENT` (`len` over `PTRDIFF_MAX`) or
/// `MIJI_ERR_PANIC`. On failure `*out` is NULL. Free the report with `miji_report_free`.
///
/// # Safety
/// `scanner` is NULL or a live handle; `data` is NULL or valid for reads of `len` bytes;
/// `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scan(
    scanner: *const miji_scanner,
    data: *const u8,
    len: usize,
    out: *mut *mut miji_report,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { clear_out(out) };
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (scanner, data, out) = unsafe {
            (
                in_ptr(scanner, "scanner")?,
                in_bytes(data, len, "data")?,
                out_ptr(out, "out")?,
            )
        };
        publish_report(out, scanner.scanner.scan(data));
        Ok(())
    })
}

/// Scans an in-memory document named `name` (a file name: with the content's magic bytes it
/// decides the format, so a docx, zip or GBK text buffer is read as such, and it is scanned
/// itself as an `@name` segment; `""` for none) into a new report `*out`. Unreadable parts
/// are errors on the report (`complete` is false), not a failed call.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL`, `MIJI_ERR_ARGUMENT` or `MIJI_ERR_PANIC`.
///
/// # Safety
/// As for `miji_scan`; `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scan_document(
    scanner: *const miji_scanner,
    name: *const c_char,
    data: *const u8,
    len: usize,
    out: *mut *mut miji_report,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { clear_out(out) };
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (scanner, name, data, out) = unsafe {
            (
                in_ptr(scanner, "scanner")?,
                in_cstr(name, "name")?,
                in_bytes(data, len, "data")?,
                out_ptr(out, "out")?,
            )
        };
        let doc = scanner.extractor.extract(&name.to_string_lossy(), data);
        publish_report(out, scanner.scanner.scan_document(doc));
        Ok(())
    })
}

/// Reads and scans the file at `path` (plain text in any common encoding, zip, tar, gzip,
/// docx, xlsx, pptx; within the extractor's default limits) into a new report `*out`. The
/// report's `path` is `path` as given.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL`, `MIJI_ERR_IO` (the file is missing, unreadable or a
/// directory; `*out` is then NULL) or `MIJI_ERR_PANIC`. A file that is read but whose parts
/// cannot all be extracted (corrupt, encrypted, over a limit) is `MIJI_OK` with a report whose
/// `complete` is false.
///
/// # Safety
/// `scanner` is NULL or a live handle; `path` is NULL or a NUL-terminated string; `out` is
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_scan_file(
    scanner: *const miji_scanner,
    path: *const c_char,
    out: *mut *mut miji_report,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { clear_out(out) };
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (scanner, path, out) = unsafe {
            (
                in_ptr(scanner, "scanner")?,
                in_cstr(path, "path")?,
                out_ptr(out, "out")?,
            )
        };
        let path = path_of(path)?;
        let doc = scanner.extractor.extract_path(Path::new(&path));
        if let Some(e) = doc
            .errors
            .iter()
            .find(|e| e.kind == ErrorKind::Io && e.location.is_empty())
        {
            return Err(Failure::new(
                miji_result::MIJI_ERR_IO,
                format!("{}: {}", path.display(), e.message),
            ));
        }
        publish_report(out, scanner.scanner.scan_document(doc));
        Ok(())
    })
}

/// Redacts a buffer: returns in `*out` a new NUL-terminated string, the text with every
/// keyword and detector finding replaced by its mask (markings only where the policy masks
/// them). Invalid UTF-8 in `data` is replaced by U+FFFD first. `*out_len`, when `out_len` is
/// not NULL, receives the length in bytes without the terminating NUL (the text may contain
/// NUL bytes if `data` did). Free `*out` with `miji_string_free`.
///
/// Returns `MIJI_OK`, `MIJI_ERR_NULL`, `MIJI_ERR_ARGUMENT` or `MIJI_ERR_PANIC`. On failure
/// `*out` is NULL.
///
/// # Safety
/// `scanner` is NULL or a live handle; `data` is NULL or valid for reads of `len` bytes;
/// `out` and `out_len` are NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_redact(
    scanner: *const miji_scanner,
    data: *const u8,
    len: usize,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> miji_result {
    // SAFETY: forwarded caller contract.
    unsafe { clear_out(out) };
    guard(|| {
        // SAFETY: forwarded caller contract.
        let (scanner, data, out) = unsafe {
            (
                in_ptr(scanner, "scanner")?,
                in_bytes(data, len, "data")?,
                out_ptr(out, "out")?,
            )
        };
        let redacted = scanner.scanner.redact(&String::from_utf8_lossy(data));
        // SAFETY: forwarded caller contract.
        if let Some(out_len) = unsafe { out_len.as_mut() } {
            *out_len = redacted.len();
        }
        *out = alloc_string(redacted.as_bytes());
        Ok(())
    })
}
