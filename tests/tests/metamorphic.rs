//! Metamorphic tests driven by the labelled corpus (`tests/corpus/`) and
//! `tests/metamorphic/transforms.toml`.
//!
//! - Every positive whose level is above `public`, with each of its marking lines turned into a
//!   mention — moved mid-sentence into a body paragraph, quoted, put at the end of an
//!   enumeration of level words, or turned into a question — must come out `public`.
//! - Every negative, with a marking line (the top marking line of each positive) placed alone
//!   in a header segment and the negative as the body segment, must come out above `public`.

use miji::{FindingKind, Level, Report, Role, Scanner, Segment};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Deserialize)]
struct Manifest {
    doc: Vec<Doc>,
}

#[derive(Debug, Deserialize)]
struct Doc {
    file: String,
    level: String,
    scheme: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Transforms {
    script: BTreeMap<String, Script>,
    levels: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Script {
    sentence: String,
    question: String,
    quote: [String; 2],
    enumeration: String,
}

struct Corpus {
    /// (file, scheme, text) of positives above public.
    positives: Vec<(String, String, String)>,
    /// (file, text) of negatives.
    negatives: Vec<(String, String)>,
    transforms: Transforms,
}

fn corpus() -> Corpus {
    let root = miji_tests::root();
    let dir = root.join("tests/corpus");
    let manifest: Manifest =
        toml::from_str(&std::fs::read_to_string(dir.join("manifest.toml")).unwrap()).unwrap();
    let transforms: Transforms = toml::from_str(
        &std::fs::read_to_string(root.join("tests/metamorphic/transforms.toml")).unwrap(),
    )
    .unwrap();
    let mut positives = Vec::new();
    let mut negatives = Vec::new();
    for d in manifest.doc {
        let text = std::fs::read_to_string(dir.join(&d.file)).unwrap();
        match d.scheme {
            Some(scheme) if d.level.parse::<Level>().unwrap() > Level::Public => {
                positives.push((d.file, scheme, text))
            }
            Some(_) => {}
            None => negatives.push((d.file, text)),
        }
    }
    Corpus {
        positives,
        negatives,
        transforms,
    }
}

/// Byte ranges of the lines holding a marking finding above `public`, in order, without
/// duplicates.
fn marking_lines(text: &str, report: &Report) -> Vec<(usize, usize)> {
    let mut lines = BTreeSet::new();
    for f in &report.findings {
        if f.kind != FindingKind::Marking || f.level.is_none_or(|l| l == Level::Public) {
            continue;
        }
        let (s, e) = (f.start as usize, f.end as usize);
        let ls = text[..s].rfind('\n').map_or(0, |x| x + 1);
        let le = text[e..].find('\n').map_or(text.len(), |x| x + e);
        lines.insert((ls, le));
    }
    lines.into_iter().collect()
}

/// The script family of a marking, for the sentence templates.
fn script(scheme: &str, marking: &str) -> &'static str {
    let has = |r: std::ops::RangeInclusive<u32>| marking.chars().any(|c| r.contains(&(c as u32)));
    match scheme {
        "jp" => "ja",
        "kr" => "ko",
        "ru" => "ru",
        _ if has(0x3400..=0x9FFF) => "zh",
        _ if has(0xAC00..=0xD7AF) => "ko",
        _ if has(0x0400..=0x04FF) => "ru",
        _ => "latin",
    }
}

/// The visible marking of a line: trimmed, without a page break in front.
fn marking_of(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace())
}

/// Replaces every marking line through `f(marking) -> replacement` (keeping a page break that
/// opened the line).
fn replace_lines(text: &str, lines: &[(usize, usize)], f: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut pos = 0;
    for &(ls, le) in lines {
        out.push_str(&text[pos..ls]);
        let line = &text[ls..le];
        if line.starts_with('\u{c}') {
            out.push('\u{c}');
        }
        out.push_str(&f(marking_of(line)));
        pos = le;
    }
    out.push_str(&text[pos..]);
    out
}

