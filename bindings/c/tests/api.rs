//! The C ABI driven from Rust: results, out-pointers, the last error, and the JSON.

use miji_c::*;
use std::ffi::{CStr, CString, c_char};
use std::ptr::{null, null_mut};

fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn last_error() -> Option<String> {
    text(miji_last_error())
}

fn scanner() -> *mut miji_scanner {
    let mut s = null_mut();
    assert_eq!(unsafe { miji_scanner_new(&mut s) }, miji_result::MIJI_OK);
    assert!(!s.is_null());
    s
}

fn scan(s: *const miji_scanner, input: &str) -> *mut miji_report {
    let mut r = null_mut();
    assert_eq!(
        unsafe { miji_scan(s, input.as_ptr(), input.len(), &mut r) },
        miji_result::MIJI_OK
    );
    assert!(!r.is_null());
    r
}

#[test]
fn scan_reads_the_marking_and_the_json_matches_the_core() {
    let s = scanner();
    let input = "机密★10年\n\n关于天穹计划的补充说明";
    let r = scan(s, input);
    unsafe {
        let mut level = miji_level::MIJI_LEVEL_PUBLIC;
        assert_eq!(miji_report_level(r, &mut level), miji_result::MIJI_OK);
        assert_eq!(level, miji_level::MIJI_LEVEL_SECRET);
        let mut m = std::mem::MaybeUninit::<miji_marking>::uninit();
        assert_eq!(miji_report_marking(r, m.as_mut_ptr()), miji_result::MIJI_OK);
        let m = m.assume_init();
        assert!(m.present);
        assert_eq!(text(m.period).as_deref(), Some("10年"));
        assert_eq!(text(m.text).as_deref(), Some("机密★10年"));

        let mut json = null_mut();
        assert_eq!(miji_report_json(r, &mut json), miji_result::MIJI_OK);
        let from_c: serde_json::Value = serde_json::from_str(&text(json).unwrap()).unwrap();
        let from_core: serde_json::Value =
            serde_json::from_str(&miji::Scanner::default().scan(input).to_json()).unwrap();
        assert_eq!(from_c, from_core);
        miji_string_free(json);
        miji_report_free(r);
        miji_scanner_free(s);
    }
}

#[test]
fn policy_errors_carry_the_code_and_location() {
    let policy = CString::new("[[marking]]\nid = \"acme.label\"\nscheme = \"corp\"\nkeywords = [\"ACME\"]\npattern = '^(ACME$'\nlevel = \"internal\"\n").unwrap();
    let name = CString::new("acme.toml").unwrap();
    let mut s = std::ptr::dangling_mut::<miji_scanner>();
    let rc = unsafe { miji_scanner_from_string(policy.as_ptr(), name.as_ptr(), 0, &mut s) };
    assert_eq!(rc, miji_result::MIJI_ERR_POLICY);
    assert!(s.is_null());
    assert_eq!(text(miji_last_error_code()).as_deref(), Some("P003"));
    let message = last_error().unwrap();
    assert!(
        message.starts_with("error[P003]: invalid regex"),
        "{message}"
    );
    assert!(message.contains("--> acme.toml:5:11"), "{message}");
}

#[test]
fn null_arguments_are_refused_and_out_pointers_cleared() {
    let s = scanner();
    unsafe {
        let mut r = std::ptr::dangling_mut::<miji_report>();
        assert_eq!(miji_scan(s, null(), 3, &mut r), miji_result::MIJI_ERR_NULL);
        assert!(r.is_null());
        assert!(last_error().unwrap().contains("`data` is NULL"));
        assert_eq!(miji_scan(s, null(), 0, &mut r), miji_result::MIJI_OK);
        assert!(last_error().is_none());
        miji_report_free(r);
        assert_eq!(
            miji_report_level(null(), &mut miji_level::MIJI_LEVEL_PUBLIC),
            miji_result::MIJI_ERR_NULL
        );
        assert_eq!(
            miji_scanner_reload(s, null_mut()),
            miji_result::MIJI_ERR_NULL
        );
        miji_scanner_free(s);
    }
}

#[test]
fn a_missing_file_is_an_io_error() {
    let s = scanner();
    let path = CString::new("/nonexistent/miji/file.txt").unwrap();
    let mut r = std::ptr::dangling_mut::<miji_report>();
    assert_eq!(
        unsafe { miji_scan_file(s, path.as_ptr(), &mut r) },
        miji_result::MIJI_ERR_IO
    );
    assert!(r.is_null());
    assert!(last_error().unwrap().contains("file.txt"));
    unsafe { miji_scanner_free(s) };
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<miji_scanner>();
    assert_send_sync::<miji_report>();
}
