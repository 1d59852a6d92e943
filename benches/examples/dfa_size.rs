//! Build time and memory of the gate automaton kinds for the bench dictionaries.
use std::time::Instant;
fn main() {
    let dir = miji_benches::data_dir().expect("bench data");
    for size in ["10000", "100000"] {
        let terms = miji_benches::dictionary(&dir, &format!("dict_{size}.txt"));
        for kind in [
            aho_corasick::AhoCorasickKind::DFA,
            aho_corasick::AhoCorasickKind::ContiguousNFA,
        ] {
            let t = Instant::now();
            let ac = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(kind))
                .build(&terms)
                .unwrap();
            println!(
                "{size} terms {kind:?}: build {:.2} s, memory {:.0} MiB",
                t.elapsed().as_secs_f64(),
                ac.memory_usage() as f64 / (1 << 20) as f64
            );
        }
    }
}
