//! Report printers: `text` for people, `json` (an array) and `jsonl` (one record a line) for
//! programs. Each record is rendered whole into a buffer before it is written.

use crate::Format;
use miji::{Report, TraceEntry};
use std::io::{self, Write};

/// Writes records in one format.
pub struct Printer<W: Write> {
    format: Format,
    out: W,
    count: usize,
}

impl<W: Write> Printer<W> {
    pub fn new(format: Format, out: W) -> Self {
        Printer {
            format,
            out,
            count: 0,
        }
    }

    pub fn begin(&mut self) -> io::Result<()> {
        if self.format == Format::Json {
            self.out.write_all(b"[")?;
        }
        Ok(())
    }

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
            Format::Text => render_text(&mut buf, r),
        }
        self.count += 1;
        self.out.write_all(buf.as_bytes())
    }

    pub fn end(&mut self) -> io::Result<()> {
        if self.format == Format::Json {
            self.out.write_all(b"\n]\n")?;
        }
        self.out.flush()
    }
}

fn render_text(buf: &mut String, r: &Report) {
    use std::fmt::Write as _;
    let path = r.path.as_deref().unwrap_or("<input>");
    let _ = write!(buf, "{path}: {} ({})", r.level, r.action);
    if !r.complete {
        buf.push_str(" INCOMPLETE");
    }
    buf.push('\n');
    if let Some(m) = &r.marking {
        let loc = Report::render_location(&m.location);
        let _ = write!(buf, "  marking {} [{}] {:?}", m.scheme, m.rule, m.text);
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
            f.kind_str(),
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
    for e in &r.errors {
        let loc = Report::render_location(&e.location);
        let _ = writeln!(
            buf,
            "  error {}: {}{}{}",
            e.kind,
            e.message,
            if loc.is_empty() { "" } else { " in " },
            loc
        );
    }
}

trait KindStr {
    fn kind_str(&self) -> &'static str;
}

impl KindStr for miji::Finding {
    fn kind_str(&self) -> &'static str {
        match self.kind {
            miji::FindingKind::Marking => "marking",
            miji::FindingKind::Keyword => "keyword",
            miji::FindingKind::Detector => "detector",
        }
    }
}

/// Prints the decision trace for `miji explain`.
pub fn write_trace(out: &mut impl Write, r: &Report, trace: &[TraceEntry]) -> io::Result<()> {
    let mut buf = String::new();
    render_text(&mut buf, r);
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
