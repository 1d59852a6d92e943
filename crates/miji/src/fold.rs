//! The normaliser: one pass that folds evasion forms (full-width, zero-width, dash and star
//! variants, traditional marking vocabulary, spaced level words) and keeps an exact offset map.
//!
//! Every rule matches the *folded* text; every finding reports offsets in the *original* text.
//! The fold is a per-character table, so folding a slice of the original that starts and ends on
//! character boundaries gives the matching slice of the folded text. Two context rules join
//! spaced-out level words: the spaces inside `机 密` / `机　密` (CJK) and inside letter-spaced
//! banners such as `C O N F I D E N T I A L` are dropped only where the result is a level word.
//!
//! What the fold does *not* do: Latin case is kept (government banners are recognised by their
//! capitals; the gate matches ASCII case-insensitively instead), and combining marks are not
//! composed (no marking needs it).

use std::borrow::Cow;
use std::ops::Range;
use unicode_normalization::UnicodeNormalization;

/// Folded text and the map back to the original.
#[derive(Debug, Clone)]
pub struct Folded<'a> {
    text: Cow<'a, str>,
    map: OffsetMap,
}

impl<'a> Folded<'a> {
    /// The folded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `true` when folding changed nothing (the ASCII fast path copies nothing).
    pub fn is_identity(&self) -> bool {
        matches!(self.text, Cow::Borrowed(_))
    }

    /// The offset map.
    pub fn map(&self) -> &OffsetMap {
        &self.map
    }

    /// Maps a byte range of the folded text to the byte range of the original text it came from.
    pub fn to_original(&self, folded: Range<usize>) -> Range<usize> {
        self.map.to_original(folded)
    }

    /// Widens a folded range to whole fold units (see [`OffsetMap::expand`]).
    pub fn expand(&self, folded: Range<usize>) -> Range<usize> {
        self.map.expand(folded)
    }
}

/// Maps folded byte offsets back to original byte offsets.
///
/// Stored sparsely: one `Edit` per character that the fold changed; between edits the two
/// texts are byte-identical, so an offset there shifts by the running difference.
#[derive(Debug, Clone, Default)]
pub struct OffsetMap {
    edits: Vec<Edit>,
    /// `folded_start` of every `INDEX_STRIDE`-th edit: a lookup searches this small array
    /// first, then one block of edits (a fold of Chinese text has an edit per full-width
    /// comma, and a binary search over all of them missed the cache at every step).
    index: Vec<usize>,
}

const INDEX_STRIDE: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Edit {
    folded_start: usize,
    folded_len: usize,
    orig_start: usize,
    orig_len: usize,
}

impl Edit {
    fn folded_end(&self) -> usize {
        self.folded_start + self.folded_len
    }
    fn orig_end(&self) -> usize {
        self.orig_start + self.orig_len
    }
}

impl OffsetMap {
    fn new(edits: Vec<Edit>) -> OffsetMap {
        let index = edits
            .iter()
            .step_by(INDEX_STRIDE)
            .map(|e| e.folded_start)
            .collect();
        OffsetMap { edits, index }
    }

    /// The number of edits whose `folded_start` satisfies `before` (a predicate that holds
    /// for a prefix of the edits, as `partition_point` wants).
    fn count(&self, before: impl Fn(usize) -> bool) -> usize {
        let block = self.index.partition_point(|&f| before(f));
        self.count_in_block(block, before)
    }

    /// The count, given the number of index entries satisfying `before`.
    fn count_in_block(&self, block: usize, before: impl Fn(usize) -> bool) -> usize {
        if block == 0 {
            return 0;
        }
        let from = (block - 1) * INDEX_STRIDE;
        let to = (from + INDEX_STRIDE).min(self.edits.len());
        from + self.edits[from..to].partition_point(|e| before(e.folded_start))
    }

    /// Number of edits (changed characters).
    pub fn len(&self) -> usize {
        self.edits.len()
    }

    /// `true` when the fold changed nothing.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Maps a folded byte range to the original byte range. A range that starts inside a
    /// replacement starts at the replaced character; one that ends inside it ends after it.
    /// Removed characters (zero-width) at the edges are left outside the range.
    pub fn to_original(&self, folded: Range<usize>) -> Range<usize> {
        self.cursor().to_original(folded)
    }

    /// A cursor for many lookups in increasing order: each continues from the last one's
    /// place in the map instead of searching it from the start.
    pub fn cursor(&self) -> OffsetCursor<'_> {
        OffsetCursor { map: self, at: 0 }
    }

    /// Like [`OffsetMap::count`], knowing that the answer is probably at or after edit `hint`:
    /// gallops forward through the index from there (it stays in cache; the edits of a long
    /// document do not), then searches one block, or does the plain indexed search when the
    /// answer lies before `hint`.
    fn count_from(&self, hint: usize, before: impl Fn(usize) -> bool) -> usize {
        if hint == 0 || hint > self.edits.len() || !before(self.edits[hint - 1].folded_start) {
            return self.count(before);
        }
        // index entries [..lo] hold edits at or before `hint - 1`: all satisfy `before`
        let (mut lo, mut step) = ((hint - 1) / INDEX_STRIDE + 1, 1);
        let satisfied = loop {
            let probe = lo + step;
            if probe > self.index.len() || !before(self.index[probe - 1]) {
                let hi = (probe - 1).min(self.index.len());
                break lo + self.index[lo..hi].partition_point(|&f| before(f));
            }
            lo = probe;
            step *= 2;
        };
        self.count_in_block(satisfied, before)
    }

    /// Widens a folded range to whole fold units: a range that starts or ends inside the
    /// expansion of one original character (`㍿` → `株式会社`) is widened to all of it. Folding
    /// `original[to_original(r)]` gives exactly `folded[expand(r)]`.
    pub fn expand(&self, folded: Range<usize>) -> Range<usize> {
        if folded.end <= folded.start {
            return folded.start..folded.start;
        }
        let inside = |f: usize| {
            let idx = self.count(|s| s < f);
            (idx > 0)
                .then(|| self.edits[idx - 1])
                .filter(|e| f < e.folded_end())
        };
        let start = inside(folded.start).map_or(folded.start, |e| e.folded_start);
        let end = inside(folded.end).map_or(folded.end, |e| e.folded_end());
        start..end.max(start)
    }

    /// Original offset of the first original byte behind folded byte `f`, where `idx` is the
    /// number of edits starting at or before `f`.
    fn start(&self, f: usize, idx: usize) -> usize {
        if idx == 0 {
            return f;
        }
        let e = self.edits[idx - 1];
        if f < e.folded_end() {
            e.orig_start
        } else {
            e.orig_end() + (f - e.folded_end())
        }
    }

    /// Original offset just after the original bytes behind folded byte `f - 1`, where `idx`
    /// is the number of edits starting at or before `f - 1`.
    fn end(&self, f: usize, idx: usize) -> usize {
        let last = f - 1;
        if idx == 0 {
            return f;
        }
        // Skip deletions that sit exactly at `last`'s position but after a replacement covering it.
        let e = self.edits[idx - 1];
        if last < e.folded_end() {
            e.orig_end()
        } else {
            e.orig_end() + (last - e.folded_end()) + 1
        }
    }
}

