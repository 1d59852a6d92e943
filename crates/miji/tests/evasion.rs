//! Evasion variants (`tests/data/evasion.toml`): full-width, traditional, zero-width, spaced,
//! dash and star variants find the same marking or dictionary term as the plain form, and the
//! finding's offsets cover the variant in the original text.

use miji::{PolicyBuilder, Scanner};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    kind: String,
    plain: String,
    variants: Vec<String>,
    #[serde(default)]
    terms: Vec<String>,
}

#[test]
fn evasion_variants_match_like_the_plain_form() {
    let data = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/evasion.toml"
    ))
    .unwrap();
    let file: File = toml::from_str(&data).unwrap();
    let default = Scanner::default();
    let mut failures = Vec::new();
    for c in &file.case {
        let scanner = if c.terms.is_empty() {
            default.clone()
        } else {
            Scanner::new(
                PolicyBuilder::new()
                    .dictionary("projects", c.terms.clone())
                    .build()
                    .unwrap(),
            )
        };
        let rule_of = |t: &str| {
            let r = scanner.scan(t);
            let f = r
                .findings
                .iter()
                .find(|f| c.kind == "marking" || f.rule == "dict.projects")
                .cloned();
            (r.level, f)
        };
        let (plain_level, plain_finding) = rule_of(&c.plain);
        assert!(
            plain_finding.is_some(),
            "plain form {:?} finds nothing",
            c.plain
        );
        for v in &c.variants {
            let (level, finding) = rule_of(v);
            let Some(f) = finding else {
                failures.push(format!("{v:?}: nothing found"));
                continue;
            };
            if c.kind == "marking" && level != plain_level {
                failures.push(format!("{v:?}: level {level} != {plain_level}"));
            }
            // the reported span is a char-boundary slice of the variant that folds to the plain match
            let slice = &v[f.start as usize..f.end as usize];
            let plain = plain_finding.as_ref().unwrap();
            let plain_slice = &c.plain[plain.start as usize..plain.end as usize];
            if miji::fold::fold_str(slice).to_lowercase()
                != miji::fold::fold_str(plain_slice).to_lowercase()
            {
                failures.push(format!(
                    "{v:?}: span {slice:?} does not fold to {plain_slice:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
