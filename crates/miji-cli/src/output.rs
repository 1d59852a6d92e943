//! Report printers. Every record is rendered whole into a buffer before it is written, and only
//! the consumer thread writes, so lines never interleave.
//!
//! - `text`: for people. One block per record: `path: level (action)` (coloured), then the top
//!   marking, then one line per finding (`line:column kind rule (confidence) "excerpt" in
//!   location`), then errors. Records with nothing to report are left out unless
//!   `--show-clean`.
//! - `jsonl`: one record a line (contract §2). `json`: one array of records.
//! - `csv`: see [`CSV_COLUMNS`]: one row per finding, and one row for a record without findings
//!   (its finding columns empty), after a header row. RFC 4180 quoting; a text cell that starts
//!   with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` so spreadsheets do not run it.
//! - `sarif`: SARIF 2.1.0, see [`crate::sarif`].

use crate::Format;
use crate::sarif::Sarif;
use miji::{Policy, Report, TraceEntry};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;

/// The CSV header, in order. Record columns repeat on every row of a record.
///
/// `path`, `path_bytes` (base64, non-UTF-8 names only), `bytes`, `level`, `action`, `complete`
/// (`true`/`false`), `marking_scheme`, `marking_label`, `marking_level` (the record's top
/// marking), `errors` (`kind: message` joined by ` | `), `sha256`, `mtime`, `owner`, `mode`;
/// then the finding: `kind`, `rule`, `category`, `finding_level` (markings), `confidence`,
/// `location` (components joined with `!/`), `role`, `line`, `column`, `start`, `end` (UTF-8
/// byte offsets), `excerpt`, `fingerprint`.
pub const CSV_COLUMNS: &[&str] = &[
    "path",
    "path_bytes",
    "bytes",
    "level",
    "action",
    "complete",
    "marking_scheme",
    "marking_label",
    "marking_level",
    "errors",
    "sha256",
    "mtime",
    "owner",
    "mode",
    "kind",
    "rule",
    "category",
    "finding_level",
    "confidence",
    "location",
    "role",
    "line",
    "column",
    "start",
    "end",
    "excerpt",
    "fingerprint",
];

/// Printer settings.
#[derive(Debug)]
pub struct Options {
    /// ANSI colours in text output.
    pub color: bool,
    /// Print clean records in text output.
    pub show_clean: bool,
    /// The policy (SARIF rule descriptions).
    pub policy: Arc<Policy>,
}

/// Writes records in one format.
pub struct Printer<W: Write> {
    format: Format,
    out: W,
    opts: Options,
    count: usize,
    sarif: Option<Sarif>,
}

impl<W: Write> Printer<W> {
    /// A printer writing to `out`.
    pub fn new(format: Format, out: W, opts: Options) -> Self {
        let sarif = (format == Format::Sarif).then(|| Sarif::new(opts.policy.clone()));
        Printer {
            format,
            out,
            opts,
            count: 0,
            sarif,
        }
    }

    /// Writes what comes before the first record.
    pub fn begin(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => self.out.write_all(b"["),
            Format::Csv => {
                let mut buf = CSV_COLUMNS.join(",");
                buf.push_str("\r\n");
                self.out.write_all(buf.as_bytes())
            }
            _ => Ok(()),
        }
    }

    /// Writes one record.
    pub fn record(&mut self, r: &Report) -> io::Result<()> {
        let mut buf = String::new();
        match self.format {
            Format::Jsonl => {
                buf.push_str(&r.to_json());
                buf.push('\n');
            }
            Format::Json => {
                if self.count > 0 {
                    buf.push(',');
                }
                buf.push('\n');
                buf.push_str(&r.to_json_pretty());
            }
            Format::Text => {
                if self.opts.show_clean || !is_clean(r) {
                    render_text(&mut buf, r, self.opts.color);
                }
            }
            Format::Csv => render_csv(&mut buf, r),
            Format::Sarif => {
                if let Some(s) = &mut self.sarif {
                    s.add(r);
                }
            }
        }
        self.count += 1;
        self.out.write_all(buf.as_bytes())
    }

    /// Sets the SARIF run's `properties.summary`.
    pub fn set_summary(&mut self, summary: serde_json::Value) {
        if let Some(s) = &mut self.sarif {
            s.summary = Some(summary);
        }
    }

    /// Writes what comes after the last record, and flushes.
    pub fn end(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => self.out.write_all(b"\n]\n")?,
            Format::Sarif => {
                if let Some(s) = self.sarif.take() {
                    let mut text =
                        serde_json::to_string_pretty(&s.finish()).map_err(io::Error::other)?;
                    text.push('\n');
                    self.out.write_all(text.as_bytes())?;
                }
            }
            _ => {}
        }
        self.out.flush()
    }
}