/// Maps folded ranges to original ones like [`OffsetMap::to_original`], fastest when the
/// ranges come in increasing order (any order is correct).
#[derive(Debug, Clone)]
pub struct OffsetCursor<'m> {
    map: &'m OffsetMap,
    /// Edits starting at or before the last range's start.
    at: usize,
}

impl OffsetCursor<'_> {
    /// See [`OffsetMap::to_original`].
    pub fn to_original(&mut self, folded: Range<usize>) -> Range<usize> {
        let map = self.map;
        self.at = map.count_from(self.at, |s| s <= folded.start);
        let start = map.start(folded.start, self.at);
        let end = if folded.end <= folded.start {
            start
        } else {
            let last = folded.end - 1;
            map.end(folded.end, map.count_from(self.at, |s| s <= last))
                .max(start)
        };
        start..end
    }
}

/// What the table does with one character.
enum CharFold {
    Keep,
    Drop,
    Char(char),
    Str(Cow<'static, str>),
}

/// Folds `text` completely, traditional marking vocabulary included. Borrowed (no copy) when
/// nothing changes, which is the case for most ASCII text.
pub fn fold(text: &str) -> Folded<'_> {
    let mut folded = fold_for_gate(text);
    let trad = trad_positions(folded.text());
    folded.simplify_at(&trad);
    folded
}

/// Folds a short string (a dictionary term, a keyword) to what the scanner matches.
pub fn fold_str(text: &str) -> String {
    fold(text).text().to_owned()
}

impl Folded<'_> {
    /// Replaces the traditional characters starting at `positions` (byte offsets of the folded
    /// text, from [`trad_positions`] or the gate) by their simplified forms. Every pair in the
    /// table has the same UTF-8 length, so offsets and the offset map stay valid.
    pub(crate) fn simplify_at(&mut self, positions: &[usize]) {
        if positions.is_empty() {
            return;
        }
        let mut bytes = std::mem::take(&mut self.text).into_owned().into_bytes();
        for &at in positions {
            let Some(ch) = bytes
                .get(at..at + 3)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| s.chars().next())
            else {
                continue;
            };
            if let Some(simp) = trad_to_simp(ch) {
                let mut buf = [0u8; 4];
                let enc = simp.encode_utf8(&mut buf).as_bytes();
                debug_assert_eq!(enc.len(), 3);
                bytes[at..at + 3].copy_from_slice(enc);
            }
        }
        // each replacement swaps one 3-byte character for another: still UTF-8
        self.text = Cow::Owned(String::from_utf8(bytes).expect("3-byte swaps keep UTF-8"));
    }
}

/// Byte offsets of the traditional characters of the table in `text` (one bitmap probe per
/// CJK ideograph). The scanner finds them with its gate instead; this is for `fold`.
pub(crate) fn trad_positions(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b0) = bytes.get(i) {
        if (0xE4..=0xE9).contains(&b0)
            && let Some(&[b1, b2]) = bytes.get(i + 1..i + 3)
        {
            let off = (((b0 as usize & 0x0F) - 4) << 6) | (b1 as usize & 0x3F);
            if TRAD_BITMAP[off] & (1 << (b2 & 0x3F)) != 0 {
                out.push(i);
            }
            i += 3;
        } else {
            i += utf8_len(b0);
        }
    }
    out
}

/// The traditional characters the fold maps (each becomes a gate literal of its own, so the
/// scanner learns where they are without probing every ideograph).
pub(crate) fn trad_chars() -> impl Iterator<Item = char> {
    TRAD_SIMP.iter().map(|&(t, _)| t)
}

/// Everything of the fold except traditional → simplified, which keeps byte lengths and is
/// applied afterwards, only where the scanner's gate found a traditional character (the
/// complete [`fold`] does it everywhere). Runs of text that cannot fold (ASCII, CJK
/// ideographs) are skipped 16–64 bytes at a time (SIMD, detected at run time).
pub fn fold_for_gate(text: &str) -> Folded<'_> {
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx512bw() {
        // SAFETY: AVX-512BW is present (checked at run time).
        return unsafe { fold_for_gate_avx512(text) };
    }
    fold_for_gate_with(text, skip_plain)
}

