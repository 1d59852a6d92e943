//! Per-message timing of the milter's scan path, without Postfix.
//!
//! ```text
//! cargo run --release -p miji-milter --example scan_timing -- [N=300] [--dir DIR]
//! ```
//!
//! Takes the messages of `tests/mailgen.py` (N `load` messages, the ~20 KB mixed mail of
//! `tests/load_test.sh`, plus a few `docx`, `gbk`, `subject` and `clean` ones; or every file of
//! `--dir`) and the load test's policy, and prints p50/p99 per message of:
//!
//! - `extract`: `Extractor::extract` (the mail path, with its own worker thread);
//! - `extract-inline`: `Extractor::extract_on_current_thread` (no thread);
//! - `scan_document`: `Scanner::scan_document` of that document;
//! - `spawn-per-msg`: what the milter did per message before the scan pool: a fresh thread
//!   with a 32 MiB stack running `Engine::scan` (which started the extractor's thread);
//! - `pool`: `ScanPool::scan`, what `end_of_message` does now (hand-off to a long-lived
//!   worker, extract on its stack, scan, hand the report back);
//! - `milter-tcp` / `milter-unix`: a whole milter conversation per message against `serve` in
//!   this process (connect, MAIL, RCPT, one packet per header, body chunks of 64 KiB, end of
//!   message, verdict), as Postfix speaks it, one connection reused for every message.
//!
//! Run it under `perf record -g` to see where the time goes.

use miji_milter::config::Config;
use miji_milter::protocol::{self, Reply};
use miji_milter::server::{Engine, Listen, Listener, SCAN_STACK, ScanPool, Shared, serve};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POLICY: &str = r#"
[[dictionary]]
name = "redwood"
terms = ["Project Redwood"]
action = "redact"

[[dictionary]]
name = "bluebird"
terms = ["Bluebird"]
action = "warn"
"#;

const GEN: &str = r#"
import os, sys
sys.path.insert(0, sys.argv[1])
import mailgen
out, n = sys.argv[2], int(sys.argv[3])
for i in range(n):
    open(f"{out}/load-{i:04}.eml", "wb").write(mailgen.message("load", i))
for k in ["docx", "gbk", "subject", "clean"]:
    for i in range(10):
        open(f"{out}/{k}-{i:04}.eml", "wb").write(mailgen.message(k, i))
"#;

fn stats(label: &str, v: &mut [Duration]) {
    if v.is_empty() {
        return;
    }
    v.sort();
    let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    let mean = v.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e3 / v.len() as f64;
    println!(
        "{label:<34} n={:<5} p50 {:>7.3} ms  p99 {:>7.3} ms  mean {:>7.3} ms",
        v.len(),
        p(0.5),
        p(0.99),
        mean
    );
}

fn kind(name: &str) -> &str {
    name.split('-').next().unwrap_or(name)
}