/// Nothing to report: public, allow, complete, no findings.
pub fn is_clean(r: &Report) -> bool {
    r.complete
        && r.findings.is_empty()
        && r.level == miji::Level::Public
        && r.action == miji::Action::Allow
}

/// `miji: path: kind: message` lines for an incomplete record (standard error).
pub fn error_line(r: &Report) -> String {
    let path = r.path.as_deref().unwrap_or("<input>");
    let mut s = String::new();
    for e in &r.errors {
        let loc = Report::render_location(&e.location);
        let _ = writeln!(
            s,
            "miji: {path}{}{loc}: {}: {}",
            if loc.is_empty() { "" } else { "!/" },
            e.kind,
            e.message
        );
    }
    s
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, buf: &mut String, code: &str, text: &str) {
        if self.0 {
            let _ = write!(buf, "\x1b[{code}m{text}\x1b[0m");
        } else {
            buf.push_str(text);
        }
    }
}

fn level_color(l: miji::Level) -> &'static str {
    match l {
        miji::Level::TopSecret => "1;31",
        miji::Level::Secret => "31",
        miji::Level::Confidential => "33",
        miji::Level::Internal => "36",
        _ => "32",
    }
}

fn action_color(a: miji::Action) -> &'static str {
    match a {
        miji::Action::Block => "1;31",
        miji::Action::Redact => "33",
        miji::Action::Warn => "36",
        _ => "32",
    }
}

fn render_text(buf: &mut String, r: &Report, color: bool) {
    let p = Paint(color);
    let path = r.path.as_deref().unwrap_or("<input>");
    p.wrap(buf, "1", path);
    buf.push_str(": ");
    p.wrap(buf, level_color(r.level), r.level.as_str());
    buf.push_str(" (");
    p.wrap(buf, action_color(r.action), r.action.as_str());
    buf.push(')');
    if !r.complete {
        buf.push(' ');
        p.wrap(buf, "35", "INCOMPLETE");
    }
    buf.push('\n');
    if let Some(m) = &r.marking {
        let loc = Report::render_location(&m.location);
        let text = if m.text.is_empty() { &m.label } else { &m.text };
        let _ = write!(buf, "  marking {} [{}] {:?}", m.scheme, m.rule, text);
        if !loc.is_empty() {
            let _ = write!(buf, " in {loc}");
        }
        for (k, v) in [
            ("period", &m.period),
            ("declassify on", &m.declassify_on),
            ("condition", &m.condition),
        ] {
            if let Some(v) = v {
                let _ = write!(buf, ", {k} {v}");
            }
        }
        buf.push('\n');
    }
    for f in &r.findings {
        let loc = Report::render_location(&f.location);
        let _ = write!(
            buf,
            "  {}:{} {} {} ({})",
            f.line,
            f.column,
            kind_str(f.kind),
            f.rule,
            f.confidence
        );
        if let Some(e) = &f.excerpt {
            let _ = write!(buf, " {e:?}");
        }
        if !loc.is_empty() {
            let _ = write!(buf, " in {loc}");
        }
        buf.push('\n');
    }
    if let Some(t) = &r.truncated {
        let _ = writeln!(buf, "  … {} findings in all", t.findings);
    }
    for e in &r.errors {
        let loc = Report::render_location(&e.location);
        buf.push_str("  ");
        p.wrap(buf, "35", &format!("error {}", e.kind));
        let _ = writeln!(
            buf,
            ": {}{}{}",
            e.message,
            if loc.is_empty() { "" } else { " in " },
            loc
        );
    }
}

/// The name of a finding kind.
pub fn kind_str(k: miji::FindingKind) -> &'static str {
    match k {
        miji::FindingKind::Marking => "marking",
        miji::FindingKind::Keyword => "keyword",
        miji::FindingKind::Detector => "detector",
    }
}

