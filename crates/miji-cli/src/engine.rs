//! The scan engine: a parallel walk (the `ignore` crate with every standard filter off, so
//! hidden files, `.env` and git-ignored files are scanned; `.mijiignore` files and
//! `--glob`/`--exclude` are honoured), reading, extraction and scanning on the walker's
//! threads, and one consumer (the caller's closure, on the calling thread) that receives
//! whole records. Nothing found is skipped silently: unreadable files, special files, links
//! that cannot be followed and symbolic-link loops are records with an `io` error.

use crate::baseline::{self, Baseline};
use crate::cache::{Cache, Key};
use crate::input;
use crate::{PolicySources, facts};
use ignore::{WalkBuilder, WalkState};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use miji::{Document, ErrorKind, RecordError, Report, Scanner};
use miji_extract::Extractor;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// How folders are walked.
#[derive(Debug, Clone, Default)]
pub struct WalkOpts {
    /// Threads (0: the `ignore` crate's choice, the number of cores up to 12).
    pub threads: usize,
    /// Include globs.
    pub globs: Vec<String>,
    /// Exclude globs.
    pub excludes: Vec<String>,
    /// Follow symbolic links inside folders.
    pub follow: bool,
    /// Honour `.mijiignore` files.
    pub mijiignore: bool,
}

/// Counters the consumer reads when the walk is over.
#[derive(Debug, Default)]
pub struct Stats {
    /// Content bytes read from files and standard input.
    pub bytes_read: AtomicU64,
    /// Records served from the cache.
    pub cached: AtomicU64,
    /// Symbolic links inside folders that were not followed.
    pub symlinks_skipped: AtomicU64,
    /// Findings removed by the baseline.
    pub baseline_suppressed: AtomicU64,
}

/// One finished record.
#[derive(Debug)]
pub struct Item {
    /// Raw path bytes (sort key).
    pub sort_key: Vec<u8>,
    /// The record.
    pub report: Report,
}

/// Stack size the walker threads are given (through `RUST_MIN_STACK`, see
/// [`give_walker_threads_stack`]) so they can run the extractors in place instead of starting
/// a thread per file (which cost more than scanning a small file).
pub const WALKER_STACK: usize = 64 << 20;

/// Room kept on a walker thread's stack beyond the extractor's own budget (the walker, the
/// scanner and the report are below the extractor's frames).
const STACK_MARGIN: usize = 4 << 20;

/// Sets `RUST_MIN_STACK` to [`WALKER_STACK`] unless it already asks for at least that much.
/// The `ignore` walker spawns its threads with the default stack size, which std reads from
/// that variable once, at the first spawn. Call before any thread starts.
pub fn give_walker_threads_stack() {
    if min_thread_stack() < WALKER_STACK {
        // SAFETY: called at the start of `main`, before any other thread exists.
        unsafe { std::env::set_var("RUST_MIN_STACK", WALKER_STACK.to_string()) };
    }
}

/// The stack size std gives threads spawned without an explicit one.
fn min_thread_stack() -> usize {
    std::env::var("RUST_MIN_STACK")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2 << 20)
}

/// Everything a scan needs, shared by the walker threads.
#[derive(Debug)]
pub struct Engine {
    scanner: Scanner,
    extractor: Extractor,
    walk: WalkOpts,
    cache: Option<Cache>,
    baseline: Option<Baseline>,
    sources: PolicySources,
    /// Walker threads have the stack the extractor needs: extract on them directly.
    extract_in_place: bool,
    /// Baseline variants of the scanner, by the fingerprints they allow.
    variants: Mutex<HashMap<Vec<String>, Scanner>>,
    stats: Arc<Stats>,
}

impl Engine {
    /// An engine.
    pub fn new(
        scanner: Scanner,
        extractor: Extractor,
        walk: WalkOpts,
        cache: Option<Cache>,
        baseline: Option<Baseline>,
        sources: PolicySources,
    ) -> Engine {
        let extract_in_place = extractor.limits().stack_size + STACK_MARGIN <= min_thread_stack();
        Engine {
            scanner,
            extractor,
            walk,
            cache,
            baseline,
            sources,
            extract_in_place,
            variants: Mutex::new(HashMap::new()),
            stats: Arc::new(Stats::default()),
        }
    }