/// [`fold_for_gate`] compiled for AVX-512BW: the skip test is inlined into the fold's loop (its
/// constants stay in registers across stops, and there is no feature check per stop).
///
/// # Safety
/// The CPU must support AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
unsafe fn fold_for_gate_avx512(text: &str) -> Folded<'_> {
    fold_for_gate_with(text, |bytes, i| {
        // SAFETY: AVX-512BW is enabled for this function (closures inherit it).
        skip_plain_scalar(bytes, unsafe { simd::skip_plain_avx512(bytes, i) })
    })
}

/// The fold's loop over a skip function ([`skip_plain`] or one of its SIMD forms).
#[inline(always)]
fn fold_for_gate_with(text: &str, skip_plain: impl Fn(&[u8], usize) -> usize) -> Folded<'_> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut edits: Vec<Edit> = Vec::new();
    let mut run_start = 0usize; // start of the pending unchanged run in the original
    let mut i = 0usize;

    // Records an edit replacing original `i..i+orig_len` with `repl`.
    macro_rules! edit {
        ($orig_len:expr, $repl:expr) => {{
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[run_start..i]);
            let folded_start = o.len();
            o.push_str($repl);
            edits.push(Edit {
                folded_start,
                folded_len: o.len() - folded_start,
                orig_start: i,
                orig_len: $orig_len,
            });
            i += $orig_len;
            run_start = i;
        }};
    }
    // Drops the spaces of a spaced level word (`机 密`) when the space at `i` is one.
    macro_rules! drop_level_gap {
        () => {{
            if after_level_hanzi(text, i)
                && let Some(gap) = cjk_level_gap(text, i)
            {
                for _ in 0..gap {
                    let sp = text[i..].chars().next().expect("space char").len_utf8();
                    edit!(sp, "");
                }
                continue;
            }
        }};
    }

    while i < bytes.len() {
        i = skip_plain(bytes, i);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        // full-width ASCII (U+FF01..U+FF5E: `，：（）Ｓ`), the most common stop in Chinese text,
        // without decoding: what `fold_char` maps it to, `cp - 0xFEE0`
        if b == 0xEF
            && let Some(&[b1, b2]) = bytes.get(i + 1..i + 3)
            && ((b1 == 0xBC && b2 >= 0x81) || (b1 == 0xBD && b2 <= 0x9E))
        {
            let ascii = [b2 - if b1 == 0xBC { 0x60 } else { 0x20 }];
            edit!(3, std::str::from_utf8(&ascii).expect("ASCII"));
            continue;
        }
        if b < 0x80 {
            if b == b' ' {
                if i > 0
                    && bytes[i - 1].is_ascii_uppercase()
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_uppercase)
                {
                    // a letter-spaced banner starts at the letter before this space
                    let start = i - 1;
                    if (start == 0 || !bytes[start - 1].is_ascii_alphanumeric())
                        && let Some(plan) = spaced_banner(bytes, start)
                    {
                        let end = plan.end;
                        while i < end {
                            if bytes[i] == b' ' && plan.keep_space_at != Some(i) {
                                edit!(1, "");
                            } else {
                                i += 1;
                            }
                        }
                        continue;
                    }
                }
                if i > 0 && bytes[i - 1] >= 0x80 {
                    drop_level_gap!();
                }
            }
            i += 1;
            continue;
        }
        // Lead bytes whose characters never fold: 2-byte Latin/Greek/Cyrillic/Arabic…
        // (except U+00A0/U+00AD), CJK ideographs (traditional ones are the gate's business),
        // Hangul and other 3-byte blocks, 4-byte (emoji).
        match b {
            0xC2 | 0xE1 | 0xE2 => {}
            0xE3 | 0xEF => {
                // U+3000..U+3FFF and U+F000..U+FFFF: only a few ranges fold; skip the rest
                // (。、「」 and most CJK punctuation) without decoding twice
                let cp = match bytes.get(i + 1..i + 3) {
                    Some(&[b1, b2]) => {
                        ((b as u32 & 0x0F) << 12) | ((b1 as u32 & 0x3F) << 6) | (b2 as u32 & 0x3F)
                    }
                    _ => 0,
                };
                let folds = matches!(
                    cp,
                    0x3000
                        | 0x3200..=0x3298
                        | 0x329A..=0x33FF
                        | 0xF900..=0xFAFF
                        | 0xFB00..=0xFB06
                        | 0xFE10..=0xFE6F
                        | 0xFEFF
                        | 0xFF01..=0xFFEF
                );
                if !folds {
                    i += 3;
                    continue;
                }
            }
            _ => {
                i += utf8_len(b);
                continue;
            }
        }
        let ch = text[i..].chars().next().expect("char boundary");
        if is_space_char(ch) {
            drop_level_gap!();
        }
        let len = ch.len_utf8();
        match fold_char(ch) {
            CharFold::Keep => i += len,
            CharFold::Drop => edit!(len, ""),
            CharFold::Char(c) => {
                let mut buf = [0u8; 4];
                edit!(len, c.encode_utf8(&mut buf))
            }
            CharFold::Str(s) => edit!(len, &s),
        }
    }

    match out {
        None => Folded {
            text: Cow::Borrowed(text),
            map: OffsetMap::default(),
        },
        Some(mut o) => {
            o.push_str(&text[run_start..]);
            Folded {
                text: Cow::Owned(o),
                map: OffsetMap::new(edits),
            }
        }
    }
}

/// `true` when the character before byte `at` is the first hanzi of a level word that may be
/// spaced out: 机 绝 秘 or their traditional forms.
fn after_level_hanzi(text: &str, at: usize) -> bool {
    matches!(
        text[..at].chars().next_back(),
        Some('机' | '绝' | '秘' | '機' | '絕' | '祕')
    )
}

