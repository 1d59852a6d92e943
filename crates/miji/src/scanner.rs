//! The scanner: runs a compiled [`Policy`] over segments and builds the [`Report`].
//!
//! Per segment: fold → one overlapping pass of the literal gate (plus a second over the lines
//! that hold traditional characters, after simplifying them) → marking rules evaluated on
//! the lines the gate pointed at, dictionary hits checked, gated detectors run → offsets mapped
//! back to the original text. Per document: repetition cues, thresholds, allow-lists,
//! `min_count`, level, marking, action, members, truncation.

use crate::fold::{Folded, fold_for_gate};
use crate::level::{Confidence, Level};
use crate::mask::{MaskStyle, mask};
use crate::policy::{
    Cue, CueEffect, CueScope, ExcerptSetting, Policy, PolicyBuilder, Target, normalise_label,
};
use crate::report::*;
use crate::segment::{Document, Segment};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

/// A compiled policy ready to scan. Cheap to clone (an `Arc`), immutable, `Send + Sync`.
///
/// ```
/// let scanner = miji::Scanner::default();
/// let report = scanner.scan("机密★10年\n关于天穹计划的通知");
/// assert_eq!(report.level, miji::Level::Secret);
/// assert_eq!(scanner.scan("国家秘密的密级分为绝密、机密、秘密三级。").level, miji::Level::Public);
/// ```
#[derive(Debug, Clone)]
pub struct Scanner {
    policy: Arc<Policy>,
    /// Segments longer than this are scanned in line-aligned pieces (see `DocScan::segment`).
    piece_bytes: usize,
}

/// Default piece size: the folded copy, its offset map and the gate's reads of a piece stay in
/// the cache, and the allocator reuses the buffers instead of mapping fresh pages per segment.
const PIECE_BYTES: usize = 4 << 20;

impl Default for Scanner {
    /// The built-in default policy. The embedded packs are checked by the test suite, so this
    /// cannot fail in a released build.
    fn default() -> Scanner {
        Scanner::new(
            PolicyBuilder::new()
                .build()
                .expect("the embedded default policy compiles"),
        )
    }
}

/// One step of the decision trace for a marking candidate (what `miji explain` prints).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceEntry {
    /// The marking rule.
    pub rule: String,
    /// Its scheme.
    pub scheme: String,
    /// Location of the segment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<String>,
    /// Role of the segment.
    pub role: Role,
    /// 1-based line.
    pub line: u64,
    /// The candidate's text as found (a marking, or the keyword that was seen).
    pub text: String,
    /// The level it would carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Cues that speak for a marking.
    pub cues_for: Vec<String>,
    /// Cues that speak against it, or why it is a mention.
    pub cues_against: Vec<String>,
    /// Resulting confidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    /// `marking`, or `mention`, `below-threshold`, `uncorroborated`, `allowed`.
    pub verdict: String,
}

impl Scanner {
    /// A scanner over a compiled policy.
    pub fn new(policy: Policy) -> Scanner {
        Scanner::from_arc(Arc::new(policy))
    }

    /// A scanner sharing an already compiled policy.
    pub fn from_arc(policy: Arc<Policy>) -> Scanner {
        Scanner {
            policy,
            piece_bytes: PIECE_BYTES,
        }
    }

    /// Sets the size of the pieces long segments are scanned in (default 4 MiB, at least one
    /// line each). The report does not depend on it; tests set it small to prove that.
    #[doc(hidden)]
    pub fn with_piece_bytes(mut self, bytes: usize) -> Scanner {
        self.piece_bytes = bytes.max(1);
        self
    }

    /// A policy builder (start here for dictionaries and policy files).
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::new()
    }

    /// The compiled policy.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// Scans plain text: a `&str`/`String` as it is, bytes as UTF-8 (invalid sequences are
    /// replaced, never a panic).
    pub fn scan(&self, input: impl ScanInput) -> Report {
        let text = input.text();
        let mut st = DocScan::new(&self.policy, self.piece_bytes, false);
        st.segment(&text, &[], Role::Body);
        st.finish(DocMeta {
            bytes: text.original_len as u64,
            ..DocMeta::default()
        })
    }

    /// Scans extracted segments as one document.
    pub fn scan_segments(&self, segments: impl IntoIterator<Item = Segment>) -> Report {
        let mut st = DocScan::new(&self.policy, self.piece_bytes, false);
        let mut bytes = 0u64;
        for s in segments {
            bytes += s.text.len() as u64;
            st.segment(&s.text, &s.location, s.role);
        }
        st.finish(DocMeta {
            bytes,
            ..DocMeta::default()
        })
    }

    /// Scans an extracted document (segments plus coverage errors and members).
    pub fn scan_document(&self, doc: Document) -> Report {
        self.run_document(doc, false).0
    }

    /// Scans a document and returns the decision trace of every marking candidate.
    pub fn explain_document(&self, doc: Document) -> (Report, Vec<TraceEntry>) {
        self.run_document(doc, true)
    }

    /// Scans plain text and returns the decision trace.
    pub fn explain(&self, input: impl ScanInput) -> (Report, Vec<TraceEntry>) {
        let text = input.text();
        let doc = Document {
            bytes: text.original_len as u64,
            segments: vec![Segment::new(text.text.into_owned(), Vec::new(), Role::Body)],
            ..Document::default()
        };
        self.run_document(doc, true)
    }

    fn run_document(&self, doc: Document, trace: bool) -> (Report, Vec<TraceEntry>) {
        let mut st = DocScan::new(&self.policy, self.piece_bytes, trace);
        for s in &doc.segments {
            st.segment(&s.text, &s.location, s.role);
        }
        let meta = DocMeta {
            path: doc.path,
            path_bytes: doc.path_bytes,
            bytes: doc.bytes,
            errors: doc.errors,
            encoding: doc.encoding,
            members: doc.members,
        };
        st.finish_traced(meta)
    }

    /// Returns `text` with every keyword and detector finding replaced by its mask (markings
    /// only where the policy gives the marking rule a mask). Overlapping findings are merged.
    pub fn redact(&self, text: &str) -> String {
        let report = self.scan(text);
        redact_with(&self.policy, text, &report.findings)
    }
}

/// What [`Scanner::scan`] accepts: text (`&str`, `String`), used as it is, or bytes (`&[u8]`,
/// `Vec<u8>`, `b"..."`), read as UTF-8 with invalid sequences replaced. Text skips the UTF-8
/// check that `AsRef<[u8]>` would force on it (5 % of a scan's time on large inputs).
pub trait ScanInput {
    /// The input as text, and its length in bytes before any replacement.
    fn text(&self) -> InputText<'_>;
}

/// An input's text (see [`ScanInput`]).
#[derive(Debug)]
pub struct InputText<'a> {
    text: std::borrow::Cow<'a, str>,
    original_len: usize,
}

impl std::ops::Deref for InputText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl InputText<'_> {
    fn borrowed(text: &str) -> InputText<'_> {
        InputText {
            text: std::borrow::Cow::Borrowed(text),
            original_len: text.len(),
        }
    }

    fn from_bytes(bytes: &[u8]) -> InputText<'_> {
        InputText {
            text: match simdutf8::basic::from_utf8(bytes) {
                Ok(text) => std::borrow::Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            },
            original_len: bytes.len(),
        }
    }
}

impl ScanInput for str {
    fn text(&self) -> InputText<'_> {
        InputText::borrowed(self)
    }
}

impl ScanInput for String {
    fn text(&self) -> InputText<'_> {
        InputText::borrowed(self)
    }
}

impl ScanInput for std::borrow::Cow<'_, str> {
    fn text(&self) -> InputText<'_> {
        InputText::borrowed(self)
    }
}

impl ScanInput for [u8] {
    fn text(&self) -> InputText<'_> {
        InputText::from_bytes(self)
    }
}

impl<const N: usize> ScanInput for [u8; N] {
    fn text(&self) -> InputText<'_> {
        InputText::from_bytes(self)
    }
}

impl ScanInput for Vec<u8> {
    fn text(&self) -> InputText<'_> {
        InputText::from_bytes(self)
    }
}

impl<T: ScanInput + ?Sized> ScanInput for &T {
    fn text(&self) -> InputText<'_> {
        (**self).text()
    }
}

/// A rule example that did not behave as its pack declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule.
    pub rule: String,
    /// The example text.
    pub example: String,
    /// `true` when the rule should have fired and did not.
    pub expected_match: bool,
}

