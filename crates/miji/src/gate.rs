//! The literal gate: every occurrence of every policy literal in folded text, ASCII case ignored.
//! Owns the hashed-prefix filter, its verification tables and the scan loops (AVX2, SSE2, scalar).
//!
//! Why not an Aho-Corasick automaton: with tens of thousands of literals its DFA no longer fits
//! any cache (100 MiB at 10k literals, 919 MiB at 100k) and every byte costs a cache miss; the
//! NFA is slower still, and building either for a million terms takes seconds. This gate is the
//! shape of Hyperscan's and Rabin–Karp's multi-literal search instead:
//!
//! - each literal of three bytes or more has a *key*, its first four bytes (ASCII case folded);
//!   a three-byte literal has one key per byte that can follow it (any character start);
//!   one- and two-byte literals are looked up by their first byte;
//! - a blocked Bloom filter (two bits in one 32-bit word per key, 8–64 bits per key, sized
//!   for the L2 cache) holds the keys; the scan tests the four bytes at every *character
//!   start*. With AVX2 (detected at run time) it tests eight positions per step: the eight
//!   words shuffled out of one load, hashed by two multiplies, their filter words gathered,
//!   the bits shifted out, all lane for lane, then masked to character starts (1.56 → 0.68
//!   ms/MiB on the bench corpus). Without it, continuation bytes are skipped 64 at a time
//!   with SSE2 and each start costs one multiply and one load;
//! - where the filter says yes, the candidates are looked up: literals of three to seven bytes
//!   by their four-byte key, longer ones by their first eight bytes (so thousands of terms that
//!   share a common first character do not all pass together), each in a hash directory whose
//!   buckets are compared byte for byte, or binary-searched by length and bytes when big.
//!
//! Matches come out in order of start, every literal that occurs (overlapping matches
//! included): exactly what an `aho-corasick` automaton with `MatchKind::Standard` and
//! `find_overlapping_iter` reports (the property test `gate_equals_aho_corasick` holds it to
//! that). Building is linear (hashing and one counting sort): a million terms take a fraction
//! of a second.

/// A compiled literal set. Immutable; built once per policy.
pub(crate) struct Gate {
    /// Every four-byte word a literal of three bytes or more can start with (see [`Gate::new`]):
    /// the scan loop's only test.
    filter: ScanFilter,
    /// Literals of three to seven bytes by their four-byte key (three-byte ones by three),
    /// and a filter of those keys alone.
    mid: Directory,
    mid_keys: Filter,
    /// Literals of eight bytes or more by their first eight bytes, and a filter of those keys:
    /// thousands of terms that share a common first character (`国家…`, `中国…`) pass the
    /// four-byte test together but differ in eight bytes.
    long: Directory,
    long_keys: Filter,
    /// Per first byte (both ASCII cases): range of one- and two-byte literals in `short`.
    short_start: Vec<u32>,
    short: Vec<Entry>,
    /// Which first bytes start a one- or two-byte literal (both ASCII cases).
    short_first: [bool; 256],
    has_short: bool,
    /// Every literal's bytes, ASCII lower-cased, one after the other.
    arena: Vec<u8>,
    /// Number of literals (patterns).
    len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The key as the scan computes it ([`fold_case`]): a cheap first comparison.
    key: u64,
    pattern: u32,
    offset: u32,
    len: u32,
}

/// Literals grouped by the hash of their key: a bucket is a range of `entries`.
struct Directory {
    /// `64 - log2(number of buckets)`: the hash's top bits are the bucket.
    shift: u32,
    /// Per bucket: the range of its entries (`start[b]..start[b + 1]`).
    start: Vec<u32>,
    /// Sorted by bucket; a bucket bigger than [`SMALL_BUCKET`] by length, then bytes.
    entries: Vec<Entry>,
}

impl Directory {
    fn new(keyed: Vec<Entry>, arena: &[u8]) -> Directory {
        let buckets_log2 = (usize::BITS - keyed.len().leading_zeros()).clamp(1, 30);
        let shift = 64 - buckets_log2;
        // counting sort of the entries by bucket
        let mut start = vec![0u32; (1 << buckets_log2) + 1];
        for e in &keyed {
            start[(hash(e.key) >> shift) as usize + 1] += 1;
        }
        for b in 1..start.len() {
            start[b] += start[b - 1];
        }
        let mut fill = start.clone();
        let mut entries = keyed.clone();
        for e in keyed {
            let b = (hash(e.key) >> shift) as usize;
            entries[fill[b] as usize] = e;
            fill[b] += 1;
        }
        // big buckets (many literals sharing a key) are searched by length and bytes
        for b in start.windows(2) {
            let bucket = &mut entries[b[0] as usize..b[1] as usize];
            if bucket.len() > SMALL_BUCKET {
                let lit = |e: &Entry| &arena[e.offset as usize..(e.offset + e.len) as usize];
                bucket.sort_unstable_by(|x, y| x.len.cmp(&y.len).then_with(|| lit(x).cmp(lit(y))));
            }
        }
        Directory {
            shift,
            start,
            entries,
        }
    }

