//! The boundary machinery: the thread-local last error, the `catch_unwind` guard every export
//! runs in, argument checks, and the allocation of strings handed to C.

use crate::miji_result;
use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Why an export failed: its result code, the message for `miji_last_error()`, and for policy
/// errors the first diagnostic's code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) result: miji_result,
    pub(crate) message: String,
    pub(crate) code: Option<String>,
}

impl Failure {
    pub(crate) fn new(result: miji_result, message: impl Into<String>) -> Failure {
        Failure {
            result,
            message: message.into(),
            code: None,
        }
    }

    pub(crate) fn null(argument: &str) -> Failure {
        Failure::new(
            miji_result::MIJI_ERR_NULL,
            format!("argument `{argument}` is NULL"),
        )
    }
}

#[derive(Debug)]
struct LastError {
    message: CString,
    code: Option<CString>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn set_last_error(error: Option<LastError>) {
    // `try_with`: during thread teardown there is nowhere to record anything.
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = error;
        }
    });
}

/// Replaces NUL bytes so that any text can cross as a C string.
pub(crate) fn c_string(text: &str) -> CString {
    match CString::new(text) {
        Ok(s) => s,
        Err(_) => CString::new(text.replace('\0', "\u{FFFD}")).expect("no NUL left"),
    }
}

/// Runs the body of an export: clears the last error, catches panics, records failures.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> miji_result {
    set_last_error(None);
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return miji_result::MIJI_OK,
        Ok(Err(failure)) => failure,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_owned());
            drop_payload(payload);
            Failure::new(
                miji_result::MIJI_ERR_PANIC,
                format!("internal error: miji panicked: {what}"),
            )
        }
    };
    let result = failure.result;
    set_last_error(Some(LastError {
        message: c_string(&failure.message),
        code: failure.code.as_deref().map(c_string),
    }));
    result
}

/// Runs a `void` export (the free functions): catches panics, leaves the last error alone
/// (so that it can still be read after cleaning up).
pub(crate) fn guard_void(body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        drop_payload(payload);
    }
}

/// Drops a panic payload without letting a panicking destructor unwind out of an export.
fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// Checks an out-pointer and returns it as a reference.
///
/// # Safety
/// `p` is NULL or valid for writes of a `T`.
pub(crate) unsafe fn out_ptr<'a, T>(p: *mut T, argument: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller guarantees `p` is NULL or valid for writes.
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(argument))
}

/// Checks a handle pointer and returns it as a reference.
///
/// # Safety
/// `p` is NULL or points to a live `T`.
pub(crate) unsafe fn in_ptr<'a, T>(p: *const T, argument: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees `p` is NULL or valid for reads.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(argument))
}

/// Checks a C string argument.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for reads.
pub(crate) unsafe fn in_cstr<'a>(p: *const c_char, argument: &str) -> Result<&'a CStr, Failure> {
    if p.is_null() {
        return Err(Failure::null(argument));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(p) })
}

/// A C string argument that must be UTF-8.
pub(crate) fn utf8<'a>(s: &'a CStr, argument: &str) -> Result<&'a str, Failure> {
    s.to_str().map_err(|e| {
        Failure::new(
            miji_result::MIJI_ERR_UTF8,
            format!("argument `{argument}` is not valid UTF-8: {e}"),
        )
    })
}

/// Checks a `(data, len)` buffer argument; `(NULL, 0)` is the empty buffer.
///
/// # Safety
/// `data` is NULL or valid for reads of `len` bytes.
pub(crate) unsafe fn in_bytes<'a>(
    data: *const u8,
    len: usize,
    argument: &str,
) -> Result<&'a [u8], Failure> {
    if data.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(argument))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::new(
            miji_result::MIJI_ERR_ARGUMENT,
            format!("argument `len` ({len}) is larger than PTRDIFF_MAX"),
        ));
    }
    // SAFETY: non-NULL, and valid for `len` bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Clears an out-pointer (so that it is NULL on failure) when it is not NULL itself.
///
/// # Safety
/// `p` is NULL or valid for writes.
pub(crate) unsafe fn clear_out<T>(p: *mut *mut T) {
    // SAFETY: the caller guarantees `p` is NULL or valid for writes.
    if let Some(p) = unsafe { p.as_mut() } {
        *p = std::ptr::null_mut();
    }
}

const HEADER: usize = std::mem::size_of::<usize>();

fn layout(len: usize) -> Layout {
    Layout::from_size_align(HEADER + len + 1, std::mem::align_of::<usize>()).expect("string layout")
}

/// Copies `bytes` into a new NUL-terminated allocation that `miji_string_free` releases. The
/// length is kept in front of the data, so the text may itself contain NUL bytes.
pub(crate) fn alloc_string(bytes: &[u8]) -> *mut c_char {
    let layout = layout(bytes.len());
    // SAFETY: the layout has a non-zero size; every write stays inside it.
    unsafe {
        let base = alloc(layout);
        if base.is_null() {
            handle_alloc_error(layout);
        }
        base.cast::<usize>().write(bytes.len());
        let data = base.add(HEADER);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        data.add(bytes.len()).write(0);
        data.cast()
    }
}

/// The message of the last failed call on this thread, or NULL when the last call succeeded.
///
/// The pointer stays valid until the next call on the same thread to any miji function other
/// than `miji_last_error`, `miji_last_error_code`, the `*_free` functions, the `*_name`
/// functions and the version functions; copy the text if you need it longer. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn miji_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|last| {
            last.try_borrow()
                .ok()
                .and_then(|l| l.as_ref().map(|e| e.message.as_ptr()))
        })
        .ok()
        .flatten()
        .unwrap_or(std::ptr::null())
}

/// The diagnostic code of the last failed call on this thread when it was a policy error
/// (`"P003"`), else NULL. Same lifetime as `miji_last_error()`. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn miji_last_error_code() -> *const c_char {
    LAST_ERROR
        .try_with(|last| {
            last.try_borrow()
                .ok()
                .and_then(|l| l.as_ref().and_then(|e| e.code.as_ref().map(|c| c.as_ptr())))
        })
        .ok()
        .flatten()
        .unwrap_or(std::ptr::null())
}

/// Frees a string returned by `miji_report_json` or `miji_redact`. NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string returned by miji that was not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn miji_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    guard_void(|| {
        // SAFETY: `s` came from `alloc_string`, so the length sits `HEADER` bytes before it.
        unsafe {
            let base = s.cast::<u8>().sub(HEADER);
            let len = base.cast::<usize>().read();
            dealloc(base, layout(len));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_a_result_code_and_a_message() {
        let r = guard(|| panic!("boom"));
        assert_eq!(r, miji_result::MIJI_ERR_PANIC);
        let msg = unsafe { CStr::from_ptr(miji_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("boom"), "{msg}");
        assert!(miji_last_error_code().is_null());
        assert_eq!(guard(|| Ok(())), miji_result::MIJI_OK);
        assert!(miji_last_error().is_null());
    }

    #[test]
    fn strings_keep_interior_nul_and_free_cleanly() {
        let s = alloc_string(b"a\0b");
        unsafe {
            assert_eq!(std::slice::from_raw_parts(s.cast::<u8>(), 4), b"a\0b\0");
            miji_string_free(s);
            miji_string_free(std::ptr::null_mut());
        }
        assert_eq!(c_string("x\0y").to_str().unwrap(), "x\u{FFFD}y");
    }
}