impl Scanner {
    /// Scans every rule's `examples.match` / `examples.no-match` with this policy and returns
    /// the ones that misbehave (`miji check` and the pack test use it).
    pub fn check_examples(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        for ex in self.policy.examples() {
            for (texts, expected) in [(&ex.must_match, true), (&ex.must_not_match, false)] {
                for t in texts {
                    // A rule fires when it reads a corroborated marking, even where another
                    // rule's reading of the same text wins (`superseded`).
                    let (report, trace) = self.explain(t);
                    let fired = report.findings.iter().any(|f| f.rule == ex.rule)
                        || trace
                            .iter()
                            .any(|e| e.rule == ex.rule && e.verdict == "superseded");
                    if fired != expected {
                        failures.push(ExampleFailure {
                            rule: ex.rule.clone(),
                            example: t.clone(),
                            expected_match: expected,
                        });
                    }
                }
            }
        }
        failures
    }
}

/// Applies redaction for `findings` (of a plain-text scan of `text`).
pub fn redact_with(policy: &Policy, text: &str, findings: &[Finding]) -> String {
    let mut spans: Vec<(usize, usize, String, MaskStyle)> = Vec::new();
    for f in findings {
        let Some(meta) = policy.rules.iter().find(|r| r.id == f.rule) else {
            continue;
        };
        let style = match (f.kind, meta.mask) {
            (FindingKind::Marking, MaskStyle::None) => continue,
            (_, MaskStyle::None) => MaskStyle::Redact,
            (_, s) => s,
        };
        spans.push((f.start as usize, f.end as usize, f.rule.clone(), style));
    }
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut i = 0;
    while i < spans.len() {
        let (start, mut end, rule, style) = spans[i].clone();
        let mut merged = false;
        let mut j = i + 1;
        while j < spans.len() && spans[j].0 < end {
            end = end.max(spans[j].1);
            merged = true;
            j += 1;
        }
        if start < pos
            || end > text.len()
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            i = j;
            continue;
        }
        out.push_str(&text[pos..start]);
        let style = if merged { MaskStyle::Redact } else { style };
        out.push_str(&mask(&text[start..end], style, &rule));
        pos = end;
        i = j;
    }
    out.push_str(&text[pos..]);
    out
}

#[derive(Debug, Default)]
struct DocMeta {
    path: Option<String>,
    path_bytes: Option<Vec<u8>>,
    bytes: u64,
    errors: Vec<RecordError>,
    encoding: Option<String>,
    members: Vec<Vec<String>>,
}

/// A marking candidate whose shape matched.
#[derive(Debug)]
struct Candidate {
    order: usize,
    marking: usize,
    seg: usize,
    location: Vec<String>,
    role: Role,
    start: usize,
    end: usize,
    line: u64,
    column: u64,
    text: String,
    norm: String,
    level: Level,
    label: String,
    period: Option<String>,
    declassify_on: Option<String>,
    condition: Option<String>,
    caveats: Vec<String>,
    cues: Vec<Cue>,
    /// Negative cues found (description, effect).
    against: Vec<(String, CueEffect)>,
}

/// A keyword or detector finding before document-level filters.
#[derive(Debug)]
struct Pending {
    order: usize,
    finding: Finding,
    norm: String,
    rule: usize,
}

struct DocScan<'p> {
    policy: &'p Policy,
    candidates: Vec<Candidate>,
    pending: Vec<Pending>,
    seg_index: usize,
    order: usize,
    trace: Option<Vec<TraceEntry>>,
    /// Document-scope negative cues seen: (cue index, line).
    doc_cues: Vec<(usize, u64)>,
    piece_bytes: usize,
}

