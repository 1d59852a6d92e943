//! The report types as Python classes: `Report`, `Finding`, `Marking`.
//!
//! They wrap the core's records unchanged; the only thing the binding adds is code-point
//! offsets (`start`/`end`), computed in Rust from the scanned text, beside the contract's UTF-8
//! byte offsets (`byte_start`/`byte_end`). `to_dict()`/`to_json()` emit the contract's JSON.

use miji::{Action, Finding, Level, Marking, Report, Role};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use serde::Serialize;
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// Levels and actions: the `IntEnum`s of `miji._enums`, looked up once.

static LEVELS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();
static ACTIONS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();

fn members(
    py: Python<'_>,
    cell: &'static PyOnceLock<Vec<Py<PyAny>>>,
    class: &str,
    n: usize,
) -> PyResult<&'static [Py<PyAny>]> {
    cell.get_or_try_init(py, || {
        let class = py.import("miji._enums")?.getattr(class)?;
        (0..n)
            .map(|rank| Ok(class.call1((rank,))?.unbind()))
            .collect()
    })
    .map(Vec::as_slice)
}

/// The `miji.Level` member for `level`.
pub(crate) fn level_obj(py: Python<'_>, level: Level) -> PyResult<Py<PyAny>> {
    let all = members(py, &LEVELS, "Level", Level::ALL.len())?;
    Ok(all[level.rank() as usize].clone_ref(py))
}

/// The `miji.Action` member for `action`.
pub(crate) fn action_obj(py: Python<'_>, action: Action) -> PyResult<Py<PyAny>> {
    let all = members(py, &ACTIONS, "Action", Action::ALL.len())?;
    let rank = Action::ALL.iter().position(|a| *a == action).unwrap_or(0);
    Ok(all[rank].clone_ref(py))
}

// ---------------------------------------------------------------------------------------------
// JSON values to Python objects (for `to_dict()` and `explain()`).

pub(crate) fn json_to_py(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.into_pyobject(py)?.into_any().unbind(),
            (None, Some(i), _) => i.into_pyobject(py)?.into_any().unbind(),
            (None, None, f) => f.unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

pub(crate) fn to_py<T: Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let value = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    json_to_py(py, &value)
}

// ---------------------------------------------------------------------------------------------
// Code-point offsets.

/// Converts byte offsets into `text` to code-point offsets in one pass: `wanted` holds
/// `(byte offset, slot)`, results go to `out[slot]`.
fn code_points(text: &str, wanted: &mut [(usize, usize)], out: &mut [u64]) {
    if text.is_ascii() {
        for &(byte, slot) in wanted.iter() {
            out[slot] = byte.min(text.len()) as u64;
        }
        return;
    }
    wanted.sort_unstable();
    let (mut pos, mut count) = (0usize, 0u64);
    for &(byte, slot) in wanted.iter() {
        let mut byte = byte.min(text.len());
        while !text.is_char_boundary(byte) {
            byte -= 1;
        }
        if byte > pos {
            count += text[pos..byte].chars().count() as u64;
            pos = byte;
        }
        out[slot] = count;
    }
}