/// The first index at or after `i` where the fold must look: a lead byte of a character that
/// may fold (anything but ASCII and CJK ideographs), or a space between capitals or after a
/// non-ASCII character (a letter-spaced banner or a spaced level word may be there).
fn skip_plain(bytes: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        // (AVX-512BW machines run `fold_for_gate_avx512`, with its own skip inlined)
        i = if simd::has_avx2() {
            // SAFETY: AVX2 is present (checked at run time).
            unsafe { simd::skip_plain_avx2(bytes, i) }
        } else {
            simd::skip_plain_sse2(bytes, i)
        };
    }
    skip_plain_scalar(bytes, i)
}

/// The scalar form of [`skip_plain`] (the SIMD forms leave the last bytes to it).
fn skip_plain_scalar(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        if stops_at(bytes, i, b) {
            return i;
        }
        i += 1;
    }
    i
}

/// The scalar form of [`skip_plain`]'s test for the byte `b` at `i`.
fn stops_at(bytes: &[u8], i: usize, b: u8) -> bool {
    let wordish = |x: &u8| x.is_ascii_uppercase() || *x >= 0x80;
    if b == 0xE3 {
        // U+3000..U+3FFF: only U+3000 (ideographic space) and U+3200..U+33FF fold; 。、「」
        // and kana (the bulk of it) are passed over
        let (b1, b2) = (bytes.get(i + 1), bytes.get(i + 2));
        b1.is_some_and(|x| (0x88..=0x8F).contains(x)) || (b1 == Some(&0x80) && b2 == Some(&0x80))
    } else if b >= 0xC0 {
        !(0xE4..=0xE9).contains(&b)
    } else if b == b' ' {
        i.checked_sub(1)
            .and_then(|p| bytes.get(p))
            .is_some_and(wordish)
            && bytes.get(i + 1).is_some_and(|x| wordish(x) || *x == b' ')
    } else {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! SSE2 (part of every x86-64 CPU) form of the fold's skip test, sixteen bytes at a time,
    //! and the same test on AVX2 (32 bytes) and AVX-512BW (64), where the CPU has them.
    use std::arch::x86_64::*;

    /// Whether the CPU has AVX2 (detected once; `std` caches the answer).
    #[inline(always)]
    pub(super) fn has_avx2() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
    }

    /// Whether the CPU has AVX-512BW (detected once).
    #[inline(always)]
    pub(super) fn has_avx512bw() -> bool {
        std::arch::is_x86_feature_detected!("avx512bw")
    }

    /// [`skip_plain_sse2`] on 64-byte blocks with AVX-512BW: the same test, each comparison
    /// straight into a mask register (unsigned ranges as one subtraction and one compare).
    ///
    /// # Safety
    /// The CPU must support AVX-512BW.
    #[target_feature(enable = "avx512bw")]
    #[inline]
    pub(super) unsafe fn skip_plain_avx512(bytes: &[u8], mut i: usize) -> usize {
        if i == 0 {
            return 0;
        }
        // `x` in `lo..=hi` (unsigned)
        let within = |x: __m512i, lo: u8, hi: u8| -> __mmask64 {
            _mm512_cmple_epu8_mask(
                _mm512_sub_epi8(x, _mm512_set1_epi8(lo as i8)),
                _mm512_set1_epi8((hi - lo) as i8),
            )
        };
        let is = |x: __m512i, b: u8| _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b as i8));
        let wordish = |x: __m512i| within(x, b'A', b'Z') | within(x, 0x80, 0xFF);
        while i + 66 <= bytes.len() {
            // SAFETY: the loads read bytes[i-1..i+66], in bounds by the loop condition and
            // `i >= 1`; AVX-512BW is enabled for this function.
            let (cur, prev, next, next2) = unsafe {
                let p = bytes.as_ptr().add(i);
                (
                    _mm512_loadu_si512(p as *const __m512i),
                    _mm512_loadu_si512(p.sub(1) as *const __m512i),
                    _mm512_loadu_si512(p.add(1) as *const __m512i),
                    _mm512_loadu_si512(p.add(2) as *const __m512i),
                )
            };
            let lead = within(cur, 0xC0, 0xFF);
            let cjk = within(cur, 0xE4, 0xE9);
            let e3_folds = within(next, 0x88, 0x8F) | (is(next, 0x80) & is(next2, 0x80));
            let e3_passed = is(cur, 0xE3) & !e3_folds;
            let lead_other = lead & !(cjk | e3_passed);
            let spaced = is(cur, b' ') & wordish(prev) & (wordish(next) | is(next, b' '));
            let stop = lead_other | spaced;
            if stop != 0 {
                return i + stop.trailing_zeros() as usize;
            }
            i += 64;
        }
        // SAFETY: AVX-512BW implies AVX2.
        unsafe { skip_plain_avx2(bytes, i) }
    }

    /// [`skip_plain_sse2`] on 32-byte blocks: the same test, lane for lane.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn skip_plain_avx2(bytes: &[u8], mut i: usize) -> usize {
        if i == 0 {
            return 0;
        }
        while i + 34 <= bytes.len() {
            // SAFETY: the loads read bytes[i-1..i+34], in bounds by the loop condition and
            // `i >= 1`; AVX2 is enabled for this function.
            let stop = unsafe {
                let p = bytes.as_ptr().add(i);
                let cur = _mm256_loadu_si256(p as *const __m256i);
                let prev = _mm256_loadu_si256(p.sub(1) as *const __m256i);
                let next = _mm256_loadu_si256(p.add(1) as *const __m256i);
                let next2 = _mm256_loadu_si256(p.add(2) as *const __m256i);
                let zero = _mm256_setzero_si256();
                let lt = |a: __m256i, b: __m256i| _mm256_cmpgt_epi8(b, a);
                let lead =
                    _mm256_and_si256(_mm256_cmpgt_epi8(cur, _mm256_set1_epi8(-65)), lt(cur, zero));
                let cjk = _mm256_and_si256(
                    _mm256_cmpgt_epi8(cur, _mm256_set1_epi8(-29)),
                    lt(cur, _mm256_set1_epi8(-22)),
                );
                let e3 = _mm256_cmpeq_epi8(cur, _mm256_set1_epi8(0xE3u8 as i8));
                let e3_folds = _mm256_or_si256(
                    _mm256_and_si256(
                        _mm256_cmpgt_epi8(next, _mm256_set1_epi8(0x87u8 as i8)),
                        lt(next, _mm256_set1_epi8(0x90u8 as i8)),
                    ),
                    _mm256_and_si256(
                        _mm256_cmpeq_epi8(next, _mm256_set1_epi8(0x80u8 as i8)),
                        _mm256_cmpeq_epi8(next2, _mm256_set1_epi8(0x80u8 as i8)),
                    ),
                );
                let e3_passed = _mm256_andnot_si256(e3_folds, e3);
                let lead_other = _mm256_andnot_si256(_mm256_or_si256(cjk, e3_passed), lead);
                let wordish = |v: __m256i| {
                    _mm256_or_si256(
                        _mm256_and_si256(
                            _mm256_cmpgt_epi8(v, _mm256_set1_epi8(0x40)),
                            lt(v, _mm256_set1_epi8(0x5B)),
                        ),
                        lt(v, zero),
                    )
                };
                let space = _mm256_set1_epi8(0x20);
                let at_space = _mm256_cmpeq_epi8(cur, space);
                let next_ok = _mm256_or_si256(wordish(next), _mm256_cmpeq_epi8(next, space));
                let spaced = _mm256_and_si256(at_space, _mm256_and_si256(wordish(prev), next_ok));
                _mm256_movemask_epi8(_mm256_or_si256(lead_other, spaced)) as u32
            };
            if stop != 0 {
                return i + stop.trailing_zeros() as usize;
            }
            i += 32;
        }
        skip_plain_sse2(bytes, i)
    }

    /// Advances `i` over whole 16-byte blocks in which [`super::stops_at`] holds nowhere;
    /// returns the first stop of a block that has one, or where fewer than 18 bytes remain.
    pub(super) fn skip_plain_sse2(bytes: &[u8], mut i: usize) -> usize {
        if i == 0 {
            return 0; // a block needs the byte before it; the scalar loop takes the first one
        }
        while i + 18 <= bytes.len() {
            // SAFETY: SSE2 is in the x86_64 baseline; the loads read bytes[i-1..i+18], in
            // bounds by the loop condition and `i >= 1`.
            let stop = unsafe {
                let p = bytes.as_ptr().add(i);
                let cur = _mm_loadu_si128(p as *const __m128i);
                let prev = _mm_loadu_si128(p.sub(1) as *const __m128i);
                let next = _mm_loadu_si128(p.add(1) as *const __m128i);
                let next2 = _mm_loadu_si128(p.add(2) as *const __m128i);
                // signed view: 0x80..=0xFF are negative
                let zero = _mm_setzero_si128();
                // lead bytes 0xC0..=0xFF (-64..=-1) except 0xE4..=0xE9 (-28..=-23)
                let lead = _mm_and_si128(
                    _mm_cmpgt_epi8(cur, _mm_set1_epi8(-65)),
                    _mm_cmplt_epi8(cur, zero),
                );
                let cjk = _mm_and_si128(
                    _mm_cmpgt_epi8(cur, _mm_set1_epi8(-29)),
                    _mm_cmplt_epi8(cur, _mm_set1_epi8(-22)),
                );
                // 0xE3 only before 0x88..=0x8F, or before 0x80 0x80 (see `stops_at`)
                let e3 = _mm_cmpeq_epi8(cur, _mm_set1_epi8(0xE3u8 as i8));
                let e3_folds = _mm_or_si128(
                    _mm_and_si128(
                        _mm_cmpgt_epi8(next, _mm_set1_epi8(0x87u8 as i8)),
                        _mm_cmplt_epi8(next, _mm_set1_epi8(0x90u8 as i8)),
                    ),
                    _mm_and_si128(
                        _mm_cmpeq_epi8(next, _mm_set1_epi8(0x80u8 as i8)),
                        _mm_cmpeq_epi8(next2, _mm_set1_epi8(0x80u8 as i8)),
                    ),
                );
                let e3_passed = _mm_andnot_si128(e3_folds, e3);
                let lead_other = _mm_andnot_si128(_mm_or_si128(cjk, e3_passed), lead);
                // a capital or a non-ASCII byte
                let wordish = |v: __m128i| {
                    _mm_or_si128(
                        _mm_and_si128(
                            _mm_cmpgt_epi8(v, _mm_set1_epi8(0x40)),
                            _mm_cmplt_epi8(v, _mm_set1_epi8(0x5B)),
                        ),
                        _mm_cmplt_epi8(v, zero),
                    )
                };
                let space = _mm_set1_epi8(0x20);
                let at_space = _mm_cmpeq_epi8(cur, space);
                let next_ok = _mm_or_si128(wordish(next), _mm_cmpeq_epi8(next, space));
                let spaced = _mm_and_si128(at_space, _mm_and_si128(wordish(prev), next_ok));
                _mm_movemask_epi8(_mm_or_si128(lead_other, spaced))
            };
            if stop != 0 {
                return i + stop.trailing_zeros() as usize;
            }
            i += 16;
        }
        i
    }
}

