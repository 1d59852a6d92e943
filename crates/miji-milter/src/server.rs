//! Listener, per-connection sessions, scanning with a deadline, reload and audit.

use crate::config::{Checked, Config, Direction};
use crate::protocol::{self, Command, Reply};
use crate::verdict::{self, Outcome};
use miji::{ErrorKind, PolicyBuilder, RecordError, Report, Scanner};
use miji_extract::{Extractor, Limits};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the milter listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `unix:/path/to.sock`
    Unix(PathBuf),
    /// `inet:PORT@HOST` (also `inet:HOST:PORT`).
    Inet(String),
}

impl Listen {
    /// Parse a Postfix/Sendmail-style socket address.
    pub fn parse(s: &str) -> Result<Listen, String> {
        if let Some(p) = s.strip_prefix("unix:").or_else(|| s.strip_prefix("local:")) {
            if p.is_empty() {
                return Err("empty unix socket path".into());
            }
            return Ok(Listen::Unix(PathBuf::from(p)));
        }
        if let Some(rest) = s.strip_prefix("inet:") {
            let addr = match rest.split_once('@') {
                Some((port, host)) => format!("{host}:{port}"),
                None => rest.to_string(),
            };
            return Ok(Listen::Inet(addr));
        }
        Err(format!(
            "bad listen address '{s}' (expected unix:/path or inet:port@host)"
        ))
    }
}

/// A bound listener.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix socket.
    Unix(UnixListener),
}

impl Listener {
    /// Bind (a stale Unix socket file is removed first).
    pub fn bind(l: &Listen, mode: u32) -> io::Result<Listener> {
        match l {
            Listen::Inet(a) => Ok(Listener::Tcp(TcpListener::bind(a)?)),
            Listen::Unix(p) => {
                if UnixStream::connect(p).is_err() {
                    let _ = std::fs::remove_file(p);
                }
                let u = UnixListener::bind(p)?;
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))?;
                Ok(Listener::Unix(u))
            }
        }
    }

    /// The TCP address, if TCP.
    pub fn local_port(&self) -> Option<u16> {
        match self {
            Listener::Tcp(t) => t.local_addr().ok().map(|a| a.port()),
            Listener::Unix(_) => None,
        }
    }
}

/// Test-only fault injection (never read from the configuration file).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// The scan panics.
    Panic,
    /// The scan sleeps this long first.
    Sleep(Duration),
}

/// A compiled configuration + policy; swapped whole on reload.
#[derive(Debug)]
pub struct Engine {
    /// The checked configuration.
    pub checked: Checked,
    /// The compiled policy.
    pub scanner: Scanner,
    /// The mail extractor.
    pub extractor: Extractor,
    #[doc(hidden)]
    pub fault: Option<Fault>,
}

impl Engine {
    /// Compile the policy named by the configuration.
    pub fn new(checked: Checked) -> Result<Engine, String> {
        let builder = match &checked.config.policy {
            Some(p) => PolicyBuilder::new()
                .policy_file(p)
                .map_err(|e| format!("policy {}: {e}", p.display()))?,
            None => PolicyBuilder::new(),
        };
        let policy = builder.build().map_err(|e| format!("policy: {e}"))?;
        let limits = Limits {
            max_size: checked.config.max_message_bytes as u64,
            // The extractor's own budget ends before the milter's deadline, so a slow message
            // becomes a deterministic `limit.time` (on_error) rather than a tempfail loop.
            max_time: Some(Duration::from_millis(
                checked.config.scan_timeout_ms * 3 / 4,
            )),
            ..Limits::default()
        };
        Ok(Engine {
            checked,
            scanner: Scanner::new(policy),
            extractor: Extractor::new(limits),
            fault: None,
        })
    }

