//! Scans 16 MB of the bench corpus with the default policy and a 10k dictionary (or, with
//! `MIJI_PROFILE_NO_DICT=1`, the default policy alone), for `perf`. `MIJI_PROFILE_MIB` sets the
//! size (128 = the whole corpus), `MIJI_PROFILE_DICT` the dictionary file, `MIJI_PIECE_KIB` the
//! scanner's piece size (measured: 256 KiB to 4 MiB within 3 % of each other).
fn main() {
    let dir = miji_benches::data_dir().expect("bench data");
    let size = std::env::var("MIJI_PROFILE_MIB").map_or(16, |v| v.parse().unwrap());
    let text = miji_benches::corpus(&dir, size << 20);
    let scanner = if std::env::var_os("MIJI_PROFILE_NO_DICT").is_some() {
        miji::Scanner::default()
    } else {
        let dict = std::env::var("MIJI_PROFILE_DICT").unwrap_or_else(|_| "dict_10000.txt".into());
        let terms = miji_benches::dictionary(&dir, &dict);
        miji::Scanner::new(
            miji::PolicyBuilder::new()
                .dictionary("bench", terms)
                .build()
                .unwrap(),
        )
    };
    let scanner = match std::env::var("MIJI_PIECE_KIB") {
        Ok(k) => scanner.with_piece_bytes(k.parse::<usize>().unwrap() << 10),
        Err(_) => scanner,
    };
    let t = std::time::Instant::now();
    for _ in 0..(640 / size) {
        let r = scanner.scan(&text);
        std::hint::black_box(r.counts.len());
    }
    eprintln!(
        "{:.1} MiB/s",
        (640 / size) as f64 * text.len() as f64 / t.elapsed().as_secs_f64() / (1 << 20) as f64
    );
}
