//! `--cache FILE`: results for unchanged files, so a rescan of an unchanged share reads no
//! content and an interrupted scan resumes.
//!
//! The file is an append-only journal of JSON lines, created mode 0600 and locked for the run.
//! The first line is `{"schema":"miji.cache/1"}`; each further line is one entry:
//!
//! ```text
//! {"k":"<base64 path bytes>","dev":..,"ino":..,"size":..,"mtime_ns":..,"ctime_ns":..,
//!  "config":"<16 hex>","report":{..the record without excerpts or marking text..}}
//! ```
//!
//! An entry answers for a path when the file's (device, inode, size, mtime_ns, ctime_ns) and
//! the run's `config` (policy digest, baseline digest, extraction limits, miji version) are
//! equal. ctime cannot be set from user space, so an edit whose mtime was put back
//! (`touch -r`) is still rescanned. The record is stored with every finding's `excerpt`
//! removed and every marking's `text` emptied: the cache holds rule IDs, levels, actions,
//! labels, locations, counts and fingerprints, never scanned text. Records with `io`,
//! `limit.time` or `internal` errors (transient) are not stored, nor files changed less than
//! a second before they were read (their timestamps could still move within the same tick).
//!
//! Entries are written by one thread, flushed every 64 entries or 100 ms and `fdatasync`ed
//! every 1,024 entries or 2 s and at the end. After a `kill -9` the journal ends at most with
//! a partial line, which the next run cuts off; everything before it is reused. Opening
//! rewrites the journal (to a temporary file, then renamed) when it holds many superseded or
//! foreign-config entries. Entries of files that no longer exist stay until then.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use miji::Report;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

const HEADER: &str = "{\"schema\":\"miji.cache/1\"}";

/// The stat identity of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

impl Key {
    /// The key of a file from its metadata.
    #[cfg(unix)]
    pub fn of(m: &Metadata) -> Key {
        use std::os::unix::fs::MetadataExt;
        Key {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: m.mtime().saturating_mul(1_000_000_000) + m.mtime_nsec(),
            ctime_ns: m.ctime().saturating_mul(1_000_000_000) + m.ctime_nsec(),
        }
    }

    /// The key of a file from its metadata (size and mtime only off Unix).
    #[cfg(not(unix))]
    pub fn of(m: &Metadata) -> Key {
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        Key {
            dev: 0,
            ino: 0,
            size: m.len(),
            mtime_ns: mtime,
            ctime_ns: mtime,
        }
    }

