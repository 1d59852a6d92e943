//! `miji-milter --config FILE [--check]`: the daemon.

use miji_milter::config::{Checked, Config};
use miji_milter::server::{Engine, Listen, Listener, Shared, serve};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: miji-milter [--config FILE] [--check]\n\
  --config FILE  TOML configuration (default: built-in defaults, inet:7357@127.0.0.1)\n\
  --check        load the configuration and policy, print the policy digest, exit";

fn main() {
    let mut config: Option<PathBuf> = None;
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => match args.next() {
                Some(p) => config = Some(PathBuf::from(p)),
                None => exit_usage("--config needs a file"),
            },
            "--check" => check = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            "--version" | "-V" => {
                println!("miji-milter {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            other => exit_usage(&format!("unknown argument '{other}'")),
        }
    }
    let checked: Result<Checked, String> = match &config {
        Some(p) => Config::load(p),
        None => Config::default().check(),
    };
    let engine = match checked.and_then(Engine::new) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("miji-milter: {e}");
            std::process::exit(2);
        }
    };
    if check {
        println!("ok policy {}", engine.scanner.policy().digest());
        return;
    }
    let cfg = engine.checked.config.clone();
    let listen = Listen::parse(&cfg.listen).unwrap_or_else(|e| exit_usage(&e));
    let listener = match Listener::bind(&listen, cfg.socket_mode) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("miji-milter: cannot listen on {}: {e}", cfg.listen);
            std::process::exit(1);
        }
    };
    let shared = match Shared::new(engine, config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("miji-milter: cannot open audit log: {e}");
            std::process::exit(1);
        }
    };
    let hup = Arc::new(AtomicBool::new(false));
    let term = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [
        (signal_hook::consts::SIGHUP, &hup),
        (signal_hook::consts::SIGTERM, &term),
        (signal_hook::consts::SIGINT, &term),
    ] {
        if let Err(e) = signal_hook::flag::register(sig, flag.clone()) {
            eprintln!("miji-milter: cannot install signal handler: {e}");
            std::process::exit(1);
        }
    }
    shared.log(json!({"event": "start", "listen": cfg.listen,
        "policy": shared.engine().scanner.policy().digest(), "pid": std::process::id()}));
    {
        let shared = shared.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(shared.clone(), listener) {
                shared.log(json!({"event": "listener-error", "error": e.to_string()}));
                std::process::exit(1);
            }
        });
    }
    let mut last_stats = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if hup.swap(false, Ordering::SeqCst) {
            shared.reload();
        }
        if term.load(Ordering::SeqCst) {
            shared.log_stats();
            shared.log(json!({"event": "stop"}));
            if let miji_milter::Listen::Unix(p) = &listen {
                let _ = std::fs::remove_file(p);
            }
            std::process::exit(0);
        }
        let every = shared.engine().checked.config.stats_interval_secs;
        if every > 0 && last_stats.elapsed() >= Duration::from_secs(every) {
            shared.log_stats();
            last_stats = Instant::now();
        }
    }
}

fn exit_usage(msg: &str) -> ! {
    eprintln!("miji-milter: {msg}\n{USAGE}");
    std::process::exit(2);
}