/// Removes the marking lines and puts each distinct marking mid-sentence into the longest
/// remaining line (a body paragraph).
fn move_mid_sentence(text: &str, lines: &[(usize, usize)], sentence: &str) -> String {
    let mut markings: Vec<&str> = Vec::new();
    for &(ls, le) in lines {
        let m = marking_of(&text[ls..le]);
        if !markings.contains(&m) {
            markings.push(m);
        }
    }
    let removed = replace_lines(text, lines, |_| String::new());
    let longest = removed
        .lines()
        .enumerate()
        .max_by_key(|(_, l)| l.chars().count())
        .map(|(i, _)| i)
        .unwrap_or(0);
    let mut out = String::with_capacity(removed.len() + 256);
    for (i, l) in removed.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(l);
        if i == longest {
            for m in &markings {
                out.push(' ');
                out.push_str(&sentence.replace("{m}", m));
            }
        }
    }
    out
}

#[test]
fn positives_turned_into_mentions_become_public() {
    let c = corpus();
    let scanner = Scanner::default();
    let mut failures = Vec::new();
    let mut runs = 0;
    for (file, scheme, text) in &c.positives {
        let report = scanner.scan(text);
        let lines = marking_lines(text, &report);
        assert!(!lines.is_empty(), "{file}: no marking line found");
        let top = marking_of(&text[lines[0].0..lines[0].1]);
        let s = &c.transforms.script[script(scheme, top)];
        let [a, b] = match c.transforms.levels.get(scheme.as_str()) {
            Some(v) if v.len() >= 2 => [v[0].as_str(), v[1].as_str()],
            _ => panic!("transforms.toml has no two levels for scheme {scheme}"),
        };
        let variants: [(&str, String); 4] = [
            ("mid-sentence", move_mid_sentence(text, &lines, &s.sentence)),
            (
                "quoted",
                replace_lines(text, &lines, |m| format!("{}{m}{}", s.quote[0], s.quote[1])),
            ),
            (
                "enumeration",
                replace_lines(text, &lines, |m| {
                    s.enumeration
                        .replace("{a}", a)
                        .replace("{b}", b)
                        .replace("{m}", m)
                }),
            ),
            (
                "question",
                replace_lines(text, &lines, |m| s.question.replace("{m}", m)),
            ),
        ];
        for (name, variant) in variants {
            runs += 1;
            let r = scanner.scan(&variant);
            if r.level != Level::Public {
                let m = r.marking.as_ref();
                failures.push(format!(
                    "{file} [{name}]: got {} via {:?} on {:?}",
                    r.level,
                    m.map(|m| &m.rule),
                    m.map(|m| &m.text)
                ));
            }
        }
    }
    println!(
        "{runs} mention variants of {} positives, {} not public",
        c.positives.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} variants kept a level:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn negatives_with_a_header_marking_become_positive() {
    let c = corpus();
    let scanner = Scanner::default();
    // the top marking line of every positive, once each
    let mut headers: Vec<(String, String)> = Vec::new();
    for (file, _, text) in &c.positives {
        let report = scanner.scan(text);
        let m = report.marking.as_ref().expect("a positive has a marking");
        let f = report
            .findings
            .iter()
            .find(|f| {
                f.kind == FindingKind::Marking
                    && f.rule == m.rule
                    && f.excerpt.as_deref() == Some(m.text.as_str())
            })
            .expect("the top marking has a finding");
        let (s, e) = (f.start as usize, f.end as usize);
        let ls = text[..s].rfind('\n').map_or(0, |x| x + 1);
        let le = text[e..].find('\n').map_or(text.len(), |x| x + e);
        let line = marking_of(&text[ls..le]).to_owned();
        if !headers.iter().any(|h| h.1 == line) {
            headers.push((file.clone(), line));
        }
    }
    let mut failures = Vec::new();
    let mut runs = 0;
    for (neg, body) in &c.negatives {
        for (from, line) in &headers {
            runs += 1;
            let r = scanner.scan_segments([
                Segment::new(line.clone(), vec!["word/header1.xml".into()], Role::Header),
                Segment::new(body.clone(), vec!["word/document.xml".into()], Role::Body),
            ]);
            if r.level == Level::Public {
                failures.push(format!("{neg} + header {line:?} (from {from})"));
            }
        }
    }
    println!(
        "{runs} header variants ({} negatives x {} marking lines), {} stayed public",
        c.negatives.len(),
        headers.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} variants stayed public:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
