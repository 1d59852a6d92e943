//! The `miji` command: `scan` files, folders and standard input; `baseline create` a list of
//! accepted findings; `check` policy files; `explain` one document's decisions; print the
//! report `schema`.
//!
//! Exit status (contract §3), first that applies: 2 usage or policy error; 1 a record at or above
//! `--fail-on` / `--fail-on-action` (default: action `block`); 3 an input not read completely;
//! 0 otherwise. A closed standard output (`miji scan | head`) ends the scan quietly.
//!
//! The user guide of the command (flags, formats and their columns, cache, baseline, summary)
//! is `crates/miji-cli/README.md`.

mod baseline;
mod cache;
mod engine;
mod facts;
mod input;
mod output;
mod sarif;
mod summary;

use clap::{Args, Parser, Subcommand, ValueEnum};
use miji::{Action, Level, PolicyBuilder, Scanner};
use std::io::{self, IsTerminal, Write};
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
    /// Scan files, folders (walked in parallel) or standard input (`-`).
    Scan(ScanArgs),
    /// Record the findings of a scan as accepted, for `scan --baseline`.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Check policy files: print coded diagnostics and run every rule's examples.
    Check(CheckArgs),
    /// Print the decision trace for one document.
    Explain(ExplainArgs),
    /// Print the JSON Schema of the report record.
    Schema,
}