    /// `true` when the file changed less than a second before `now`: its timestamps may not
    /// move again on a further change within the same clock tick.
    pub fn is_racy(&self, now: SystemTime) -> bool {
        let now_ns = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(i64::MAX, |d| d.as_nanos().min(i64::MAX as u128) as i64);
        now_ns.saturating_sub(self.mtime_ns.max(self.ctime_ns)) < 1_000_000_000
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    k: String,
    #[serde(flatten)]
    key: Key,
    config: String,
    report: Report,
}

/// The run's configuration key: what besides the bytes decides a record.
pub fn config_key(
    policy_digest: &str,
    baseline_digest: Option<&str>,
    limits: &miji_extract::Limits,
) -> String {
    let text = format!(
        "miji {}\0{policy_digest}\0{}\0{limits:?}",
        env!("CARGO_PKG_VERSION"),
        baseline_digest.unwrap_or("")
    );
    crate::facts::sha256_hex(text.as_bytes())[..16].to_owned()
}

/// An open cache: a read-only map loaded at start, and a writer thread appending entries.
#[derive(Debug)]
pub struct Cache {
    config: String,
    map: HashMap<Vec<u8>, (Key, Report)>,
    tx: Mutex<Option<Sender<String>>>,
    writer: Mutex<Option<JoinHandle<io::Result<()>>>>,
}

impl Cache {
    /// Opens (or creates, mode 0600) the journal at `path`, locks it, loads the entries of
    /// this `config`, and starts the writer.
    pub fn open(path: &Path, config: String) -> io::Result<Cache> {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(io::Error::other("refusing to follow a symbolic link"));
        }
        let mut file = open_private(path, false)?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => io::Error::other("in use by another miji process"),
            std::fs::TryLockError::Error(e) => e,
        })?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        if text.is_empty() {
            file.write_all(HEADER.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
        } else if !text.starts_with(HEADER.as_bytes()) {
            return Err(io::Error::other("not a miji cache file"));
        }
        // A kill mid-write leaves a partial last line: cut it so appends start clean.
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            file.set_len(complete as u64)?;
            text.truncate(complete);
        }
        let mut map: HashMap<Vec<u8>, (Key, Report)> = HashMap::new();
        let mut lines = 0usize;
        for line in text.split(|&b| b == b'\n').skip(1) {
            if line.is_empty() {
                continue;
            }
            lines += 1;
            let Ok(e) = serde_json::from_slice::<Entry>(line) else {
                continue;
            };
            if e.config != config {
                continue;
            }
            if let Ok(k) = B64.decode(&e.k) {
                map.insert(k, (e.key, e.report));
            }
        }
        drop(text);
        if lines > 1024 && lines > 2 * map.len() {
            file = compact(path, file, &map, &config)?;
        }
        file.seek(io::SeekFrom::End(0))?;
        let (tx, rx) = channel::<String>();
        let writer = std::thread::Builder::new()
            .name("miji-cache".into())
            .spawn(move || write_loop(file, rx))?;
        Ok(Cache {
            config,
            map,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// The stored record for `path` when its key is unchanged.
    pub fn lookup(&self, path: &[u8], key: &Key) -> Option<Report> {
        self.map
            .get(path)
            .filter(|(k, _)| k == key)
            .map(|(_, r)| r.clone())
    }

    /// Whether a record can be stored (its errors are deterministic).
    pub fn cacheable(report: &Report) -> bool {
        use miji::ErrorKind;
        !report.errors.iter().any(|e| {
            matches!(
                e.kind,
                ErrorKind::Io | ErrorKind::LimitTime | ErrorKind::Internal
            )
        })
    }

    /// Queues an entry (with excerpts and marking text removed) for the journal.
    pub fn store(&self, path: &[u8], key: Key, report: &Report) {
        if self.map.get(path).is_some_and(|(k, _)| *k == key) {
            return;
        }
        let entry = Entry {
            k: B64.encode(path),
            key,
            config: self.config.clone(),
            report: strip(report.clone()),
        };
        let Ok(mut line) = serde_json::to_string(&entry) else {
            return;
        };
        line.push('\n');
        if let Some(tx) = self.tx.lock().ok().and_then(|g| g.clone()) {
            let _ = tx.send(line);
        }
    }

    /// Flushes and syncs the journal and stops the writer.
    pub fn close(&self) -> io::Result<()> {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut g| g.take());
        match handle.map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("cache writer panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The record as the cache keeps it: no excerpt, no marking text.
pub fn strip(mut r: Report) -> Report {
    for f in &mut r.findings {
        f.excerpt = None;
    }
    if let Some(m) = &mut r.marking {
        m.text.clear();
    }
    for m in &mut r.members {
        if let Some(mk) = &mut m.marking {
            mk.text.clear();
        }
    }
    r
}

fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(path)?;
        if f.metadata()?.permissions().mode() & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        o.open(path)
    }
}

/// Rewrites the journal with only the live entries of `config`.
fn compact(
    path: &Path,
    old: File,
    map: &HashMap<Vec<u8>, (Key, Report)>,
    config: &str,
) -> io::Result<File> {
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".tmp");
    let _ = std::fs::remove_file(&tmp);
    let f = open_private(&tmp, true)?;
    f.try_lock().map_err(|_| io::Error::other("cannot lock"))?;
    let mut w = BufWriter::new(f);
    writeln!(w, "{HEADER}")?;
    for (k, (key, report)) in map {
        let e = Entry {
            k: B64.encode(k),
            key: *key,
            config: config.to_owned(),
            report: report.clone(),
        };
        serde_json::to_writer(&mut w, &e)?;
        w.write_all(b"\n")?;
    }
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    drop(old);
    Ok(f)
}

fn write_loop(file: File, rx: Receiver<String>) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(256 << 10, file);
    let mut unflushed = 0usize;
    let mut unsynced = 0usize;
    let mut last_flush = Instant::now();
    let mut last_sync = Instant::now();
    loop {
        let msg = rx.recv_timeout(Duration::from_millis(100));
        match msg {
            Ok(line) => {
                w.write_all(line.as_bytes())?;
                unflushed += 1;
                unsynced += 1;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if unflushed >= 64 || (unflushed > 0 && last_flush.elapsed() >= Duration::from_millis(100))
        {
            w.flush()?;
            unflushed = 0;
            last_flush = Instant::now();
        }
        if unsynced >= 1024 || (unsynced > 0 && last_sync.elapsed() >= Duration::from_secs(2)) {
            w.flush()?;
            w.get_ref().sync_data()?;
            unsynced = 0;
            last_sync = Instant::now();
        }
    }
    w.flush()?;
    w.get_ref().sync_all()
}
