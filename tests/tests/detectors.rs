//! The detector near-miss corpus (`tests/detectors/cases.toml`): per-rule precision, recall and
//! F1 with the default policy, printed; overall F1 must be at least 0.97.

use miji::{FindingKind, Scanner};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    expect: Vec<String>,
}

#[test]
fn detector_f1_on_the_near_miss_corpus() {
    let path = miji_tests::root().join("tests/detectors/cases.toml");
    let file: File = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let scanner = Scanner::default();
    let mut per: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new(); // tp, fp, fn
    let mut wrong = Vec::new();
    for c in &file.case {
        let got: BTreeSet<String> = scanner
            .scan(&c.text)
            .findings
            .into_iter()
            .filter(|f| f.kind == FindingKind::Detector)
            .map(|f| f.rule)
            .collect();
        let want: BTreeSet<String> = c.expect.iter().cloned().collect();
        for r in got.union(&want) {
            let e = per.entry(r.clone()).or_default();
            match (got.contains(r), want.contains(r)) {
                (true, true) => e.0 += 1,
                (true, false) => e.1 += 1,
                (false, true) => e.2 += 1,
                _ => {}
            }
        }
        if got != want {
            wrong.push(format!("{:?}: want {want:?} got {got:?}", c.text));
        }
    }
    let (mut tp, mut fp, mut fnn) = (0, 0, 0);
    println!("rule                        tp  fp  fn  precision  recall  f1");
    for (r, (a, b, c)) in &per {
        let p = *a as f64 / (a + b).max(1) as f64;
        let rc = *a as f64 / (a + c).max(1) as f64;
        let f1 = if p + rc > 0.0 {
            2.0 * p * rc / (p + rc)
        } else {
            0.0
        };
        println!("{r:<27} {a:>3} {b:>3} {c:>3}  {p:>9.3}  {rc:>6.3}  {f1:.3}");
        tp += a;
        fp += b;
        fnn += c;
    }
    let p = tp as f64 / (tp + fp).max(1) as f64;
    let r = tp as f64 / (tp + fnn).max(1) as f64;
    let f1 = 2.0 * p * r / (p + r);
    println!(
        "overall: {} cases, precision {p:.3}, recall {r:.3}, F1 {f1:.3}",
        file.case.len()
    );
    for w in &wrong {
        println!("  wrong {w}");
    }
    assert!(file.case.len() >= 50);
    assert!(f1 >= 0.97, "detector F1 {f1:.3} below 0.97");
}