    /// Extract and scan one spooled message on the calling thread. Panics propagate (the
    /// scan pool catches them); the extractor's own parsers run on this thread when it has
    /// at least [`SCAN_STACK`] bytes of stack (`on_scan_stack`), else on the extractor's
    /// worker thread.
    #[doc(hidden)]
    pub fn scan(&self, raw: &[u8], overflow: bool, on_scan_stack: bool) -> Report {
        match self.fault {
            Some(Fault::Panic) => panic!("injected fault"),
            Some(Fault::Sleep(d)) => std::thread::sleep(d),
            None => {}
        }
        // The parsers need `stack_size` of stack; the scan worker's stack is larger.
        let inline =
            on_scan_stack && self.extractor.limits().stack_size <= SCAN_STACK - SCAN_STACK_MARGIN;
        let mut doc = if inline {
            self.extractor.extract_on_current_thread("message.eml", raw)
        } else {
            self.extractor.extract("message.eml", raw)
        };
        if overflow {
            doc.errors.push(RecordError::new(
                ErrorKind::LimitSize,
                Vec::new(),
                "message larger than max_message_bytes; only the first part was scanned",
            ));
        }
        self.scanner.scan_document(doc)
    }
}

/// Stack size of a scan worker thread.
pub const SCAN_STACK: usize = 32 * 1024 * 1024;
/// Stack a scan worker keeps for itself (the scanner, frames above the extractor) when it runs
/// the extractor's parsers on its own stack.
const SCAN_STACK_MARGIN: usize = 4 * 1024 * 1024;

/// Why a scan produced no report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFailure {
    /// No worker thread could be started.
    Spawn,
    /// The scan panicked (caught; the worker lives on).
    Internal,
    /// The deadline passed first; the scan finishes in the background and its worker then
    /// returns to the pool.
    Deadline,
}

impl ScanFailure {
    /// The audit log's `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanFailure::Spawn => "spawn",
            ScanFailure::Internal => "internal",
            ScanFailure::Deadline => "deadline",
        }
    }
}

/// One message for a scan worker.
struct Job {
    engine: Arc<Engine>,
    raw: Vec<u8>,
    overflow: bool,
    reply: mpsc::SyncSender<Option<Report>>,
}

/// Long-lived scan worker threads ([`SCAN_STACK`] of stack each), so a message costs no thread
/// creation (a 32 MiB stack mapping, its page faults, and the extractor's own thread).
///
/// A message goes to an idle worker, or to a new one when none is idle; the caller waits up
/// to its deadline. Panics are caught inside the worker, which then serves the next message; a
/// scan past its deadline keeps its worker busy until it ends (nothing is queued behind it),
/// after which the worker is idle again. At most `keep_idle` idle workers are kept (the daemon:
/// `max_concurrent_scans`); the number of busy ones is bounded by the caller's overload check
/// (`max_concurrent_scans`, plus scans still running past their deadline, as with one thread
/// per scan). Idle workers hold the pool: it lives as long as the daemon.
pub struct ScanPool {
    state: Mutex<PoolState>,
    wake: Condvar,
    spawned: AtomicU64,
}

struct PoolState {
    /// Jobs handed to idle workers, not yet taken.
    queue: VecDeque<Job>,
    /// Workers waiting for a job.
    idle: usize,
    keep_idle: usize,
}

impl std::fmt::Debug for ScanPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanPool")
            .field("idle", &self.idle_workers())
            .field("spawned", &self.spawned())
            .finish_non_exhaustive()
    }
}

impl ScanPool {
    /// An empty pool that keeps at most `keep_idle` idle workers.
    pub fn new(keep_idle: usize) -> Arc<ScanPool> {
        Arc::new(ScanPool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                idle: 0,
                keep_idle,
            }),
            wake: Condvar::new(),
            spawned: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change how many idle workers are kept (surplus idle ones exit).
    pub fn set_keep_idle(&self, keep_idle: usize) {
        self.lock().keep_idle = keep_idle;
        self.wake.notify_all();
    }

    /// Idle workers now.
    pub fn idle_workers(&self) -> usize {
        self.lock().idle
    }

    /// Worker threads started so far.
    pub fn spawned(&self) -> u64 {
        self.spawned.load(Ordering::Relaxed)
    }