fn main() {
    let mut n = 300usize;
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = args.next().map(PathBuf::from),
            other => n = other.parse().expect("usage: scan_timing [N] [--dir DIR]"),
        }
    }
    let work = std::env::temp_dir().join(format!("miji-scan-timing-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let dir = dir.unwrap_or_else(|| {
        let out = work.join("mail");
        std::fs::create_dir_all(&out).unwrap();
        let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let st = std::process::Command::new("python3")
            .args(["-c", GEN])
            .arg(&tests)
            .arg(&out)
            .arg(n.to_string())
            .status()
            .expect("python3");
        assert!(st.success(), "mailgen failed");
        out
    });
    std::fs::write(work.join("policy.toml"), POLICY).unwrap();
    std::fs::write(
        work.join("milter.toml"),
        format!(
            "listen = \"inet:0@127.0.0.1\"\npolicy = \"policy.toml\"\naudit_log = \"{}\"\n\
             scan_timeout_ms = 20000\nlocal_domains = [\"miji.test\"]\n\
             trusted_networks = [\"127.0.0.0/8\"]\n",
            work.join("audit.log").display()
        ),
    )
    .unwrap();
    let cfg = work.join("milter.toml");
    let engine = Arc::new(Engine::new(Config::load(&cfg).unwrap()).unwrap());

    let mut msgs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    msgs.sort();
    let avg = msgs.iter().map(|m| m.1.len()).sum::<usize>() / msgs.len().max(1);
    println!(
        "{} messages from {}, {avg} bytes on average",
        msgs.len(),
        dir.display()
    );

    // In-process paths; round 0 warms up.
    let mut kinds: Vec<String> = msgs.iter().map(|m| kind(&m.0).to_string()).collect();
    kinds.dedup();
    let pool = ScanPool::new(4);
    let deadline = Duration::from_secs(20);
    let mut t: std::collections::BTreeMap<String, Vec<Duration>> = Default::default();
    for round in 0..3 {
        for (name, raw) in &msgs {
            let k = kind(name);
            let mut rec = |label: &str, d: Duration| {
                if round > 0 {
                    t.entry(format!("{label} [{k}]")).or_default().push(d);
                    t.entry(format!("{label} [all]")).or_default().push(d);
                }
            };
            let t0 = Instant::now();
            let doc = engine.extractor.extract("message.eml", raw);
            rec("1 extract", t0.elapsed());
            let t0 = Instant::now();
            let doc2 = engine
                .extractor
                .extract_on_current_thread("message.eml", raw);
            rec("2 extract-inline", t0.elapsed());
            assert_eq!(doc.segments.len(), doc2.segments.len());
            let t0 = Instant::now();
            std::hint::black_box(engine.scanner.scan_document(doc));
            rec("3 scan_document", t0.elapsed());

            let (eng, copy) = (engine.clone(), raw.clone());
            let t0 = Instant::now();
            let h = std::thread::Builder::new()
                .stack_size(SCAN_STACK)
                .spawn(move || eng.scan(&copy, false, false))
                .unwrap();
            std::hint::black_box(h.join().unwrap());
            rec("4 spawn-per-msg", t0.elapsed());

            let copy = raw.clone();
            let t0 = Instant::now();
            std::hint::black_box(pool.scan(&engine, copy, false, deadline).unwrap());
            rec("5 pool", t0.elapsed());
        }
    }
    for (label, v) in t.iter_mut() {
        if label.ends_with("[all]") || kinds.len() > 1 {
            stats(label, v);
        }
    }

    // Whole milter conversations against `serve` in this process.
    let shared = Shared::new(Engine::new(Config::load(&cfg).unwrap()).unwrap(), None).unwrap();
    let tcp = Listener::bind(&Listen::Inet("127.0.0.1:0".into()), 0o600).unwrap();
    let port = tcp.local_port().unwrap();
    let sock = work.join("milter.sock");
    let unix = Listener::bind(&Listen::Unix(sock.clone()), 0o600).unwrap();
    for l in [tcp, unix] {
        let sh = shared.clone();
        std::thread::spawn(move || serve(sh, l));
    }
    let mut tcp_times = Vec::new();
    let mut unix_times = Vec::new();
    {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_nodelay(true).unwrap();
        let mut c = Client(s);
        c.negotiate();
        for round in 0..2 {
            for (_, raw) in &msgs {
                let d = c.message(raw);
                if round > 0 {
                    tcp_times.push(d);
                }
            }
        }
    }
    {
        let mut c = Client(std::os::unix::net::UnixStream::connect(&sock).unwrap());
        c.negotiate();
        for round in 0..2 {
            for (_, raw) in &msgs {
                let d = c.message(raw);
                if round > 0 {
                    unix_times.push(d);
                }
            }
        }
    }
    stats("6 milter-tcp (conversation) [all]", &mut tcp_times);
    stats("7 milter-unix (conversation) [all]", &mut unix_times);
    println!(
        "scan workers started: {} (in-process pool: {})",
        shared.pool.spawned(),
        pool.spawned()
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// The MTA side, one packet per header and 64 KiB body chunks as Postfix sends them.
struct Client<S: Read + Write>(S);

impl<S: Read + Write> Client<S> {
    fn send(&mut self, cmd: u8, data: &[u8]) {
        self.0
            .write_all(&protocol::encode_command(cmd, data))
            .unwrap();
    }
    fn recv(&mut self) -> Reply {
        let (c, d) = protocol::read_packet(&mut self.0).unwrap().expect("reply");
        protocol::parse_reply(c, &d)
    }
    fn negotiate(&mut self) {
        let mut d = Vec::new();
        d.extend_from_slice(&6u32.to_be_bytes());
        d.extend_from_slice(&0x1ffu32.to_be_bytes());
        d.extend_from_slice(&0x001f_ffffu32.to_be_bytes());
        self.send(b'O', &d);
        let _ = self.recv();
        let mut c = b"localhost\x004".to_vec();
        c.extend_from_slice(&2525u16.to_be_bytes());
        c.extend_from_slice(b"127.0.0.1\0");
        self.send(b'C', &c);
        assert_eq!(self.recv(), Reply::Continue);
    }
    fn message(&mut self, raw: &[u8]) -> Duration {
        let t0 = Instant::now();
        self.send(b'D', b"Mi\0QID123\0");
        self.send(b'M', b"<sender@miji.test>\0");
        assert_eq!(self.recv(), Reply::Continue);
        self.send(b'R', b"<alice@miji.test>\0");
        assert_eq!(self.recv(), Reply::Continue);
        let split = memchr_split(raw);
        let (head, body) = raw.split_at(split);
        for line in String::from_utf8_lossy(head).split('\n') {
            let line = line.trim_end_matches('\r');
            if let Some((n, v)) = line.split_once(':') {
                self.send(b'L', format!("{n}\0{}\0", v.trim_start()).as_bytes());
                assert_eq!(self.recv(), Reply::Continue);
            }
        }
        self.send(b'N', b"");
        assert_eq!(self.recv(), Reply::Continue);
        for chunk in body.chunks(65535) {
            self.send(b'B', chunk);
            assert_eq!(self.recv(), Reply::Continue);
        }
        self.send(b'E', b"");
        loop {
            let r = self.recv();
            if matches!(
                r,
                Reply::Accept | Reply::Reject | Reply::Tempfail | Reply::ReplyCode(_)
            ) {
                break;
            }
        }
        t0.elapsed()
    }
}

/// Where the body starts (after the first blank line); headers here are unfolded lines.
fn memchr_split(raw: &[u8]) -> usize {
    raw.windows(2)
        .position(|w| w == b"\n\n")
        .map_or(raw.len(), |p| p + 2)
}
