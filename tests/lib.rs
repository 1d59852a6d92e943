//! Shared helpers for the cross-crate tests (`tests/tests/`, `crates/*/tests/`): paths, the
//! semantic cases file, running the `miji` binary, validation against the committed schema.
#![allow(missing_docs)]

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One case of `tests/semantic/cases.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticCase {
    pub name: String,
    pub text: String,
    pub level: String,
    pub rule: Option<String>,
    pub period: Option<String>,
    pub condition: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CasesFile {
    case: Vec<SemanticCase>,
}

/// Loads the shared semantic cases.
pub fn semantic_cases() -> Vec<SemanticCase> {
    let text =
        std::fs::read_to_string(root().join("tests/semantic/cases.toml")).expect("cases.toml");
    toml::from_str::<CasesFile>(&text)
        .expect("cases.toml parses")
        .case
}

/// Runs the `miji` binary at `bin` with `args`, feeding `stdin`.
pub fn run_miji(bin: &Path, args: &[&str], stdin: Option<&[u8]>, cwd: &Path) -> Output {
    use std::io::Write;
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn miji");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    child.wait_with_output().expect("miji output")
}

/// The committed report schema as a validator.
pub fn report_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/report.v1.json")).expect("schema file"),
    )
    .expect("schema json");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// Validates one record against the committed schema, panicking with every error.
pub fn assert_valid_report(validator: &jsonschema::Validator, record: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(record)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "record does not match schema/report.v1.json: {errors:#?}\n{record}"
    );
}
