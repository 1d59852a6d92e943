//! Issue 14: the full pipeline against the raw dictionary engine, in one run, on
//! `../shared/bench/gen_corpus.py` data. Every benchmark checks its match count against the
//! generator's manifest (or, for the `dict_*_common` case the manifest has no count for,
//! against `aho-corasick` with the scanner's documented rules), so a fast wrong answer fails.
//! Hyperscan runs beside it from `benches/report.sh`.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use miji::{PolicyBuilder, Scanner};
use std::hint::black_box;
use std::time::Duration;

fn raw_ac(terms: &[String]) -> AhoCorasick {
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .match_kind(MatchKind::LeftmostLongest)
        .ascii_case_insensitive(true)
        .build(terms)
        .unwrap()
}

fn classify_count(scanner: &Scanner, text: &str) -> u64 {
    scanner
        .scan(text)
        .counts
        .get("dict.bench")
        .copied()
        .unwrap_or(0)
}

/// The detectors' counts, against the manifest: every embedded resident ID has a valid check
/// digit and every e-mail address is well formed, so miji must find exactly those, less the IDs
/// next to a negative context word (the corpus's English says "order" and "invoice").
/// (Card numbers are random digits, mostly failing Luhn, and mobile numbers are `low`
/// confidence without a context word: the default policy rightly drops both.)
fn assert_pii_counts(report: &miji::Report, text: &str, manifest: &serde_json::Value) {
    let ids = miji_benches::expected_detector_findings(
        text,
        r"(?-u:\b)[0-9]{17}[0-9Xx](?-u:\b)",
        &miji_benches::negative_context("pii.cn-resident-id"),
    );
    assert!(ids <= manifest["cn_id"].as_u64().unwrap() && ids > 0);
    assert_eq!(
        report.counts.get("pii.cn-resident-id").copied(),
        Some(ids),
        "resident ID count"
    );
    assert_eq!(
        report.counts.get("pii.email").copied(),
        manifest["email"].as_u64(),
        "e-mail count"
    );
}

fn bench(c: &mut Criterion) {
    let Some(dir) = miji_benches::data_dir() else {
        return;
    };
    let manifest = miji_benches::manifest(&dir);
    let text = miji_benches::corpus(&dir, usize::MAX);
    let mut g = c.benchmark_group("corpus");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    for size in ["10000", "100000"] {
        let terms = miji_benches::dictionary(&dir, &format!("dict_{size}.txt"));
        let expected = manifest["corpus"]["expected"]["ci"][size].as_u64().unwrap();
        let ac = raw_ac(&terms);
        assert_eq!(
            ac.find_iter(&text).count() as u64,
            expected,
            "raw aho-corasick count"
        );
        g.bench_function(format!("aho-corasick dfa leftmost-longest {size}"), |b| {
            b.iter(|| ac.find_iter(black_box(&text)).count())
        });
        let scanner = Scanner::new(
            PolicyBuilder::new()
                .dictionary("bench", terms.clone())
                .build()
                .unwrap(),
        );
        let report = scanner.scan(&text);
        assert_eq!(
            report.counts.get("dict.bench").copied(),
            Some(expected),
            "miji keyword count"
        );
        assert_pii_counts(&report, &text, &manifest["corpus"]["expected"]["pii"]);
        g.bench_function(format!("miji full classification {size}"), |b| {
            b.iter(|| classify_count(&scanner, black_box(&text)))
        });
    }
    // the hard case: terms sharing a common first character hit by accident far more often;
    // the manifest has no count for it, so the count is computed without miji's gate
    for size in ["10000", "100000"] {
        let common = miji_benches::dictionary(&dir, &format!("dict_{size}_common.txt"));
        let expected = miji_benches::expected_dictionary_findings(&common, &text);
        let ac = raw_ac(&common);
        let scanner = Scanner::new(
            PolicyBuilder::new()
                .dictionary("bench", common.clone())
                .build()
                .unwrap(),
        );
        assert_eq!(
            classify_count(&scanner, &text),
            expected,
            "miji keyword count, {size}-common"
        );
        g.bench_function(
            format!("aho-corasick dfa leftmost-longest {size}-common"),
            |b| b.iter(|| ac.find_iter(black_box(&text)).count()),
        );
        g.bench_function(format!("miji full classification {size}-common"), |b| {
            b.iter(|| classify_count(&scanner, black_box(&text)))
        });
    }
    g.finish();
}

fn prompts(c: &mut Criterion) {
    let Some(dir) = miji_benches::data_dir() else {
        return;
    };
    let manifest = miji_benches::manifest(&dir);
    let all: Vec<String> = std::fs::read_to_string(dir.join("prompts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let terms = miji_benches::dictionary(&dir, "dict_10000.txt");
    let scanner = Scanner::new(
        PolicyBuilder::new()
            .dictionary("bench", terms.clone())
            .build()
            .unwrap(),
    );
    let total: u64 = all.iter().map(|p| classify_count(&scanner, p)).sum();
    assert_eq!(
        total,
        manifest["prompts"]["expected"]["ci"]["10000"]
            .as_u64()
            .unwrap(),
        "prompt hit count"
    );
    // ~2 KB prompts (the generator's prompts are 200-2000 characters)
    let two_kb: Vec<&String> = all
        .iter()
        .filter(|p| (1800..=2300).contains(&p.len()))
        .take(200)
        .collect();
    let mut g = c.benchmark_group("prompt");
    g.sample_size(50);
    let mut i = 0;
    g.bench_function("miji full classification 2KB prompt (10k terms)", |b| {
        b.iter(|| {
            i = (i + 1) % two_kb.len();
            classify_count(&scanner, black_box(two_kb[i]))
        })
    });
    let ac = raw_ac(&terms);
    g.bench_function("aho-corasick 2KB prompt (10k terms)", |b| {
        b.iter(|| {
            i = (i + 1) % two_kb.len();
            ac.find_iter(black_box(two_kb[i].as_str())).count()
        })
    });
    g.finish();
}

fn compile(c: &mut Criterion) {
    let Some(dir) = miji_benches::data_dir() else {
        return;
    };
    // 1,000,000 distinct terms: the 100k dictionary with ten suffixes each
    let base = miji_benches::dictionary(&dir, "dict_100000.txt");
    let million: Vec<String> = (0..10)
        .flat_map(|i| base.iter().map(move |t| format!("{t}{i}")))
        .collect();
    assert_eq!(million.len(), 1_000_000);
    let mut g = c.benchmark_group("compile");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .warm_up_time(Duration::from_millis(100));
    g.bench_function("miji policy with a 1,000,000-term dictionary", |b| {
        b.iter(|| {
            PolicyBuilder::new()
                .dictionary("big", million.iter().cloned())
                .build()
                .unwrap()
                .gate_len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench, prompts, compile);
criterion_main!(benches);
