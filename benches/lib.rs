//! Shared loading for the criterion benchmarks in `benches/benches/`: the data written by
//! `../shared/bench/gen_corpus.py` (set `MIJI_BENCH_DATA`, default `bench-data/` at the root).
#![allow(missing_docs)]

use std::path::PathBuf;

/// The benchmark data folder, or `None` (with a message) when it has not been generated.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MIJI_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench-data"));
    if dir.join("manifest.json").exists() {
        Some(dir)
    } else {
        eprintln!(
            "no benchmark data in {}: run `python3 ../shared/bench/gen_corpus.py bench-data` first",
            dir.display()
        );
        None
    }
}

/// The corpus, cut to at most `max` bytes on a line boundary.
pub fn corpus(dir: &std::path::Path, max: usize) -> String {
    let mut text = std::fs::read_to_string(dir.join("corpus.txt")).expect("corpus.txt");
    let cut = cut_point(&text, max);
    text.truncate(cut);
    text
}

/// Where to cut `text` so it keeps at most `max` bytes and ends after a whole line (or, with no
/// newline before `max`, on a char boundary).
pub fn cut_point(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    let mut max = max;
    while !text.is_char_boundary(max) {
        max -= 1;
    }
    text[..max].rfind('\n').map(|i| i + 1).unwrap_or(max)
}

/// A dictionary file's terms.
pub fn dictionary(dir: &std::path::Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(name))
        .expect("dictionary")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The generator's manifest.
pub fn manifest(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"))
        .expect("manifest json")
}

/// The best wall-clock time of `n` runs of `f`, in seconds (for the one-shot examples).
pub fn best_of<F: FnMut() -> usize>(n: usize, mut f: F) -> f64 {
    (0..n)
        .map(|_| {
            let t = std::time::Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

#[cfg(test)]
mod tests {
    use super::cut_point;

    #[test]
    fn cuts_on_line_and_char_boundaries() {
        // the bug: a limit inside a 3-byte character panicked
        let t = "ab\n携带";
        assert_eq!(cut_point(t, 4), 3);
        assert_eq!(cut_point("携带携带", 4), 3);
        assert_eq!(cut_point(t, 100), t.len());
    }
}
