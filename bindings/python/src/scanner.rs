//! `miji.Scanner`: a compiled policy behind an atomically swappable `Arc`, scanning with the
//! GIL released, alone or on every core.

use crate::errors::{BindError, guard};
use crate::report::{PyReport, SegmentText, document_offsets, text_offsets, to_py};
use miji::{Document, PolicyBuilder};
use miji_extract::{Extractor, Limits};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Where the policy's own text comes from (besides the built-in packs and dictionaries).
#[derive(Debug, Clone)]
enum Source {
    /// The built-in default policy only.
    Builtin,
    /// A policy file, re-read by `reload()`.
    File(PathBuf),
    /// Policy text given as a string.
    Toml { name: String, text: String },
}

/// Everything a policy is built from, so `reload()` rebuilds it the same way.
#[derive(Debug, Clone)]
struct Recipe {
    default_policy: bool,
    dictionaries: Vec<(String, Vec<String>)>,
    source: Source,
}

impl Recipe {
    /// Compiles the policy (no GIL needed).
    fn build(&self) -> Result<miji::Scanner, BindError> {
        let mut builder = PolicyBuilder::new().default_policy(self.default_policy);
        match &self.source {
            Source::Builtin => {}
            Source::File(path) => {
                // Open it first so that a missing or unreadable file is the OS error Python
                // users expect (`FileNotFoundError`), not a policy diagnostic.
                check_readable(path)?;
                builder = builder.policy_file(path).map_err(BindError::Policy)?;
            }
            Source::Toml { name, text } => {
                builder = builder.source(name.clone(), text.clone(), None)
            }
        }
        for (name, terms) in &self.dictionaries {
            builder = builder.dictionary(name.clone(), terms.iter().cloned());
        }
        builder
            .build()
            .map(miji::Scanner::new)
            .map_err(BindError::Policy)
    }
}

/// Opens `path` (and drops it) to surface the OS error of a missing, unreadable or directory path.
fn check_readable(path: &Path) -> Result<(), BindError> {
    let file = std::fs::File::open(path).map_err(|e| BindError::io(e, path))?;
    match file.metadata() {
        Ok(meta) if meta.is_dir() => Err(BindError::io(
            std::io::Error::from_raw_os_error(libc_eisdir()),
            path,
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(BindError::io(e, path)),
    }
}

/// `EISDIR` (21 on every Unix miji targets; Windows refuses to open directories anyway).
const fn libc_eisdir() -> i32 {
    21
}

/// The limits a `limits={...}` mapping may set, by name.
fn apply_limit(limits: &mut Limits, name: &str, value: Option<f64>) -> Result<(), BindError> {
    let int = |v: Option<f64>| -> Result<u64, BindError> {
        match v {
            Some(v) if v >= 0.0 && v.fract() == 0.0 => Ok(v as u64),
            _ => Err(BindError::Value(format!(
                "limit '{name}' must be a non-negative integer"
            ))),
        }
    };
    match name {
        "max_size" => limits.max_size = int(value)?,
        "max_total_decompressed" => limits.max_total_decompressed = int(value)?,
        "max_ratio" => limits.max_ratio = int(value)?,
        "ratio_floor" => limits.ratio_floor = int(value)?,
        "max_depth" => limits.max_depth = int(value)?.try_into().unwrap_or(u32::MAX),
        "max_entries" => limits.max_entries = int(value)?,
        "max_total_entries" => limits.max_total_entries = int(value)?,
        "max_xml_depth" => limits.max_xml_depth = int(value)?.try_into().unwrap_or(u32::MAX),
        "max_time" => {
            limits.max_time = match value {
                None => None,
                Some(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
                Some(_) => {
                    return Err(BindError::Value(
                        "limit 'max_time' must be seconds >= 0 or None".into(),
                    ));
                }
            }
        }
        _ => {
            return Err(BindError::Value(format!(
                "unknown limit '{name}' (expected one of: max_size, max_total_decompressed, max_ratio, \
                 ratio_floor, max_depth, max_entries, max_total_entries, max_time, max_xml_depth)"
            )));
        }
    }
    Ok(())
}

/// Runs `f` over `items` on up to `threads` threads, keeping order.
fn par_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    for part in parts.iter_mut() {
        for (i, r) in part.drain(..) {
            out[i] = Some(r);
        }
    }
    out.into_iter()
        .map(|r| r.expect("every item is mapped once"))
        .collect()
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Text handed to a scan: the UTF-8 of a `str` (borrowed, no copy) or raw bytes.
fn input_bytes<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "expected str or bytes, got {}",
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into())
    )))
}