/// Code-point `(start, end)` of every finding of a plain-text scan of `text`.
pub(crate) fn text_offsets(text: &str, findings: &[Finding]) -> Vec<(u64, u64)> {
    let mut wanted: Vec<(usize, usize)> = Vec::with_capacity(findings.len() * 2);
    for (i, f) in findings.iter().enumerate() {
        wanted.push((f.start as usize, 2 * i));
        wanted.push((f.end as usize, 2 * i + 1));
    }
    let mut out = vec![0u64; findings.len() * 2];
    code_points(text, &mut wanted, &mut out);
    out.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

/// What is kept of an extracted segment to convert offsets after the scan: its location, role
/// and, unless it is ASCII (where bytes are code points), its text.
#[derive(Debug)]
pub(crate) struct SegmentText {
    location: Vec<String>,
    role: Role,
    text: Option<String>,
    len: usize,
}

impl SegmentText {
    pub(crate) fn of(segment: &miji::Segment) -> SegmentText {
        SegmentText {
            location: segment.location.clone(),
            role: segment.role,
            text: (!segment.text.is_ascii()).then(|| segment.text.clone()),
            len: segment.text.len(),
        }
    }
}

/// Code-point offsets of the findings of an extracted document: each finding is mapped to the
/// first segment with its location and role that holds its byte range (and, for a marking,
/// whose text there is the marking's excerpt).
pub(crate) fn document_offsets(segments: &[SegmentText], findings: &[Finding]) -> Vec<(u64, u64)> {
    let mut by_key: HashMap<(&[String], Role), Vec<usize>> = HashMap::new();
    for (i, s) in segments.iter().enumerate() {
        by_key
            .entry((s.location.as_slice(), s.role))
            .or_default()
            .push(i);
    }
    let mut per_segment: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    let mut out: Vec<u64> = findings.iter().flat_map(|f| [f.start, f.end]).collect();
    for (i, f) in findings.iter().enumerate() {
        let Some(candidates) = by_key.get(&(f.location.as_slice(), f.role)) else {
            continue;
        };
        let (start, end) = (f.start as usize, f.end as usize);
        let fits = |&&s: &&usize| {
            let seg = &segments[s];
            match &seg.text {
                None => end <= seg.len,
                Some(t) => t.get(start..end).is_some_and(|m| {
                    f.excerpt
                        .as_deref()
                        .is_none_or(|e| f.kind != miji::FindingKind::Marking || m == e)
                }),
            }
        };
        let chosen = candidates
            .iter()
            .find(fits)
            .or_else(|| candidates.iter().find(|&&s| end <= segments[s].len));
        if let Some(&s) = chosen
            && segments[s].text.is_some()
        {
            let list = per_segment.entry(s).or_default();
            list.push((start, 2 * i));
            list.push((end, 2 * i + 1));
        }
    }
    for (s, mut wanted) in per_segment {
        if let Some(text) = &segments[s].text {
            code_points(text, &mut wanted, &mut out);
        }
    }
    out.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

// ---------------------------------------------------------------------------------------------
// The classes.

/// One input's verdict: the record of the contract (`miji.report/1`).
///
/// `level` is the highest level of any marking, `action` the policy's verdict, `marking` the
/// top marking (or `None`), `findings` every finding in document order. `complete` is `False`
/// when part of a file could not be read; `errors` then says why. `to_dict()` and `to_json()`
/// give the contract's JSON (byte offsets); `Finding.start`/`.end` are `str` indices.
#[pyclass(frozen, module = "miji", name = "Report")]
pub(crate) struct PyReport {
    report: Report,
    offsets: Vec<(u64, u64)>,
    findings: PyOnceLock<Vec<Py<PyFinding>>>,
}

impl std::fmt::Debug for PyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyReport")
            .field("report", &self.report)
            .field("offsets", &self.offsets)
            .finish_non_exhaustive()
    }
}

impl PyReport {
    pub(crate) fn new(report: Report, offsets: Vec<(u64, u64)>) -> PyReport {
        debug_assert_eq!(report.findings.len(), offsets.len());
        PyReport {
            report,
            offsets,
            findings: PyOnceLock::new(),
        }
    }

    pub(crate) fn inner(&self) -> &Report {
        &self.report
    }
}

#[pymethods]
impl PyReport {
    /// Always `"miji.report/1"`.
    #[getter]
    fn schema(&self) -> &str {
        &self.report.schema
    }

    /// The file as named (`None` for in-memory scans).
    #[getter]
    fn path(&self) -> Option<&str> {
        self.report.path.as_deref()
    }

    /// The input's size in bytes, as read.
    #[getter]
    fn bytes(&self) -> u64 {
        self.report.bytes
    }

    /// The highest level of any marking (`Level.PUBLIC` when none).
    #[getter]
    fn level(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        level_obj(py, self.report.level)
    }

    /// The policy's verdict.
    #[getter]
    fn action(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        action_obj(py, self.report.action)
    }

    /// `False` when any part could not be read (see `errors`).
    #[getter]
    fn complete(&self) -> bool {
        self.report.complete
    }

    /// The highest-level marking (ties: first in document order), or `None`.
    #[getter]
    fn marking(&self) -> Option<PyMarking> {
        self.report.marking.clone().map(PyMarking)
    }

