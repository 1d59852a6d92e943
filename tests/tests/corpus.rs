//! The labelled corpus (`tests/corpus/manifest.toml`): every document through the default
//! policy. Prints and asserts level accuracy (≥ 0.97) and false positives on negatives (≤ 1 %);
//! prints recall and precision per scheme and the attribute mismatches (scheme, label, period,
//! declassification date, condition) of the top marking.

use miji::{Level, Report, Scanner};
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
    /// Documents whose expected scheme is this one.
    docs: usize,
    /// … whose level came out right.
    level_ok: usize,
    /// … whose level and top-marking scheme came out right.
    scheme_ok: usize,
    /// Documents whose reported top marking has this scheme.
    reported: usize,
    /// … of which the expected scheme is this one.
    reported_ok: usize,
}

struct CorpusResult {
    docs: usize,
    accuracy: f64,
    negatives: usize,
    false_positives: usize,
    per_scheme: BTreeMap<String, Tally>,
    misses: Vec<String>,
    attribute_checks: usize,
    attribute_misses: Vec<String>,
}

/// Labels compare after case folding and the NFKC forms the corpus uses (Roman numerals,
/// full-width letters); see the corpus README, "Label normalisation".
fn same_label(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'Ⅰ' => "I".to_owned(),
                'Ⅱ' => "II".to_owned(),
                'Ⅲ' => "III".to_owned(),
                '\u{FF01}'..='\u{FF5E}' => {
                    char::from_u32(c as u32 - 0xFEE0).map_or(String::new(), String::from)
                }
                c => c.to_string(),
            })
            .collect::<String>()
            .to_lowercase()
    };
    norm(a) == norm(b)
}

fn attributes(d: &Doc, r: &Report, checks: &mut usize, out: &mut Vec<String>) {
    let m = r.marking.as_ref();
    let mut check = |what: &str, want: &Option<String>, got: Option<&str>, label: bool| {
        let Some(want) = want else { return };
        *checks += 1;
        let ok = got.is_some_and(|g| {
            if label {
                same_label(g, want)
            } else {
                g == want
            }
        });
        if !ok {
            out.push(format!("{}: {what} want {want:?} got {got:?}", d.file));
        }
    };
    check("scheme", &d.scheme, m.map(|m| m.scheme.as_str()), false);
    check("label", &d.label, m.map(|m| m.label.as_str()), true);
    check(
        "period",
        &d.period,
        m.and_then(|m| m.period.as_deref()),
        false,
    );
    check(
        "declassify_on",
        &d.declassify_on,
        m.and_then(|m| m.declassify_on.as_deref()),
        false,
    );
    check(
        "condition",
        &d.condition,
        m.and_then(|m| m.condition.as_deref()),
        false,
    );
}

fn run() -> CorpusResult {
    let root = miji_tests::root().join("tests/corpus");
    let manifest: Manifest =
        toml::from_str(&std::fs::read_to_string(root.join("manifest.toml")).unwrap()).unwrap();
    let scanner = Scanner::default();
    let mut per: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut ok, mut negatives, mut fps) = (0, 0, 0);
    let mut misses = Vec::new();
    let (mut attribute_checks, mut attribute_misses) = (0, Vec::new());
    for d in &manifest.doc {
        let text = std::fs::read(root.join(&d.file)).unwrap();
        let r = scanner.scan(&text);
        let want: Level = d.level.parse().unwrap();
        let good = r.level == want;
        ok += good as usize;
        let key = d.scheme.clone().unwrap_or_else(|| "(negative)".into());
        let got_scheme = r.marking.as_ref().map(|m| m.scheme.clone());
        {
            let t = per.entry(key.clone()).or_default();
            t.docs += 1;
            t.level_ok += good as usize;
            t.scheme_ok += (good && (d.scheme.is_none() || got_scheme == d.scheme)) as usize;
        }
        // precision counts documents whose top marking carries a level (a public-valued
        // marking such as UNCLASSIFIED on a negative is not a positive claim)
        if let Some(s) = got_scheme.as_ref().filter(|_| r.level > Level::Public) {
            let t = per.entry(s.clone()).or_default();
            t.reported += 1;
            t.reported_ok += (d.scheme.as_deref() == Some(s.as_str()) && good) as usize;
        }
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
        attributes(d, &r, &mut attribute_checks, &mut attribute_misses);
    }
    CorpusResult {
        docs: manifest.doc.len(),
        accuracy: ok as f64 / manifest.doc.len() as f64,
        negatives,
        false_positives: fps,
        per_scheme: per,
        misses,
        attribute_checks,
        attribute_misses,
    }
}

fn ratio(a: usize, b: usize) -> String {
    if b == 0 {
        "   -".to_owned()
    } else {
        format!("{:.2}", a as f64 / b as f64)
    }
}

#[test]
fn corpus_accuracy() {
    let r = run();
    println!("scheme        docs  level-ok  recall  scheme-ok  reported  precision");
    for (k, t) in &r.per_scheme {
        println!(
            "{k:<13} {:>4}  {:>8}  {:>6}  {:>9}  {:>8}  {:>9}",
            t.docs,
            t.level_ok,
            ratio(t.level_ok, t.docs),
            t.scheme_ok,
            t.reported,
            ratio(t.reported_ok, t.reported)
        );
    }
    println!(
        "level accuracy {:.3} over {} documents; false positives on negatives {}/{} ({:.1} %)",
        r.accuracy,
        r.docs,
        r.false_positives,
        r.negatives,
        100.0 * r.false_positives as f64 / r.negatives as f64
    );
    println!(
        "top-marking attributes: {}/{} as expected",
        r.attribute_checks - r.attribute_misses.len(),
        r.attribute_checks
    );
    for m in &r.misses {
        println!("  miss {m}");
    }
    for m in &r.attribute_misses {
        println!("  attribute {m}");
    }
    assert!(
        r.accuracy >= 0.97,
        "level accuracy {:.3} is below 0.97",
        r.accuracy
    );
    assert!(
        r.false_positives as f64 <= 0.01 * r.negatives as f64,
        "false positives above 1 %: {}/{}",
        r.false_positives,
        r.negatives
    );
    // Attributes of the top marking (scheme, label, period, dates, condition) are part of the
    // product: keep them nearly all right.
    assert!(
        r.attribute_misses.len() * 20 <= r.attribute_checks,
        "more than 5 % of top-marking attributes differ from the manifest"
    );
}