/// If a CJK level word's second hanzi `密` follows after 1–2 spaces at `at`, the number of spaces.
fn cjk_level_gap(text: &str, at: usize) -> Option<usize> {
    let mut chars = text[at..].chars();
    let mut gap = 0;
    for c in chars.by_ref() {
        if is_space_char(c) && gap < 2 {
            gap += 1;
            continue;
        }
        return if c == '密' && gap > 0 {
            Some(gap)
        } else {
            None
        };
    }
    None
}

fn is_space_char(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}' | '\u{00A0}' | '\u{2002}' | '\u{2003}' | '\u{2009}'
    )
}

struct SpacedPlan {
    end: usize,
    keep_space_at: Option<usize>,
}

/// Words that letter-spaced banners spell (State Department cables: `C O N F I D E N T I A L`).
const SPACED_WORDS: &[&str] = &[
    "SECRET",
    "CONFIDENTIAL",
    "TOPSECRET",
    "UNCLASSIFIED",
    "UNCLAS",
    "RESTRICTED",
];

/// Recognises `S E C R E T` (letters separated by one or two spaces) starting at `start`.
fn spaced_banner(bytes: &[u8], start: usize) -> Option<SpacedPlan> {
    let mut letters = Vec::with_capacity(16);
    let mut gaps = Vec::with_capacity(16);
    let mut i = start;
    letters.push(bytes[i]);
    loop {
        let mut j = i + 1;
        let gap_start = j;
        while j < bytes.len() && bytes[j] == b' ' && j - gap_start < 2 {
            j += 1;
        }
        if j == gap_start || j >= bytes.len() || !bytes[j].is_ascii_uppercase() {
            break;
        }
        // the next letter must itself be single (followed by space or a non-letter)
        if bytes.get(j + 1).is_some_and(|b| b.is_ascii_alphanumeric()) {
            break;
        }
        gaps.push(gap_start);
        letters.push(bytes[j]);
        i = j;
        if letters.len() > 16 {
            return None;
        }
    }
    if letters.len() < 4 {
        return None;
    }
    let word = std::str::from_utf8(&letters).ok()?;
    if !SPACED_WORDS.contains(&word) {
        return None;
    }
    let keep_space_at = if word == "TOPSECRET" {
        Some(gaps[2])
    } else {
        None
    };
    Some(SpacedPlan {
        end: i + 1,
        keep_space_at,
    })
}

