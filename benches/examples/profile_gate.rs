//! Runs only the literal gate (default policy + 10k terms) over 16 MB of folded corpus, for `perf`.
fn main() {
    let dir = miji_benches::data_dir().expect("bench data");
    let text = miji_benches::corpus(&dir, 16 << 20);
    let terms = miji_benches::dictionary(&dir, "dict_10000.txt");
    let policy = miji::PolicyBuilder::new()
        .dictionary("bench", terms)
        .build()
        .unwrap();
    let folded = miji::fold::fold(&text).text().to_owned();
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..40 {
        n += policy.gate_hits(&folded);
    }
    eprintln!(
        "{n} hits, {:.1} MiB/s",
        40.0 * folded.len() as f64 / t.elapsed().as_secs_f64() / (1 << 20) as f64
    );
}