    /// Scan `raw` with `engine` on a worker; wait at most `deadline` for the report.
    pub fn scan(
        self: &Arc<ScanPool>,
        engine: &Arc<Engine>,
        raw: Vec<u8>,
        overflow: bool,
        deadline: Duration,
    ) -> Result<Report, ScanFailure> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.submit(Job {
            engine: engine.clone(),
            raw,
            overflow,
            reply,
        })?;
        match rx.recv_timeout(deadline) {
            Ok(Some(r)) => Ok(r),
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => Err(ScanFailure::Internal),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(ScanFailure::Deadline),
        }
    }

    fn submit(self: &Arc<ScanPool>, job: Job) -> Result<(), ScanFailure> {
        {
            let mut st = self.lock();
            // Every queued job has an idle worker of its own.
            if st.idle > st.queue.len() {
                st.queue.push_back(job);
                drop(st);
                self.wake.notify_one();
                return Ok(());
            }
        }
        let pool = self.clone();
        let spawned = std::thread::Builder::new()
            .name("milter-scan".into())
            .stack_size(SCAN_STACK)
            .spawn(move || pool.work(job));
        match spawned {
            Ok(_) => {
                self.spawned.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => Err(ScanFailure::Spawn),
        }
    }

    /// A worker's life: run jobs until it is surplus.
    fn work(&self, mut job: Job) {
        loop {
            let Job {
                engine,
                raw,
                overflow,
                reply,
            } = job;
            let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.scan(&raw, overflow, true)
            }))
            .ok();
            // Free the message and the engine (maybe an old one after a reload) first.
            drop(raw);
            drop(engine);
            // Idle before the caller hears back, so its next message finds this worker.
            let keep = {
                let mut st = self.lock();
                let keep = st.idle < st.keep_idle;
                st.idle += usize::from(keep);
                keep
            };
            // The caller may have given up (deadline): nobody listens then.
            let _ = reply.send(report);
            if !keep {
                return;
            }
            match self.next_job() {
                Some(j) => job = j,
                None => return,
            }
        }
    }

    /// Wait (counted idle) for the next job; `None` when this worker became surplus.
    fn next_job(&self) -> Option<Job> {
        let mut st = self.lock();
        loop {
            if let Some(j) = st.queue.pop_front() {
                st.idle -= 1;
                return Some(j);
            }
            if st.idle > st.keep_idle {
                st.idle -= 1;
                return None;
            }
            st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Counters for the stats line.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages decided.
    pub messages: AtomicU64,
    /// Accepted unchanged.
    pub accept: AtomicU64,
    /// Accepted with headers.
    pub tag: AtomicU64,
    /// Held.
    pub hold: AtomicU64,
    /// Rejected.
    pub reject: AtomicU64,
    /// Tempfailed.
    pub tempfail: AtomicU64,
    /// Connections accepted in total.
    pub connections: AtomicU64,
    /// Connections open now.
    pub open: AtomicUsize,
    /// Scans running now.
    pub scanning: AtomicUsize,
    /// Sum of scan times in microseconds.
    pub scan_us: AtomicU64,
    /// Successful reloads.
    pub reloads: AtomicU64,
    /// Refused reloads.
    pub reload_failures: AtomicU64,
}

/// State shared by all connections.
pub struct Shared {
    engine: RwLock<Arc<Engine>>,
    config_path: Option<PathBuf>,
    audit: Mutex<Box<dyn Write + Send>>,
    /// Counters.
    pub stats: Stats,
    counter: AtomicU64,
    /// Scan workers.
    pub pool: Arc<ScanPool>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config_path", &self.config_path)
            .finish_non_exhaustive()
    }
}

fn now_ts() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:03}", d.as_secs(), d.subsec_millis())
}

fn open_audit(target: &str) -> io::Result<Box<dyn Write + Send>> {
    if target.is_empty() || target == "stderr" {
        Ok(Box::new(io::stderr()))
    } else {
        Ok(Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(target)?,
        ))
    }
}

impl Shared {
    /// Shared state around an engine; `config_path` is re-read on reload.
    pub fn new(engine: Engine, config_path: Option<PathBuf>) -> io::Result<Arc<Shared>> {
        let audit = open_audit(&engine.checked.config.audit_log)?;
        let pool = ScanPool::new(engine.checked.config.max_concurrent_scans);
        Ok(Arc::new(Shared {
            pool,
            engine: RwLock::new(Arc::new(engine)),
            config_path,
            audit: Mutex::new(audit),
            stats: Stats::default(),
            counter: AtomicU64::new(0),
        }))
    }

