//! Where full classification spends its time: each stage timed alone on 16 MiB of the corpus
//! (`MIJI_PROFILE_MIB` sets the size).
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use miji_benches::best_of;

fn main() {
    let dir = miji_benches::data_dir().expect("bench data");
    let size = std::env::var("MIJI_PROFILE_MIB").map_or(16, |v| v.parse().unwrap());
    let text = miji_benches::corpus(&dir, size << 20);
    let mib = text.len() as f64 / (1 << 20) as f64;
    let terms = miji_benches::dictionary(&dir, "dict_10000.txt");
    let row = |name: &str, s: f64| {
        println!(
            "{name:<40} {:>8.2} ms/MiB {:>7.0} MiB/s",
            s * 1e3 / mib,
            mib / s
        )
    };
    for (name, kind, ci) in [
        ("raw AC DFA LL", MatchKind::LeftmostLongest, false),
        (
            "raw AC DFA LL case-insens",
            MatchKind::LeftmostLongest,
            true,
        ),
    ] {
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(kind)
            .ascii_case_insensitive(ci)
            .build(&terms)
            .unwrap();
        row(name, best_of(3, || ac.find_iter(&text).count()));
    }
    let ac = AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(&terms)
        .unwrap();
    row(
        "AC DFA standard overlapping ci",
        best_of(3, || ac.find_overlapping_iter(&text).count()),
    );
    row(
        "from_utf8",
        best_of(3, || std::str::from_utf8(text.as_bytes()).unwrap().len()),
    );
    row(
        "from_utf8_lossy",
        best_of(3, || String::from_utf8_lossy(text.as_bytes()).len()),
    );
    row(
        "fold (complete, public fold())",
        best_of(3, || miji::fold::fold(&text).text().len()),
    );
    row(
        "fold for the gate (what scan runs)",
        best_of(3, || miji::fold::fold_for_gate(&text).text().len()),
    );
    let policy = miji::PolicyBuilder::new()
        .dictionary("bench", terms.clone())
        .build()
        .unwrap();
    let folded = miji::fold::fold(&text).text().to_owned();
    row(
        "policy gate (overlapping)",
        best_of(3, || policy.gate_hits(&folded)),
    );
    println!(
        "10k policy gate: {} literals, {} hits",
        policy.gate_len(),
        policy.gate_hits(&folded)
    );
    let scanner = miji::Scanner::new(policy);
    let r = scanner.scan(&text);
    println!(
        "full scan: {} findings, counts {:?}",
        r.findings.len(),
        r.counts
    );
    row(
        "full scan",
        best_of(3, || scanner.scan(&text).findings.len()),
    );
    let def = miji::Scanner::default();
    println!(
        "default policy gate: {} literals, {} hits",
        def.policy().gate_len(),
        def.policy().gate_hits(&folded)
    );
    row(
        "default policy gate (overlapping)",
        best_of(3, || def.policy().gate_hits(&folded)),
    );
    row(
        "full scan default policy (no dict)",
        best_of(3, || def.scan(&text).findings.len()),
    );
}
