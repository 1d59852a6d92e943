//! Rough extraction throughput: `cargo run --release -p miji-extract --example throughput -- FILE...`
//! extracts each file a few times and prints input MB/s and extracted-text MB/s.

use std::time::Instant;

fn main() {
    let extractor = miji_extract::Extractor::default();
    for arg in std::env::args_os().skip(1) {
        let bytes = std::fs::read(&arg).expect("readable file");
        let name = std::path::Path::new(&arg)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let rounds = 5;
        let start = Instant::now();
        let mut text = 0usize;
        for _ in 0..rounds {
            let doc = extractor.extract(&name, &bytes);
            assert!(doc.errors.is_empty(), "{:?}", doc.errors);
            text = doc.segments.iter().map(|s| s.text.len()).sum();
        }
        let secs = start.elapsed().as_secs_f64() / f64::from(rounds);
        println!(
            "{name}: {:.1} MB in, {:.1} MB text, {:.3} s, {:.0} MB/s input, {:.0} MB/s text",
            bytes.len() as f64 / 1e6,
            text as f64 / 1e6,
            secs,
            bytes.len() as f64 / 1e6 / secs,
            text as f64 / 1e6 / secs
        );
    }
}