fn csv_cell(buf: &mut String, value: &str, text: bool) {
    let guarded;
    let v = if text && value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value != "-" {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if v.contains([',', '"', '\r', '\n']) {
        buf.push('"');
        buf.push_str(&v.replace('"', "\"\""));
        buf.push('"');
    } else {
        buf.push_str(v);
    }
}

fn render_csv(buf: &mut String, r: &Report) {
    let file = r.file.clone().unwrap_or_default();
    let errors = r
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.kind, e.message))
        .collect::<Vec<_>>()
        .join(" | ");
    let record: Vec<(String, bool)> = vec![
        (r.path.clone().unwrap_or_default(), true),
        (r.path_bytes.clone().unwrap_or_default(), false),
        (r.bytes.to_string(), false),
        (r.level.to_string(), false),
        (r.action.to_string(), false),
        (r.complete.to_string(), false),
        (
            r.marking
                .as_ref()
                .map(|m| m.scheme.clone())
                .unwrap_or_default(),
            true,
        ),
        (
            r.marking
                .as_ref()
                .map(|m| m.label.clone())
                .unwrap_or_default(),
            true,
        ),
        (
            r.marking
                .as_ref()
                .map(|m| m.level.to_string())
                .unwrap_or_default(),
            false,
        ),
        (errors, true),
        (file.sha256.unwrap_or_default(), false),
        (file.mtime.unwrap_or_default(), false),
        (file.owner.map(|o| o.to_string()).unwrap_or_default(), false),
        (file.mode.unwrap_or_default(), false),
    ];
    let mut row = |finding: &[(String, bool)]| {
        for (i, (v, text)) in record.iter().chain(finding).enumerate() {
            if i > 0 {
                buf.push(',');
            }
            csv_cell(buf, v, *text);
        }
        buf.push_str("\r\n");
    };
    if r.findings.is_empty() {
        let empty = vec![(String::new(), false); CSV_COLUMNS.len() - record.len()];
        row(&empty);
    }
    for f in &r.findings {
        let cells = vec![
            (kind_str(f.kind).to_owned(), false),
            (f.rule.clone(), true),
            (f.category.clone().unwrap_or_default(), true),
            (f.level.map(|l| l.to_string()).unwrap_or_default(), false),
            (f.confidence.to_string(), false),
            (Report::render_location(&f.location), true),
            (f.role.to_string(), false),
            (f.line.to_string(), false),
            (f.column.to_string(), false),
            (f.start.to_string(), false),
            (f.end.to_string(), false),
            (f.excerpt.clone().unwrap_or_default(), true),
            (f.fingerprint.clone(), false),
        ];
        row(&cells);
    }
}

/// Prints the decision trace for `miji explain`.
pub fn write_trace(out: &mut impl Write, r: &Report, trace: &[TraceEntry]) -> io::Result<()> {
    let mut buf = String::new();
    render_text(&mut buf, r, false);
    out.write_all(buf.as_bytes())?;
    writeln!(out, "decisions ({}):", trace.len())?;
    for t in trace {
        let loc = Report::render_location(&t.location);
        write!(
            out,
            "  line {} {} [{}] {:?} -> {}",
            t.line, t.rule, t.role, t.text, t.verdict
        )?;
        if let Some(c) = t.confidence {
            write!(out, " (confidence {c})")?;
        }
        if !loc.is_empty() {
            write!(out, " in {loc}")?;
        }
        writeln!(out)?;
        if !t.cues_for.is_empty() {
            writeln!(out, "      for: {}", t.cues_for.join(", "))?;
        }
        if !t.cues_against.is_empty() {
            writeln!(out, "      against: {}", t.cues_against.join("; "))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_guarded() {
        let mut b = String::new();
        csv_cell(&mut b, "a,b \"c\"", true);
        assert_eq!(b, "\"a,b \"\"c\"\"\"");
        b.clear();
        csv_cell(&mut b, "=HYPERLINK(1)", true);
        assert_eq!(b, "'=HYPERLINK(1)");
        b.clear();
        csv_cell(&mut b, "-", true);
        assert_eq!(b, "-");
    }
}