    /// The current engine.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Write one JSON audit line (content-free by construction: callers pass IDs, levels,
    /// actions, counts and digests only).
    pub fn log(&self, mut v: serde_json::Value) {
        if let Some(o) = v.as_object_mut() {
            o.insert("ts".into(), json!(now_ts()));
        }
        let mut line = v.to_string();
        line.push('\n');
        let mut w = self.audit.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.write_all(line.as_bytes());
        let _ = w.flush();
    }

    /// Re-read the configuration and policy; a bad one keeps the old engine (logged).
    pub fn reload(&self) -> bool {
        let Some(path) = &self.config_path else {
            return false;
        };
        let old = self.engine();
        let result = Config::load(path).and_then(Engine::new);
        match result {
            Ok(mut e) => {
                e.fault = old.fault;
                let digest = e.scanner.policy().digest().to_string();
                let audit_target = e.checked.config.audit_log.clone();
                if audit_target != old.checked.config.audit_log
                    || (audit_target != "stderr" && !audit_target.is_empty())
                {
                    match open_audit(&audit_target) {
                        Ok(w) => *self.audit.lock().unwrap_or_else(|e| e.into_inner()) = w,
                        Err(err) => self
                            .log(json!({"event": "reload-audit-error", "error": err.to_string()})),
                    }
                }
                self.pool
                    .set_keep_idle(e.checked.config.max_concurrent_scans);
                *self.engine.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(e);
                self.stats.reloads.fetch_add(1, Ordering::Relaxed);
                self.log(json!({"event": "reload", "ok": true, "policy": digest}));
                true
            }
            Err(err) => {
                self.stats.reload_failures.fetch_add(1, Ordering::Relaxed);
                self.log(json!({"event": "reload", "ok": false, "error": err,
                    "policy": old.scanner.policy().digest()}));
                false
            }
        }
    }

    /// One stats line.
    pub fn log_stats(&self) {
        let s = &self.stats;
        let n = s.messages.load(Ordering::Relaxed);
        let us = s.scan_us.load(Ordering::Relaxed);
        self.log(json!({
            "event": "stats",
            "messages": n,
            "accept": s.accept.load(Ordering::Relaxed),
            "tag": s.tag.load(Ordering::Relaxed),
            "hold": s.hold.load(Ordering::Relaxed),
            "reject": s.reject.load(Ordering::Relaxed),
            "tempfail": s.tempfail.load(Ordering::Relaxed),
            "connections": s.connections.load(Ordering::Relaxed),
            "open": s.open.load(Ordering::Relaxed),
            "scanning": s.scanning.load(Ordering::Relaxed),
            "avg_scan_ms": if n > 0 { us as f64 / n as f64 / 1000.0 } else { 0.0 },
            "reloads": s.reloads.load(Ordering::Relaxed),
            "reload_failures": s.reload_failures.load(Ordering::Relaxed),
        }));
    }