    /// Every finding that survived allow-lists and thresholds, in document order.
    #[getter]
    fn findings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self.findings.get_or_try_init(py, || {
            self.report
                .findings
                .iter()
                .zip(&self.offsets)
                .map(|(f, &(start, end))| {
                    Py::new(
                        py,
                        PyFinding {
                            finding: f.clone(),
                            start,
                            end,
                        },
                    )
                })
                .collect::<PyResult<Vec<_>>>()
        })?;
        PyList::new(py, items.iter().map(|f| f.clone_ref(py)))
    }

    /// For containers: one `{location, level, action, marking}` dict per member document.
    #[getter]
    fn members(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.report.members)
    }

    /// Why parts could not be read: `{kind, location, message}` dicts.
    #[getter]
    fn errors(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.report.errors)
    }

    /// `None`, or how many findings were found when more than the policy keeps were.
    #[getter]
    fn truncated(&self) -> Option<u64> {
        self.report.truncated.map(|t| t.findings)
    }

    /// Digest of the compiled policy that produced this record.
    #[getter]
    fn policy(&self) -> &str {
        &self.report.policy
    }

    /// Exact number of findings per rule ID.
    #[getter]
    fn counts(&self) -> HashMap<String, u64> {
        self.report
            .counts
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// The detected text encoding of a plain-text file (`UTF-8`, `GBK`…), else `None`.
    #[getter]
    fn encoding(&self) -> Option<&str> {
        self.report.encoding.as_deref()
    }

    /// The contract's JSON object as Python values.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.report)
    }

    /// The contract's JSON text (one line, or indented with `pretty=True`).
    #[pyo3(signature = (*, pretty = false))]
    fn to_json(&self, pretty: bool) -> String {
        if pretty {
            self.report.to_json_pretty()
        } else {
            self.report.to_json()
        }
    }

    fn __repr__(&self) -> String {
        let marking = match &self.report.marking {
            Some(m) => format!("{:?}", m.text),
            None => "None".to_string(),
        };
        let path = match &self.report.path {
            Some(p) => format!("path={p:?}, "),
            None => String::new(),
        };
        format!(
            "Report({path}level={}, action={}, marking={marking}, findings={}, complete={})",
            level_name(self.report.level),
            action_name(self.report.action),
            self.report.findings.len(),
            if self.report.complete {
                "True"
            } else {
                "False"
            }
        )
    }
}

fn level_name(level: Level) -> String {
    format!("Level.{}", level.as_str().to_uppercase().replace('-', "_"))
}

fn action_name(action: Action) -> String {
    format!("Action.{}", action.as_str().to_uppercase())
}

/// One match of one rule.
///
/// `kind` is `"marking"`, `"keyword"` or `"detector"`; `rule` the rule's ID (`dict.<name>` for
/// dictionaries). `start`/`end` are `str` indices (code points) into the scanned text, so
/// `text[f.start:f.end]` is the match; `byte_start`/`byte_end` are the contract's UTF-8 byte
/// offsets. For files both count within the extracted text of `location`.
#[pyclass(frozen, module = "miji", name = "Finding")]
#[derive(Debug)]
pub(crate) struct PyFinding {
    finding: Finding,
    start: u64,
    end: u64,
}

#[pymethods]
impl PyFinding {
    /// `"marking"`, `"keyword"` or `"detector"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.finding.kind {
            miji::FindingKind::Marking => "marking",
            miji::FindingKind::Keyword => "keyword",
            miji::FindingKind::Detector => "detector",
        }
    }

    /// The rule's ID (`cn.state-secret`, `dict.projects`).
    #[getter]
    fn rule(&self) -> &str {
        &self.finding.rule
    }

    /// For markings: the level it carries; else `None`.
    #[getter]
    fn level(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.finding.level.map(|l| level_obj(py, l)).transpose()
    }

    /// For markings: the scheme it was read as (`cn`, `us`, `tlp`…).
    #[getter]
    fn scheme(&self) -> Option<&str> {
        self.finding.scheme.as_deref()
    }

    /// For keywords and detectors: the rule's category (`pii`, `projects`…).
    #[getter]
    fn category(&self) -> Option<&str> {
        self.finding.category.as_deref()
    }

    /// `"high"`, `"medium"` or `"low"`.
    #[getter]
    fn confidence(&self) -> &'static str {
        self.finding.confidence.as_str()
    }

    /// Location components, outermost first (empty for plain text).
    #[getter]
    fn location(&self) -> Vec<String> {
        self.finding.location.clone()
    }

    /// The role of the text (`body`, `header`…).
    #[getter]
    fn role(&self) -> &'static str {
        self.finding.role.as_str()
    }

    /// Start, in code points (a `str` index).
    #[getter]
    fn start(&self) -> u64 {
        self.start
    }

    /// End (exclusive), in code points.
    #[getter]
    fn end(&self) -> u64 {
        self.end
    }

    /// Start, in UTF-8 bytes (the contract's `start`).
    #[getter]
    fn byte_start(&self) -> u64 {
        self.finding.start
    }

    /// End (exclusive), in UTF-8 bytes (the contract's `end`).
    #[getter]
    fn byte_end(&self) -> u64 {
        self.finding.end
    }

    /// 1-based line of the start.
    #[getter]
    fn line(&self) -> u64 {
        self.finding.line
    }

    /// 1-based column of the start, in code points.
    #[getter]
    fn column(&self) -> u64 {
        self.finding.column
    }

    /// Markings as found; keywords and detectors masked per policy; `None` when dropped.
    #[getter]
    fn excerpt(&self) -> Option<&str> {
        self.finding.excerpt.as_deref()
    }

    /// Stable hash of (rule, normalised match, location), for allow-lists and baselines.
    #[getter]
    fn fingerprint(&self) -> &str {
        &self.finding.fingerprint
    }

    /// The contract's JSON object (byte offsets) as Python values.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.finding)
    }

    fn __repr__(&self) -> String {
        format!(
            "Finding(kind={:?}, rule={:?}, start={}, end={}, excerpt={})",
            self.kind(),
            self.finding.rule,
            self.start,
            self.end,
            self.finding
                .excerpt
                .as_ref()
                .map_or("None".to_string(), |e| format!("{e:?}"))
        )
    }
}

