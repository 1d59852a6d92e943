//! Inputs at the edges: invalid UTF-8, empty input, a 100 MB input with the marking at the end,
//! and offsets that point into the original text through every fold.

use miji::{Level, Scanner};

#[test]
fn invalid_utf8_is_tolerated() {
    let s = Scanner::default();
    let mut bytes = b"\xff\xfe\x80garbage\n".to_vec();
    bytes.extend_from_slice("机密★10年\n".as_bytes());
    bytes.extend_from_slice(b"\xc3\x28 more \xe6\x9c");
    let r = s.scan(&bytes);
    assert_eq!(r.level, Level::Secret);
    assert_eq!(r.bytes, bytes.len() as u64);
}

#[test]
fn empty_input_is_public_and_complete() {
    let r = Scanner::default().scan(b"");
    assert_eq!(r.level, Level::Public);
    assert!(r.complete && r.findings.is_empty() && r.marking.is_none());
}

#[test]
fn hundred_megabytes_with_the_marking_at_the_end() {
    let line =
        "The committee reviewed the quarterly budget and the schedule of works for the new wing.\n";
    let mut text = String::with_capacity(100 << 20);
    while text.len() < (100 << 20) {
        text.push_str(line);
    }
    text.push_str("\nTOP SECRET//NOFORN\n");
    let r = Scanner::default().scan(&text);
    assert_eq!(r.level, Level::TopSecret);
    let f = &r.findings[0];
    assert_eq!(
        &text[f.start as usize..f.end as usize],
        "TOP SECRET//NOFORN"
    );
    assert_eq!(f.line as usize, text.matches('\n').count() - 1 + 1);
}

#[test]
fn offsets_point_into_the_original_through_folds() {
    let s = Scanner::default();
    for text in [
        "前言\n机\u{200b}密★１０年\n正文",
        "ＳＥＣＲＥＴ//ＮＯＦＯＲＮ\n😀 body",
        "😀😀\n機　密★長期\n",
    ] {
        let r = s.scan(text);
        assert!(r.level > Level::Public, "{text:?}");
        for f in &r.findings {
            let slice = &text[f.start as usize..f.end as usize];
            assert_eq!(Some(slice), f.excerpt.as_deref(), "{text:?}");
            let before = &text[..f.start as usize];
            assert_eq!(f.line as usize, before.matches('\n').count() + 1);
            let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            assert_eq!(f.column as usize, col);
        }
    }
}
