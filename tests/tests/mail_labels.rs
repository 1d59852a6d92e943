//! Mail through the real extractor and the default policy: a marking that opens an encoded
//! subject followed by its title, the Outlook `Sensitivity:` header and `X-Classification:`.

use miji::{Level, Scanner};
use miji_extract::Extractor;

fn scan_mail(raw: &str) -> miji::Report {
    Scanner::default().scan_document(Extractor::default().extract("message.eml", raw.as_bytes()))
}

#[test]
fn marking_opening_an_encoded_subject() {
    // "机密★10年 项目计划" as an RFC 2047 UTF-8 B encoded word
    let raw = "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?utf-8?B?5py65a+G4piFMTDlubQg6aG555uu6K6h5YiS?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attachment\r\n";
    let r = scan_mail(raw);
    assert_eq!(r.level, Level::Secret, "{:?}", r.findings);
    let m = r.marking.unwrap();
    assert_eq!(
        (m.rule.as_str(), m.location.as_slice()),
        (
            "cn.subject-prefix",
            ["header:Subject".to_owned()].as_slice()
        )
    );
    assert_eq!(m.period.as_deref(), Some("10年"));
}

#[test]
fn outlook_sensitivity_and_x_classification_headers() {
    let raw =
        "From: a@example.com\r\nSensitivity: Company-Confidential\r\nSubject: plan\r\n\r\nbody\r\n";
    assert_eq!(scan_mail(raw).level, Level::Confidential);
    let raw = "From: a@example.com\r\nX-Classification: SECRET\r\nSubject: plan\r\n\r\nbody\r\n";
    assert_eq!(scan_mail(raw).level, Level::Secret);
    // the same words in a body paragraph are prose
    let raw = "From: a@example.com\r\nSubject: plan\r\n\r\nline one\r\nline two\r\nline three\r\nOur X-Classification: SECRET header is set by the gateway.\r\nline five\r\nline six\r\nline seven\r\n";
    assert_eq!(scan_mail(raw).level, Level::Public);
}