#[derive(Debug, Subcommand)]
enum BaselineCommand {
    /// Scan PATHs and write every finding's (path, fingerprint) to FILE.
    Create(BaselineCreateArgs),
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

/// How folders are walked and files read.
#[derive(Debug, Args)]
struct WalkArgs {
    /// Number of threads walking and scanning (default: the number of cores, at most 12).
    #[arg(short = 'j', long = "threads", value_name = "N")]
    threads: Option<usize>,
    /// Scan only files matching GLOB (gitignore syntax; repeatable; `--exclude` wins).
    #[arg(short = 'g', long = "glob", value_name = "GLOB")]
    globs: Vec<String>,
    /// Skip files and folders matching GLOB (gitignore syntax; repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    excludes: Vec<String>,
    /// Largest file read, with a K, M or G suffix; bigger files are records with a
    /// `limit.size` error, never silent skips. Default: 256M.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_filesize: Option<u64>,
    /// Follow symbolic links inside folders (loops are reported as `io` errors). Links named
    /// on the command line are always followed. Off by default: links are counted, not read.
    #[arg(short = 'L', long)]
    follow: bool,
    /// Do not read `.mijiignore` files (gitignore syntax; honoured by default).
    #[arg(long)]
    no_mijiignore: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people: one block per file, level and marking first (coloured on a terminal).
    Text,
    /// One JSON array of records.
    Json,
    /// One record a line.
    Jsonl,
    /// One row per finding, plus one row per record without findings.
    Csv,
    /// SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Never,
    Auto,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SortBy {
    /// Records in completion order (parallel workers: unordered, like ripgrep).
    None,
    /// Records sorted by path bytes (output held until the scan ends; always on for SARIF).
    Path,
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// Files, folders or `-` for standard input (default: `-` when stdin is not a terminal,
    /// else `.`).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    walk: WalkArgs,
    /// Exit 1 when a record's level is at or above LEVEL.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    fail_on: Option<Level>,
    /// Exit 1 when a record's action is at or above ACTION (default: block, when --fail-on is not given).
    #[arg(long, value_name = "ACTION", value_parser = parse_action)]
    fail_on_action: Option<Action>,
    /// Output order.
    #[arg(long, value_enum, default_value = "none")]
    sort: SortBy,
    /// Colours in text output: `auto` colours on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: ColorChoice,
    /// Print counts per level, action, scheme, rule and error kind, bytes read and throughput
    /// to standard error when the scan ends (text: lines; other formats: one JSON object).
    #[arg(long)]
    summary: bool,
    /// No progress bar and no per-file error lines on standard error.
    #[arg(short, long)]
    quiet: bool,
    /// Text format: also print records with nothing to report (public, allow, complete).
    #[arg(long)]
    show_clean: bool,
    /// Reuse results for unchanged files from FILE (created mode 0600, an append-only journal;
    /// an interrupted scan resumes from it). Holds no excerpts and no marking text.
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Report only findings whose (path, fingerprint) is not in FILE (`miji baseline create`);
    /// each record's level, marking and action are recomputed without them.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct BaselineCreateArgs {
    /// The baseline file to write.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Files or folders to scan (default: `.`).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    walk: WalkArgs,
    /// No per-file error lines on standard error.
    #[arg(short, long)]
    quiet: bool,
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

/// `123`, `64K`, `100M`, `2G` (powers of 1024; a trailing `B`/`iB` is accepted).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mul) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&t[..t.len() - 1], 1 << 20),
        Some('g' | 'G') => (&t[..t.len() - 1], 1 << 30),
        Some('t' | 'T') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| {
            format!("invalid size '{s}' (expected a number with an optional K, M or G suffix)")
        })
}

const EXIT_FAIL: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_INCOMPLETE: u8 = 3;

fn main() -> ExitCode {
    engine::give_walker_threads_stack();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan(args),
        Command::Baseline(BaselineCommand::Create(args)) => baseline_create(args),
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

/// The policy inputs of a run, read once: the scanner is built from them, and so are the
/// baseline's per-record variants (the same sources plus an allow-list).
#[derive(Debug)]
pub struct PolicySources {
    no_default: bool,
    files: Vec<(String, String, Option<String>)>,
    dictionaries: Vec<(String, Vec<String>)>,
}

impl PolicySources {
    /// Reads policy files and dictionaries, or prints the diagnostic and returns `None`.
    fn read(args: &PolicyArgs) -> Option<PolicySources> {
        let mut files = Vec::new();
        for p in &args.policies {
            match std::fs::read_to_string(p) {
                Ok(text) => files.push((
                    p.display().to_string(),
                    text,
                    p.parent().map(|d| d.display().to_string()),
                )),
                Err(_) => {
                    // The core's loader words the diagnostic (file, code, reason).
                    if let Err(e) = PolicyBuilder::new().policy_file(p) {
                        eprintln!("{e}");
                    }
                    return None;
                }
            }
        }
        let mut dictionaries = Vec::new();
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
            dictionaries.push((name, terms));
        }
        Some(PolicySources {
            no_default: args.no_default_policy,
            files,
            dictionaries,
        })
    }

    /// A builder holding every source.
    pub fn builder(&self) -> PolicyBuilder {
        let mut b = PolicyBuilder::new().default_policy(!self.no_default);
        for (name, text, base) in &self.files {
            b = b.source(name.clone(), text.clone(), base.clone());
        }
        for (name, terms) in &self.dictionaries {
            b = b.dictionary(name.clone(), terms.iter().cloned());
        }
        b
    }
}

/// Builds the scanner, or prints diagnostics and returns `None`.
fn build_scanner(args: &PolicyArgs) -> Option<(Scanner, PolicySources)> {
    let sources = PolicySources::read(args)?;
    match sources.builder().build() {
        Ok(p) => Some((Scanner::new(p), sources)),
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

fn extractor_for(walk: &WalkArgs) -> miji_extract::Extractor {
    let mut limits = miji_extract::Limits::default();
    if let Some(max) = walk.max_filesize {
        limits.max_size = max;
        limits.max_total_decompressed = limits.max_total_decompressed.max(max);
    }
    miji_extract::Extractor::new(limits)
}

fn walk_opts(walk: &WalkArgs) -> engine::WalkOpts {
    engine::WalkOpts {
        threads: walk.threads.unwrap_or(0),
        globs: walk.globs.clone(),
        excludes: walk.excludes.clone(),
        follow: walk.follow,
        mijiignore: !walk.no_mijiignore,
    }
}

fn default_paths(paths: &mut Vec<PathBuf>) {
    if paths.is_empty() {
        paths.push(PathBuf::from(if io::stdin().is_terminal() {
            "."
        } else {
            "-"
        }));
    }
}

fn color_enabled(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

fn scan(mut args: ScanArgs) -> io::Result<u8> {
    let Some((scanner, sources)) = build_scanner(&args.policy) else {
        return Ok(EXIT_USAGE);
    };
    default_paths(&mut args.paths);
    let fail_action = match (args.fail_on, args.fail_on_action) {
        (None, None) => Some(Action::Block),
        (_, a) => a,
    };
    let extractor = extractor_for(&args.walk);
    let baseline = match &args.baseline {
        None => None,
        Some(f) => match baseline::Baseline::load(f) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("miji: cannot read baseline {}: {e}", f.display());
                return Ok(EXIT_USAGE);
            }
        },
    };
    let cache = match &args.cache {
        None => None,
        Some(f) => {
            let config = cache::config_key(
                scanner.policy().digest(),
                baseline.as_ref().map(|b| b.digest()),
                extractor.limits(),
            );
            match cache::Cache::open(f, config) {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("miji: cannot use cache {}: {e}", f.display());
                    return Ok(EXIT_USAGE);
                }
            }
        }
    };
    let engine = engine::Engine::new(
        scanner.clone(),
        extractor,
        walk_opts(&args.walk),
        cache,
        baseline,
        sources,
    );
    let color = args.format == Format::Text && color_enabled(args.color);
    let stdout = io::stdout();
    let stdout_tty = stdout.is_terminal();
    let progress = (!args.quiet && io::stderr().is_terminal())
        .then(|| engine::progress_bar(&engine, &args.paths));
    let mut printer = output::Printer::new(
        args.format,
        io::BufWriter::with_capacity(64 << 10, stdout.lock()),
        output::Options {
            color,
            show_clean: args.show_clean,
            policy: scanner.policy().clone(),
        },
    );
    let mut summary = summary::Summary::default();
    let mut failed = false;
    let mut incomplete = false;
    let mut held = Vec::new();
    let report_errors = !args.quiet && args.format != Format::Text;
    printer.begin()?;
    let started = std::time::Instant::now();
    let run = engine.run(&args.paths, progress.as_ref(), |item| {
        let report = item.report;
        failed |= args.fail_on.is_some_and(|l| report.level >= l)
            || fail_action.is_some_and(|a| report.action >= a);
        incomplete |= !report.complete;
        summary.add(&report);
        if report_errors && !report.complete {
            let line = output::error_line(&report);
            match &progress {
                Some(pb) => pb.suspend(|| eprint!("{line}")),
                None => eprint!("{line}"),
            }
        }
        if args.sort == SortBy::Path || args.format == Format::Sarif {
            held.push((item.sort_key, report));
            return Ok(());
        }
        match &progress {
            Some(pb) if stdout_tty => pb.suspend(|| printer.record(&report)),
            _ => printer.record(&report),
        }
    });
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    let stats = run?;
    held.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, r) in &held {
        printer.record(r)?;
    }
    summary.finish(&stats, started.elapsed());
    if args.format == Format::Sarif {
        printer.set_summary(summary.to_json());
    }
    printer.end()?;
    drop(printer);
    if args.summary {
        let mut err = io::stderr().lock();
        if args.format == Format::Text {
            summary.write_text(&mut err)?;
        } else {
            writeln!(err, "{}", summary.to_json())?;
        }
    }
    Ok(if failed {
        EXIT_FAIL
    } else if incomplete {
        EXIT_INCOMPLETE
    } else {
        0
    })
}