/// The per-character table.
fn fold_char(c: char) -> CharFold {
    let cp = c as u32;
    match cp {
        0x00A0 | 0x1680 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000 => CharFold::Char(' '),
        0x00AD | 0x180E | 0x200B..=0x200D | 0x2060..=0x2064 | 0xFEFF => CharFold::Drop,
        0xFF01..=0xFF5E => CharFold::Char(char::from_u32(cp - 0xFEE0).expect("ascii")),
        0x2010..=0x2015 | 0x2212 | 0xFE58 | 0xFE63 | 0x2E3A | 0x2E3B => CharFold::Char('-'),
        // star variants fold to ★; ASCII-like asterisks to '*'
        0x2606 | 0x2729..=0x2730 | 0x2B50 | 0x22C6 | 0x2605 => {
            if cp == 0x2605 {
                CharFold::Keep
            } else {
                CharFold::Char('★')
            }
        }
        0x2217 | 0xFE61 | 0x204E => CharFold::Char('*'),
        0x2116 => CharFold::Str(Cow::Borrowed("No")),
        // ㊙ is a marking of its own: kept, so rules can see it
        0x3299 => CharFold::Keep,
        0x4E00..=0x9FFF => match trad_to_simp(c) {
            Some(s) => CharFold::Char(s),
            None => CharFold::Keep,
        },
        // compatibility forms: Roman numerals, letterlike symbols, enclosed and squared forms,
        // ligatures, small and vertical forms, half-width katakana, CJK compatibility ideographs
        0x2100..=0x218F
        | 0x2460..=0x24FF
        | 0x3200..=0x33FF
        | 0xF900..=0xFAFF
        | 0xFB00..=0xFB06
        | 0xFE10..=0xFE6F
        | 0xFF5F..=0xFFEF => nfkc_char(c),
        _ => CharFold::Keep,
    }
}

fn nfkc_char(c: char) -> CharFold {
    let mut s = String::new();
    s.extend(std::iter::once(c).nfkc());
    // run our own table over NFKC's output too (full-width digits inside ㉑ and the like)
    let s = if s.chars().any(|c| fold_char_simple(c).is_some()) {
        s.chars()
            .map(|c| fold_char_simple(c).unwrap_or(c))
            .collect()
    } else {
        s
    };
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(only), None) if only == c => CharFold::Keep,
        (Some(only), None) => CharFold::Char(only),
        (None, _) => CharFold::Drop,
        _ => CharFold::Str(Cow::Owned(s)),
    }
}

fn fold_char_simple(c: char) -> Option<char> {
    match fold_char_no_compat(c) {
        CharFold::Char(x) => Some(x),
        _ => None,
    }
}

fn fold_char_no_compat(c: char) -> CharFold {
    let cp = c as u32;
    match cp {
        0xFF01..=0xFF5E | 0x3000 | 0x2010..=0x2015 | 0x4E00..=0x9FFF => fold_char(c),
        _ => CharFold::Keep,
    }
}