/// A report's top marking: what the label says.
///
/// `scheme` (`cn`, `us`, `tlp`…), `label` (`机密`, `SECRET`), `level`, `text` as found, and when
/// read: `period` (`10年`), `declassify_on`, `condition` (`启用前`), `caveats` (`NOFORN`).
#[pyclass(frozen, module = "miji", name = "Marking")]
#[derive(Debug)]
pub(crate) struct PyMarking(Marking);

#[pymethods]
impl PyMarking {
    /// The scheme ID (`cn`, `us`, `tlp`, `corp`…).
    #[getter]
    fn scheme(&self) -> &str {
        &self.0.scheme
    }

    /// The level word as the scheme names it (`机密`, `SECRET`, `TLP:AMBER`).
    #[getter]
    fn label(&self) -> &str {
        &self.0.label
    }

    /// Its rung on the ladder.
    #[getter]
    fn level(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        level_obj(py, self.0.level)
    }

    /// The marking as found.
    #[getter]
    fn text(&self) -> &str {
        &self.0.text
    }

    /// Protection period (`10年`, `长期`), if read.
    #[getter]
    fn period(&self) -> Option<&str> {
        self.0.period.as_deref()
    }

    /// Declassification date, if read.
    #[getter]
    fn declassify_on(&self) -> Option<&str> {
        self.0.declassify_on.as_deref()
    }

    /// Declassification condition (`启用前`), if read.
    #[getter]
    fn condition(&self) -> Option<&str> {
        self.0.condition.as_deref()
    }

    /// Dissemination controls and caveats (`NOFORN`).
    #[getter]
    fn caveats(&self) -> Vec<String> {
        self.0.caveats.clone()
    }

    /// Where it was found (empty for plain text).
    #[getter]
    fn location(&self) -> Vec<String> {
        self.0.location.clone()
    }

    /// The role of its text (`body`, `header`…).
    #[getter]
    fn role(&self) -> &'static str {
        self.0.role.as_str()
    }

    /// `"high"`, `"medium"` or `"low"`.
    #[getter]
    fn confidence(&self) -> &'static str {
        self.0.confidence.as_str()
    }

    /// The rule that read it.
    #[getter]
    fn rule(&self) -> &str {
        &self.0.rule
    }

    /// Problems with the marking itself (a period beyond the legal maximum…).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.0.warnings.clone()
    }

    /// The contract's JSON object as Python values.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.0)
    }

    fn __repr__(&self) -> String {
        let mut s = format!(
            "Marking(scheme={:?}, level={}, text={:?}",
            self.0.scheme,
            level_name(self.0.level),
            self.0.text
        );
        for (name, value) in [
            ("period", &self.0.period),
            ("declassify_on", &self.0.declassify_on),
            ("condition", &self.0.condition),
        ] {
            if let Some(v) = value {
                s.push_str(&format!(", {name}={v:?}"));
            }
        }
        s.push(')');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_cover_cjk_and_emoji() {
        let text = "😀 机密★10年 x";
        let start = text.find("机密").unwrap();
        let end = start + "机密★10年".len();
        let mut wanted = vec![(end, 1), (start, 0)];
        let mut out = vec![0; 2];
        code_points(text, &mut wanted, &mut out);
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(
            chars[out[0] as usize..out[1] as usize]
                .iter()
                .collect::<String>(),
            "机密★10年"
        );
    }
}
