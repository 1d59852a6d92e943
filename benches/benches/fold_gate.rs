//! Issue 3's micro-benchmark: the fold, and fold + gate, against the bare aho-corasick pass
//! over the same 10k-term dictionary on the same mixed Chinese/English text.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use miji::{PolicyBuilder, fold::fold};
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

    g.bench_function("miji fold", |b| {
        b.iter(|| fold(black_box(&text)).text().len())
    });

    let policy = PolicyBuilder::new()
        .dictionary("bench", terms.clone())
        .build()
        .unwrap();
    let folded = fold(&text).text().to_owned();
    g.bench_function("miji gate 10k (folded text)", |b| {
        b.iter(|| policy.gate_hits(black_box(&folded)))
    });
    g.bench_function("miji fold + gate 10k", |b| {
        b.iter(|| policy.gate_hits(fold(black_box(&text)).text()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
