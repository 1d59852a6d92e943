//! The `miji` command: `scan` files, folders and standard input; `check` policy files;
//! `explain` one document's decisions; print the report `schema`.
//!
//! Exit status (contract §3), first that applies: 2 usage or policy error; 1 a record at or above
//! `--fail-on` / `--fail-on-action` (default: action `block`); 3 an input not read completely;
//! 0 otherwise.

mod input;
mod output;

use clap::{Args, Parser, Subcommand, ValueEnum};
use miji::{Action, Level, PolicyBuilder, Scanner};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Finds classification markings and sensitive content in files, mail and text.
#[derive(Debug, Parser)]
#[command(name = "miji", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan files, folders (walked) or standard input (`-`).
    Scan(ScanArgs),
    /// Check policy files: print coded diagnostics and run every rule's examples.
    Check(CheckArgs),
    /// Print the decision trace for one document.
    Explain(ExplainArgs),
    /// Print the JSON Schema of the report record.
    Schema,
}

#[derive(Debug, Args)]
struct PolicyArgs {
    /// A policy file (TOML). Extends the built-in default unless it says `extends = []`.
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// Do not load the built-in default policy.
    #[arg(long)]
    no_default_policy: bool,
    /// A word list (one term a line) added as the dictionary `dict.<file stem>`.
    #[arg(long = "dictionary", value_name = "FILE")]
    dictionaries: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Jsonl,
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// Files, folders or `-` for standard input (default: `-` when stdin is not a terminal).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Exit 1 when a record's level is at or above LEVEL.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    fail_on: Option<Level>,
    /// Exit 1 when a record's action is at or above ACTION (default: block, when --fail-on is not given).
    #[arg(long, value_name = "ACTION", value_parser = parse_action)]
    fail_on_action: Option<Action>,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Policy files to check.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Check the files alone, without the built-in default policy.
    #[arg(long)]
    no_default_policy: bool,
}

#[derive(Debug, Args)]
struct ExplainArgs {
    /// The document to explain (`-` for standard input).
    #[arg(value_name = "FILE")]
    path: PathBuf,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Print the trace as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

fn parse_action(s: &str) -> Result<Action, String> {
    s.parse()
}

const EXIT_FAIL: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_INCOMPLETE: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan(args),
        Command::Check(args) => check(args),
        Command::Explain(args) => explain(args),
        Command::Schema => print_out(&miji::report_json_schema()).map(|_| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("miji: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn print_out(s: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()
}

/// Builds the scanner, or prints diagnostics and returns `None`.
fn build_scanner(args: &PolicyArgs) -> Option<Scanner> {
    let mut b = PolicyBuilder::new().default_policy(!args.no_default_policy);
    for p in &args.policies {
        b = match b.policy_file(p) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{e}");
                return None;
            }
        };
    }
    for d in &args.dictionaries {
        let terms = match std::fs::read_to_string(d) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "error[P007]: cannot read dictionary: {e}\n --> {}",
                    d.display()
                );
                return None;
            }
        };
        let name = d
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dictionary".into());
        let terms: Vec<String> = terms
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        b = b.dictionary(name, terms);
    }
    match b.build() {
        Ok(p) => Some(Scanner::new(p)),
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

fn scan(mut args: ScanArgs) -> io::Result<u8> {
    let Some(scanner) = build_scanner(&args.policy) else {
        return Ok(EXIT_USAGE);
    };
    if args.paths.is_empty() {
        args.paths.push(PathBuf::from("-"));
    }
    let fail_action = match (args.fail_on, args.fail_on_action) {
        (None, None) => Some(Action::Block),
        (_, a) => a,
    };
    let extractor = miji_extract::Extractor::default();
    let mut printer = output::Printer::new(args.format, io::stdout().lock());
    let mut failed = false;
    let mut incomplete = false;
    let mut inputs = Vec::new();
    for p in &args.paths {
        input::walk(p, &mut inputs);
    }
    printer.begin()?;
    for item in inputs {
        let doc = input::read(&extractor, &item);
        let report = scanner.scan_document(doc);
        failed |= args.fail_on.is_some_and(|l| report.level >= l)
            || fail_action.is_some_and(|a| report.action >= a);
        incomplete |= !report.complete;
        printer.record(&report)?;
    }
    printer.end()?;
    Ok(if failed {
        EXIT_FAIL
    } else if incomplete {
        EXIT_INCOMPLETE
    } else {
        0
    })
}

fn check(args: CheckArgs) -> io::Result<u8> {
    let mut status = 0;
    for f in &args.files {
        let built = PolicyBuilder::new()
            .default_policy(!args.no_default_policy)
            .policy_file(f)
            .and_then(|b| b.build());
        match built {
            Err(e) => {
                eprintln!("{e}");
                status = EXIT_USAGE;
            }
            Ok(policy) => {
                let scanner = Scanner::new(policy);
                let failures = scanner.check_examples();
                for fl in &failures {
                    eprintln!(
                        "error[P015]: rule '{}' {} its example {:?}\n --> {}",
                        fl.rule,
                        if fl.expected_match {
                            "does not match"
                        } else {
                            "matches its no-match"
                        },
                        fl.example,
                        f.display()
                    );
                }
                if failures.is_empty() {
                    println!(
                        "{}: ok ({} rules, policy {})",
                        f.display(),
                        scanner.policy().rule_ids().count(),
                        scanner.policy().digest()
                    );
                } else {
                    status = EXIT_USAGE;
                }
            }
        }
    }
    Ok(status)
}

fn explain(args: ExplainArgs) -> io::Result<u8> {
    let Some(scanner) = build_scanner(&args.policy) else {
        return Ok(EXIT_USAGE);
    };
    let extractor = miji_extract::Extractor::default();
    let mut items = Vec::new();
    input::walk(&args.path, &mut items);
    let Some(item) = items.into_iter().next() else {
        return Ok(EXIT_USAGE);
    };
    let doc = input::read(&extractor, &item);
    let (report, trace) = scanner.explain_document(doc);
    let mut out = io::stdout().lock();
    if args.json {
        let v = serde_json::json!({ "report": report, "trace": trace });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        )?;
    } else {
        output::write_trace(&mut out, &report, &trace)?;
    }
    Ok(0)
}
