//! Issue 3's micro-benchmark: the fold, and fold + gate, against the bare aho-corasick pass
//! over the same 10k-term dictionary on the same mixed Chinese/English text. The scanner runs
//! `fold_for_gate` (traditional characters are gate literals, simplified only where present);
//! the complete public `fold` is measured beside it.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use miji::{
    PolicyBuilder,
    fold::{fold, fold_for_gate},
};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let Some(dir) = miji_benches::data_dir() else {
        return;
    };
    let text = miji_benches::corpus(&dir, 16 << 20);
    let terms = miji_benches::dictionary(&dir, "dict_10000.txt");
    let mut g = c.benchmark_group("fold_gate");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);

    let ac = AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .match_kind(MatchKind::LeftmostLongest)
        .build(&terms)
        .unwrap();
    g.bench_function("aho-corasick dfa leftmost-longest 10k", |b| {
        b.iter(|| ac.find_iter(black_box(&text)).count())
    });

    g.bench_function("miji fold (complete)", |b| {
        b.iter(|| fold(black_box(&text)).text().len())
    });
    g.bench_function("miji fold_for_gate (what the scanner runs)", |b| {
        b.iter(|| fold_for_gate(black_box(&text)).text().len())
    });

    let policy = PolicyBuilder::new()
        .dictionary("bench", terms.clone())
        .build()
        .unwrap();
    let folded = fold_for_gate(&text).text().to_owned();
    g.bench_function("miji gate 10k (folded text)", |b| {
        b.iter(|| policy.gate_hits(black_box(&folded)))
    });
    g.bench_function("miji fold_for_gate + gate 10k", |b| {
        b.iter(|| policy.gate_hits(fold_for_gate(black_box(&text)).text()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
