//! Property tests of the normaliser's offset map: on random text mixing ASCII, CJK, emoji,
//! zero-width characters, full-width forms, NFKC expansions (㍿, ﬁ, ℡), combining marks and the
//! spaced level words, every mapped span lands on char boundaries of the original, folding the
//! original slice gives the folded span back (widened to whole fold units where it cut into the
//! expansion of one character, `㍿` → `株式会社`), and line/column agree with a naive count.

use miji::fold::{fold, fold_str, line_column};
use proptest::prelude::*;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}".prop_map(|s| s),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("机密".to_owned()),
        Just("机 密".to_owned()),
        Just("機　密".to_owned()),
        Just("秘密★10年".to_owned()),
        Just("天穹计划".to_owned()),
        Just("\u{200b}".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("\u{00ad}".to_owned()),
        Just("ＳＥＣＲＥＴ".to_owned()),
        Just("１０".to_owned()),
        Just("\u{3000}".to_owned()),
        Just("㍿".to_owned()),
        Just("ﬁ".to_owned()),
        Just("℡".to_owned()),
        Just("Ⅱ".to_owned()),
        Just("№".to_owned()),
        Just("e\u{301}".to_owned()),
        Just("😀".to_owned()),
        Just("👩‍💻".to_owned()),
        Just("—".to_owned()),
        Just("☆".to_owned()),
        Just("㊙".to_owned()),
        Just("，".to_owned()),
        "[\u{4e00}-\u{4e20}]{1,3}".prop_map(|s| s),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn spans_map_back_exactly(orig in text(), a in 0usize..400, b in 0usize..400) {
        let f = fold(&orig);
        let ft = f.text();
        // pick a span of the folded text on char boundaries
        let bounds: Vec<usize> = ft.char_indices().map(|(i, _)| i).chain(std::iter::once(ft.len())).collect();
        let (mut s, mut e) = (bounds[a % bounds.len()], bounds[b % bounds.len()]);
        if s > e { std::mem::swap(&mut s, &mut e); }
        let r = f.to_original(s..e);
        prop_assert!(orig.is_char_boundary(r.start) && orig.is_char_boundary(r.end), "{:?} -> {:?}", s..e, r);
        prop_assert!(r.start <= r.end && r.end <= orig.len());
        let unit = f.expand(s..e);
        let refolded = fold_str(&orig[r.clone()]);
        prop_assert_eq!(refolded.as_str(), &ft[unit], "orig slice {:?}", &orig[r.clone()]);
        let (line, col) = line_column(&orig, r.start);
        let before = &orig[..r.start];
        prop_assert_eq!(line as usize, before.matches('\n').count() + 1);
        prop_assert_eq!(col as usize, before.rsplit('\n').next().unwrap_or("").chars().count() + 1);
    }

    #[test]
    fn whole_text_maps_to_whole_text(orig in text()) {
        let f = fold(&orig);
        let r = f.to_original(0..f.text().len());
        // leading/trailing removed characters may sit outside the span; everything else is inside
        prop_assert_eq!(fold_str(&orig[r.clone()]), f.text());
        prop_assert_eq!(fold_str(&orig[..r.start]), "");
        prop_assert_eq!(fold_str(&orig[r.end..]), "");
    }

    #[test]
    fn ascii_without_spaced_capitals_is_borrowed(orig in "[a-z0-9 .,\n]{0,200}") {
        prop_assert!(fold(&orig).is_identity());
    }
}