impl<'p> DocScan<'p> {
    fn new(policy: &'p Policy, piece_bytes: usize, trace: bool) -> DocScan<'p> {
        DocScan {
            piece_bytes,
            policy,
            candidates: Vec::new(),
            pending: Vec::new(),
            seg_index: 0,
            order: 0,
            trace: trace.then(Vec::new),
            doc_cues: Vec::new(),
        }
    }

    fn segment(&mut self, text: &str, location: &[String], role: Role) {
        let seg = self.seg_index;
        self.seg_index += 1;
        if text.len() <= self.piece_bytes {
            self.piece(text, seg, location, role);
            return;
        }
        // A long segment goes in line-aligned pieces, each folded with the lines around it
        // that window cues and scaffolds look at (`context_lines`). What a piece finds in that
        // context is dropped (the neighbouring piece finds it), positions are shifted back to
        // the segment's: the report is the same as from one pass over the whole segment
        // (`tests/tests/pieces.rs`), memory per piece is bounded and stays in the cache.
        let b = text.as_bytes();
        let ctx = self.policy.context_lines;
        let (mut start, mut line_base) = (0usize, 0u64);
        while start < b.len() {
            let cut = (start + self.piece_bytes).min(b.len());
            let end = memchr::memchr(b'\n', &b[cut..]).map_or(b.len(), |nl| cut + nl + 1);
            let (cs, before) = context_before(b, start, ctx);
            let ce = context_after(b, end, ctx);
            let own = (start - cs)..(end - cs);
            let shift_lines = line_base - before;
            let marks = (
                self.candidates.len(),
                self.pending.len(),
                self.doc_cues.len(),
                self.trace.as_ref().map_or(0, Vec::len),
            );
            let piece = &text[cs..ce];
            let lines = self.piece(piece, seg, location, role);
            let own_newlines =
                lines.newlines_before(piece, own.end) - lines.newlines_before(piece, own.start);
            let own_lines = own_newlines + u64::from(b[end - 1] != b'\n');
            let keep_lines = (before + 1)..=(before + own_lines);
            let mut found = self.candidates.split_off(marks.0);
            found.retain(|c| own.contains(&c.start));
            for c in &mut found {
                c.start += cs;
                c.end += cs;
                c.line += shift_lines;
            }
            self.candidates.extend(found);
            let mut found = self.pending.split_off(marks.1);
            found.retain(|f| own.contains(&(f.finding.start as usize)));
            for f in &mut found {
                f.finding.start += cs as u64;
                f.finding.end += cs as u64;
                f.finding.line += shift_lines;
            }
            self.pending.extend(found);
            for c in &mut self.doc_cues[marks.2..] {
                c.1 += shift_lines;
            }
            if let Some(t) = &mut self.trace {
                let mut found = t.split_off(marks.3);
                found.retain(|e| keep_lines.contains(&e.line));
                for e in &mut found {
                    e.line += shift_lines;
                }
                t.extend(found);
            }
            line_base += own_newlines;
            start = end;
        }
    }

    /// Scans one piece of a segment (all of it when it is short): positions and lines are
    /// the piece's own. Returns the piece's line index.
    fn piece(&mut self, text: &str, seg: usize, location: &[String], role: Role) -> LineIndex {
        let line_index = LineIndex::new(text);
        if text.is_empty() {
            return line_index;
        }
        let p = self.policy;
        // Traditional → simplified is left out of the fold: the gate holds the traditional
        // characters as literals of their own, so texts without them (nearly all) pay nothing
        // for it. When the gate meets one, the folded text is simplified in place (the swap
        // keeps byte lengths) and only the lines holding one are run through the gate again.
        let mut folded = fold_for_gate(text);
        let mut hits = GateHits::new(p);
        p.gate.for_each_match(folded.text(), |pattern, s, e| {
            hits.take(p, folded.text(), pattern, s, e);
        });
        if !hits.trad.is_empty() {
            folded.simplify_at(&hits.trad);
            let ft = folded.text();
            let trad = std::mem::take(&mut hits.trad);
            let mut at = 0;
            while let Some(&t) = trad.get(at) {
                let (ls, le) = hits.lines.at(ft, t, t + 3);
                p.gate.for_each_match(&ft[ls..le], |pattern, s, e| {
                    let (s, e) = (ls + s, ls + e);
                    // matches touching no traditional character were found by the first pass
                    let first = trad.partition_point(|&x| x + 3 <= s);
                    if trad.get(first).is_some_and(|&x| x < e) {
                        hits.take(p, ft, pattern, s, e);
                    }
                });
                at += trad[at..].partition_point(|&x| x < le);
            }
        }
        let ft = folded.text();
        // document-scope negative cues, on the simplified lines, the first line of each kind
        // recorded (lines from the second pass come after the first pass's)
        hits.cue_lines.sort_unstable_by_key(|&(i, ls, _)| (ls, i));
        for &(i, ls, le) in &hits.cue_lines {
            if self.doc_cues.iter().any(|c| c.0 == i as usize) {
                continue;
            }
            let line = ft[ls..le].trim_end_matches('\r');
            if p.negatives[i as usize].regex.is_match(line) {
                let orig = folded.to_original(ls..ls);
                let line_no = line_index.newlines_before(text, orig.start) + 1;
                self.doc_cues.push((i as usize, line_no));
            }
        }
        let mut marking_lines = hits.marking_lines;
        marking_lines.sort_unstable_by_key(|&(mi, ls, _)| (ls, mi));
        marking_lines.dedup();
        let mut local: Vec<Pending> = Vec::new();
        self.markings(
            text,
            &folded,
            &line_index,
            &marking_lines,
            seg,
            location,
            role,
        );
        self.dictionary(text, &folded, hits.dict_hits, location, role, &mut local);
        self.detectors(text, &folded, &hits.detector_on, location, role, &mut local);
        // line/column for keyword and detector findings
        local.sort_by_key(|f| f.finding.start);
        let mut lc = LineCounter::new(text, &line_index);
        for f in &mut local {
            let (l, c) = lc.at(f.finding.start as usize);
            f.finding.line = l;
            f.finding.column = c;
        }
        self.pending.extend(local);
        line_index
    }

    #[allow(clippy::too_many_arguments)]
    fn markings(
        &mut self,
        text: &str,
        folded: &Folded<'_>,
        line_index: &LineIndex,
        lines: &[(u32, usize, usize)],
        seg: usize,
        location: &[String],
        role: Role,
    ) {
        let p = self.policy;
        let ft = folded.text();
        // lines arrive sorted (document order): line numbers are counted incrementally
        let mut lc = LineCounter::new(text, line_index);
        // scaffold and window-cue answers per line, shared by neighbouring candidates
        let mut memo: HashMap<(Memo, usize), bool> = HashMap::new();
        for &(mi, ls, le) in lines {
            let rule = &p.markings[mi as usize];
            let meta = &p.rules[rule.rule];
            if !meta.enabled {
                continue;
            }
            let orig_ls = folded.to_original(ls..ls).start;
            let (line_no, _) = lc.at(orig_ls);
            let line_end = if le > ls && ft.as_bytes()[le - 1] == b'\r' {
                le - 1
            } else {
                le
            };
            let line = &ft[ls..line_end];
            let mut matched = false;
            // the lazy DFA answers most lines; captures only run where the shape is there
            let candidates = if rule.regex.is_match(line) {
                Some(rule.regex.captures_iter(line))
            } else {
                None
            };
            for caps in candidates.into_iter().flatten() {
                matched = true;
                let whole = caps
                    .name("mark")
                    .unwrap_or_else(|| caps.get(0).expect("group 0"));
                let (ms, me) = trim_span(line, whole.start(), whole.end());
                let mapped = caps.name("label_id").and_then(|id| {
                    p.label_map
                        .get(&id.as_str().trim().to_ascii_lowercase())
                        .map(|(lv, name)| {
                            let label = name
                                .clone()
                                .or_else(|| {
                                    caps.name("label").map(|l| l.as_str().trim().to_owned())
                                })
                                .unwrap_or_else(|| id.as_str().to_owned());
                            (*lv, label)
                        })
                });
                let (level, label) = match (mapped, caps.name("label")) {
                    (Some(m), _) => m,
                    (None, Some(l)) => match rule.levels.get(&normalise_label(l.as_str())) {
                        Some((lv, lb)) => (*lv, lb.clone()),
                        None => {
                            self.note(
                                mi as usize,
                                location,
                                role,
                                line_no,
                                l.as_str(),
                                None,
                                vec!["label not in the rule's levels".into()],
                                "mention",
                            );
                            continue;
                        }
                    },
                    (None, None) => match &rule.level {
                        Some((lv, lb)) => (*lv, lb.clone()),
                        None => {
                            self.note(
                                mi as usize,
                                location,
                                role,
                                line_no,
                                caps.get(0).map_or("", |m| m.as_str()),
                                None,
                                vec!["label id not in the policy's label_map".into()],
                                "mention",
                            );
                            continue;
                        }
                    },
                };
                let orig = folded.to_original(ls + ms..ls + me);
                let group = |n: &str| {
                    caps.name(n)
                        .map(|g| g.as_str().trim().to_owned())
                        .filter(|s| !s.is_empty())
                };
                let mut cues = Vec::new();
                if role.is_marking_position() || in_edge_lines(ft, ls, le) {
                    cues.push(Cue::Position);
                }
                if role.is_marking_position() {
                    cues.push(Cue::Header);
                }
                let mut against = Vec::new();
                for r in &rule.reject {
                    if r.is_match(line) {
                        against.push((
                            format!(
                                "reject: the line matches the rule's reject /{}/",
                                r.as_str()
                            ),
                            CueEffect::Reject,
                        ));
                    }
                }
                for &ci in &rule.negatives {
                    let c = &p.negatives[ci];
                    let hit = match c.scope {
                        CueScope::Line => c.regex.is_match(line),
                        CueScope::Window(w) => {
                            c.regex.is_match(line)
                                || window_any(ft, ls, le, w, |start, l| {
                                    *memo
                                        .entry((Memo::Cue(ci), start))
                                        .or_insert_with(|| c.regex.is_match(l))
                                })
                        }
                        CueScope::Document => false,
                    };
                    if hit {
                        against.push((c.name.clone(), c.effect));
                    }
                }
                let mut attrs = [
                    group("period"),
                    group("declassify_on"),
                    group("condition"),
                    group("caveats"),
                ];
                if !rule.nearby.is_empty() && attrs.iter().any(Option::is_none) {
                    nearby_attrs(ft, ls, le, &rule.nearby, rule.nearby_window, &mut attrs);
                }
                let [period, declassify_on, condition, caveat_text] = attrs;
                let caveats = caveat_text
                    .map(|c| {
                        c.split("//")
                            .map(|s| s.trim().trim_matches('/').trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                if !rule.scaffold.is_empty()
                    && window_any(ft, ls, le, rule.scaffold_window, |start, l| {
                        *memo
                            .entry((Memo::Scaffold(mi), start))
                            .or_insert_with(|| rule.scaffold.iter().any(|r| r.is_match(l)))
                    })
                {
                    cues.push(Cue::Scaffold);
                }
                let column = text[orig_ls.min(orig.start)..orig.start].chars().count() as u64 + 1;
                let norm = normalise_label(&line[ms..me]);
                self.candidates.push(Candidate {
                    order: self.order,
                    marking: mi as usize,
                    seg,
                    location: location.to_vec(),
                    role,
                    start: orig.start,
                    end: orig.end,
                    line: line_no,
                    column,
                    text: text[orig.clone()].to_owned(),
                    norm,
                    level,
                    label,
                    period,
                    declassify_on,
                    condition,
                    caveats,
                    cues,
                    against,
                });
                self.order += 1;
            }
            if !matched && self.trace.is_some() {
                let orig = folded.to_original(ls..line_end);
                let shown: String = text[orig].chars().take(80).collect();
                self.note(
                    mi as usize,
                    location,
                    role,
                    line_no,
                    &shown,
                    None,
                    {
                        let mut why = vec![
                            "the line does not have the rule's marking shape (a mention in prose)"
                                .to_owned(),
                        ];
                        let line = &ft[ls..line_end];
                        for &ci in &rule.negatives {
                            let c = &p.negatives[ci];
                            if c.scope == CueScope::Line && c.regex.is_match(line) {
                                why.push(c.name.clone());
                            }
                        }
                        why
                    },
                    "mention",
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn note(
        &mut self,
        mi: usize,
        location: &[String],
        role: Role,
        line: u64,
        text: &str,
        level: Option<Level>,
        against: Vec<String>,
        verdict: &str,
    ) {
        let p = self.policy;
        if let Some(t) = &mut self.trace {
            let rule = &p.markings[mi];
            t.push(TraceEntry {
                rule: p.rules[rule.rule].id.clone(),
                scheme: rule.scheme.clone(),
                location: location.to_vec(),
                role,
                line,
                text: text.to_owned(),
                level,
                cues_for: Vec::new(),
                cues_against: against,
                confidence: None,
                verdict: verdict.to_owned(),
            });
        }
    }

    fn dictionary(
        &mut self,
        text: &str,
        folded: &Folded<'_>,
        mut hits: Vec<(u32, usize, usize)>,
        location: &[String],
        role: Role,
        out: &mut Vec<Pending>,
    ) {
        if hits.is_empty() {
            return;
        }
        let p = self.policy;
        // keep the longest: drop hits strictly inside another hit
        hits.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)));
        let mut kept: Vec<(u32, usize, usize)> = Vec::with_capacity(hits.len());
        let mut reach = 0usize;
        let mut reach_span = (0usize, 0usize);
        for h in hits {
            if h.2 <= reach && (h.1, h.2) != reach_span {
                continue;
            }
            if kept
                .iter()
                .rev()
                .take(4)
                .any(|k| k.0 == h.0 && k.1 == h.1 && k.2 == h.2)
            {
                continue;
            }
            if h.2 > reach {
                reach = h.2;
                reach_span = (h.1, h.2);
            }
            kept.push(h);
        }
        let ft = folded.text();
        let mut to_original = folded.map().cursor();
        for (di, fs, fe) in kept {
            let d = &p.dictionaries[di as usize];
            let orig = to_original.to_original(fs..fe);
            let finding = self.finding(
                d.rule,
                text,
                orig,
                location,
                role,
                d.confidence,
                &ft[fs..fe],
            );
            out.push(Pending {
                order: 0,
                norm: ft[fs..fe].to_lowercase(),
                finding,
                rule: d.rule,
            });
        }
    }

    fn detectors(
        &mut self,
        text: &str,
        folded: &Folded<'_>,
        on: &[bool],
        location: &[String],
        role: Role,
        out: &mut Vec<Pending>,
    ) {
        let p = self.policy;
        let ft = folded.text();
        let mut runs: Option<Vec<(usize, usize, u32)>> = None;
        for (i, d) in p.detectors.iter().enumerate() {
            if !on[i] || !p.rules[d.rule].enabled {
                continue;
            }
            // Detectors for numbers run only around numeric runs long enough to hold one
            // (one shared pass over the text instead of a regex pass each).
            let windows: Vec<(usize, usize)> = match d.min_digits {
                None => vec![(0, ft.len())],
                Some(n) => {
                    let runs = runs.get_or_insert_with(|| numeric_runs(ft));
                    let mut w: Vec<(usize, usize)> = Vec::new();
                    for &(s, e, digits) in runs.iter() {
                        if digits < n {
                            continue;
                        }
                        let (s, e) = (
                            floor_boundary(ft, s.saturating_sub(24)),
                            ceil_boundary(ft, e + 4),
                        );
                        match w.last_mut() {
                            Some(last) if s <= last.1 => last.1 = last.1.max(e),
                            _ => w.push((s, e)),
                        }
                    }
                    w
                }
            };
            // windows and matches come in increasing order per detector
            let mut to_original = folded.map().cursor();
            for (ws, we) in windows {
                for caps in d.regex.captures_iter(&ft[ws..we]) {
                    let m = caps
                        .name("value")
                        .unwrap_or_else(|| caps.get(0).expect("group 0"));
                    let (ms, me) = (ws + m.start(), ws + m.end());
                    if !word_bounded(ft, ms, me) {
                        continue;
                    }
                    if let Some(v) = d.validator
                        && !v.check(m.as_str())
                    {
                        continue;
                    }
                    let window = context_window(ft, ms, me, 48);
                    if d.negative_context
                        .iter()
                        .any(|w| window.contains(w.as_str()))
                    {
                        continue;
                    }
                    let mut conf = d.confidence;
                    if !d.context.is_empty()
                        && d.context.iter().any(|w| window.contains(w.as_str()))
                    {
                        conf = conf.raised();
                    }
                    let orig = to_original.to_original(ms..me);
                    let finding =
                        self.finding(d.rule, text, orig, location, role, conf, m.as_str());
                    out.push(Pending {
                        order: 0,
                        norm: m.as_str().to_owned(),
                        finding,
                        rule: d.rule,
                    });
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        rule: usize,
        text: &str,
        orig: Range<usize>,
        location: &[String],
        role: Role,
        confidence: Confidence,
        norm: &str,
    ) -> Finding {
        let p = self.policy;
        let meta = &p.rules[rule];
        let excerpt = match p.excerpt {
            ExcerptSetting::None => None,
            ExcerptSetting::Masked => Some(mask(&text[orig.clone()], meta.mask, &meta.id)),
        };
        Finding {
            kind: meta.kind,
            rule: meta.id.clone(),
            level: None,
            scheme: None,
            category: meta.category.clone(),
            confidence,
            location: location.to_vec(),
            role,
            start: orig.start as u64,
            end: orig.end as u64,
            line: 0,
            column: 0,
            excerpt,
            fingerprint: fingerprint(&meta.id, norm, location),
        }
    }

    fn finish(self, meta: DocMeta) -> Report {
        self.finish_traced(meta).0
    }

    /// Document-level decisions; returns the report and the decision trace (empty unless the
    /// scan was started with tracing).
    fn finish_traced(mut self, meta: DocMeta) -> (Report, Vec<TraceEntry>) {
        let p = self.policy;
        // repetition: the same marking text more than once in the document
        let mut repeats: HashMap<(usize, &str), usize> = HashMap::new();
        for c in &self.candidates {
            *repeats.entry((c.marking, c.norm.as_str())).or_default() += 1;
        }
        let repeated: HashSet<usize> = self
            .candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| repeats[&(c.marking, c.norm.as_str())] > 1)
            .map(|(i, _)| i)
            .collect();
        let mut markings: Vec<(Finding, Marking, usize)> = Vec::new();
        let mut candidates = std::mem::take(&mut self.candidates);
        // Pass 1: cues, negative cues and confidence of every candidate.
        let mut judged: Vec<(Confidence, Vec<String>, &'static str)> =
            Vec::with_capacity(candidates.len());
        for (i, c) in candidates.iter_mut().enumerate() {
            if repeated.contains(&i) {
                c.cues.push(Cue::Repetition);
            }
            let rule = &p.markings[c.marking];
            let rmeta = &p.rules[rule.rule];
            for &ci in &rule.doc_negatives {
                if let Some((_, line)) = self.doc_cues.iter().find(|d| d.0 == ci) {
                    let cue = &p.negatives[ci];
                    // A header/footer/metadata marking is the document's own: a document-wide
                    // note (training, declassified) makes it less sure, not a mention.
                    let effect = if c.role.is_marking_position() {
                        CueEffect::Lower
                    } else {
                        cue.effect
                    };
                    c.against
                        .push((format!("{} (document, line {line})", cue.name), effect));
                }
            }
            let mut confidence = rule.confidence;
            let mut against: Vec<String> = Vec::new();
            let verdict;
            if !rule.needs.is_empty() && !rule.needs.iter().any(|n| c.cues.contains(n)) {
                against.push(format!(
                    "needs one of: {}",
                    rule.needs
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                against.extend(c.against.iter().map(|a| a.0.clone()));
                verdict = "uncorroborated";
            } else if c.against.iter().any(|a| a.1 == CueEffect::Reject) {
                against.extend(
                    c.against
                        .iter()
                        .filter(|a| a.1 == CueEffect::Reject)
                        .map(|a| a.0.clone()),
                );
                verdict = "mention";
            } else {
                if !c.cues.is_empty() {
                    confidence = confidence.raised();
                }
                for (name, _) in &c.against {
                    confidence = confidence.lowered();
                    against.push(format!("{name} (lowered)"));
                }
                let min = rmeta.min_confidence.unwrap_or(p.min_confidence);
                verdict = if confidence < min {
                    against.push(format!(
                        "confidence {confidence} is below the threshold {min}"
                    ));
                    "below-threshold"
                } else {
                    "marking"
                };
            }
            judged.push((confidence, against, verdict));
        }
        // Pass 2: where several rules read the same text (机密 as PRC or Taiwan, a bare SECRET
        // as US or French), the best-corroborated reading wins; the others are superseded.
        let strength = |c: &Candidate, conf: Confidence| {
            (
                conf,
                c.cues.contains(&Cue::Scaffold),
                c.cues.len(),
                p.markings[c.marking].confidence,
                std::cmp::Reverse(c.marking),
            )
        };
        let mut superseded: Vec<Option<usize>> = vec![None; candidates.len()];
        // clusters of overlapping markings (sorted by segment and offset; a cluster is one
        // line's readings, so the pairwise comparison inside it stays small)
        let mut live: Vec<usize> = (0..candidates.len())
            .filter(|&i| judged[i].2 == "marking")
            .collect();
        live.sort_by_key(|&i| (candidates[i].seg, candidates[i].start, candidates[i].end));
        let mut k = 0;
        while k < live.len() {
            let first = &candidates[live[k]];
            let mut reach = first.end;
            let mut n = k + 1;
            while n < live.len()
                && candidates[live[n]].seg == first.seg
                && candidates[live[n]].start < reach
            {
                reach = reach.max(candidates[live[n]].end);
                n += 1;
            }
            for &i in &live[k..n] {
                for &j in &live[k..n] {
                    let (a, b) = (&candidates[i], &candidates[j]);
                    if i != j
                        && a.start < b.end
                        && b.start < a.end
                        && strength(b, judged[j].0) > strength(a, judged[i].0)
                    {
                        superseded[i] = Some(j);
                        break;
                    }
                }
            }
            k = n;
        }
        let names: Vec<(String, String)> = candidates
            .iter()
            .map(|c| {
                let r = &p.markings[c.marking];
                (p.rules[r.rule].id.clone(), r.scheme.clone())
            })
            .collect();
        for (i, (c, (confidence, mut against, mut verdict))) in
            candidates.into_iter().zip(judged).enumerate()
        {
            let rule = &p.markings[c.marking];
            let rmeta = &p.rules[rule.rule];
            if let Some(j) = superseded[i] {
                against.push(format!(
                    "the same text is read by {} ({}) with stronger cues",
                    names[j].0, names[j].1
                ));
                verdict = "superseded";
            }
            let fingerprint = fingerprint(&rmeta.id, &c.norm, &c.location);
            let allowed = verdict == "marking"
                && self.allowed(&meta, &rmeta.id, &c.norm, &c.text, &fingerprint);
            if let Some(t) = &mut self.trace {
                let shape = match &rule.form {
                    Some(f) => format!("shape: {f}"),
                    None => "shape".to_owned(),
                };
                t.push(TraceEntry {
                    rule: rmeta.id.clone(),
                    scheme: rule.scheme.clone(),
                    location: c.location.clone(),
                    role: c.role,
                    line: c.line,
                    text: c.text.clone(),
                    level: Some(c.level),
                    cues_for: std::iter::once(shape)
                        .chain(c.cues.iter().map(|x| x.as_str().to_owned()))
                        .collect(),
                    cues_against: if allowed {
                        vec!["allow-listed".into()]
                    } else {
                        against
                    },
                    confidence: Some(confidence),
                    verdict: if allowed {
                        "allowed".into()
                    } else {
                        verdict.into()
                    },
                });
            }
            if verdict != "marking" || allowed {
                continue;
            }
            let finding = Finding {
                kind: FindingKind::Marking,
                rule: rmeta.id.clone(),
                level: Some(c.level),
                scheme: Some(rule.scheme.clone()),
                category: None,
                confidence,
                location: c.location.clone(),
                role: c.role,
                start: c.start as u64,
                end: c.end as u64,
                line: c.line,
                column: c.column,
                excerpt: Some(c.text.clone()),
                fingerprint,
            };
            let mut warnings = Vec::new();
            if let Some(w) = period_warning(&rule.scheme, c.level, c.period.as_deref()) {
                warnings.push(w);
            }
            let marking = Marking {
                scheme: rule.scheme.clone(),
                label: c.label.clone(),
                level: c.level,
                text: c.text.clone(),
                period: c.period.clone(),
                declassify_on: c.declassify_on.clone(),
                condition: c.condition.clone(),
                caveats: c.caveats.clone(),
                location: c.location.clone(),
                role: c.role,
                confidence,
                rule: rmeta.id.clone(),
                warnings,
            };
            markings.push((finding, marking, c.order));
        }
        // keyword/detector: allow-lists, then min_count
        let pending = std::mem::take(&mut self.pending);
        let mut others: Vec<Pending> = Vec::with_capacity(pending.len());
        for f in pending {
            let rmeta = &p.rules[f.rule];
            let min = rmeta.min_confidence.unwrap_or(p.min_confidence);
            if f.finding.confidence < min {
                continue;
            }
            if self.allowed(&meta, &rmeta.id, &f.norm, &f.norm, &f.finding.fingerprint) {
                continue;
            }
            others.push(f);
        }
        let mut per_rule: HashMap<usize, u64> = HashMap::new();
        for f in &others {
            *per_rule.entry(f.rule).or_default() += 1;
        }
        others.retain(|f| per_rule[&f.rule] >= p.rules[f.rule].min_count);
        for (i, f) in others.iter_mut().enumerate() {
            f.order = i;
        }

        // level, marking, action
        let level = markings
            .iter()
            .map(|m| m.1.level)
            .max()
            .unwrap_or(Level::Public);
        let top = markings
            .iter()
            .filter(|m| m.1.level == level)
            .min_by_key(|m| m.2)
            .map(|m| m.1.clone());
        let mut action = p.level_action(level);
        for f in &others {
            action = action.max(p.rules[f.rule].action);
        }
        for e in &meta.errors {
            action = action.max(p.on_error_action(e.kind));
        }

        // members
        let mut members = Vec::new();
        for prefix in &meta.members {
            let inside =
                |loc: &[String]| loc.len() >= prefix.len() && loc[..prefix.len()] == prefix[..];
            let mlevel = markings
                .iter()
                .filter(|m| inside(&m.1.location))
                .map(|m| m.1.level)
                .max()
                .unwrap_or(Level::Public);
            let mtop = markings
                .iter()
                .filter(|m| inside(&m.1.location) && m.1.level == mlevel)
                .min_by_key(|m| m.2)
                .map(|m| m.1.clone());
            let mut maction = p.level_action(mlevel);
            for f in others.iter().filter(|f| inside(&f.finding.location)) {
                maction = maction.max(p.rules[f.rule].action);
            }
            for e in meta.errors.iter().filter(|e| inside(&e.location)) {
                maction = maction.max(p.on_error_action(e.kind));
            }
            members.push(MemberSummary {
                location: prefix.clone(),
                level: mlevel,
                action: maction,
                marking: mtop,
            });
        }

        // findings in document order: by segment order of appearance then offset
        let mut all: Vec<(usize, u64, Finding)> = Vec::with_capacity(markings.len() + others.len());
        let seg_order = |loc: &[String]| loc.to_vec();
        let _ = seg_order;
        for (f, _, order) in markings {
            all.push((0, order as u64, f));
        }
        for f in others {
            all.push((1, f.order as u64, f.finding));
        }
        all.sort_by(|a, b| {
            a.2.location
                .cmp(&b.2.location)
                .then(a.2.start.cmp(&b.2.start))
                .then(a.0.cmp(&b.0))
                .then(a.1.cmp(&b.1))
        });
        let mut counts = std::collections::BTreeMap::new();
        for (_, _, f) in &all {
            *counts.entry(f.rule.clone()).or_insert(0u64) += 1;
        }
        let total = all.len() as u64;
        let truncated = (total > p.max_findings).then_some(Truncated { findings: total });
        let findings: Vec<Finding> = all
            .into_iter()
            .take(p.max_findings as usize)
            .map(|x| x.2)
            .collect();
        let report = Report {
            schema: REPORT_SCHEMA_ID.to_owned(),
            path: meta.path,
            path_bytes: meta.path_bytes.map(|b| base64_encode(&b)),
            bytes: meta.bytes,
            level,
            action,
            complete: meta.errors.is_empty(),
            marking: top,
            findings,
            members,
            errors: meta.errors,
            truncated,
            policy: p.digest.clone(),
            counts,
            encoding: meta.encoding,
            file: None,
        };
        (report, self.trace.take().unwrap_or_default())
    }

    fn allowed(
        &self,
        meta: &DocMeta,
        rule: &str,
        norm: &str,
        text: &str,
        fingerprint: &str,
    ) -> bool {
        let a = &self.policy.allow;
        if a.fingerprints.contains(fingerprint) || a.terms.contains(&norm.to_lowercase()) {
            return true;
        }
        let rule_ok = |r: &Option<String>| r.as_deref().is_none_or(|r| r == rule);
        if a.regexes
            .iter()
            .any(|(re, r)| rule_ok(r) && re.is_match(text))
        {
            return true;
        }
        if let Some(path) = &meta.path
            && a.paths.iter().any(|(g, r)| rule_ok(r) && g.is_match(path))
        {
            return true;
        }
        false
    }
}

impl Policy {
    fn case_sensitive_ok(&self, _dictionary: u32, _matched: &str) -> bool {
        // Case-sensitive dictionaries compare against their folded terms exactly.
        let d = &self.dictionaries[_dictionary as usize];
        d.exact_terms.contains(_matched)
    }
}

/// `true` when neither edge of `s..e` continues an ASCII word (for Latin terms and numbers).
fn word_bounded(t: &str, s: usize, e: usize) -> bool {
    let b = t.as_bytes();
    let left_ok = s == 0
        || !(b[s].is_ascii_alphanumeric() && b[s - 1].is_ascii_alphanumeric()
            || b[s - 1] == b'_' && b[s].is_ascii_alphanumeric());
    let right_ok = e >= b.len()
        || !(b[e - 1].is_ascii_alphanumeric() && (b[e].is_ascii_alphanumeric() || b[e] == b'_'));
    left_ok && right_ok
}

fn trim_span(line: &str, s: usize, e: usize) -> (usize, usize) {
    let sub = &line[s..e];
    let lead = sub.len() - sub.trim_start().len();
    let trail = sub.len() - sub.trim_end().len();
    if lead + trail >= sub.len() {
        (s, e)
    } else {
        (s + lead, e - trail)
    }
}

/// Maximal runs of ASCII digits joined by single spaces or dashes: (start, end, digit count).
fn numeric_runs(t: &str) -> Vec<(usize, usize, u32)> {
    let b = t.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while let Some(start) = next_digit(b, i) {
        i = start;
        let mut digits = 0u32;
        let mut end = i;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                digits += 1;
                i += 1;
                end = i;
            } else if matches!(b[i], b' ' | b'-') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            } else {
                break;
            }
        }
        runs.push((start, end, digits));
    }
    runs
}

/// The index of the first ASCII digit at or after `from` (SSE2 sixteen bytes at a time on
/// x86-64: digits are sparse in prose, and this pass sees every byte of every document).
fn next_digit(b: &[u8], mut from: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    while from + 16 <= b.len() {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is in the x86_64 baseline; the load reads b[from..from + 16], in bounds.
        let mask = unsafe {
            let v = _mm_loadu_si128(b.as_ptr().add(from) as *const __m128i);
            let digit = _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(b'0' as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(b'9' as i8 + 1)),
            );
            _mm_movemask_epi8(digit)
        };
        if mask != 0 {
            return Some(from + mask.trailing_zeros() as usize);
        }
        from += 16;
    }
    b.get(from..)?
        .iter()
        .position(u8::is_ascii_digit)
        .map(|k| from + k)
}

fn floor_boundary(t: &str, mut i: usize) -> usize {
    while !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(t: &str, i: usize) -> usize {
    let mut i = i.min(t.len());
    while !t.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Lower-cased text around a match, on char boundaries.
fn context_window(t: &str, s: usize, e: usize, w: usize) -> String {
    let mut a = s.saturating_sub(w);
    while !t.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (e + w).min(t.len());
    while !t.is_char_boundary(b) {
        b += 1;
    }
    format!("{} {}", &t[a..s], &t[e..b]).to_lowercase()
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Lines a piece of a long segment is scanned with on either side: at least `ctx` (window cues,
/// scaffolds, nearby attributes) and at least [`EDGE_LINES`] lines with text (the position cue), at most
/// [`EDGE_WALK`] + 2 lines. A line has text here when it holds an ASCII letter or digit or a CJK
/// ideograph (lead bytes E4..E9), which no fold removes.
fn context_before(b: &[u8], start: usize, ctx: usize) -> (usize, u64) {
    let (mut cs, mut lines, mut with_text) = (start, 0usize, 0usize);
    while cs > 0 && (lines < ctx || with_text < EDGE_LINES) && lines <= EDGE_WALK + 1 {
        let ls = memchr::memrchr(b'\n', &b[..cs - 1]).map_or(0, |nl| nl + 1);
        with_text += usize::from(has_text(&b[ls..cs]));
        lines += 1;
        cs = ls;
    }
    (cs, lines as u64)
}

/// The end of the context after `end` (see [`context_before`]).
fn context_after(b: &[u8], end: usize, ctx: usize) -> usize {
    let (mut ce, mut lines, mut with_text) = (end, 0usize, 0usize);
    while ce < b.len() && (lines < ctx || with_text < EDGE_LINES) && lines <= EDGE_WALK + 1 {
        let le = memchr::memchr(b'\n', &b[ce..]).map_or(b.len(), |nl| ce + nl + 1);
        with_text += usize::from(has_text(&b[ce..le]));
        lines += 1;
        ce = le;
    }
    ce
}

fn has_text(line: &[u8]) -> bool {
    line.iter()
        .any(|&c| c.is_ascii_alphanumeric() || (0xE4..=0xE9).contains(&c))
}

/// The position cue: a marking among the first or last this many non-empty lines.
const EDGE_LINES: usize = 3;
/// How many lines the position cue walks at most.
const EDGE_WALK: usize = 256;

/// Whether the line `ls..le` is among the first or last three non-empty lines of its block
/// (a segment, or a form-feed-delimited page).
fn in_edge_lines(t: &str, ls: usize, le: usize) -> bool {
    const EDGE: usize = EDGE_LINES;
    const MAX_WALK: usize = EDGE_WALK;
    // backwards
    let mut nonempty = 0;
    let mut pos = ls;
    let mut walked = 0;
    let mut at_top = true;
    while pos > 0 {
        let prev_end = pos - 1; // the '\n' before this line
        let prev_start = t[..prev_end]
            .rfind(['\n', '\u{c}'])
            .map(|x| x + 1)
            .unwrap_or(0);
        if t.as_bytes().get(prev_end) == Some(&0x0c) {
            break;
        }
        if !is_blank(&t[prev_start..prev_end]) {
            nonempty += 1;
        }
        if nonempty >= EDGE || walked > MAX_WALK {
            at_top = false;
            break;
        }
        walked += 1;
        pos = prev_start;
        if prev_start > 0 && t.as_bytes()[prev_start - 1] == 0x0c {
            break;
        }
    }
    if at_top {
        return true;
    }
    // forwards
    let mut nonempty = 0;
    let mut pos = le;
    let mut walked = 0;
    while pos < t.len() {
        if t.as_bytes()[pos] == 0x0c {
            return true;
        }
        let next_start = pos + 1;
        let next_end = t[next_start..]
            .find(['\n', '\u{c}'])
            .map(|x| x + next_start)
            .unwrap_or(t.len());
        if !is_blank(&t[next_start..next_end]) {
            nonempty += 1;
        }
        if nonempty >= EDGE || walked > MAX_WALK {
            return false;
        }
        walked += 1;
        pos = next_end;
    }
    true
}

/// Whether `check(line_start, line)` holds for a line within `window` lines of `ls..le` (the
/// line itself excluded; `\r` trimmed).
fn window_any(
    t: &str,
    ls: usize,
    le: usize,
    window: usize,
    mut check: impl FnMut(usize, &str) -> bool,
) -> bool {
    let mut check = |start: usize, line: &str| check(start, line.trim_end_matches('\r'));
    let mut pos = ls;
    for _ in 0..window {
        if pos == 0 {
            break;
        }
        let prev_end = pos - 1;
        let prev_start = t[..prev_end].rfind('\n').map(|x| x + 1).unwrap_or(0);
        if check(prev_start, &t[prev_start..prev_end]) {
            return true;
        }
        pos = prev_start;
    }
    let mut pos = le;
    for _ in 0..window {
        if pos >= t.len() {
            break;
        }
        let next_start = pos + 1;
        let next_end = t[next_start..]
            .find('\n')
            .map(|x| x + next_start)
            .unwrap_or(t.len());
        if check(next_start, &t[next_start..next_end]) {
            return true;
        }
        pos = next_end;
    }
    false
}

/// What a memoised per-line answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Memo {
    Scaffold(u32),
    Cue(usize),
}

/// Fills missing `[period, declassify_on, condition, caveats]` from the marking's line, then
/// lines within `window` lines of `ls..le` (nearest first), that one of `nearby` matches with
/// the named group.
fn nearby_attrs(
    t: &str,
    ls: usize,
    le: usize,
    nearby: &[regex::Regex],
    window: usize,
    attrs: &mut [Option<String>; 4],
) {
    const NAMES: [&str; 4] = ["period", "declassify_on", "condition", "caveats"];
    let mut fill = |line: &str| {
        let line = line.trim_end_matches('\r');
        for r in nearby {
            if let Some(caps) = r.captures(line) {
                for (k, n) in NAMES.iter().enumerate() {
                    if attrs[k].is_none()
                        && let Some(g) = caps.name(n)
                    {
                        let v = g.as_str().trim();
                        if !v.is_empty() {
                            attrs[k] = Some(v.to_owned());
                        }
                    }
                }
            }
        }
    };
    fill(&t[ls..le]);
    let (mut up, mut down) = (ls, le);
    for _ in 0..window {
        if up > 0 {
            let prev_end = up - 1;
            let prev_start = t[..prev_end].rfind('\n').map(|x| x + 1).unwrap_or(0);
            fill(&t[prev_start..prev_end]);
            up = prev_start;
        }
        if down < t.len() {
            let next_start = down + 1;
            let next_end = t[next_start..]
                .find('\n')
                .map(|x| x + next_start)
                .unwrap_or(t.len());
            fill(&t[next_start..next_end]);
            down = next_end;
        }
    }
}

/// Stable fingerprint: hash of (rule, normalised matched text, location), 16 hex digits.
pub fn fingerprint(rule: &str, norm: &str, location: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(rule.as_bytes());
    h.update([0]);
    h.update(norm.as_bytes());
    h.update([0]);
    h.update(location.join("!/").as_bytes());
    let d = h.finalize();
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// PRC legal maximum periods: 绝密 30 years, 机密 20, 秘密 10.
fn period_warning(scheme: &str, level: Level, period: Option<&str>) -> Option<String> {
    if scheme != "cn" {
        return None;
    }
    let p = period?;
    let years: u32 = p.strip_suffix('年')?.trim().parse().ok()?;
    let max = match level {
        Level::TopSecret => 30,
        Level::Secret => 20,
        Level::Confidential => 10,
        _ => return None,
    };
    (years > max).then(|| {
        format!("period {years} years exceeds the legal maximum of {max} years for this level")
    })
}

/// What one segment's gate matches select: marking rules per line, dictionary hits, detectors
/// to run, document cues to check, and where traditional characters sit.
struct GateHits {
    /// (marking rule, line start, line end) in the folded text.
    marking_lines: Vec<(u32, usize, usize)>,
    /// Rules already queued for the current line (matches mostly arrive in line order).
    line_rules: (usize, Vec<u32>),
    dict_hits: Vec<(u32, usize, usize)>,
    detector_on: Vec<bool>,
    /// (document cue, line start, line end), each once.
    cue_lines: Vec<(u32, usize, usize)>,
    cue_seen: HashSet<(u32, usize)>,
    /// Byte offsets of traditional characters (first pass only, increasing).
    trad: Vec<usize>,
    lines: LineSpan,
}

impl GateHits {
    fn new(p: &Policy) -> GateHits {
        GateHits {
            marking_lines: Vec::new(),
            line_rules: (usize::MAX, Vec::new()),
            dict_hits: Vec::new(),
            detector_on: p.detectors.iter().map(|d| !d.gated).collect(),
            cue_lines: Vec::new(),
            cue_seen: HashSet::new(),
            trad: Vec::new(),
            lines: LineSpan::default(),
        }
    }

    /// Records the gate match of literal `pattern` at `s..e` of the folded text `ft`.
    fn take(&mut self, p: &Policy, ft: &str, pattern: usize, s: usize, e: usize) {
        for t in p.targets_of(pattern) {
            match *t {
                Target::Marking(i) => {
                    let (ls, le) = self.lines.at(ft, s, e);
                    if self.line_rules.0 != ls {
                        self.line_rules.0 = ls;
                        self.line_rules.1.clear();
                    }
                    if !self.line_rules.1.contains(&i) {
                        self.line_rules.1.push(i);
                        self.marking_lines.push((i, ls, le));
                    }
                }
                Target::Term {
                    dictionary,
                    term_len,
                } => {
                    let d = &p.dictionaries[dictionary as usize];
                    if !p.rules[d.rule].enabled || e - s != term_len as usize {
                        continue;
                    }
                    if d.whole_word && !word_bounded(ft, s, e) {
                        continue;
                    }
                    if d.case_sensitive && !p.case_sensitive_ok(dictionary, &ft[s..e]) {
                        continue;
                    }
                    self.dict_hits.push((dictionary, s, e));
                }
                Target::Detector(i) => self.detector_on[i as usize] = true,
                Target::Cue(i) => {
                    let (ls, le) = self.lines.at(ft, s, e);
                    if self.cue_seen.insert((i, ls)) {
                        self.cue_lines.push((i, ls, le));
                    }
                }
                Target::Traditional => self.trad.push(s),
            }
        }
    }
}

/// The line around gate matches, found incrementally: matches arrive in (nearly) increasing
/// order, so each byte is searched for newlines about once even on one enormous line.
#[derive(Debug, Default)]
struct LineSpan {
    /// Offset up to which the line start is known.
    pos: usize,
    /// The start of the line holding `pos`.
    start: usize,
    /// The end of the last line found.
    end: usize,
}

impl LineSpan {
    /// The line `start..end` (without its newline) holding the match `s..e` (no newline in it).
    fn at(&mut self, t: &str, s: usize, e: usize) -> (usize, usize) {
        let b = t.as_bytes();
        let forward = s >= self.pos;
        if forward {
            if let Some(nl) = memchr::memrchr(b'\n', &b[self.pos..s]) {
                self.start = self.pos + nl + 1;
            }
        } else {
            self.start = memchr::memrchr(b'\n', &b[..s]).map_or(0, |x| x + 1);
        }
        self.pos = s;
        // the last end found is this line's end when the match lies before it and no newline
        // was crossed since (forward only)
        if !(forward && s < self.end && e <= self.end) {
            self.end = memchr::memchr(b'\n', &b[e..]).map_or(t.len(), |x| x + e);
        }
        (self.start, self.end)
    }
}

/// Newline counts of one piece at every [`LINE_BLOCK`] bytes, from one counting pass: the
/// line of any offset is a checkpoint plus a count over less than a block.
struct LineIndex {
    /// `before[k]`: newlines in `text[..k * LINE_BLOCK]`.
    before: Vec<u64>,
}

/// Bytes between two checkpoints of a [`LineIndex`].
const LINE_BLOCK: usize = 4096;

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut before = Vec::with_capacity(text.len() / LINE_BLOCK + 1);
        let mut n = 0u64;
        before.push(0);
        for block in text.as_bytes().chunks(LINE_BLOCK) {
            n += memchr::memchr_iter(b'\n', block).count() as u64;
            before.push(n);
        }
        LineIndex { before }
    }

    /// Newlines in `text[..at]` (`text`: the text the index was built on).
    fn newlines_before(&self, text: &str, at: usize) -> u64 {
        let k = at / LINE_BLOCK;
        let from = k * LINE_BLOCK;
        self.before[k] + memchr::memchr_iter(b'\n', &text.as_bytes()[from..at]).count() as u64
    }
}

/// Line and column (1-based, code points) of offsets, over a [`LineIndex`]. Increasing
/// offsets (the usual order) cost a count within one block and a search back to the line's
/// start no further than the previous offset; an earlier offset searches back to its line start.
struct LineCounter<'a> {
    text: &'a str,
    index: &'a LineIndex,
    /// The last offset asked for, and the start of its line.
    pos: usize,
    line_start: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str, index: &'a LineIndex) -> Self {
        LineCounter {
            text,
            index,
            pos: 0,
            line_start: 0,
        }
    }

    fn at(&mut self, off: usize) -> (u64, u64) {
        let b = self.text.as_bytes();
        let searched_from = if off >= self.pos { self.pos } else { 0 };
        if let Some(nl) = memchr::memrchr(b'\n', &b[searched_from..off]) {
            self.line_start = searched_from + nl + 1;
        } else if off < self.pos {
            self.line_start = 0;
        }
        self.pos = off;
        (
            self.index.newlines_before(self.text, off) + 1,
            self.text[self.line_start..off].chars().count() as u64 + 1,
        )
    }
}

fn base64_encode(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(&[0xff, 0xfe]), "//4=");
    }

    proptest::proptest! {
        /// The SSE2 digit search agrees with a plain scan from every start.
        #[test]
        fn next_digit_agrees_with_a_plain_scan(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "a", "0", "9", "/", ":", " ", "机", "１", "é", "-", "12 34",
            ]), 0..60)
        ) {
            let text: String = parts.concat();
            let b = text.as_bytes();
            for from in 0..=b.len() {
                let want = (from..b.len()).find(|&k| b[k].is_ascii_digit());
                proptest::prop_assert_eq!(next_digit(b, from), want);
            }
        }
    }

    #[test]
    fn word_bounds() {
        assert!(word_bounded("a SECRET b", 2, 8));
        assert!(!word_bounded("xSECRET", 1, 7));
        assert!(!word_bounded("client_secret", 7, 13));
        assert!(word_bounded("机密SECRET机密", 6, 12));
    }

    #[test]
    fn edge_lines() {
        let t = "a\nb\nc\nd\ne\nf\ng\nh";
        let pos = |s: &str| t.find(s).unwrap();
        assert!(in_edge_lines(t, pos("a"), pos("a") + 1));
        assert!(in_edge_lines(t, pos("c"), pos("c") + 1));
        assert!(!in_edge_lines(t, pos("d"), pos("d") + 1));
        assert!(in_edge_lines(t, pos("h"), pos("h") + 1));
        assert!(in_edge_lines(t, pos("f"), pos("f") + 1));
        assert!(!in_edge_lines(t, pos("e"), pos("e") + 1));
    }
}

#[cfg(test)]
mod pack_examples {
    use super::*;

