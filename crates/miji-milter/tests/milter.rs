//! Drives the milter protocol over real sockets with a small client.

use miji_milter::config::Config;
use miji_milter::protocol::{self, Reply};
use miji_milter::server::{Engine, Fault, Listener, ScanFailure, ScanPool, Shared, serve};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("miji-milter-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_config(dir: &Path, extra: &str) -> PathBuf {
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    let cfg = format!(
        "listen = \"inet:0@127.0.0.1\"\npolicy = \"policy.toml\"\naudit_log = \"{}\"\n\
         local_domains = [\"corp.example\"]\ntrusted_networks = [\"10.0.0.0/8\", \"127.0.0.0/8\"]\n{extra}",
        dir.join("audit.log").display()
    );
    let p = dir.join("milter.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

struct Running {
    port: u16,
    shared: Arc<Shared>,
    dir: PathBuf,
}

fn start(name: &str, extra: &str, fault: Option<Fault>) -> Running {
    let dir = tmpdir(name);
    let cfg = write_config(&dir, extra);
    let mut engine = Engine::new(Config::load(&cfg).unwrap()).unwrap();
    engine.fault = fault;
    let shared = Shared::new(engine, Some(cfg)).unwrap();
    let listener = Listener::bind(&miji_milter::Listen::Inet("127.0.0.1:0".into()), 0o600).unwrap();
    let port = listener.local_port().unwrap();
    let sh = shared.clone();
    std::thread::spawn(move || serve(sh, listener));
    Running { port, shared, dir }
}

/// A minimal MTA side of the protocol.
struct Client<S: Read + Write> {
    s: S,
}

impl<S: Read + Write> Client<S> {
    fn send(&mut self, cmd: u8, data: &[u8]) {
        self.s
            .write_all(&protocol::encode_command(cmd, data))
            .unwrap();
    }
    fn recv(&mut self) -> Reply {
        let (c, d) = protocol::read_packet(&mut self.s).unwrap().expect("reply");
        protocol::parse_reply(c, &d)
    }
    fn expect_continue(&mut self, cmd: u8, data: &[u8]) {
        self.send(cmd, data);
        assert_eq!(self.recv(), Reply::Continue, "after {}", cmd as char);
    }
    fn negotiate(&mut self) -> Reply {
        let mut d = Vec::new();
        d.extend_from_slice(&6u32.to_be_bytes());
        d.extend_from_slice(&0x1ffu32.to_be_bytes());
        d.extend_from_slice(&0x001f_ffffu32.to_be_bytes());
        self.send(b'O', &d);
        self.recv()
    }
    /// Sends one message; returns every reply to end-of-body up to the final one.
    fn message(
        &mut self,
        client_ip: &str,
        auth: Option<&str>,
        rcpts: &[&str],
        mail: &str,
    ) -> Vec<Reply> {
        let mut c = b"client.example\x004".to_vec();
        c.extend_from_slice(&2525u16.to_be_bytes());
        c.extend_from_slice(client_ip.as_bytes());
        c.push(0);
        self.expect_continue(b'C', &c);
        if let Some(a) = auth {
            self.send(
                b'D',
                format!("M{{auth_authen}}\0{a}\0i\0QID123\0").as_bytes(),
            );
        } else {
            self.send(b'D', b"Mi\0QID123\0");
        }
        self.expect_continue(b'M', b"<sender@corp.example>\0");
        for r in rcpts {
            self.expect_continue(b'R', format!("<{r}>\0").as_bytes());
        }
        let (head, body) = mail.split_once("\n\n").unwrap();
        for line in head.lines() {
            let (n, v) = line.split_once(':').unwrap();
            self.expect_continue(b'L', format!("{n}\0{v}\0").as_bytes());
        }
        self.expect_continue(b'N', b"");
        let body = body.replace('\n', "\r\n");
        for chunk in body.as_bytes().chunks(7) {
            self.expect_continue(b'B', chunk);
        }
        self.send(b'E', b"");
        let mut out = Vec::new();
        loop {
            let r = self.recv();
            let fin = matches!(
                r,
                Reply::Accept
                    | Reply::Reject
                    | Reply::Tempfail
                    | Reply::ReplyCode(_)
                    | Reply::Continue
            );
            out.push(r);
            if fin {
                return out;
            }
        }
    }
}

fn tcp(r: &Running) -> Client<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", r.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut c = Client { s };
    match c.negotiate() {
        Reply::OptNeg {
            version,
            actions,
            protocol: p,
        } => {
            assert_eq!(version, 6);
            assert_eq!(
                actions,
                0x01 | 0x10 | 0x20,
                "add/change headers and quarantine"
            );
            assert!(p & 0x0010_0000 != 0, "leading space kept");
        }
        other => panic!("bad negotiation reply {other:?}"),
    }
    c
}

const CLEAN: &str = "From: a@corp.example\nTo: b@corp.example\nSubject: lunch\nMessage-ID: <clean@x>\n\nSee you at noon.\n";
const SECRET: &str = "From: a@corp.example\nTo: b@corp.example\nSubject: plan\nMessage-ID: <m1@x>\n\n机密★10年\n\n关于天穹计划的补充说明，内容不得外传。\n";
const REDACT: &str = "From: a@corp.example\nTo: b@corp.example\nSubject: notes\n\nThe Project Redwood budget is attached.\n";
const WARN: &str = "From: a@corp.example\nTo: b@corp.example\nSubject: notes\nX-Miji-Level: public\n\nBluebird meets on Monday.\n";

fn audit(r: &Running) -> String {
    std::fs::read_to_string(r.dir.join("audit.log")).unwrap_or_default()
}

#[test]
fn clean_mail_is_accepted() {
    let r = start("clean", "", None);
    let mut c = tcp(&r);
    let out = c.message("10.1.1.1", None, &["b@corp.example"], CLEAN);
    assert_eq!(out, vec![Reply::Accept]);
    // Two messages on one connection.
    let out = c.message("10.1.1.1", None, &["x@other.example"], CLEAN);
    assert_eq!(out, vec![Reply::Accept]);
    let log = audit(&r);
    assert!(log.contains("\"queue_id\":\"QID123\""), "{log}");
    assert!(log.contains("\"message_id\":\"<clean@x>\""), "{log}");
}

#[test]
fn marked_mail_is_rejected_with_rule_level_incident_and_no_content() {
    let r = start("secret", "", None);
    let mut c = tcp(&r);
    let out = c.message("10.1.1.1", None, &["b@corp.example"], SECRET);
    let [Reply::ReplyCode(text)] = &out[..] else {
        panic!("{out:?}")
    };
    assert!(text.starts_with("550 5.7.1 "), "{text}");
    assert!(text.contains("cn.state-secret"), "{text}");
    assert!(text.contains("level secret"), "{text}");
    assert!(text.is_ascii());
    let incident = text.rsplit("incident ").next().unwrap();
    assert_eq!(incident.len(), 16, "{text}");
    let log = audit(&r);
    assert!(log.contains(incident));
    for forbidden in ["机密", "天穹", "补充说明", "10年"] {
        assert!(
            !log.contains(forbidden),
            "content leaked into the audit log: {log}"
        );
        assert!(!text.contains(forbidden));
    }
}

#[test]
fn block_can_be_held_instead() {
    let r = start("blockhold", "[verbs]\nblock = \"hold\"\n", None);
    let out = tcp(&r).message("10.1.1.1", None, &["b@corp.example"], SECRET);
    assert!(
        matches!(&out[0], Reply::Quarantine(q) if q.contains("cn.state-secret")),
        "{out:?}"
    );
    assert_eq!(out.last(), Some(&Reply::Accept));
}

#[test]
fn redact_level_mail_is_quarantined() {
    let r = start("redact", "", None);
    let out = tcp(&r).message("10.1.1.1", None, &["b@corp.example"], REDACT);
    assert_eq!(out.len(), 2, "{out:?}");
    let Reply::Quarantine(q) = &out[0] else {
        panic!("{out:?}")
    };
    assert!(
        q.contains("dict.redwood") && q.contains("action redact"),
        "{q}"
    );
    assert!(!q.contains("Redwood budget"));
    assert_eq!(out[1], Reply::Accept);
}

#[test]
fn internal_warn_is_tagged_and_forged_headers_removed() {
    let r = start("warn-int", "", None);
    let out = tcp(&r).message("10.1.1.1", None, &["b@corp.example"], WARN);
    assert_eq!(
        out[0],
        Reply::ChgHeader(1, "X-Miji-Level".into(), String::new()),
        "{out:?}"
    );
    assert!(
        out.contains(&Reply::AddHeader("X-Miji-Level".into(), " public".into())),
        "{out:?}"
    );
    assert!(out.contains(&Reply::AddHeader("X-Miji-Action".into(), " warn".into())));
    assert!(
        out.iter().any(
            |r| matches!(r, Reply::AddHeader(n, v) if n == "X-Miji-Incident" && v.len() == 17)
        )
    );
    assert_eq!(out.last(), Some(&Reply::Accept));
    // Authenticated sender from an untrusted address is internal too.
    let out = tcp(&r).message("203.0.113.9", Some("alice"), &["b@corp.example"], WARN);
    assert!(
        out.iter().any(|r| matches!(r, Reply::AddHeader(..))),
        "{out:?}"
    );
}

#[test]
fn outbound_warn_gets_no_headers() {
    let r = start("warn-out", "", None);
    let out = tcp(&r).message("10.1.1.1", None, &["partner@elsewhere.example"], WARN);
    assert!(
        !out.iter().any(|r| matches!(r, Reply::AddHeader(..))),
        "{out:?}"
    );
    assert_eq!(out.last(), Some(&Reply::Accept));
    assert!(audit(&r).contains("\"direction\":\"outbound\""));
}

#[test]
fn mixed_recipients_take_the_strictest_verdict() {
    let body = "From: a@corp.example\nSubject: memo\n\n内部资料\n\n下周例会安排。\n";
    let r = start("mixed", "", None);
    // Level check first: internal-level mail to internal recipients is only tagged.
    let out = tcp(&r).message("10.1.1.1", None, &["b@corp.example"], body);
    assert!(
        out.contains(&Reply::AddHeader("X-Miji-Level".into(), " internal".into())),
        "{out:?}"
    );
    // One external recipient: above its ceiling (public) → block for the whole message.
    let out = tcp(&r).message(
        "10.1.1.1",
        None,
        &["b@corp.example", "x@elsewhere.example"],
        body,
    );
    let [Reply::ReplyCode(t)] = &out[..] else {
        panic!("{out:?}")
    };
    assert!(
        t.starts_with("550 5.7.1")
            && t.contains("recipient.max-level")
            && t.contains("level internal"),
        "{t}"
    );
    // A partner domain allowed up to internal.
    let r = start(
        "mixed2",
        "[[recipients.domain]]\ndomain = \"partner.example\"\nmax_level = \"internal\"\n",
        None,
    );
    let out = tcp(&r).message(
        "10.1.1.1",
        None,
        &["b@corp.example", "p@mx.partner.example"],
        body,
    );
    assert_eq!(out.last(), Some(&Reply::Accept), "{out:?}");
    assert!(
        !out.iter().any(|r| matches!(r, Reply::AddHeader(..))),
        "outbound: no tags {out:?}"
    );
}

#[test]
fn oversize_mail_follows_on_error_not_tempfail() {
    let r = start("size", "max_message_bytes = 200\n", None);
    let big = format!("{CLEAN}{}", "padding line of text\n".repeat(100));
    let out = tcp(&r).message("10.1.1.1", None, &["b@corp.example"], &big);
    let Reply::Quarantine(q) = &out[0] else {
        panic!("{out:?}")
    };
    assert!(q.contains("on_error.limit.size"), "{q}");
    assert_eq!(out.last(), Some(&Reply::Accept));
}

#[test]
fn panic_tempfails_and_server_keeps_serving() {
    let r = start("panic", "", Some(Fault::Panic));
    let mut c = tcp(&r);
    assert_eq!(
        c.message("10.1.1.1", None, &["b@corp.example"], CLEAN),
        vec![Reply::Tempfail]
    );
    assert_eq!(
        c.message("10.1.1.1", None, &["b@corp.example"], CLEAN),
        vec![Reply::Tempfail]
    );
    assert!(audit(&r).contains("\"reason\":\"internal\""));
}

#[test]
fn deadline_tempfails() {
    let r = start(
        "deadline",
        "scan_timeout_ms = 200\n",
        Some(Fault::Sleep(Duration::from_secs(2))),
    );
    let t = std::time::Instant::now();
    let out = tcp(&r).message("10.1.1.1", None, &["b@corp.example"], CLEAN);
    assert_eq!(out, vec![Reply::Tempfail]);
    assert!(t.elapsed() < Duration::from_millis(1500));
    assert!(audit(&r).contains("\"reason\":\"deadline\""));
}

#[test]
fn reload_swaps_policy_and_keeps_connections() {
    let r = start("reload", "", None);
    let mut c = tcp(&r);
    assert_eq!(
        c.message("10.1.1.1", None, &["b@corp.example"], CLEAN),
        vec![Reply::Accept]
    );
    // A bad policy is refused; the old one keeps serving.
    std::fs::write(r.dir.join("policy.toml"), "[[dictionary]]\nname = 3\n").unwrap();
    assert!(!r.shared.reload());
    assert!(
        audit(&r).contains("\"event\":\"reload\",\"ok\":false")
            || audit(&r).contains("\"ok\":false")
    );
    assert_eq!(
        c.message("10.1.1.1", None, &["b@corp.example"], CLEAN),
        vec![Reply::Accept]
    );
    // A good new policy applies on the same connection.
    std::fs::write(
        r.dir.join("policy.toml"),
        "[[dictionary]]\nname = \"lunch\"\nterms = [\"noon\"]\naction = \"block\"\n",
    )
    .unwrap();
    assert!(r.shared.reload());
    let out = c.message("10.1.1.1", None, &["b@corp.example"], CLEAN);
    assert!(
        matches!(&out[..], [Reply::ReplyCode(t)] if t.contains("dict.lunch")),
        "{out:?}"
    );
}

#[test]
fn unix_socket_works() {
    let dir = tmpdir("unix");
    let cfg = write_config(&dir, "");
    let engine = Engine::new(Config::load(&cfg).unwrap()).unwrap();
    let shared = Shared::new(engine, None).unwrap();
    let sock = dir.join("m.sock");
    let l = Listener::bind(&miji_milter::Listen::Unix(sock.clone()), 0o660).unwrap();
    std::thread::spawn(move || serve(shared, l));
    let mut c = Client {
        s: UnixStream::connect(&sock).unwrap(),
    };
    assert!(matches!(c.negotiate(), Reply::OptNeg { .. }));
    let out = c.message("10.1.1.1", None, &["b@corp.example"], SECRET);
    assert!(matches!(&out[..], [Reply::ReplyCode(t)] if t.starts_with("550 5.7.1")));
}

#[test]
fn sighup_reload_in_the_daemon_keeps_serving() {
    let dir = tmpdir("daemon");
    let cfg = write_config(&dir, "");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("inet:0@127.0.0.1", &format!("inet:{port}@127.0.0.1"));
    std::fs::write(&cfg, text).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_miji-milter"))
        .arg("--config")
        .arg(&cfg)
        .spawn()
        .unwrap();
    let mut s = None;
    for _ in 0..100 {
        if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
            s = Some(c);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut c = Client {
        s: s.expect("daemon listening"),
    };
    assert!(matches!(c.negotiate(), Reply::OptNeg { .. }));
    let pid = child.id().to_string();
    for i in 0..20 {
        if i % 5 == 0 {
            let st = std::process::Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap();
            assert!(st.success());
        }
        assert_eq!(
            c.message("10.1.1.1", None, &["b@corp.example"], CLEAN),
            vec![Reply::Accept]
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let st = child.wait().unwrap();
    assert!(st.success(), "{st:?}");
    let log = std::fs::read_to_string(dir.join("audit.log")).unwrap();
    assert!(
        log.matches("\"event\":\"reload\",\"ok\":true").count() >= 1 || log.contains("\"ok\":true"),
        "{log}"
    );
    assert!(log.contains("\"event\":\"stats\""));
}

#[test]
fn shipped_example_config_parses() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/milter.toml");
    let c = Config::load(&p).unwrap();
    assert_eq!(c.config.local_domains, vec!["example.com".to_string()]);
    assert!(matches!(
        miji_milter::Listen::parse(&c.config.listen).unwrap(),
        miji_milter::Listen::Unix(_)
    ));
    assert_eq!(
        miji_milter::Listen::parse("inet:7357@127.0.0.1").unwrap(),
        miji_milter::Listen::Inet("127.0.0.1:7357".into())
    );
}

#[test]
fn scan_pool_survives_panics_and_deadlines() {
    let engine = |fault| {
        let mut e = Engine::new(Config::default().check().unwrap()).unwrap();
        e.fault = fault;
        Arc::new(e)
    };
    let ok = engine(None);
    let panicky = engine(Some(Fault::Panic));
    let slow = engine(Some(Fault::Sleep(Duration::from_millis(400))));
    let pool = ScanPool::new(4);
    let msg = b"Subject: hi\r\n\r\n\xe6\x9c\xba\xe5\xaf\x86\xe2\x98\x8510\xe5\xb9\xb4\r\n".to_vec();
    let long = Duration::from_secs(20);
    let report = pool.scan(&ok, msg.clone(), false, long).unwrap();
    assert!(!report.findings.is_empty(), "the worker extracts and scans");
    assert_eq!(pool.spawned(), 1);
    // A panic is a failure of that message only: the same worker serves the next one.
    let r = pool.scan(&panicky, msg.clone(), false, long);
    assert_eq!(r.unwrap_err(), ScanFailure::Internal);
    assert!(pool.scan(&ok, msg.clone(), false, long).is_ok());
    assert_eq!(pool.spawned(), 1, "a panic does not cost the worker");
    // Past the deadline the scan keeps its worker; the next message gets another one.
    let r = pool.scan(&slow, msg.clone(), false, Duration::from_millis(20));
    assert_eq!(r.unwrap_err(), ScanFailure::Deadline);
    assert!(pool.scan(&ok, msg.clone(), false, long).is_ok());
    assert_eq!(pool.spawned(), 2);
    // Once the slow scan ends its worker is idle again and serves messages.
    let until = |want: usize| {
        for _ in 0..500 {
            if pool.idle_workers() == want {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("idle workers {} != {want}", pool.idle_workers());
    };
    until(2);
    let both: Vec<_> = (0..2)
        .map(|_| {
            let (p, e, m) = (pool.clone(), ok.clone(), msg.clone());
            std::thread::spawn(move || p.scan(&e, m, false, long).is_ok())
        })
        .collect();
    assert!(both.into_iter().all(|h| h.join().unwrap()));
    assert_eq!(pool.spawned(), 2, "idle workers are reused");
    // Surplus idle workers exit.
    pool.set_keep_idle(1);
    until(1);
    assert!(pool.scan(&ok, msg, false, long).is_ok());
}