/// Traditional → simplified for the marking and scheme vocabulary (not a general converter).
const TRAD_SIMP: &[(char, char)] = &[
    ('個', '个'),
    ('傳', '传'),
    ('僅', '仅'),
    ('備', '备'),
    ('內', '内'),
    ('冊', '册'),
    ('劃', '划'),
    ('區', '区'),
    ('參', '参'),
    ('員', '员'),
    ('國', '国'),
    ('執', '执'),
    ('報', '报'),
    ('場', '场'),
    ('壓', '压'),
    ('對', '对'),
    ('專', '专'),
    ('屬', '属'),
    ('嚴', '严'),
    ('啟', '启'),
    ('彈', '弹'),
    ('後', '后'),
    ('應', '应'),
    ('戰', '战'),
    ('擴', '扩'),
    ('據', '据'),
    ('敵', '敌'),
    ('時', '时'),
    ('書', '书'),
    ('會', '会'),
    ('條', '条'),
    ('業', '业'),
    ('極', '极'),
    ('標', '标'),
    ('權', '权'),
    ('機', '机'),
    ('檔', '档'),
    ('測', '测'),
    ('準', '准'),
    ('無', '无'),
    ('產', '产'),
    ('畢', '毕'),
    ('畫', '画'),
    ('發', '发'),
    ('級', '级'),
    ('約', '约'),
    ('紀', '纪'),
    ('絕', '绝'),
    ('統', '统'),
    ('經', '经'),
    ('網', '网'),
    ('總', '总'),
    ('聯', '联'),
    ('處', '处'),
    ('號', '号'),
    ('衛', '卫'),
    ('製', '制'),
    ('計', '计'),
    ('記', '记'),
    ('許', '许'),
    ('註', '注'),
    ('試', '试'),
    ('議', '议'),
    ('護', '护'),
    ('識', '识'),
    ('資', '资'),
    ('軍', '军'),
    ('載', '载'),
    ('轉', '转'),
    ('達', '达'),
    ('違', '违'),
    ('導', '导'),
    ('錄', '录'),
    ('長', '长'),
    ('門', '门'),
    ('開', '开'),
    ('閉', '闭'),
    ('間', '间'),
    ('閱', '阅'),
    ('關', '关'),
    ('隊', '队'),
    ('電', '电'),
    ('項', '项'),
    ('頁', '页'),
    ('題', '题'),
    ('類', '类'),
    ('驗', '验'),
    ('結', '结'),
    ('為', '为'),
    ('與', '与'),
    ('務', '务'),
    ('復', '复'),
    ('華', '华'),
    ('請', '请'),
];

/// Length of a UTF-8 sequence from its lead byte (the text is valid UTF-8).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// One bit per code point U+4000..U+9FFF: set for the traditional characters of `TRAD_SIMP`.
const TRAD_BITMAP: [u64; 384] = {
    let mut bits = [0u64; 384];
    let mut i = 0;
    while i < TRAD_SIMP.len() {
        let cp = TRAD_SIMP[i].0 as u32 - 0x4000;
        bits[(cp / 64) as usize] |= 1 << (cp % 64);
        i += 1;
    }
    bits
};

fn trad_to_simp(c: char) -> Option<char> {
    static SORTED: std::sync::OnceLock<Vec<(char, char)>> = std::sync::OnceLock::new();
    let table = SORTED.get_or_init(|| {
        let mut v = TRAD_SIMP.to_vec();
        v.sort_unstable();
        v
    });
    table
        .binary_search_by_key(&c, |&(tc, _)| tc)
        .ok()
        .map(|i| table[i].1)
}