    /// Every rule in `patterns/` carries examples; every example behaves as declared.
    #[test]
    fn every_builtin_rule_example_behaves() {
        let scanner = Scanner::default();
        let mut missing = Vec::new();
        for ex in scanner.policy().examples() {
            if ex.must_match.is_empty() || ex.must_not_match.is_empty() {
                missing.push(ex.rule.clone());
            }
        }
        assert!(
            missing.is_empty(),
            "rules without must-match and must-not-match examples: {missing:?}"
        );
        let failures = scanner.check_examples();
        let shown: Vec<String> = failures
            .iter()
            .map(|f| {
                format!(
                    "{} {} {:?}",
                    f.rule,
                    if f.expected_match {
                        "MISSED"
                    } else {
                        "FIRED ON"
                    },
                    f.example
                )
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} example failures:\n{}",
            failures.len(),
            shown.join("\n")
        );
    }
}

#[cfg(test)]
mod cue_tests {
    use super::*;

    #[test]
    fn line_span_finds_lines_forward_and_back() {
        let t = "ab\ncd ef\n\ngh";
        let mut l = LineSpan::default();
        assert_eq!(l.at(t, 0, 1), (0, 2));
        assert_eq!(l.at(t, 3, 4), (3, 8));
        assert_eq!(l.at(t, 6, 8), (3, 8));
        assert_eq!(l.at(t, 10, 12), (10, 12));
        assert_eq!(l.at(t, 4, 5), (3, 8));
        assert_eq!(l.at(t, 1, 2), (0, 2));
    }