    fn bucket(&self, h: u64) -> &[Entry] {
        let b = (h >> self.shift) as usize;
        &self.entries[self.start[b] as usize..self.start[b + 1] as usize]
    }
}

/// Folds ASCII case in a word of four bytes: sets bit 5 of every byte that has bit 6 set, which
/// turns capitals into small letters and leaves UTF-8 continuation bytes (so CJK characters)
/// alone. A few symbols collide (`@` and `` ` ``, `[` and `{`...): the byte comparison sorts
/// those out.
#[inline(always)]
fn fold_case(w: u32) -> u32 {
    w | ((w >> 1) & 0x2020_2020)
}

/// [`fold_case`] on eight bytes.
fn fold_case_8(w: u64) -> u64 {
    w | ((w >> 1) & 0x2020_2020_2020_2020)
}

const THREE_BYTES: u32 = 0x00FF_FFFF;

/// Multiplicative hash; the high half of an eight-byte key is folded in first so that the
/// filter's bits (taken from the product's bits 32..64) depend on all eight bytes.
fn hash(key: u64) -> u64 {
    (key ^ (key >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A blocked Bloom filter over keys: each key sets two bits of one 64-bit word, so a test is
/// one load and two shifts (at 32–64 bits per key, well under one false positive in 100).
struct Filter {
    words: Vec<u64>,
    /// `64 - log2(words)`: the hash's top bits pick the word.
    shift: u32,
}

/// At most 2^20 words (8 MiB): the word index takes bits 44..64 of the hash, the two bit
/// positions bits 32..44 (the product's bits from 32 up depend on every bit of the key).
const MAX_WORDS_LOG2: u32 = 20;
/// 2^15 words = 256 KiB.
const L2_WORDS_LOG2: u32 = 15;

impl Filter {
    fn new(keys: usize) -> Filter {
        // 32–64 bits per key while the filter stays within 256 KiB (the L2 cache: measured
        // faster than fewer false positives from a bigger filter), never under 8 bits per key
        let bits = usize::BITS - keys.leading_zeros();
        let words_log2 = (bits.saturating_sub(1).min(L2_WORDS_LOG2))
            .max(bits.saturating_sub(3))
            .clamp(1, MAX_WORDS_LOG2);
        Filter {
            words: vec![0; 1 << words_log2],
            shift: 64 - words_log2,
        }
    }

    #[inline(always)]
    fn word_and_bits(&self, h: u64) -> (usize, u32, u32) {
        (
            (h >> self.shift) as usize,
            (h >> 32) as u32,
            (h >> 38) as u32,
        )
    }

    fn insert(&mut self, h: u64) {
        let (w, a, b) = self.word_and_bits(h);
        self.words[w] |= (1u64 << (a & 63)) | (1u64 << (b & 63));
    }

    #[inline(always)]
    fn may_contain(&self, h: u64) -> bool {
        let (w, a, b) = self.word_and_bits(h);
        debug_assert!(w < self.words.len());
        // SAFETY: `words` has 2^(64 - shift) entries and `w = h >> shift` is below that.
        let word = unsafe { *self.words.get_unchecked(w) };
        word.wrapping_shr(a) & word.wrapping_shr(b) & 1 != 0
    }
}

/// The scan loop's filter: like [`Filter`] but over 32-bit words and a 32-bit hash of the
/// four-byte word, so that AVX2 tests eight positions at once (multiply, gather, shift).
struct ScanFilter {
    words: Vec<u32>,
    /// `32 - log2(words)`: the hash's top bits pick the word.
    shift: u32,
}

/// At most 2^21 words (8 MiB); 2^16 words = 256 KiB (the L2 cache).
const SCAN_MAX_WORDS_LOG2: u32 = 21;
const SCAN_L2_WORDS_LOG2: u32 = 16;

/// The scan filter's hash of a case-folded four-byte word: two multiplies with a shift between,
/// so that the low bits (the two bit positions) depend on the whole word as the top bits (the
/// filter word) do. [`simd::scan_hash_8`] computes the same on eight lanes.
#[inline(always)]
fn scan_hash(w: u32) -> u32 {
    let h = w.wrapping_mul(SCAN_HASH_1);
    (h ^ (h >> 16)).wrapping_mul(SCAN_HASH_2)
}
const SCAN_HASH_1: u32 = 0x9E37_79B1;
const SCAN_HASH_2: u32 = 0x85EB_CA6B;

impl ScanFilter {
    fn new(keys: usize) -> ScanFilter {
        // the same budget as `Filter`: 32–64 bits per key within 256 KiB, never under 8
        let bits = usize::BITS - keys.leading_zeros();
        let words_log2 = bits
            .min(SCAN_L2_WORDS_LOG2)
            .max(bits.saturating_sub(2))
            .clamp(1, SCAN_MAX_WORDS_LOG2);
        ScanFilter {
            words: vec![0; 1 << words_log2],
            shift: 32 - words_log2,
        }
    }

    fn insert(&mut self, w: u32) {
        let h = scan_hash(w);
        self.words[(h >> self.shift) as usize] |= (1 << (h & 31)) | (1 << ((h >> 5) & 31));
    }

    #[inline(always)]
    fn may_contain(&self, w: u32) -> bool {
        let h = scan_hash(w);
        let i = (h >> self.shift) as usize;
        debug_assert!(i < self.words.len());
        // SAFETY: `words` has 2^(32 - shift) entries and `i = h >> shift` is below that.
        let word = unsafe { *self.words.get_unchecked(i) };
        (word >> (h & 31)) & (word >> ((h >> 5) & 31)) & 1 != 0
    }
}

/// The little-endian word of up to four bytes starting at `at`, zero-padded past the end.
fn word_at(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    let n = bytes.len().saturating_sub(at).min(4);
    w[..n].copy_from_slice(&bytes[at..at + n]);
    u32::from_le_bytes(w)
}

impl Gate {
    /// Compiles the literals; pattern `i` is `literals[i]`. Empty literals never match.
    /// Fails only past 4 GiB of literal bytes or 2^32 literals (offsets are 32-bit).
    pub(crate) fn new<S: AsRef<str>>(literals: &[S]) -> Result<Gate, String> {
        let total: usize = literals.iter().map(|l| l.as_ref().len()).sum();
        if total > u32::MAX as usize || literals.len() > u32::MAX as usize {
            return Err(format!(
                "{} literals of {total} bytes: the gate holds at most 4 GiB",
                literals.len()
            ));
        }
        let mut arena = Vec::with_capacity(total);
        let mut mid: Vec<Entry> = Vec::new();
        let mut long: Vec<Entry> = Vec::new();
        let mut short: Vec<Entry> = Vec::new();
        for (i, lit) in literals.iter().enumerate() {
            let lit = lit.as_ref().as_bytes();
            if lit.is_empty() {
                continue;
            }
            let offset = arena.len() as u32;
            arena.extend(lit.iter().map(u8::to_ascii_lowercase));
            let lower = &arena[offset as usize..];
            let mut e = Entry {
                key: fold_case(word_at(lower, 0)) as u64,
                pattern: i as u32,
                offset,
                len: lit.len() as u32,
            };
            match lit.len() {
                1 | 2 => short.push(e),
                3 => {
                    e.key &= THREE_BYTES as u64;
                    mid.push(e);
                }
                4..8 => mid.push(e),
                _ => {
                    let eight: [u8; 8] = lower[..8].try_into().expect("eight bytes");
                    e.key = fold_case_8(u64::from_le_bytes(eight));
                    long.push(e);
                }
            }
        }
        // A three-byte literal is followed by a character start or the end of the text (the
        // scan pads that with 0): its filter keys are its three bytes with each of those.
        let next_bytes: Vec<u64> = {
            let mut v: Vec<u64> = (0..=255u32)
                .filter(|b| !(0x80..0xC0).contains(b))
                .map(|b| (fold_case(b << 24) & !THREE_BYTES) as u64)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let n_three = mid.iter().filter(|e| e.len == 3).count();
        let mid_key_count = mid.len() - n_three + n_three * next_bytes.len();
        let mut filter = ScanFilter::new(mid_key_count + long.len());
        let mut mid_keys = Filter::new(mid_key_count);
        let mut long_keys = Filter::new(long.len());
        for e in &mid {
            if e.len == 3 {
                for &next in &next_bytes {
                    filter.insert((e.key | next) as u32);
                    mid_keys.insert(hash(e.key | next));
                }
            } else {
                filter.insert(e.key as u32);
                mid_keys.insert(hash(e.key));
            }
        }
        for e in &long {
            filter.insert(e.key as u32);
            long_keys.insert(hash(e.key));
        }
        let mid = Directory::new(mid, &arena);
        let long = Directory::new(long, &arena);
        // one- and two-byte literals by first byte, under both ASCII cases
        let mut short_first = [false; 256];
        let mut by_byte: Vec<Vec<Entry>> = vec![Vec::new(); 256];
        for e in &short {
            let b = arena[e.offset as usize];
            for c in [b, b.to_ascii_uppercase()] {
                if !by_byte[c as usize].iter().any(|x| x.pattern == e.pattern) {
                    by_byte[c as usize].push(*e);
                    short_first[c as usize] = true;
                }
            }
        }
        let mut short_start = Vec::with_capacity(257);
        let mut short_sorted = Vec::new();
        for list in by_byte {
            short_start.push(short_sorted.len() as u32);
            short_sorted.extend(list);
        }
        short_start.push(short_sorted.len() as u32);
        Ok(Gate {
            filter,
            mid,
            mid_keys,
            long,
            long_keys,
            short_start,
            has_short: !short_sorted.is_empty(),
            short: short_sorted,
            short_first,
            arena,
            len: literals.len(),
        })
    }

    /// Calls `found(pattern, start, end)` for every occurrence of every literal in `hay`, in
    /// order of `start`.
    pub(crate) fn for_each_match(&self, hay: &str, found: impl FnMut(usize, usize, usize)) {
        #[cfg(target_arch = "x86_64")]
        let avx2 = simd::has_avx2();
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        self.for_each_match_in(hay, avx2, found);
    }

    /// [`Gate::for_each_match`] with the AVX2 loop or without (the tests run both).
    #[inline(never)]
    fn for_each_match_in(&self, hay: &str, avx2: bool, mut found: impl FnMut(usize, usize, usize)) {
        let bytes = hay.as_bytes();
        let mut i = 0;
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: the caller checked that the CPU has AVX2.
            i = unsafe { self.scan_avx2(bytes, &mut found) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = avx2;
        #[cfg(target_arch = "x86_64")]
        while i + BLOCK + 3 <= bytes.len() {
            // SAFETY: SSE2 is in the x86_64 baseline; the loads read bytes[i..i+BLOCK], in
            // bounds. One mask for 64 bytes: the inner loop's exit (a mispredicted branch) is
            // paid once per 64 bytes, not per 16.
            let mut starts = unsafe { simd::char_starts_64(bytes.as_ptr().add(i)) };
            while starts != 0 {
                let at = i + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                // SAFETY: at + 4 <= i + BLOCK + 3 <= bytes.len().
                let raw = u32::from_le(unsafe {
                    (bytes.as_ptr().add(at) as *const u32).read_unaligned()
                });
                let w = fold_case(raw);
                if self.may_start(w, raw as u8) {
                    self.verify(bytes, at, w, &mut found);
                }
            }
            i += BLOCK;
        }
        while i < bytes.len() {
            let b = bytes[i];
            if !(0x80..0xC0).contains(&b) {
                let w = fold_case(word_at(bytes, i));
                if self.may_start(w, b) {
                    self.verify(bytes, i, w, &mut found);
                }
            }
            i += 1;
        }
    }

    /// The scan loop on AVX2: per 64 bytes, the filter tested at eight positions per step
    /// (words shuffled out of one load, hashed, filter words gathered) and the first bytes of
    /// one- and two-byte literals found by a nibble lookup; candidates that start a character
    /// are verified as in the scalar loop. Returns where it stopped (the rest is the scalar
    /// loop's: fewer than `BLOCK + 8` bytes).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan_avx2(&self, bytes: &[u8], found: &mut impl FnMut(usize, usize, usize)) -> usize {
        let filter = simd::FilterLanes::new(&self.filter);
        let short = simd::ByteSet::new(&self.short_first);
        let mut i = 0;
        while i + BLOCK + 8 <= bytes.len() {
            // SAFETY: every load below reads within bytes[i..i + BLOCK + 8] (the filter's last
            // step reads 16 bytes at i + 56); AVX2 is enabled for this function.
            let mut candidates = unsafe {
                let p = bytes.as_ptr().add(i);
                let starts = simd::char_starts_64(p);
                let mut passed = 0u64;
                for step in 0..BLOCK / 8 {
                    passed |= u64::from(filter.test_8(p.add(8 * step))) << (8 * step);
                }
                if self.has_short {
                    passed |= short.find_64(p);
                }
                passed & starts
            };
            while candidates != 0 {
                let at = i + candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                // at + 4 <= i + BLOCK + 8 <= bytes.len()
                let raw = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
                self.verify(bytes, at, fold_case(raw), found);
            }
            i += BLOCK;
        }
        i
    }

    /// The filter: `false` when no literal can start with the word `w` (first byte `first`).
    #[inline(always)]
    fn may_start(&self, w: u32, first: u8) -> bool {
        let mut hit = self.filter.may_contain(w);
        if self.has_short {
            hit |= self.short_first[first as usize];
        }
        hit
    }

    /// Reports the literals that start at `at` (where the word `w` starts).
    #[inline(never)]
    fn verify(&self, bytes: &[u8], at: usize, w: u32, found: &mut impl FnMut(usize, usize, usize)) {
        if self.mid_keys.may_contain(hash(w as u64)) {
            // four-byte keys, then three-byte ones (a word ending in NUL equals a three-byte
            // key: the length class keeps the two apart)
            for (key, three) in [(w, false), (w & THREE_BYTES, true)] {
                let key = key as u64;
                let bucket = self.mid.bucket(hash(key));
                if bucket.len() <= SMALL_BUCKET {
                    for e in bucket {
                        if e.key == key && (e.len == 3) == three {
                            self.check(e, bytes, at, found);
                        }
                    }
                } else {
                    self.search_bucket(bucket, Some(three), bytes, at, found);
                }
            }
        }
        if let Some(eight) = bytes.get(at..at + 8) {
            let key = fold_case_8(u64::from_le_bytes(eight.try_into().expect("eight bytes")));
            let h = hash(key);
            if self.long_keys.may_contain(h) {
                let bucket = self.long.bucket(h);
                if bucket.len() <= SMALL_BUCKET {
                    for e in bucket {
                        if e.key == key {
                            self.check(e, bytes, at, found);
                        }
                    }
                } else {
                    self.search_bucket(bucket, None, bytes, at, found);
                }
            }
        }
        if self.has_short && self.short_first[bytes[at] as usize] {
            let b = bytes[at] as usize;
            let range = self.short_start[b] as usize..self.short_start[b + 1] as usize;
            for e in &self.short[range] {
                self.check(e, bytes, at, found);
            }
        }
    }

    /// A big bucket, sorted by length then bytes: one binary search per literal length, so
    /// text full of a prefix that thousands of literals share costs a few comparisons per
    /// character, not thousands. `three`: only three-byte literals, or only longer ones.
    fn search_bucket(
        &self,
        bucket: &[Entry],
        three: Option<bool>,
        bytes: &[u8],
        at: usize,
        found: &mut impl FnMut(usize, usize, usize),
    ) {
        let lit = |e: &Entry| &self.arena[e.offset as usize..(e.offset + e.len) as usize];
        let mut k = 0;
        while let Some(first) = bucket.get(k) {
            let len = first.len;
            let run = &bucket[k..k + bucket[k..].partition_point(|e| e.len == len)];
            k += run.len();
            let Some(text) = bytes.get(at..at + len as usize) else {
                break; // longer literals do not fit either
            };
            if three.is_some_and(|three| (len == 3) != three) {
                continue;
            }
            let folded = || text.iter().map(u8::to_ascii_lowercase);
            let lo = run.partition_point(|e| lit(e).iter().copied().lt(folded()));
            for e in &run[lo..] {
                if !lit(e).iter().copied().eq(folded()) {
                    break;
                }
                found(e.pattern as usize, at, at + len as usize);
            }
        }
    }

    /// Reports the literal `e` when it occurs at `at`.
    #[inline(always)]
    fn check(
        &self,
        e: &Entry,
        bytes: &[u8],
        at: usize,
        found: &mut impl FnMut(usize, usize, usize),
    ) {
        let lit = &self.arena[e.offset as usize..(e.offset + e.len) as usize];
        if bytes
            .get(at..at + lit.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(lit))
        {
            found(e.pattern as usize, at, at + lit.len());
        }
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("literals", &self.len)
            .field("filter_bits", &(self.filter.words.len() * 32))
            .field("mid_literals", &self.mid.entries.len())
            .field("long_literals", &self.long.entries.len())
            .finish_non_exhaustive()
    }
}

/// Buckets up to this size are compared entry by entry; bigger ones are sorted and searched.
const SMALL_BUCKET: usize = 8;

/// Bytes per step of the scan loop.
#[cfg(target_arch = "x86_64")]
const BLOCK: usize = 64;

#[cfg(target_arch = "x86_64")]
mod simd {
    //! SSE2 (part of every x86-64 CPU): which of sixteen bytes start a UTF-8 character;
    //! AVX2 (checked at run time): the scan filter on eight positions, a byte set on 32.
    use std::arch::x86_64::*;

    /// Bit `j` set when byte `j` at `p` is not a continuation byte (0x80..=0xBF).
    ///
    /// # Safety
    /// `p..p+16` must be readable.
    #[inline(always)]
    pub(super) unsafe fn char_starts(p: *const u8) -> u32 {
        // SAFETY: the caller guarantees 16 readable bytes; SSE2 is always there on x86_64.
        unsafe {
            let v = _mm_loadu_si128(p as *const __m128i);
            // signed: continuation bytes are -128..=-65
            let start = _mm_cmpgt_epi8(v, _mm_set1_epi8(-65));
            _mm_movemask_epi8(start) as u32
        }
    }

    /// Whether the CPU has AVX2 (cached by the standard library).
    #[inline(always)]
    pub(super) fn has_avx2() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
    }

    /// The scan filter in AVX2 registers: its words and the shift that picks one.
    pub(super) struct FilterLanes {
        words: *const i32,
        shift: __m128i,
    }

    impl FilterLanes {
        #[target_feature(enable = "avx2")]
        pub(super) fn new(f: &super::ScanFilter) -> FilterLanes {
            FilterLanes {
                words: f.words.as_ptr() as *const i32,
                shift: _mm_cvtsi32_si128(f.shift as i32),
            }
        }

        /// Bit `j` set when the filter may hold the four-byte word at `p + j` (ASCII case
        /// folded), for `j` in 0..8: [`super::ScanFilter::may_contain`] on eight lanes.
        ///
        /// # Safety
        /// `p..p+16` must be readable; the filter must outlive `self`.
        #[target_feature(enable = "avx2")]
        #[inline]
        pub(super) unsafe fn test_8(&self, p: *const u8) -> u8 {
            // SAFETY: the caller guarantees 16 readable bytes at `p`; gathered indices are
            // `hash >> shift`, below the filter's length.
            unsafe {
                let v = _mm256_broadcastsi128_si256(_mm_loadu_si128(p as *const __m128i));
                // lane j (j < 4 in the low half, 4..8 in the high) gets bytes p+j..p+j+4
                let words = _mm256_shuffle_epi8(
                    v,
                    _mm256_setr_epi8(
                        0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, //
                        4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10,
                    ),
                );
                let folded = _mm256_or_si256(
                    words,
                    _mm256_and_si256(_mm256_srli_epi32(words, 1), _mm256_set1_epi32(0x2020_2020)),
                );
                let h = scan_hash_8(folded);
                let index = _mm256_srl_epi32(h, self.shift);
                let word = _mm256_i32gather_epi32::<4>(self.words, index);
                let a = _mm256_and_si256(h, _mm256_set1_epi32(31));
                let b = _mm256_and_si256(_mm256_srli_epi32(h, 5), _mm256_set1_epi32(31));
                let bits = _mm256_and_si256(_mm256_srlv_epi32(word, a), _mm256_srlv_epi32(word, b));
                // bit 0 of each lane to its sign bit, then one bit per lane
                _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(bits, 31))) as u8
            }
        }
    }

    /// [`super::scan_hash`] on eight lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn scan_hash_8(w: __m256i) -> __m256i {
        let h = _mm256_mullo_epi32(w, _mm256_set1_epi32(super::SCAN_HASH_1 as i32));
        let h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
        _mm256_mullo_epi32(h, _mm256_set1_epi32(super::SCAN_HASH_2 as i32))
    }

    /// A set of bytes tested 32 at a time: for byte `x`, row `x & 15` of the table for its
    /// high bit holds bit `(x >> 4) & 7` when `x` is in the set.
    pub(super) struct ByteSet {
        low_half: __m256i,
        high_half: __m256i,
    }

    impl ByteSet {
        #[target_feature(enable = "avx2")]
        pub(super) fn new(set: &[bool; 256]) -> ByteSet {
            let (mut low, mut high) = ([0u8; 32], [0u8; 32]);
            for (x, _) in set.iter().enumerate().filter(|(_, in_set)| **in_set) {
                let table = if x < 0x80 { &mut low } else { &mut high };
                // both 128-bit lanes: the shuffle looks up within its own lane
                table[x & 15] |= 1 << ((x >> 4) & 7);
                table[16 + (x & 15)] |= 1 << ((x >> 4) & 7);
            }
            // SAFETY: 32-byte arrays, unaligned loads.
            unsafe {
                ByteSet {
                    low_half: _mm256_loadu_si256(low.as_ptr() as *const __m256i),
                    high_half: _mm256_loadu_si256(high.as_ptr() as *const __m256i),
                }
            }
        }

        /// Bit `j` set when byte `j` at `p` is in the set, for `j` in 0..32.
        ///
        /// # Safety
        /// `p..p+32` must be readable.
        #[target_feature(enable = "avx2")]
        #[inline]
        unsafe fn find_32(&self, p: *const u8) -> u32 {
            // SAFETY: the caller guarantees 32 readable bytes.
            unsafe {
                let x = _mm256_loadu_si256(p as *const __m256i);
                let low_nibble = _mm256_and_si256(x, _mm256_set1_epi8(15));
                let high_nibble = _mm256_and_si256(_mm256_srli_epi16(x, 4), _mm256_set1_epi8(15));
                // the row for the byte's high bit (blendv picks by each byte's top bit)
                let row = _mm256_blendv_epi8(
                    _mm256_shuffle_epi8(self.low_half, low_nibble),
                    _mm256_shuffle_epi8(self.high_half, low_nibble),
                    x,
                );
                let bit = _mm256_shuffle_epi8(
                    _mm256_setr_epi8(
                        1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128, //
                        1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128,
                    ),
                    high_nibble,
                );
                let hit = _mm256_cmpeq_epi8(_mm256_and_si256(row, bit), bit);
                _mm256_movemask_epi8(hit) as u32
            }
        }

        /// [`ByteSet::find_32`] for 64 bytes.
        ///
        /// # Safety
        /// `p..p+64` must be readable.
        #[target_feature(enable = "avx2")]
        #[inline]
        pub(super) unsafe fn find_64(&self, p: *const u8) -> u64 {
            // SAFETY: the caller guarantees 64 readable bytes.
            unsafe { u64::from(self.find_32(p)) | u64::from(self.find_32(p.add(32))) << 32 }
        }
    }

    /// [`char_starts`] for 64 bytes: bit `j` for byte `j` at `p`.
    ///
    /// # Safety
    /// `p..p+64` must be readable.
    #[inline(always)]
    pub(super) unsafe fn char_starts_64(p: *const u8) -> u64 {
        // SAFETY: the caller guarantees 64 readable bytes.
        unsafe {
            (char_starts(p) as u64)
                | (char_starts(p.add(16)) as u64) << 16
                | (char_starts(p.add(32)) as u64) << 32
                | (char_starts(p.add(48)) as u64) << 48
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Gate;
    use aho_corasick::{AhoCorasick, MatchKind};
    use proptest::prelude::*;

    /// The gate's matches, from the scalar loop and (where the CPU has it) the AVX2 loop,
    /// which must agree match for match.
    fn gate_matches(lits: &[String], hay: &str) -> Vec<(usize, usize, usize)> {
        let g = Gate::new(lits).unwrap();
        let mut out = Vec::new();
        g.for_each_match_in(hay, false, |p, s, e| out.push((p, s, e)));
        #[cfg(target_arch = "x86_64")]
        if super::simd::has_avx2() {
            let mut avx2 = Vec::new();
            g.for_each_match_in(hay, true, |p, s, e| avx2.push((p, s, e)));
            assert_eq!(avx2, out, "the AVX2 loop and the scalar loop differ");
        }
        out
    }

    fn ac_matches(lits: &[String], hay: &str) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(lits)
            .unwrap();
        let mut out: Vec<_> = ac
            .find_overlapping_iter(hay)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        out.sort_unstable_by_key(|&(p, s, e)| (s, e, p));
        out
    }

    fn sorted(mut v: Vec<(usize, usize, usize)>) -> Vec<(usize, usize, usize)> {
        v.sort_unstable_by_key(|&(p, s, e)| (s, e, p));
        v
    }

    #[test]
    fn every_length_and_case_and_the_end_of_the_text() {
        let lits: Vec<String> = [
            "@",
            "(s",
            "eyJ",
            "秘",
            "机密",
            "SECRET",
            "secret//noforn",
            "机密★",
        ]
        .map(String::from)
        .to_vec();
        let hay = "a@b (S) EYJ 秘密 机密★10年 TOP SECRET//NOFORN secret";
        let got = sorted(gate_matches(&lits, hay));
        assert_eq!(got, ac_matches(&lits, hay));
        assert_eq!(got.len(), 9);
        // a literal that ends exactly at the end, shorter than a word
        for tail in ["机密", "eyj", "@", "(S"] {
            let hay = format!("xx{tail}");
            assert_eq!(
                sorted(gate_matches(&lits, &hay)),
                ac_matches(&lits, &hay),
                "{hay}"
            );
        }
    }

    #[test]
    fn matches_come_in_order_of_start() {
        let lits: Vec<String> = ["ab", "abcd", "bcde", "c"].map(String::from).to_vec();
        let hay = "xxabcdefabcde".repeat(5);
        let got = gate_matches(&lits, &hay);
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(sorted(got), ac_matches(&lits, &hay));
    }

    #[test]
    fn empty_literals_never_match() {
        let lits: Vec<String> = ["", "ab"].map(String::from).to_vec();
        assert_eq!(gate_matches(&lits, "xab"), vec![(1, 1, 3)]);
    }

    #[test]
    fn thousands_of_literals_sharing_a_prefix() {
        // one bucket of 3,000 literals: searched by length and bytes, not one by one
        let mut lits: Vec<String> = (0..3000).map(|i| format!("项目A{i:04}")).collect();
        lits.extend(["项目", "项目A", "项目a0001", "项目B"].map(String::from));
        let hay = "项目A0001、项目a2999和项目A3000，项目B项目 xx 项目A0".repeat(30);
        let got = sorted(gate_matches(&lits, &hay));
        assert_eq!(got, ac_matches(&lits, &hay));
        assert!(got.iter().any(|&(p, _, _)| p == 2999));
    }

    /// The AVX2 filter test and byte set agree with their scalar forms on every lane.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_filter_and_byte_set_equal_scalar() {
        use super::simd::{ByteSet, FilterLanes, has_avx2};
        if !has_avx2() {
            return;
        }
        let lits: Vec<String> = (0..3000).map(|i| format!("k{i}密")).collect();
        let g = Gate::new(&lits).unwrap();
        let text: Vec<u8> = (0..4096u32)
            .map(|i| {
                b"k0123456789\xe5\xaf\x86Kx@("[(i.wrapping_mul(2654435761) >> 7) as usize % 18]
            })
            .collect();
        let mut set = [false; 256];
        for b in [b'@', b'(', 0x80, 0xE5, 0xFF, 0] {
            set[b as usize] = true;
        }
        // SAFETY: AVX2 checked above; every read is inside `text`.
        unsafe {
            let lanes = FilterLanes::new(&g.filter);
            let bytes = ByteSet::new(&set);
            for at in (0..text.len() - 64).step_by(5) {
                let got = lanes.test_8(text.as_ptr().add(at));
                for j in 0..8 {
                    let w = super::fold_case(u32::from_le_bytes(
                        text[at + j..at + j + 4].try_into().unwrap(),
                    ));
                    assert_eq!(got >> j & 1 == 1, g.filter.may_contain(w), "at {}", at + j);
                }
                let found = bytes.find_64(text.as_ptr().add(at));
                for j in 0..64 {
                    assert_eq!(found >> j & 1 == 1, set[text[at + j] as usize]);
                }
            }
        }
        // every byte value, in and out of the set
        let all: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for from in [0, 64, 128, 192] {
            // SAFETY: as above.
            let found = unsafe { ByteSet::new(&set).find_64(all.as_ptr().add(from)) };
            for j in 0..64 {
                assert_eq!(
                    found >> j & 1 == 1,
                    set[all[from + j] as usize],
                    "byte {}",
                    all[from + j]
                );
            }
        }
    }

    fn literal() -> impl Strategy<Value = String> {
        // a small alphabet so that literals overlap and share keys
        proptest::collection::vec(
            prop::sample::select(vec!["a", "B", "b", "密", "机", "★", "@", " "]),
            1..7,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Literals that share their key land in one big (searched) bucket.
        #[test]
        fn big_buckets_equal_aho_corasick(
            suffixes in proptest::collection::vec(
                proptest::collection::vec(prop::sample::select(vec!["x", "X", "y", "密", ""]), 0..4),
                9..60,
            ),
            hay in proptest::collection::vec(prop::sample::select(vec!["abcd", "ABCd", "x", "y", "Y", "密", " "]), 0..150),
        ) {
            let lits: Vec<String> = suffixes.iter().map(|s| format!("abcd{}", s.concat())).collect();
            let hay = hay.concat();
            prop_assert_eq!(sorted(gate_matches(&lits, &hay)), ac_matches(&lits, &hay));
        }

        /// Long texts: many 64-byte blocks of the AVX2 loop, and its hand-over to the tail.
        #[test]
        fn long_texts_equal_aho_corasick(
            lits in proptest::collection::vec(literal(), 1..40),
            hay in proptest::collection::vec(prop::sample::select(vec!["a", "A", "b", "B", "密", "机", "★", "@", " ", "\n", "é", "(", "xyz"]), 0..900),
        ) {
            let hay = hay.concat();
            prop_assert_eq!(sorted(gate_matches(&lits, &hay)), ac_matches(&lits, &hay));
        }

        #[test]
        fn gate_equals_aho_corasick(
            lits in proptest::collection::vec(literal(), 1..40),
            hay in proptest::collection::vec(prop::sample::select(vec!["a", "A", "b", "B", "密", "机", "★", "@", " ", "\n", "é"]), 0..120),
        ) {
            let hay = hay.concat();
            prop_assert_eq!(sorted(gate_matches(&lits, &hay)), ac_matches(&lits, &hay));
        }
    }
}