/// Line (1-based) and column (1-based, code points) of byte offset `at` in `text`, counted naively.
pub fn line_column(text: &str, at: usize) -> (u64, u64) {
    let before = &text.as_bytes()[..at];
    let line = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
    let line_start = memchr::memrchr(b'\n', before).map(|p| p + 1).unwrap_or(0);
    let column = text[line_start..at].chars().count() as u64 + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(orig: &str, folded: &str) {
        let f = fold(orig);
        assert_eq!(f.text(), folded, "fold({orig:?})");
    }

    #[test]
    fn folds_evasion_forms() {
        check("机 密★10年", "机密★10年");
        check("机　密", "机密");
        check("機密★10年", "机密★10年");
        check("絕　密★長期", "绝密★长期");
        check("ＳＥＣＲＥＴ", "SECRET");
        check("机\u{200b}密", "机密");
        check("秘密＊1年", "秘密*1年");
        check("TOP\u{2010}SECRET", "TOP-SECRET");
        check("S E C R E T", "SECRET");
        check(
            "C O N F I D E N T I A L SECTION 01 OF 02",
            "CONFIDENTIAL SECTION 01 OF 02",
        );
        check("T O P S E C R E T", "TOP SECRET");
        check("Ⅱ급비밀", "II급비밀");
        check("Экз. №1", "Экз. No1");
        check("机密☆5年", "机密★5年");
        check("㊙", "㊙");
        check("ﬁle", "file");
    }

    /// Every character of the full-width and compatibility blocks (the fold's shortcut for
    /// U+FF01..U+FF5E included) folds to what the table says, and maps back to itself.
    #[test]
    fn each_character_folds_as_the_table_says() {
        let blocks = [
            '\u{FE10}'..='\u{FE6F}',
            '\u{FF00}'..='\u{FFEF}',
            '\u{3000}'..='\u{33FF}',
        ];
        for c in blocks.into_iter().flatten() {
            let want = match fold_char(c) {
                CharFold::Keep => c.to_string(),
                CharFold::Drop => String::new(),
                CharFold::Char(x) => x.to_string(),
                CharFold::Str(s) => s.into_owned(),
            };
            let orig = format!("a{c}b");
            let f = fold_for_gate(&orig);
            assert_eq!(f.text(), format!("a{want}b"), "U+{:04X}", c as u32);
            let r = f.to_original(1..1 + want.len());
            assert_eq!(&orig[r], c.to_string(), "U+{:04X} maps back", c as u32);
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let f = fold("A B C D and plain ASCII text.");
        assert!(f.is_identity());
        check("I A M here", "I A M here");
        check("机 会 密", "机 会 密");
        check("机   密", "机   密"); // three spaces: not a spaced level word
        check("保密 工作", "保密 工作");
    }

    #[test]
    fn offsets_map_back() {
        let orig = "前言 ＳＥＣＲＥＴ 机\u{200b}密 end";
        let f = fold(orig);
        let ft = f.text();
        let s = ft.find("SECRET").unwrap();
        let r = f.to_original(s..s + 6);
        assert_eq!(&orig[r], "ＳＥＣＲＥＴ");
        let s = ft.find("机密").unwrap();
        let r = f.to_original(s..s + "机密".len());
        assert_eq!(&orig[r], "机\u{200b}密");
        let s = ft.find("end").unwrap();
        assert_eq!(&orig[f.to_original(s..s + 3)], "end");
    }

    #[test]
    fn offsets_map_back_across_index_blocks() {
        // hundreds of edits: lookups go through the block index
        let orig: String = (0..300).map(|i| format!("ＡＢ机{i}\u{200b}x ")).collect();
        let f = fold(&orig);
        assert!(f.map().len() > 4 * INDEX_STRIDE);
        let ft = f.text();
        let mut seen = 0;
        for (at, _) in ft.match_indices("AB") {
            assert_eq!(&orig[f.to_original(at..at + 2)], "ＡＢ");
            assert_eq!(&orig[f.to_original(at + 1..at + 2)], "Ｂ");
            seen += 1;
        }
        assert_eq!(seen, 300);
        for (at, _) in ft.match_indices('x') {
            assert_eq!(&orig[f.to_original(at..at + 1)], "x");
        }
    }

    proptest::proptest! {
        /// The SIMD skips (SSE2, and AVX2 and AVX-512 where the CPU has them) stop exactly where
        /// the scalar test first holds, from every start.
        #[test]
        fn skip_plain_agrees_with_the_scalar_test(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "a", "A", "Z", " ", "  ", "机", "機", "密", "\u{3000}", "，", "Ｓ", "\u{200b}",
                "é", "😀", "한", "가", "国家", "ab cd", "S E", "\n", "0", "。", "、", "の", "㊙", "㍿",
                "\u{3000}",
            ]), 0..120)
        ) {
            let text: String = parts.concat();
            let bytes = text.as_bytes();
            for start in 0..=bytes.len() {
                let want = (start..bytes.len())
                    .find(|&j| stops_at(bytes, j, bytes[j]))
                    .unwrap_or(bytes.len());
                proptest::prop_assert_eq!(skip_plain(bytes, start), want, "start {}", start);
                #[cfg(target_arch = "x86_64")]
                {
                    let sse2 = skip_plain_scalar(bytes, simd::skip_plain_sse2(bytes, start));
                    proptest::prop_assert_eq!(sse2, want, "SSE2, start {}", start);
                    if simd::has_avx2() {
                        // SAFETY: AVX2 is present.
                        let avx2 = unsafe { simd::skip_plain_avx2(bytes, start) };
                        let avx2 = skip_plain_scalar(bytes, avx2);
                        proptest::prop_assert_eq!(avx2, want, "AVX2, start {}", start);
                    }
                    if simd::has_avx512bw() {
                        // SAFETY: AVX-512BW is present.
                        let avx512 = unsafe { simd::skip_plain_avx512(bytes, start) };
                        let avx512 = skip_plain_scalar(bytes, avx512);
                        proptest::prop_assert_eq!(avx512, want, "AVX-512, start {}", start);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// The fold gives the same text and offset map whichever skip it runs with (the
        /// AVX-512 build of the loop, the dispatching `skip_plain`, the scalar test alone).
        #[test]
        fn every_skip_form_folds_alike(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "a", "A", "Z", " ", "  ", "机", "機", "密", "\u{3000}", "，", "Ｓ", "～", "\u{200b}",
                "é", "😀", "가", "国家", "ab cd", "S E C R E T", "\n", "0", "。", "№", "㊙", "机 密",
            ]), 0..200)
        ) {
            let text: String = parts.concat();
            let want = format!("{:?}", fold_for_gate_with(&text, skip_plain_scalar));
            proptest::prop_assert_eq!(format!("{:?}", fold_for_gate(&text)), want.clone());
            proptest::prop_assert_eq!(format!("{:?}", fold_for_gate_with(&text, skip_plain)), want);
        }
    }

    #[test]
    fn traditional_pairs_keep_byte_lengths() {
        // `simplify_at` swaps bytes in place and the bitmap covers U+4000..U+9FFF
        for &(t, s) in TRAD_SIMP {
            assert_eq!((t.len_utf8(), s.len_utf8()), (3, 3), "{t} → {s}");
            assert!((0x4000..0xA000).contains(&(t as u32)), "{t}");
        }
    }

    #[test]
    fn the_cursor_maps_like_a_fresh_lookup_in_any_order() {
        // many edits (full-width commas fold to one byte, zero-width spaces vanish)
        let text = "甲，乙\u{200b}丙，ＡＢ，丁。".repeat(200);
        let f = fold(&text);
        let n = f.text().len();
        let ranges: Vec<Range<usize>> = (0..n)
            .step_by(7)
            .map(|s| s..(s + 5).min(n))
            .chain((0..n).rev().step_by(13).map(|s| s..s))
            .chain((0..n).step_by(11).map(|s| s..(s + 40).min(n)))
            .collect();
        let mut cursor = f.map().cursor();
        for r in ranges {
            let fresh = f.map().cursor().to_original(r.clone());
            assert_eq!(cursor.to_original(r.clone()), fresh, "{r:?}");
            // and the same as counting the edits one by one
            let m = f.map();
            let upto = |x: usize| m.edits.iter().filter(|e| e.folded_start <= x).count();
            let start = m.start(r.start, upto(r.start));
            let end = if r.end <= r.start {
                start
            } else {
                m.end(r.end, upto(r.end - 1)).max(start)
            };
            assert_eq!(start..end, fresh, "{r:?}");
        }
    }

    #[test]
    fn line_column_counts_code_points() {
        let t = "第一行\n机密★10年";
        let at = t.find("★").unwrap();
        assert_eq!(line_column(t, at), (2, 3));
        assert_eq!(line_column(t, 0), (1, 1));
    }
}
