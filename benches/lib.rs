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

/// The number of dictionary findings miji's semantics give for `terms` in `text`, computed
/// without miji's gate: `aho-corasick`'s overlapping search (ASCII case ignored) over the
/// public `fold`, then the rules the scanner documents (README "Choices"): a Latin edge must
/// not continue an ASCII word, a hit lying inside a longer one is dropped, a span counts once.
/// The expected count for the `dict_*_common` hard case, which the manifest does not have.
pub fn expected_dictionary_findings(terms: &[String], text: &str) -> u64 {
    let folded = miji::fold::fold(text);
    let t = folded.text().as_bytes();
    let ac = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(terms.iter().map(|t| miji::fold::fold_str(t)))
        .expect("dictionary automaton");
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut spans: Vec<(usize, usize)> = ac
        .find_overlapping_iter(folded.text())
        .map(|m| (m.start(), m.end()))
        .filter(|&(s, e)| {
            let left = s == 0 || !(t[s].is_ascii_alphanumeric() && word(t[s - 1]));
            let right = e == t.len() || !(t[e - 1].is_ascii_alphanumeric() && word(t[e]));
            left && right
        })
        .collect();
    spans.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    spans.dedup();
    let mut reach = 0;
    let mut kept = 0;
    for (_, e) in spans {
        if e > reach {
            reach = e;
            kept += 1;
        }
    }
    kept
}

/// The number of findings a detector gives in `text`, computed without miji's digit-run
/// prefilter and pieces: every match of `pattern` (the generator's own regex for the values it
/// embedded, all valid) in the public `fold`, less those with a `negative` word within 48
/// bytes on either side (the detector rule `negative_context`, `patterns/pii.toml`).
pub fn expected_detector_findings(text: &str, pattern: &str, negative: &[String]) -> u64 {
    let folded = miji::fold::fold(text);
    let t = folded.text();
    let window = |s: usize, e: usize| {
        let mut a = s.saturating_sub(48);
        while !t.is_char_boundary(a) {
            a -= 1;
        }
        let mut b = (e + 48).min(t.len());
        while !t.is_char_boundary(b) {
            b += 1;
        }
        format!("{} {}", &t[a..s], &t[e..b]).to_lowercase()
    };
    regex::Regex::new(pattern)
        .expect("detector oracle pattern")
        .find_iter(t)
        .filter(|m| {
            let w = window(m.start(), m.end());
            !negative.iter().any(|n| w.contains(&n.to_lowercase()))
        })
        .count() as u64
}

/// The `negative_context` words of detector `id` in the default policy's `patterns/pii.toml`
/// (read from the pack, so the oracle cannot drift from the rule).
pub fn negative_context(id: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../patterns/pii.toml");
    let pack: toml::Table = std::fs::read_to_string(path)
        .expect("patterns/pii.toml")
        .parse()
        .expect("pii pack");
    pack["detector"]
        .as_array()
        .expect("detectors")
        .iter()
        .find(|d| d["id"].as_str() == Some(id))
        .and_then(|d| d.get("negative_context"))
        .and_then(|n| n.as_array())
        .map(|n| {
            n.iter()
                .filter_map(|w| w.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
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

    #[test]
    fn negative_context_comes_from_the_pack() {
        let words = super::negative_context("pii.cn-resident-id");
        assert!(words.iter().any(|w| w == "invoice"), "{words:?}");
        assert!(super::negative_context("no.such-detector").is_empty());
    }

    #[test]
    fn expected_dictionary_findings_follows_the_scanner_rules() {
        let terms: Vec<String> = ["项目", "项目计划", "计划书", "aurora", "Aurora X"]
            .map(String::from)
            .to_vec();
        // 项目 lies inside 项目计划 (dropped); 计划书 overlaps it (kept); "auroras" continues
        // a word (dropped); "AURORA X" and the full-width "ａｕｒｏｒａ" count
        let text = "项目计划书 auroras AURORA X ａｕｒｏｒａ";
        assert_eq!(super::expected_dictionary_findings(&terms, text), 4);
        let scanner = miji::Scanner::new(
            miji::PolicyBuilder::new()
                .dictionary("bench", terms.clone())
                .build()
                .unwrap(),
        );
        assert_eq!(
            scanner.scan(text).counts.get("dict.bench").copied(),
            Some(4)
        );
    }
}
