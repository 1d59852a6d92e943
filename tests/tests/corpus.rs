//! The labelled corpus (`tests/corpus/manifest.toml`): every document through the default
//! policy; prints level accuracy, false positives on negatives, and recall per scheme.

use miji::{Level, Scanner};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
struct Manifest {
    doc: Vec<Doc>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Doc {
    file: String,
    level: String,
    scheme: Option<String>,
    label: Option<String>,
    period: Option<String>,
    condition: Option<String>,
    declassify_on: Option<String>,
    note: Option<String>,
}

/// Per-scheme outcome counts.
#[derive(Debug, Default)]
struct Tally {
    docs: usize,
    level_ok: usize,
}

pub struct CorpusResult {
    pub accuracy: f64,
    pub negatives: usize,
    pub false_positives: usize,
    pub per_scheme: BTreeMap<String, (usize, usize)>,
    pub misses: Vec<String>,
}

fn run() -> CorpusResult {
    let root = miji_tests::root().join("tests/corpus");
    let manifest: Manifest =
        toml::from_str(&std::fs::read_to_string(root.join("manifest.toml")).unwrap()).unwrap();
    let scanner = Scanner::default();
    let mut per: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut ok, mut negatives, mut fps) = (0, 0, 0);
    let mut misses = Vec::new();
    for d in &manifest.doc {
        let text = std::fs::read(root.join(&d.file)).unwrap();
        let r = scanner.scan(&text);
        let want: Level = d.level.parse().unwrap();
        let good = r.level == want;
        ok += good as usize;
        let key = d.scheme.clone().unwrap_or_else(|| "(negative)".into());
        let t = per.entry(key).or_default();
        t.docs += 1;
        t.level_ok += good as usize;
        if d.scheme.is_none() {
            negatives += 1;
            fps += (r.level > Level::Public) as usize;
        }
        if !good {
            misses.push(format!(
                "{}: want {} got {} ({:?})",
                d.file,
                want,
                r.level,
                r.marking.as_ref().map(|m| &m.rule)
            ));
        }
    }
    CorpusResult {
        accuracy: ok as f64 / manifest.doc.len() as f64,
        negatives,
        false_positives: fps,
        per_scheme: per
            .into_iter()
            .map(|(k, t)| (k, (t.docs, t.level_ok)))
            .collect(),
        misses,
    }
}

#[test]
fn corpus_accuracy() {
    let r = run();
    println!("scheme        docs  level-correct  recall");
    for (k, (n, ok)) in &r.per_scheme {
        println!("{k:<13} {n:>4}  {ok:>13}  {:.2}", *ok as f64 / *n as f64);
    }
    println!(
        "level accuracy {:.3}; false positives on negatives {}/{} ({:.1} %)",
        r.accuracy,
        r.false_positives,
        r.negatives,
        100.0 * r.false_positives as f64 / r.negatives as f64
    );
    for m in &r.misses {
        println!("  miss {m}");
    }
    assert!(
        r.false_positives as f64 <= 0.01 * r.negatives as f64,
        "false positives above 1 %"
    );
}
