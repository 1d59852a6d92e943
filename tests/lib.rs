//! Shared helpers for the cross-crate tests in `tests/tests/`: paths, the semantic cases file,
//! the `miji` binary, and validation against the committed report schema.
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

/// The `miji` binary built by cargo for this workspace (built on first use).
pub fn miji_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root().join("target"));
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "miji-cli", "--bin", "miji"])
                .current_dir(root())
                .status()
                .expect("cargo build");
            assert!(status.success(), "building miji failed");
            target.join("debug/miji")
        })
        .clone()
}

/// Runs `miji` with `args`, feeding `stdin`.
pub fn run_miji(args: &[&str], stdin: Option<&[u8]>, cwd: &Path) -> Output {
    use std::io::Write;
    let mut child = Command::new(miji_bin())
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