    fn incident_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let h = Sha256::digest(format!("{}:{t}:{n}", std::process::id()).as_bytes());
        h[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A TCP reader that re-arms `TCP_QUICKACK` after every read. The MTA sends several small
/// packets per message; with Nagle on its side and delayed ACKs on ours each exchange stalls
/// ~40 ms. Linux clears QUICKACK on its own, hence after every read. Elsewhere a no-op.
struct QuickAck(std::net::TcpStream);

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let one: libc::c_int = 1;
            // SAFETY: a valid socket fd owned by self.0, a pointer to a live c_int and its size.
            // A failure only loses the optimisation, so the result is ignored.
            unsafe {
                libc::setsockopt(
                    self.0.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_QUICKACK,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        Ok(n)
    }
}

/// Accept connections forever, one thread per connection.
pub fn serve(shared: Arc<Shared>, listener: Listener) -> io::Result<()> {
    loop {
        let conn: io::Result<(Box<dyn Read + Send>, Box<dyn Write + Send>)> = match &listener {
            Listener::Tcp(l) => l.accept().and_then(|(s, _)| {
                s.set_nodelay(true)?;
                let r = QuickAck(s.try_clone()?);
                Ok((Box::new(r) as Box<dyn Read + Send>, Box::new(s) as _))
            }),
            Listener::Unix(l) => l.accept().and_then(|(s, _)| {
                let r = s.try_clone()?;
                Ok((Box::new(r) as Box<dyn Read + Send>, Box::new(s) as _))
            }),
        };
        let (r, w) = match conn {
            Ok(c) => c,
            Err(e) => {
                shared.log(json!({"event": "accept-error", "error": e.to_string()}));
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let max = shared.engine().checked.config.max_connections;
        if shared.stats.open.load(Ordering::Relaxed) >= max {
            shared.log(json!({"event": "overload", "open": max}));
            continue; // dropping closes it; the MTA applies milter_default_action
        }
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        shared.stats.open.fetch_add(1, Ordering::Relaxed);
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("milter-conn".into())
            .spawn(move || {
                let sh2 = sh.clone();
                let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    Session::new(sh2, w).run(BufReader::with_capacity(64 * 1024, r))
                }));
                match res {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        if e.kind() != io::ErrorKind::BrokenPipe
                            && e.kind() != io::ErrorKind::ConnectionReset
                        {
                            sh.log(json!({"event": "connection-error", "error": e.to_string()}));
                        }
                    }
                    Err(_) => sh.log(json!({"event": "connection-panic"})),
                }
                sh.stats.open.fetch_sub(1, Ordering::Relaxed);
            });
        if spawned.is_err() {
            shared.stats.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

const XMIJI: [&str; 3] = ["X-Miji-Level", "X-Miji-Action", "X-Miji-Incident"];

struct Session {
    shared: Arc<Shared>,
    out: Box<dyn Write + Send>,
    leadspc: bool,
    family: Option<u8>,
    addr: String,
    conn_macros: HashMap<String, String>,
    msg_macros: HashMap<String, String>,
    rcpts: Vec<String>,
    raw: Vec<u8>,
    overflow: bool,
    in_body: bool,
    message_id: Option<String>,
    forged: [u32; 3],
}

fn clean_id(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(200)
        .collect()
}

impl Session {
    fn new(shared: Arc<Shared>, out: Box<dyn Write + Send>) -> Session {
        Session {
            shared,
            out,
            leadspc: false,
            family: None,
            addr: String::new(),
            conn_macros: HashMap::new(),
            msg_macros: HashMap::new(),
            rcpts: Vec::new(),
            raw: Vec::new(),
            overflow: false,
            in_body: false,
            message_id: None,
            forged: [0; 3],
        }
    }

    fn reset_message(&mut self) {
        self.msg_macros.clear();
        self.rcpts.clear();
        self.raw = Vec::new();
        self.overflow = false;
        self.in_body = false;
        self.message_id = None;
        self.forged = [0; 3];
    }

    fn send(&mut self, replies: &[Reply]) -> io::Result<()> {
        let mut buf = Vec::new();
        for r in replies {
            r.encode(&mut buf);
        }
        // One write per reply batch (the TCP socket has TCP_NODELAY).
        self.out.write_all(&buf)?;
        self.out.flush()
    }

    fn append(&mut self, data: &[u8]) {
        let max = self.shared.engine().checked.config.max_message_bytes;
        if self.overflow {
            return;
        }
        let room = max.saturating_sub(self.raw.len());
        if data.len() > room {
            self.raw.extend_from_slice(&data[..room]);
            self.overflow = true;
        } else {
            self.raw.extend_from_slice(data);
        }
    }

    fn run(mut self, mut r: impl Read) -> io::Result<()> {
        while let Some((cmd, data)) = protocol::read_packet(&mut r)? {
            match protocol::parse(cmd, data)? {
                Command::OptNeg {
                    version,
                    actions,
                    protocol,
                } => {
                    let want = protocol::SMFIF_ADDHDRS
                        | protocol::SMFIF_CHGHDRS
                        | protocol::SMFIF_QUARANTINE;
                    let skip = protocol::SMFIP_NOHELO
                        | protocol::SMFIP_NOUNKNOWN
                        | protocol::SMFIP_NODATA
                        | protocol::SMFIP_HDR_LEADSPC;
                    let proto = protocol & skip;
                    self.leadspc = proto & protocol::SMFIP_HDR_LEADSPC != 0;
                    self.send(&[Reply::OptNeg {
                        version: version.min(protocol::VERSION),
                        actions: actions & want,
                        protocol: proto,
                    }])?;
                }
                Command::Macro { stage, pairs } => {
                    let map = if stage == b'C' {
                        &mut self.conn_macros
                    } else {
                        &mut self.msg_macros
                    };
                    for (k, v) in pairs {
                        map.insert(k.trim_matches(|c| c == '{' || c == '}').to_string(), v);
                    }
                }
                Command::Connect { family, addr, .. } => {
                    self.family = Some(family);
                    self.addr = addr;
                    self.send(&[Reply::Continue])?;
                }
                Command::Helo | Command::Data | Command::Unknown => {
                    self.send(&[Reply::Continue])?
                }
                Command::Mail(_) => {
                    // A new transaction: forget the previous one's state but keep the MAIL
                    // macros that arrived just before this command.
                    let macros = std::mem::take(&mut self.msg_macros);
                    self.reset_message();
                    self.msg_macros = macros;
                    self.send(&[Reply::Continue])?;
                }
                Command::Rcpt(rc) => {
                    self.rcpts.push(rc);
                    self.send(&[Reply::Continue])?;
                }
                Command::Header { name, value } => {
                    let n = String::from_utf8_lossy(&name).to_string();
                    if n.eq_ignore_ascii_case("Message-ID") {
                        self.message_id = Some(clean_id(&String::from_utf8_lossy(&value)));
                    }
                    if let Some(i) = XMIJI.iter().position(|x| x.eq_ignore_ascii_case(&n)) {
                        self.forged[i] += 1;
                    }
                    let mut line = name;
                    line.extend_from_slice(if self.leadspc { b":" } else { b": " });
                    line.extend_from_slice(&value);
                    line.extend_from_slice(b"\r\n");
                    self.append(&line);
                    self.send(&[Reply::Continue])?;
                }
                Command::Eoh => {
                    self.append(b"\r\n");
                    self.in_body = true;
                    self.send(&[Reply::Continue])?;
                }
                Command::Body(chunk) => {
                    self.append(&chunk);
                    self.send(&[Reply::Continue])?;
                }
                Command::Eob(chunk) => {
                    self.append(&chunk);
                    let replies = self.end_of_message();
                    self.reset_message();
                    self.send(&replies)?;
                }
                Command::Abort => self.reset_message(),
                Command::QuitNewConnection => {
                    self.reset_message();
                    self.conn_macros.clear();
                    self.family = None;
                    self.addr.clear();
                }
                Command::Quit => return Ok(()),
                Command::Other(_) => {}
            }
        }
        Ok(())
    }

    fn macro_value(&self, k: &str) -> Option<&str> {
        self.msg_macros
            .get(k)
            .or_else(|| self.conn_macros.get(k))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn end_of_message(&mut self) -> Vec<Reply> {
        let engine = self.shared.engine();
        let stats = &self.shared.stats;
        let incident = self.shared.incident_id();
        let queue_id = self.macro_value("i").map(clean_id);
        let auth = self.macro_value("auth_authen").is_some();
        let trusted = engine.checked.trusted_client(self.family, &self.addr, auth);
        let dir = verdict::direction(&engine.checked, trusted, &self.rcpts);
        let base = json!({
            "event": "verdict",
            "incident": incident,
            "queue_id": queue_id,
            "message_id": self.message_id,
            "direction": dir.as_str(),
            "bytes": self.raw.len(),
            "recipients": self.rcpts.len(),
        });

        let tempfail = |why: &str, base: serde_json::Value| {
            stats.tempfail.fetch_add(1, Ordering::Relaxed);
            stats.messages.fetch_add(1, Ordering::Relaxed);
            let mut v = base;
            v["outcome"] = json!("tempfail");
            v["reason"] = json!(why);
            v["policy"] = json!(engine.scanner.policy().digest());
            self.shared.log(v);
            vec![Reply::Tempfail]
        };

        // Overload: more scans than allowed at once.
        let running = stats.scanning.fetch_add(1, Ordering::SeqCst);
        struct Dec<'a>(&'a AtomicUsize);
        impl Drop for Dec<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _dec = Dec(&stats.scanning);
        if running >= engine.checked.config.max_concurrent_scans {
            return tempfail("overload", base);
        }

        let started = Instant::now();
        let raw = std::mem::take(&mut self.raw);
        let deadline = Duration::from_millis(engine.checked.config.scan_timeout_ms);
        let report = match self.shared.pool.scan(&engine, raw, self.overflow, deadline) {
            Ok(r) => r,
            Err(why) => return tempfail(why.as_str(), base),
        };
        let scan_us = started.elapsed().as_micros() as u64;
        stats.scan_us.fetch_add(scan_us, Ordering::Relaxed);
        stats.messages.fetch_add(1, Ordering::Relaxed);

        let d = verdict::decide(&engine.checked, &report, dir, &self.rcpts);
        let reason = verdict::reason(&d, &report, &incident);
        let mut replies = Vec::new();
        // Forged X-Miji-* headers from the sender are removed whenever the mail goes on.
        if d.outcome != Outcome::Reject {
            for (i, name) in XMIJI.iter().enumerate() {
                for idx in (1..=self.forged[i]).rev() {
                    replies.push(Reply::ChgHeader(idx, name.to_string(), String::new()));
                }
            }
        }
        match d.outcome {
            Outcome::Accept => {
                stats.accept.fetch_add(1, Ordering::Relaxed);
                replies.push(Reply::Accept);
            }
            Outcome::Tag => {
                stats.tag.fetch_add(1, Ordering::Relaxed);
                // With SMFIP_HDR_LEADSPC the MTA takes values verbatim: add the space.
                let sp = if self.leadspc { " " } else { "" };
                let values = [report.level.as_str(), d.action.as_str(), incident.as_str()];
                for (name, value) in XMIJI.iter().zip(values) {
                    replies.push(Reply::AddHeader(name.to_string(), format!("{sp}{value}")));
                }
                replies.push(Reply::Accept);
            }
            Outcome::Hold => {
                stats.hold.fetch_add(1, Ordering::Relaxed);
                replies.push(Reply::Quarantine(format!(
                    "miji: held for review: {reason}"
                )));
                replies.push(Reply::Accept);
            }
            Outcome::Reject => {
                stats.reject.fetch_add(1, Ordering::Relaxed);
                replies.push(Reply::ReplyCode(format!(
                    "550 5.7.1 miji: message refused by policy: {reason}"
                )));
            }
            Outcome::Tempfail => replies.push(Reply::Tempfail),
        }
        let mut counts = serde_json::Map::new();
        for f in &report.findings {
            let c = counts.entry(f.rule.clone()).or_insert(json!(0));
            *c = json!(c.as_u64().unwrap_or(0) + 1);
        }
        let mut v = base;
        v["outcome"] = json!(d.outcome.as_str());
        v["level"] = json!(report.level.as_str());
        v["action"] = json!(d.action.as_str());
        v["report_action"] = json!(report.action.as_str());
        v["rules"] = json!(d.rules);
        v["counts"] = serde_json::Value::Object(counts);
        v["findings"] = json!(report.findings.len());
        v["errors"] = json!(
            report
                .errors
                .iter()
                .map(|e| e.kind.as_str())
                .collect::<Vec<_>>()
        );
        v["complete"] = json!(report.complete);
        v["policy"] = json!(report.policy);
        v["scan_ms"] = json!(scan_us as f64 / 1000.0);
        v["internal_recipients"] = json!(
            self.rcpts
                .iter()
                .filter(|r| engine.checked.is_local(r))
                .count()
        );
        if dir == Direction::Outbound {
            v["external_recipients"] = json!(
                self.rcpts
                    .iter()
                    .filter(|r| !engine.checked.is_local(r))
                    .count()
            );
        }
        self.shared.log(v);
        replies
    }
}