    proptest::proptest! {
        /// The checkpointed counter agrees with the naive count at every offset, asked in
        /// increasing order (the scan's) and then in any order, across block boundaries.
        #[test]
        fn line_counter_equals_naive_count(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["\n", "a", "机", "\r\n", "xyz"]), 0..4000),
            extra in proptest::collection::vec(0usize..20_000, 0..20),
        ) {
            let text: String = parts.concat();
            let index = LineIndex::new(&text);
            let starts: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let mut lc = LineCounter::new(&text, &index);
            for &at in starts.iter().step_by(7) {
                proptest::prop_assert_eq!(lc.at(at), crate::fold::line_column(&text, at));
            }
            for e in extra {
                let at = starts[e % starts.len()];
                proptest::prop_assert_eq!(lc.at(at), crate::fold::line_column(&text, at));
            }
        }
    }

    #[test]
    fn text_and_bytes_inputs_scan_alike() {
        let s = Scanner::default();
        let text = "机密★10年\n关于天穹计划的通知 a@b.example";
        let r = s.scan(text);
        assert_eq!(r.level, Level::Secret);
        for other in [
            s.scan(text.to_owned()),
            s.scan(text.as_bytes()),
            s.scan(text.as_bytes().to_vec()),
            s.scan(std::borrow::Cow::Borrowed(text)),
        ] {
            assert_eq!(other.to_json(), r.to_json());
        }
        // invalid bytes are replaced; the record's size is the input's
        let input = b"\xff\xfe\nTOP SECRET//NOFORN\n";
        let r = s.scan(input);
        assert_eq!(r.level, Level::TopSecret);
        assert_eq!(r.bytes, input.len() as u64);
    }

    fn scanner_with(policy: &str) -> Scanner {
        Scanner::new(
            PolicyBuilder::new()
                .source("test.toml", policy, None)
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn period_beyond_the_legal_maximum_warns() {
        assert!(period_warning("cn", Level::Secret, Some("30年")).is_some());
        assert!(period_warning("cn", Level::TopSecret, Some("30年")).is_none());
        assert!(period_warning("cn", Level::Confidential, Some("10年")).is_none());
        assert!(period_warning("cn", Level::Confidential, Some("11年")).is_some());
        assert!(period_warning("cn", Level::Secret, Some("长期")).is_none());
        assert!(period_warning("cn-trade", Level::Secret, Some("50年")).is_none());
        let r = Scanner::default().scan("秘密★15年\n\n关于某事项的通知");
        let m = r.marking.expect("a marking");
        assert_eq!(m.period.as_deref(), Some("15年"));
        assert_eq!(
            m.warnings,
            vec!["period 15 years exceeds the legal maximum of 10 years for this level"]
        );
        let ok = Scanner::default().scan("绝密★30年\n\n通知");
        assert!(ok.marking.expect("a marking").warnings.is_empty());
    }

    #[test]
    fn label_map_resolves_guids() {
        let guid = "4b7a1e2c-9d3f-4a6b-8c21-5e0f7d9a3b14";
        let text = format!(
            "msip_labels: MSIP_Label_{guid}_Enabled=true;\n MSIP_Label_{guid}_Name=Confidential;\nFrom: a@b.example"
        );
        // without a map: the Purview name decides
        let r = Scanner::default().scan(&text);
        assert_eq!(r.level, Level::Confidential);
        assert_eq!(r.marking.as_ref().unwrap().label, "Confidential");
        // a tenant map wins over the name and reads the _Enabled line too
        let s = scanner_with(&format!(
            "[[label_map]]\nid = \"{}\"\nname = \"Confidential - Finance\"\nlevel = \"secret\"\n",
            guid.to_uppercase()
        ));
        let r = s.scan(&text);
        assert_eq!(r.level, Level::Secret);
        let m = r.marking.unwrap();
        assert_eq!(m.label, "Confidential - Finance");
        assert_eq!(m.rule, "label.msip-id");
        // a disabled label is not applied
        let off = text.replace("Enabled=true", "Enabled=false");
        assert_eq!(Scanner::default().scan(&off).level, Level::Public);
    }

    #[test]
    fn negative_cues_show_in_the_trace() {
        let s = Scanner::default();
        let (r, t) = s.explain("机密★10年是什么意思？");
        assert_eq!(r.level, Level::Public);
        assert!(
            t.iter()
                .any(|e| e.rule == "cn.state-secret"
                    && e.cues_against.iter().any(|c| c == "question")),
            "{t:#?}"
        );
        // a sample note next to an otherwise perfect mark
        let (r, t) = s.explain("公文格式示例：\n机密★10年\n××市人民政府文件");
        assert_eq!(r.level, Level::Public);
        let e = t
            .iter()
            .find(|e| e.rule == "cn.state-secret")
            .expect("traced");
        assert_eq!(e.verdict, "mention");
        assert_eq!(e.cues_against, vec!["sample-note"]);
    }

    #[test]
    fn jurisdiction_taiwan_scaffold() {
        let text = "機密\n\n經濟部（虛構）　簽\n\n日期：中華民國113年3月18日\n主旨：有關備載容量調度原則。\n\n機密";
        let (r, t) = Scanner::default().explain(text);
        assert_eq!(r.level, Level::Confidential);
        let m = r.marking.unwrap();
        assert_eq!((m.scheme.as_str(), m.label.as_str()), ("tw", "机密"));
        let cn = t
            .iter()
            .find(|e| e.rule == "cn.level-line")
            .expect("cn traced");
        assert_eq!(cn.verdict, "mention");
        assert!(cn.cues_against[0].starts_with("taiwan-scaffold (document, line 5)"));
        // without the scaffold the bare repeated line is PRC 机密
        let prc = Scanner::default().scan("机密\n\n关于某事项的报告\n\n机密");
        assert_eq!(prc.level, Level::Secret);
        assert_eq!(prc.marking.unwrap().scheme, "cn");
    }

    #[test]
    fn training_note_rejects_body_marks_and_lowers_header_marks() {
        let body = "This document is UNCLASSIFIED. Any classification markings are for training use only.\n\nExample page:\n\nSECRET//NOFORN\n\nText of the example.\n\nMore text.\n\nEnd.";
        let s = Scanner::default();
        let (r, t) = s.explain(body);
        assert_eq!(r.level, Level::Public, "{t:#?}");
        let r = s.scan_segments([
            Segment::new(
                "TOP SECRET//NOFORN",
                vec!["word/header1.xml".into()],
                Role::Header,
            ),
            Segment::new(body, vec!["word/document.xml".into()], Role::Body),
        ]);
        assert_eq!(r.level, Level::TopSecret);
        assert_eq!(r.marking.unwrap().confidence, Confidence::Medium);
    }

    #[test]
    fn declassification_date_from_a_nearby_cab() {
        let r = Scanner::default().scan(
            "SECRET//NOFORN\n\n(S//NF) Text.\n\nClassified By: J. Smith\nDerived From: Multiple Sources\nDeclassify On: 20491231\n\nSECRET//NOFORN",
        );
        let m = r.marking.unwrap();
        assert_eq!(m.declassify_on.as_deref(), Some("20491231"));
        assert_eq!(m.caveats, vec!["NOFORN"]);
    }

    #[test]
    fn user_reject_entries_apply_to_named_rules() {
        let s = scanner_with(
            "[[reject]]\nname = \"acme-draft\"\nscope = \"document\"\nkeywords = [\"DRAFT ONLY\"]\npattern = '^DRAFT ONLY$'\nrules = [\"corp.label\"]\n",
        );
        let text = "Company Confidential\n\nDRAFT ONLY\n\nQ3 board pack";
        assert_eq!(s.scan(text).level, Level::Public);
        assert_eq!(Scanner::default().scan(text).level, Level::Confidential);
        let lower = scanner_with(
            "[[reject]]\nname = \"acme-draft\"\nscope = \"document\"\nkeywords = [\"DRAFT ONLY\"]\npattern = '^DRAFT ONLY$'\neffect = \"lower\"\n",
        );
        let r = lower.scan(text);
        assert_eq!(r.level, Level::Confidential);
        assert_eq!(r.marking.unwrap().confidence, Confidence::Medium);
    }
}
