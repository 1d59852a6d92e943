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
    // the contiguous NFA with more dense states near the root (CJK characters are 3 bytes)
    let terms = miji_benches::dictionary(&dir, "dict_100000.txt");
    let text = miji_benches::corpus(&dir, 16 << 20);
    for depth in [3usize, 6, 9] {
        let t = Instant::now();
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .dense_depth(depth)
            .build(&terms)
            .unwrap();
        let build = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let n = ac.find_overlapping_iter(&text).count();
        println!(
            "100000 terms ContiguousNFA dense_depth {depth}: build {build:.2} s, memory {:.0} MiB, overlapping search {:.0} MiB/s ({n} hits)",
            ac.memory_usage() as f64 / (1 << 20) as f64,
            text.len() as f64 / t.elapsed().as_secs_f64() / (1 << 20) as f64
        );
    }
}
