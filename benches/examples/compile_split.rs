//! 1M-term compile time: the whole policy compile (dictionary → literal gate, target tables)
//! beside the bare `aho-corasick` build of the same terms, for scale.
use std::time::Instant;
fn main() {
    let dir = miji_benches::data_dir().expect("bench data");
    let base = miji_benches::dictionary(&dir, "dict_100000.txt");
    let million: Vec<String> = (0..10)
        .flat_map(|i| base.iter().map(move |t| format!("{t}{i}")))
        .collect();
    let t = Instant::now();
    let ac = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&million)
        .unwrap();
    println!(
        "bare aho-corasick (auto kind, {:?}): {:.2} s",
        ac.kind(),
        t.elapsed().as_secs_f64()
    );
    drop(ac);
    let t = Instant::now();
    let folded: Vec<String> = million.iter().map(|t| miji::fold::fold_str(t)).collect();
    println!(
        "fold_str of every term: {:.2} s ({})",
        t.elapsed().as_secs_f64(),
        folded.len()
    );
    let t = Instant::now();
    let p = miji::PolicyBuilder::new()
        .dictionary("big", million)
        .build()
        .unwrap();
    println!(
        "whole policy compile: {:.2} s ({} literals)",
        t.elapsed().as_secs_f64(),
        p.gate_len()
    );
}