fn baseline_create(mut args: BaselineCreateArgs) -> io::Result<u8> {
    let Some((scanner, sources)) = build_scanner(&args.policy) else {
        return Ok(EXIT_USAGE);
    };
    if args.paths.is_empty() {
        args.paths.push(PathBuf::from("."));
    }
    let engine = engine::Engine::new(
        scanner.clone(),
        extractor_for(&args.walk),
        walk_opts(&args.walk),
        None,
        None,
        sources,
    );
    let mut b = baseline::Baseline::new(scanner.policy().digest());
    let mut incomplete = false;
    engine.run(&args.paths, None, |item| {
        if !item.report.complete {
            incomplete = true;
            if !args.quiet {
                eprint!("{}", output::error_line(&item.report));
            }
        }
        b.add(&item.report);
        Ok(())
    })?;
    b.write(&args.file)?;
    if !args.quiet {
        eprintln!(
            "miji: baseline {} holds {} findings in {} files",
            args.file.display(),
            b.len(),
            b.files()
        );
    }
    Ok(if incomplete { EXIT_INCOMPLETE } else { 0 })
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
    let Some((scanner, _)) = build_scanner(&args.policy) else {
        return Ok(EXIT_USAGE);
    };
    let extractor = miji_extract::Extractor::default();
    let item = if args.path.as_os_str() == "-" {
        input::Input::Stdin
    } else {
        input::Input::File(args.path.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn defaults_admit_a_100_mb_text_file() {
        let Command::Scan(args) = Cli::try_parse_from(["miji", "scan"]).unwrap().command else {
            panic!("scan");
        };
        let limits = extractor_for(&args.walk).limits().clone();
        assert!(limits.max_size >= 100 << 20, "{limits:?}");
        let Command::Scan(args) = Cli::try_parse_from(["miji", "scan", "--max-filesize", "1G"])
            .unwrap()
            .command
        else {
            panic!("scan");
        };
        let limits = extractor_for(&args.walk).limits().clone();
        assert_eq!(limits.max_size, 1 << 30);
        assert!(limits.max_total_decompressed >= 1 << 30);
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
