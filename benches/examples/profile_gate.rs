//! Runs only the literal gate (default policy + 10k terms) over 16 MB of folded corpus, for
//! `perf`. `MIJI_PROFILE_DICT=dict_100000.txt` picks another dictionary; `MIJI_PROFILE_FOLD=1`
//! runs `fold_for_gate` instead of the gate.
fn main() {
    let dir = miji_benches::data_dir().expect("bench data");
    let text = miji_benches::corpus(&dir, 16 << 20);
    let dict = std::env::var("MIJI_PROFILE_DICT").unwrap_or_else(|_| "dict_10000.txt".into());
    let terms = miji_benches::dictionary(&dir, &dict);
    let policy = miji::PolicyBuilder::new()
        .dictionary("bench", terms)
        .build()
        .unwrap();
    let folded = miji::fold::fold(&text).text().to_owned();
    if std::env::var_os("MIJI_PROFILE_FOLD").is_some() {
        let t = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..100 {
            n += miji::fold::fold_for_gate(&text).map().len();
        }
        eprintln!(
            "{n} edits, fold_for_gate {:.1} MiB/s",
            100.0 * text.len() as f64 / t.elapsed().as_secs_f64() / (1 << 20) as f64
        );
        return;
    }
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