/// Scans plain text and converts offsets: the work of `scan()` and `scan_many()`.
fn scan_text(scanner: &miji::Scanner, input: &[u8]) -> Result<PyReport, BindError> {
    guard(|| {
        let report = scanner.scan(input);
        if report.findings.is_empty() {
            return Ok(PyReport::new(report, Vec::new()));
        }
        // the same text the core scanned, for code-point offsets
        let text: Cow<'_, str> = match simdutf8::basic::from_utf8(input) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(input),
        };
        let offsets = text_offsets(&text, &report.findings);
        Ok(PyReport::new(report, offsets))
    })
}

/// Scans an extracted document and converts offsets.
pub(crate) fn scan_doc(scanner: &miji::Scanner, doc: Document) -> PyReport {
    let texts: Vec<SegmentText> = doc.segments.iter().map(SegmentText::of).collect();
    let report = scanner.scan_document(doc);
    let offsets = document_offsets(&texts, &report.findings);
    PyReport::new(report, offsets)
}

/// Extracts and scans one file: OS errors on opening are raised, the rest is on the record.
fn scan_path(
    scanner: &miji::Scanner,
    extractor: &Extractor,
    path: &Path,
    strict: bool,
) -> Result<PyReport, BindError> {
    guard(|| {
        check_readable(path)?;
        let report = scan_doc(scanner, extractor.extract_path(path));
        if strict
            && !report.inner().complete
            && let Some(error) = report.inner().errors.first().cloned()
        {
            return Err(BindError::Incomplete {
                error,
                report: Box::new(report),
            });
        }
        Ok(report)
    })
}

/// A compiled policy, ready to scan text and files from any number of threads.
///
/// ```python
/// scanner = miji.Scanner(dictionaries={"projects": ["天穹计划"]})
/// report = scanner.scan("机密★10年\n关于天穹计划的通知")
/// assert report.level == miji.Level.SECRET
/// ```
///
/// `Scanner()` uses the built-in default policy; `dictionaries` adds one `dict.<name>` rule per
/// entry; `default_policy=False` leaves the built-in packs out; `limits` sets extraction limits
/// for files (`max_size`, `max_total_decompressed`, `max_ratio`, `ratio_floor`, `max_depth`,
/// `max_entries`, `max_total_entries`, `max_time` in seconds or `None`, `max_xml_depth`).
/// Every scan releases the GIL; `scan_many`/`scan_files` use every core. `reload()` swaps the
/// policy atomically: scans in flight finish with the old one, and a bad policy raises
/// `PolicyError` and keeps the old one.
#[pyclass(frozen, module = "miji", name = "Scanner")]
#[derive(Debug)]
pub(crate) struct PyScanner {
    current: RwLock<Arc<miji::Scanner>>,
    recipe: Mutex<Recipe>,
    extractor: Extractor,
}

impl PyScanner {
    fn create(
        py: Python<'_>,
        recipe: Recipe,
        limits: Option<Vec<(String, Option<f64>)>>,
    ) -> PyResult<PyScanner> {
        let mut lim = Limits::default();
        for (name, value) in limits.unwrap_or_default() {
            apply_limit(&mut lim, &name, value)?;
        }
        let scanner = py.detach(|| guard(|| recipe.build()))?;
        Ok(PyScanner {
            current: RwLock::new(Arc::new(scanner)),
            recipe: Mutex::new(recipe),
            extractor: Extractor::new(lim),
        })
    }

