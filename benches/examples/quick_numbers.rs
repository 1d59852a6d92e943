//! One-shot measurements for the README (criterion in `benches/benches/` is the reference):
//! full classification vs raw aho-corasick, 2 KB prompt latency, 1M-term compile time, and
//! the gate's worst case (terms sharing a prefix, text full of it).
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::time::Instant;

fn mibs(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / (1 << 20) as f64
}

use miji_benches::best_of;

fn main() {
    let dir = miji_benches::data_dir().expect("bench data");
    let text = miji_benches::corpus(&dir, 32 << 20);
    for size in ["10000", "100000", "10000_common", "100000_common"] {
        let terms = miji_benches::dictionary(&dir, &format!("dict_{size}.txt"));
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .build(&terms)
            .unwrap();
        let scanner = miji::Scanner::new(
            miji::PolicyBuilder::new()
                .dictionary("bench", terms)
                .build()
                .unwrap(),
        );
        let raw = best_of(3, || ac.find_iter(&text).count());
        let full = best_of(3, || scanner.scan(&text).findings.len());
        println!(
            "{size} terms: raw aho-corasick {:.0} MiB/s, miji full classification {:.0} MiB/s ({:.2}x)",
            mibs(text.len(), raw),
            mibs(text.len(), full),
            raw / full
        );
    }
    let prompts: Vec<String> = std::fs::read_to_string(dir.join("prompts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .filter(|p| (1800..=2300).contains(&p.len()))
        .take(2000)
        .collect();
    let terms = miji_benches::dictionary(&dir, "dict_10000.txt");
    let scanner = miji::Scanner::new(
        miji::PolicyBuilder::new()
            .dictionary("bench", terms)
            .build()
            .unwrap(),
    );
    let mut times: Vec<f64> = prompts
        .iter()
        .cycle()
        .take(6000)
        .map(|p| {
            let t = Instant::now();
            std::hint::black_box(scanner.scan(p).findings.len());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "2 KB prompt (default policy + 10k terms): p50 {:.1} µs, p99 {:.1} µs",
        times[times.len() / 2],
        times[times.len() * 99 / 100]
    );
    let base = miji_benches::dictionary(&dir, "dict_100000.txt");
    let million: Vec<String> = (0..10)
        .flat_map(|i| base.iter().map(move |t| format!("{t}{i}")))
        .collect();
    let t = Instant::now();
    let p = miji::PolicyBuilder::new()
        .dictionary("big", million)
        .build()
        .unwrap();
    println!(
        "compile 1,000,000-term dictionary: {:.2} s ({} gate literals)",
        t.elapsed().as_secs_f64(),
        p.gate_len()
    );
    // the gate's worst case: thousands of terms sharing their first characters, and a text
    // made of those characters (every character start hits the same filter key)
    let shared: Vec<String> = (0..10_000).map(|i| format!("项目A{i:04}")).collect();
    let scanner = miji::Scanner::new(
        miji::PolicyBuilder::new()
            .dictionary("shared", shared)
            .build()
            .unwrap(),
    );
    let hostile = "项目A0，项目A项目B".repeat(1 << 16);
    let s = best_of(3, || scanner.scan(&hostile).findings.len());
    println!(
        "10,000 terms sharing a prefix, text full of it: {:.0} MiB/s",
        mibs(hostile.len(), s)
    );
}