    fn builder(&self, roots: &[PathBuf]) -> Option<WalkBuilder> {
        let (first, rest) = roots.split_first()?;
        let mut b = WalkBuilder::new(first);
        for r in rest {
            b.add(r);
        }
        b.standard_filters(false)
            .follow_links(self.walk.follow)
            .threads(self.walk.threads);
        if self.walk.mijiignore {
            b.add_custom_ignore_filename(".mijiignore");
            b.parents(true);
        }
        if !self.walk.globs.is_empty() || !self.walk.excludes.is_empty() {
            let cwd = std::env::current_dir().unwrap_or_default();
            let mut o = ignore::overrides::OverrideBuilder::new(cwd);
            for g in &self.walk.globs {
                let _ = o.add(g);
            }
            for g in &self.walk.excludes {
                let _ = o.add(&format!("!{g}"));
            }
            if let Ok(o) = o.build() {
                b.overrides(o);
            }
        }
        Some(b)
    }

    /// Walks `roots` and calls `consume` with every record, in completion order, on the
    /// calling thread. An error from `consume` (a closed pipe) stops the walk and is returned.
    pub fn run(
        &self,
        roots: &[PathBuf],
        progress: Option<&ProgressBar>,
        mut consume: impl FnMut(Item) -> io::Result<()>,
    ) -> io::Result<StatsSnapshot> {
        let mut walk_roots = Vec::new();
        for r in roots {
            if r.as_os_str() == "-" {
                let mut doc = input::read(&self.extractor, &input::Input::Stdin);
                self.stats
                    .bytes_read
                    .fetch_add(doc.bytes, Ordering::Relaxed);
                doc.path = Some("-".into());
                let report = self.scan_doc(doc, b"-");
                consume(Item {
                    sort_key: b"-".to_vec(),
                    report,
                })?;
            } else {
                walk_roots.push(root_for_walk(r));
            }
        }
        let quit = AtomicBool::new(false);
        let mut result = Ok(());
        if let Some(builder) = self.builder(&walk_roots) {
            let (tx, rx) = sync_channel::<Item>(256);
            std::thread::scope(|s| {
                let quit = &quit;
                s.spawn(move || {
                    builder.build_parallel().run(|| {
                        let tx = tx.clone();
                        Box::new(move |entry| {
                            if quit.load(Ordering::Relaxed) {
                                return WalkState::Quit;
                            }
                            if let Some(item) = self.visit(entry)
                                && tx.send(item).is_err()
                            {
                                return WalkState::Quit;
                            }
                            WalkState::Continue
                        })
                    });
                });
                for item in rx.iter() {
                    if result.is_ok() {
                        if let Some(pb) = progress {
                            pb.inc(1);
                        }
                        result = consume(item);
                        if result.is_err() {
                            quit.store(true, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        if let Some(c) = &self.cache {
            c.close()?;
        }
        result?;
        Ok(self.snapshot())
    }

    fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            bytes_read: self.stats.bytes_read.load(Ordering::Relaxed),
            cached: self.stats.cached.load(Ordering::Relaxed),
            symlinks_skipped: self.stats.symlinks_skipped.load(Ordering::Relaxed),
            baseline_suppressed: self.stats.baseline_suppressed.load(Ordering::Relaxed),
        }
    }

    /// One walker entry → at most one record.
    fn visit(&self, entry: Result<ignore::DirEntry, ignore::Error>) -> Option<Item> {
        let dent = match entry {
            Ok(d) => d,
            Err(err) => return self.walk_error(&err),
        };
        let path = dent.path();
        let ft = dent.file_type()?;
        if ft.is_dir() {
            return None;
        }
        if ft.is_symlink() {
            if dent.depth() > 0 {
                // Not following links inside folders (`--follow` is off).
                self.stats.symlinks_skipped.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            // A link named on the command line is followed.
            return Some(match std::fs::metadata(path) {
                Ok(m) if m.is_file() => self.file(path, Some(&m)),
                Ok(m) => self.special(path, &m.file_type()),
                Err(e) => self.io_record(path, format!("cannot read file: {e}")),
            });
        }
        if ft.is_file() {
            let meta = dent.metadata().ok();
            return Some(self.file(path, meta.as_ref()));
        }
        Some(self.special(path, &ft))
    }

    fn walk_error(&self, err: &ignore::Error) -> Option<Item> {
        let (path, message) = describe_walk_error(err);
        match path {
            Some(p) => Some(self.io_record(&p, message)),
            None => {
                eprintln!("miji: {message}");
                None
            }
        }
    }

    fn special(&self, path: &Path, ft: &std::fs::FileType) -> Item {
        let what = special_kind(ft);
        self.io_record(path, format!("not a regular file ({what}): not read"))
    }

    /// A record for an input that could not be read at all.
    fn io_record(&self, path: &Path, message: String) -> Item {
        let mut doc = input::io_error_doc(message);
        let (display, raw) = input::path_names(path);
        doc.path = Some(display);
        doc.path_bytes = raw;
        let key = input::path_key(path);
        let report = self.scanner.scan_document(doc);
        Item {
            sort_key: key,
            report,
        }
    }

    /// Reads, extracts and scans one regular file (or answers from the cache).
    fn file(&self, path: &Path, hint: Option<&Metadata>) -> Item {
        let key_bytes = input::path_key(path);
        if let (Some(cache), Some(m)) = (&self.cache, hint)
            && let Some(report) = cache.lookup(&key_bytes, &Key::of(m))
        {
            self.stats.cached.fetch_add(1, Ordering::Relaxed);
            return Item {
                sort_key: key_bytes,
                report,
            };
        }
        let mut file = match open_nonblocking(path) {
            Ok(f) => f,
            Err(e) => return self.io_record(path, format!("cannot read file: {e}")),
        };
        let meta = match file.metadata() {
            Ok(m) => m,
            Err(e) => return self.io_record(path, format!("cannot read file: {e}")),
        };
        if !meta.is_file() {
            return self.special(path, &meta.file_type());
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let max = self.extractor.limits().max_size;
        let mut sha = None;
        let mut doc = if meta.len() > max {
            self.too_large(&name, meta.len())
        } else {
            let mut bytes = Vec::with_capacity(meta.len() as usize);
            match (&mut file).take(max + 1).read_to_end(&mut bytes) {
                Ok(n) => {
                    self.stats.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
                    if n as u64 <= max {
                        sha = Some(facts::sha256_hex(&bytes));
                    }
                    if self.extract_in_place {
                        self.extractor.extract_on_current_thread(&name, &bytes)
                    } else {
                        self.extractor.extract(&name, &bytes)
                    }
                }
                Err(e) => return self.io_record(path, format!("cannot read file: {e}")),
            }
        };
        drop(file);
        let (display, raw) = input::path_names(path);
        doc.path = Some(display);
        doc.path_bytes = raw;
        let mut report = self.scan_doc(doc, &key_bytes);
        report.file = Some(facts::file_facts(&meta, sha));
        if let Some(cache) = &self.cache {
            let key = Key::of(&meta);
            if Cache::cacheable(&report) && !key.is_racy(SystemTime::now()) {
                cache.store(&key_bytes, key, &report);
            }
        }
        Item {
            sort_key: key_bytes,
            report,
        }
    }

    fn too_large(&self, name: &str, len: u64) -> Document {
        let named = self.extractor.extract(name, b"");
        Document {
            bytes: len,
            segments: named.segments,
            errors: vec![RecordError::new(
                ErrorKind::LimitSize,
                Vec::new(),
                format!(
                    "input of {len} bytes is larger than {} bytes",
                    self.extractor.limits().max_size
                ),
            )],
            ..Document::default()
        }
    }

    /// Scans a document, then applies the baseline: when some of the record's findings are
    /// accepted for this path, the document is scanned again by the policy plus an allow-list
    /// of exactly those fingerprints, so level, marking, members, counts and action come from
    /// the core's own rules.
    fn scan_doc(&self, doc: Document, path: &[u8]) -> Report {
        let accepted = self.baseline.as_ref().and_then(|b| {
            let mut p = path.to_vec();
            while p.starts_with(b"./") {
                p.drain(..2);
            }
            b.for_path(&p)
        });
        let Some(accepted) = accepted else {
            return self.scanner.scan_document(doc);
        };
        let copy = doc.clone();
        let report = self.scanner.scan_document(doc);
        let mut hit: Vec<String> = if report.truncated.is_some() {
            accepted.iter().cloned().collect()
        } else {
            report
                .findings
                .iter()
                .map(|f| f.fingerprint.clone())
                .filter(|fp| accepted.contains(fp))
                .collect()
        };
        hit.sort();
        hit.dedup();
        if hit.is_empty() {
            return report;
        }
        let Some(variant) = self.variant(hit) else {
            return report;
        };
        let mut again = variant.scan_document(copy);
        again.policy = report.policy.clone();
        let before: u64 = report.counts.values().sum();
        let after: u64 = again.counts.values().sum();
        self.stats
            .baseline_suppressed
            .fetch_add(before.saturating_sub(after), Ordering::Relaxed);
        again
    }

    fn variant(&self, fingerprints: Vec<String>) -> Option<Scanner> {
        if let Some(s) = self.variants.lock().ok()?.get(&fingerprints) {
            return Some(s.clone());
        }
        let policy = self
            .sources
            .builder()
            .source("<baseline>", baseline::allow_source(&fingerprints), None)
            .build()
            .ok()?;
        let s = Scanner::new(policy);
        let mut g = self.variants.lock().ok()?;
        if g.len() > 4096 {
            g.clear();
        }
        g.insert(fingerprints, s.clone());
        Some(s)
    }
}

/// Counters after a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsSnapshot {
    /// Content bytes read.
    pub bytes_read: u64,
    /// Records from the cache.
    pub cached: u64,
    /// Links not followed.
    pub symlinks_skipped: u64,
    /// Findings removed by the baseline.
    pub baseline_suppressed: u64,
}

/// A root as the walker should see it: a symbolic link to a folder, named on the command line,
/// is entered (a trailing `/` makes the walker resolve it).
fn root_for_walk(r: &Path) -> PathBuf {
    let is_link = std::fs::symlink_metadata(r).is_ok_and(|m| m.file_type().is_symlink());
    if is_link && std::fs::metadata(r).is_ok_and(|m| m.is_dir()) {
        let mut s = r.as_os_str().to_owned();
        s.push("/");
        return PathBuf::from(s);
    }
    r.to_path_buf()
}

/// Opens a file without blocking on a FIFO that replaced it after the walk saw a regular file.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(0o4000); // O_NONBLOCK: no effect on regular files
    }
    o.open(path)
}

fn special_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "fifo";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_block_device() {
            return "block device";
        }
        if ft.is_char_device() {
            return "character device";
        }
    }
    if ft.is_dir() {
        return "folder";
    }
    "special file"
}

/// The path an error is about, and its message.
fn describe_walk_error(err: &ignore::Error) -> (Option<PathBuf>, String) {
    match err {
        ignore::Error::WithPath { path, err } => {
            let (inner, msg) = describe_walk_error(err);
            let msg = match io_of(err) {
                Some(e) => format!("cannot read: {e}"),
                None => msg,
            };
            (inner.or_else(|| Some(path.clone())), msg)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            describe_walk_error(err)
        }
        ignore::Error::Loop { ancestor, child } => (
            Some(child.clone()),
            format!(
                "symbolic link loop: {} points back to {}",
                child.display(),
                ancestor.display()
            ),
        ),
        ignore::Error::Partial(errs) => errs
            .first()
            .map(describe_walk_error)
            .unwrap_or((None, err.to_string())),
        other => (None, other.to_string()),
    }
}

fn io_of(err: &ignore::Error) -> Option<&io::Error> {
    match err {
        ignore::Error::Io(e) => Some(e),
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => io_of(err),
        _ => None,
    }
}

/// A progress bar on standard error (files done of files found, bytes read, rate, ETA). A
/// background walk counts the files to read, so the total and ETA settle once it is done.
pub fn progress_bar(engine: &Engine, roots: &[PathBuf]) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {pos}/{len} files  {msg}  [{elapsed_precise}] ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let roots: Vec<PathBuf> = roots
        .iter()
        .filter(|r| r.as_os_str() != "-")
        .map(|r| root_for_walk(r))
        .collect();
    if let Some(mut b) = engine.builder(&roots) {
        b.threads(1);
        let counter = pb.clone();
        let walker = b.build();
        std::thread::spawn(move || {
            for e in walker.flatten() {
                if counter.is_finished() {
                    return;
                }
                if e.file_type().is_some_and(|t| !t.is_dir()) {
                    counter.inc_length(1);
                }
            }
        });
    }
    let ticker = pb.clone();
    let stats = Arc::clone(&engine.stats);
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        while !ticker.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let read = stats.bytes_read.load(Ordering::Relaxed);
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            ticker.set_message(format!(
                "{} read, {}/s",
                human_bytes(read),
                human_bytes((read as f64 / secs) as u64)
            ));
        }
    });
    pb
}

/// `1.5 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