    /// The scanner of the moment (an `Arc` clone: a reload never disturbs a scan in flight).
    fn current(&self) -> Arc<miji::Scanner> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn recipe(&self) -> Recipe {
        self.recipe
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

type Dictionaries = Option<Vec<(String, Vec<String>)>>;
type LimitArgs = Option<Vec<(String, Option<f64>)>>;

fn recipe(source: Source, dictionaries: Dictionaries, default_policy: bool) -> Recipe {
    Recipe {
        default_policy,
        dictionaries: dictionaries.unwrap_or_default(),
        source,
    }
}

#[pymethods]
impl PyScanner {
    #[new]
    #[pyo3(signature = (*, dictionaries = None, default_policy = true, limits = None))]
    fn py_new(
        py: Python<'_>,
        dictionaries: Option<Bound<'_, PyAny>>,
        default_policy: bool,
        limits: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyScanner> {
        let (d, l) = (dictionary_args(dictionaries)?, limit_args(limits)?);
        PyScanner::create(py, recipe(Source::Builtin, d, default_policy), l)
    }

    /// A scanner from a policy file (TOML). The file extends the built-in default policy unless
    /// it says `extends = []`. Raises `PolicyError`, or `FileNotFoundError`/`PermissionError`.
    #[classmethod]
    #[pyo3(signature = (path, *, dictionaries = None, default_policy = true, limits = None))]
    fn from_file(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        path: PathBuf,
        dictionaries: Option<Bound<'_, PyAny>>,
        default_policy: bool,
        limits: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyScanner> {
        let (d, l) = (dictionary_args(dictionaries)?, limit_args(limits)?);
        PyScanner::create(py, recipe(Source::File(path), d, default_policy), l)
    }

    /// A scanner from policy text (TOML); `name` is what diagnostics call it.
    #[classmethod]
    #[pyo3(signature = (text, *, name = "<string>", dictionaries = None, default_policy = true, limits = None))]
    fn from_toml(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        text: String,
        name: &str,
        dictionaries: Option<Bound<'_, PyAny>>,
        default_policy: bool,
        limits: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyScanner> {
        let (d, l) = (dictionary_args(dictionaries)?, limit_args(limits)?);
        PyScanner::create(
            py,
            recipe(
                Source::Toml {
                    name: name.to_string(),
                    text,
                },
                d,
                default_policy,
            ),
            l,
        )
    }

    /// Scans one text (`str`, or `bytes` read as UTF-8 with invalid sequences replaced).
    fn scan(&self, py: Python<'_>, text: Bound<'_, PyAny>) -> PyResult<PyReport> {
        let input = input_bytes(&text)?;
        let scanner = self.current();
        Ok(py.detach(|| scan_text(&scanner, input))?)
    }

    /// Scans many texts on `threads` threads (default: every core); one `Report` each, in order.
    #[pyo3(signature = (texts, *, threads = None))]
    fn scan_many(
        &self,
        py: Python<'_>,
        texts: Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Vec<PyReport>> {
        let objects: Vec<Bound<'_, PyAny>> = texts.try_iter()?.collect::<PyResult<_>>()?;
        let inputs: Vec<&[u8]> = objects.iter().map(input_bytes).collect::<PyResult<_>>()?;
        let scanner = self.current();
        let threads = threads.unwrap_or_else(default_threads);
        let results = py.detach(|| par_map(&inputs, threads, |input| scan_text(&scanner, input)));
        Ok(results.into_iter().collect::<Result<Vec<_>, _>>()?)
    }

    /// Scans a file through miji's extractors (plain text in any common encoding, zip, tar,
    /// gzip, docx, xlsx, pptx). A missing or unreadable file raises the OS error; parts that
    /// cannot be read leave `complete=False` on the report, or with `strict=True` raise
    /// `LimitExceeded` / `ExtractError` (which carry the report).
    #[pyo3(signature = (path, *, strict = false))]
    fn scan_file(&self, py: Python<'_>, path: PathBuf, strict: bool) -> PyResult<PyReport> {
        let scanner = self.current();
        Ok(py.detach(|| scan_path(&scanner, &self.extractor, &path, strict))?)
    }

    /// Scans many files on `threads` threads (default: every core); one `Report` each, in
    /// order. Errors as for `scan_file` (the first failing path, in order, is raised).
    #[pyo3(signature = (paths, *, threads = None, strict = false))]
    fn scan_files(
        &self,
        py: Python<'_>,
        paths: Bound<'_, PyAny>,
        threads: Option<usize>,
        strict: bool,
    ) -> PyResult<Vec<PyReport>> {
        let paths: Vec<PathBuf> = paths
            .try_iter()?
            .map(|p| p?.extract::<PathBuf>())
            .collect::<PyResult<_>>()?;
        let scanner = self.current();
        let threads = threads.unwrap_or_else(default_threads);
        let results = py.detach(|| {
            par_map(&paths, threads, |path| {
                scan_path(&scanner, &self.extractor, path, strict)
            })
        });
        Ok(results.into_iter().collect::<Result<Vec<_>, _>>()?)
    }

    /// Scans an LLM chat payload (JSON as `str` or `bytes`: an OpenAI Chat Completions
    /// request with `messages`, a Responses API request with `input`, or a bare list of
    /// messages) as one document. Locations name the JSON place with 0-based indices as in
    /// the payload (`messages[3].content[1]`, `input[2].output`); embedded files
    /// (`file_data`) are extracted like `scan_file` does; pictures are `no-text-layer`
    /// errors and malformed JSON a `corrupt` error. `miji.screen_messages` builds on it.
    fn scan_chat(&self, py: Python<'_>, payload: Bound<'_, PyAny>) -> PyResult<PyReport> {
        let input = input_bytes(&payload)?;
        let scanner = self.current();
        Ok(py.detach(|| crate::chat::scan_chat(&scanner, &self.extractor, input))?)
    }

    /// Scans a chat payload like `scan_chat` and rewrites it: every text with findings has
    /// them masked (the masking of `redact`), in its JSON place. Returns `(rewritten JSON or
    /// None when the payload is not JSON, report of the original)`. Texts inside embedded
    /// files are not rewritten.
    fn redact_chat(
        &self,
        py: Python<'_>,
        payload: Bound<'_, PyAny>,
    ) -> PyResult<(Option<String>, PyReport)> {
        let input = input_bytes(&payload)?;
        let scanner = self.current();
        Ok(py.detach(|| crate::chat::redact_chat(&scanner, &self.extractor, input))?)
    }

    /// Returns `text` with every keyword and detector finding replaced by its mask.
    fn redact(&self, py: Python<'_>, text: Bound<'_, PyString>) -> PyResult<String> {
        let text = text.to_str()?;
        let scanner = self.current();
        Ok(py.detach(|| guard(|| Ok(scanner.redact(text))))?)
    }

    /// The decision trace of every marking candidate in `text`: a list of dicts with `rule`,
    /// `scheme`, `line`, `text`, `level`, `cues_for`, `cues_against`, `confidence`, `verdict`
    /// (`marking`, `mention`, `below-threshold`, `uncorroborated`, `allowed`).
    fn explain(&self, py: Python<'_>, text: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let input = input_bytes(&text)?;
        let scanner = self.current();
        let trace = py.detach(|| guard(|| Ok(scanner.explain(input).1)))?;
        to_py(py, &trace)
    }

    /// Rebuilds the policy and swaps it in atomically. With `path`, from that policy file
    /// (which then becomes the scanner's source); without, from the same source as before (a
    /// policy file is read again). Dictionaries, `default_policy` and limits stay. A bad
    /// policy raises `PolicyError` (or `FileNotFoundError`…) and the old policy stays in use.
    #[pyo3(signature = (path = None))]
    fn reload(&self, py: Python<'_>, path: Option<PathBuf>) -> PyResult<()> {
        let mut recipe = self.recipe();
        if let Some(path) = path {
            recipe.source = Source::File(path);
        }
        self.swap(py, recipe)
    }

    /// Like `reload`, from policy text.
    #[pyo3(signature = (text, *, name = "<string>"))]
    fn reload_toml(&self, py: Python<'_>, text: String, name: &str) -> PyResult<()> {
        let mut recipe = self.recipe();
        recipe.source = Source::Toml {
            name: name.to_string(),
            text,
        };
        self.swap(py, recipe)
    }

    /// Digest of the compiled policy in use (`sha256:…`), as in every report's `policy`.
    #[getter]
    fn policy_digest(&self) -> String {
        self.current().policy().digest().to_string()
    }

    /// The IDs of every rule of the policy in use.
    #[getter]
    fn rule_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.current().policy().rule_ids())
    }

    fn __repr__(&self) -> String {
        let source = match &self.recipe().source {
            Source::Builtin => "default".to_string(),
            Source::File(p) => format!("{:?}", p.display().to_string()),
            Source::Toml { name, .. } => format!("{name:?}"),
        };
        format!(
            "Scanner(source={source}, policy={:?})",
            self.current().policy().digest()
        )
    }
}

impl PyScanner {
    fn swap(&self, py: Python<'_>, recipe: Recipe) -> PyResult<()> {
        let scanner = py.detach(|| guard(|| recipe.build()))?;
        // Swap both under the recipe lock so that concurrent reloads cannot cross.
        let mut current_recipe = self.recipe.lock().unwrap_or_else(|e| e.into_inner());
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(scanner);
        *current_recipe = recipe;
        Ok(())
    }
}

/// The pairs of a mapping (or of an iterable of pairs).
fn pairs<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let items = if obj.hasattr("items")? {
        obj.call_method0("items")?
    } else {
        obj.clone()
    };
    items.try_iter()?.map(|item| item?.extract()).collect()
}

/// `dictionaries={"projects": ["天穹计划", ...]}`: names to any iterable of `str` terms.
fn dictionary_args(obj: Option<Bound<'_, PyAny>>) -> PyResult<Dictionaries> {
    let Some(obj) = obj else { return Ok(None) };
    let mut out = Vec::new();
    for (name, terms) in pairs(&obj)? {
        if terms.is_instance_of::<PyString>() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "dictionary terms must be an iterable of str, not a single str",
            ));
        }
        let terms = terms
            .try_iter()?
            .map(|t| t?.extract::<String>())
            .collect::<PyResult<Vec<_>>>()?;
        out.push((name.extract::<String>()?, terms));
    }
    Ok(Some(out))
}

/// `limits={"max_size": 1 << 20, "max_time": None}`.
fn limit_args(obj: Option<Bound<'_, PyAny>>) -> PyResult<LimitArgs> {
    let Some(obj) = obj else { return Ok(None) };
    pairs(&obj)?
        .into_iter()
        .map(|(k, v)| Ok((k.extract::<String>()?, v.extract::<Option<f64>>()?)))
        .collect::<PyResult<Vec<_>>>()
        .map(Some)
}
