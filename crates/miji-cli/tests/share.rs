//! The real `miji` binary pointed at a generated file share (3,000 small files in nested
//! folders, office files and archives, GBK text, hidden files, `.mijiignore`, a chmod-000
//! file, a FIFO, a dangling link, a link loop, a link to a folder, a non-UTF-8 name): every
//! format against its schema, summary counts, exit codes, walk options, the cache (a rescan
//! reads nothing; `touch -r` is rescanned; `kill -9` then resume equals a clean scan),
//! baselines, and hostile or torn files extracted on the walker threads.

mod common;

use common::*;
use miji_tests::{assert_valid_report, report_validator};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const FILES: usize = 3000;

/// The big share, generated once per test binary (tests only read it).
fn big() -> &'static (PathBuf, Share, Instant) {
    static SHARE: OnceLock<(PathBuf, Share, Instant)> = OnceLock::new();
    SHARE.get_or_init(|| {
        let root = tempdir("big");
        let share = generate(&root, FILES);
        (root, share, Instant::now())
    })
}

/// Waits until files written at `t` are older than the cache's racy window (1 s).
fn settle(t: Instant) {
    let age = t.elapsed();
    if age < Duration::from_millis(1200) {
        std::thread::sleep(Duration::from_millis(1200) - age);
    }
}

fn by_path(records: &[Value]) -> BTreeMap<Vec<u8>, &Value> {
    records.iter().map(|r| (raw_path(r), r)).collect()
}

fn io_error(r: &Value) -> bool {
    r["complete"] == false
        && r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "io")
}

#[test]
fn jsonl_and_json_records_cover_the_share_and_validate() {
    let (root, share, _) = big();
    let v = report_validator();
    // Without --follow: links inside folders are counted, not read.
    let o = miji(&["scan", "--format", "jsonl", "--summary", "share"], root);
    assert_eq!(
        code(&o),
        1,
        "secret files block: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let records = jsonl(&o.stdout);
    for r in &records {
        assert_valid_report(&v, r);
    }
    let got = by_path(&records);
    assert_eq!(records.len(), got.len(), "one record per input");
    let expected: BTreeSet<Vec<u8>> = share
        .levels
        .keys()
        .cloned()
        .chain(share.io_plain.iter().cloned())
        .collect();
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for (p, level) in &share.levels {
        let r = got[p];
        if !level.is_empty() && !share.io_plain.contains(p) {
            assert_eq!(r["level"], *level, "{}", String::from_utf8_lossy(p));
            assert_eq!(r["complete"], true, "{r}");
        }
    }
    for p in &share.io_plain {
        assert!(io_error(got[p]), "{}", got[p]);
    }
    assert!(!got.contains_key(&share.ignored), ".mijiignore is honoured");
    assert_eq!(
        got[&b"share/.env".to_vec()]["level"],
        "secret",
        "hidden files are scanned"
    );
    // the non-UTF-8 name is kept losslessly
    let odd = got[&share.odd];
    assert!(odd["path_bytes"].is_string());
    assert_eq!(odd["level"], "secret");
    // triage facts
    let locked = got[&share.locked];
    if locked["complete"] == true {
        let f = &locked["file"];
        assert_eq!(f["mode"], "0000");
        let sha = f["sha256"].as_str().unwrap();
        assert_eq!(sha.len(), 64);
        assert!(f["mtime"].as_str().unwrap().ends_with('Z'));
        assert!(f["owner"].is_u64());
    }
    let docx = got[&b"share/docs/plan.docx".to_vec()];
    assert_eq!(docx["file"]["mode"], "0644");
    // summary counts agree with the records
    let s = summary(&o);
    assert_eq!(s["records"], records.len());
    assert_eq!(s["files"], records.len());
    assert_eq!(s["symlinks_skipped"], share.links);
    let levels: u64 = s["levels"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(levels, records.len() as u64);
    for l in ["public", "internal", "confidential", "secret", "top-secret"] {
        let n = records.iter().filter(|r| r["level"] == l).count();
        assert_eq!(s["levels"][l], n, "level {l}");
    }
    for a in ["allow", "warn", "redact", "block"] {
        let n = records.iter().filter(|r| r["action"] == a).count();
        assert_eq!(s["actions"][a], n, "action {a}");
    }
    let findings: u64 = records
        .iter()
        .map(|r| r["findings"].as_array().unwrap().len() as u64)
        .sum();
    let by_rule: u64 = s["rules"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x["findings"].as_u64().unwrap())
        .sum();
    assert_eq!(by_rule, findings);
    assert_eq!(s["errors"]["io"], share.io_plain.len());
    assert_eq!(s["incomplete"], share.io_plain.len());
    assert_eq!(
        s["bytes_read"],
        share.bytes
            - if share.io_plain.contains(&share.locked) {
                13
            } else {
                0
            }
    );
    assert_eq!(s["cached"], 0);
    let cn = records
        .iter()
        .filter(|r| r["marking"]["scheme"] == "cn")
        .count();
    assert_eq!(s["schemes"]["cn"], cn);
    assert!(s["files_per_s"].as_f64().unwrap() > 0.0);
    // json: the same records as one array
    let o = miji(&["scan", "--format", "json", "share"], root);
    let arr: Value = serde_json::from_slice(&o.stdout).unwrap();
    let arr = arr.as_array().unwrap();
    assert_eq!(arr.len(), records.len());
    for r in arr {
        assert_valid_report(&v, r);
    }
}

#[test]
fn follow_reports_loops_and_dangling_links_and_threads_agree() {
    let (root, share, _) = big();
    let o1 = miji(
        &[
            "scan", "-L", "-j", "1", "--sort", "path", "--format", "jsonl", "share",
        ],
        root,
    );
    let o2 = miji(
        &[
            "scan", "-L", "-j", "2", "--sort", "path", "--format", "jsonl", "share",
        ],
        root,
    );
    assert_eq!(code(&o1), 1);
    let strip_time =
        |b: &[u8]| -> Vec<String> { jsonl(b).into_iter().map(|r| r.to_string()).collect() };
    assert_eq!(
        strip_time(&o1.stdout),
        strip_time(&o2.stdout),
        "--sort path is deterministic across thread counts"
    );
    let records = jsonl(&o1.stdout);
    let paths: Vec<Vec<u8>> = records.iter().map(raw_path).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "sorted by path bytes");
    let got = by_path(&records);
    for p in &share.io_follow {
        let r = got
            .get(p)
            .unwrap_or_else(|| panic!("no record for {}", String::from_utf8_lossy(p)));
        assert!(io_error(r), "{r}");
    }
    let lp = &got[&b"share/links/loop".to_vec()];
    assert!(
        lp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("loop"),
        "{lp}"
    );
    for (p, level) in &share.follow_files {
        let r = got[p];
        if !level.is_empty() {
            assert_eq!(r["level"], *level);
        }
    }
    assert_eq!(
        records.len(),
        share.levels.len()
            + share.io_plain.len()
            + share.io_follow.len()
            + share.follow_files.len()
    );
}

#[test]
fn sarif_validates_and_has_what_github_needs() {
    let (root, _, _) = big();
    let o = miji(&["scan", "--format", "sarif", "--summary", "share"], root);
    assert_eq!(code(&o), 1);
    let log: Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = sarif_validator();
    let errors: Vec<String> = v
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .take(10)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &log["runs"][0];
    assert_eq!(log["version"], "2.1.0");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let artifacts = run["artifacts"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], id);
        assert!(r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        let pl = &r["locations"][0]["physicalLocation"];
        let uri = pl["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("share/"), "relative URIs: {uri}");
        assert!(pl["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(r["partialFingerprints"]["mijiFingerprint/v1"].is_string());
        assert!(r["partialFingerprints"]["primaryLocationLineHash"].is_string());
    }
    for rule in rules {
        assert!(rule["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(rule["shortDescription"]["text"].is_string());
    }
    let st = results
        .iter()
        .find(|r| {
            r["ruleId"] == "cn.state-secret"
                && r["locations"][0]["physicalLocation"]["region"]["startColumn"].is_u64()
        })
        .unwrap();
    assert_eq!(st["level"], "error");
    // nested members chain to their container by parentIndex
    let zip = artifacts
        .iter()
        .position(|a| a["location"]["uri"] == "share/docs/archive.zip")
        .unwrap();
    let member = artifacts
        .iter()
        .position(|a| a["parentIndex"] == zip)
        .expect("a member of the zip");
    assert!(
        artifacts.iter().any(|a| a["parentIndex"] == member),
        "a part of the member docx"
    );
    let nested = results
        .iter()
        .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["index"] == zip)
        .unwrap();
    assert!(
        nested["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["index"].is_u64()
    );
    // the odd name is percent-encoded losslessly
    assert!(
        artifacts
            .iter()
            .any(|a| a["location"]["uri"] == "share/odd/bad%FFname.txt")
    );
    // incomplete inputs are notifications
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(notes.iter().any(|n| n["descriptor"]["id"] == "io"));
    // the summary is embedded and matches the result count
    let s = &run["properties"]["summary"];
    let findings: u64 = s["rules"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x["findings"].as_u64().unwrap())
        .sum();
    assert_eq!(findings, results.len() as u64);
}

#[test]
fn csv_has_one_row_per_finding_or_clean_record() {
    let (root, _, _) = big();
    let o = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "share/docs",
            "share/d1/e1",
            "share/odd",
        ],
        root,
    );
    let records = jsonl(&o.stdout);
    let o = miji(
        &[
            "scan",
            "--format",
            "csv",
            "share/docs",
            "share/d1/e1",
            "share/odd",
        ],
        root,
    );
    let rows = parse_csv(&String::from_utf8(o.stdout).unwrap());
    let header = &rows[0];
    assert_eq!(header[0], "path");
    assert!(rows.iter().all(|r| r.len() == header.len()), "rectangular");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let expected: usize = records
        .iter()
        .map(|r| r["findings"].as_array().unwrap().len().max(1))
        .sum();
    assert_eq!(rows.len() - 1, expected);
    let fp: BTreeSet<&str> = rows[1..]
        .iter()
        .map(|r| r[col("fingerprint")].as_str())
        .filter(|s| !s.is_empty())
        .collect();
    let want: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| {
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["fingerprint"].as_str().unwrap())
        })
        .collect();
    assert_eq!(fp, want);
    let zip = rows
        .iter()
        .find(|r| r[col("path")] == "share/docs/archive.zip")
        .unwrap();
    assert!(
        zip[col("location")].contains("!/"),
        "nested location joined with !/"
    );
    assert!(
        rows.iter().any(|r| !r[col("path_bytes")].is_empty()),
        "non-UTF-8 name as base64"
    );
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[col("sha256")].len() == 64 || r[col("complete")] == "false")
    );
}

#[test]
fn walk_options_globs_size_limit_and_exit_codes() {
    let (root, share, _) = big();
    let o = miji(
        &["scan", "--format", "jsonl", "--glob", "*.docx", "share"],
        root,
    );
    let r = jsonl(&o.stdout);
    assert_eq!(r.len(), 2, "only .docx files");
    let o = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--exclude",
            "d*",
            "--exclude",
            "links",
            "share",
        ],
        root,
    );
    let r = jsonl(&o.stdout);
    assert!(
        r.iter()
            .all(|x| !x["path"].as_str().unwrap().starts_with("share/d"))
    );
    assert!(!r.is_empty());
    // bigger files become limit.size records, never silent skips
    let o = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--max-filesize",
            "20",
            "share/docs",
        ],
        root,
    );
    let r = jsonl(&o.stdout);
    assert_eq!(r.len(), 3);
    for x in &r {
        assert_eq!(x["errors"][0]["kind"], "limit.size", "{x}");
        assert_eq!(x["complete"], false);
    }
    assert_eq!(
        code(&o),
        3,
        "incomplete and nothing blocking (limit.size is redact by default)"
    );
    // exit 3: a FIFO (not read) next to a clean file; 1 wins over 3
    assert_eq!(
        code(&miji(
            &["scan", "share/links/fifo", "share/odd/名字.txt"],
            root
        )),
        3
    );
    assert_eq!(
        code(&miji(&["scan", "share/links/fifo", "share/.env"], root)),
        1
    );
    assert_eq!(code(&miji(&["scan", "share/odd/名字.txt"], root)), 0);
    assert_eq!(
        code(&miji(&["scan", "--max-filesize", "lots", "share"], root)),
        2
    );
    assert_eq!(code(&miji(&["scan", "--threads", "x", "share"], root)), 2);
    let _ = share;
}

#[test]
fn a_pipe_gets_only_the_report_and_colours_follow_the_flags() {
    let (root, _, _) = big();
    let o = miji(&["scan", "--format", "jsonl", "share/d2"], root);
    assert!(
        o.stderr.is_empty(),
        "no progress bar on a pipe: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.stdout.is_empty());
    let o = miji(&["scan", "share/docs"], root);
    assert!(!o.stdout.contains(&0x1b), "no colour on a pipe");
    let o = miji(&["scan", "--color", "always", "share/docs"], root);
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(t.contains("\x1b[31msecret\x1b[0m"), "{t}");
    let o = std::process::Command::new(bin())
        .args(["scan", "--color", "auto", "share/docs"])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!o.stdout.contains(&0x1b));
    // text groups by file, level first; clean records only with --show-clean
    let o = miji(&["scan", "share/odd"], root);
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(
        t.contains("share/odd/bad\u{fffd}name.txt: secret (block)\n  marking cn"),
        "{t}"
    );
    assert!(!t.contains("名字.txt"));
    let o = miji(&["scan", "--show-clean", "share/odd"], root);
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains("名字.txt: public (allow)")
    );
    // text summary lines on stderr
    let o = miji(&["scan", "--summary", "-q", "share/docs"], root);
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(
        e.contains("3 records (3 files)") && e.contains("levels:") && e.contains("MB/s"),
        "{e}"
    );
}

#[test]
fn a_closed_pipe_ends_the_scan_quietly() {
    use std::io::{BufRead, BufReader};
    let (root, _, _) = big();
    let mut child = std::process::Command::new(bin())
        .args([
            "scan", "--format", "jsonl", "-j", "1", "share/d1", "share/d2", "share/d3",
        ])
        .current_dir(root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // the reader is dropped here: the pipe closes
    let o = child.wait_with_output().unwrap();
    assert!(serde_json::from_str::<Value>(&first).is_ok());
    assert_eq!(o.status.code(), Some(0));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn cache_lines(p: &Path) -> usize {
    std::fs::read(p)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

#[test]
fn a_cached_rescan_reads_nothing_and_touch_r_is_rescanned() {
    let root = tempdir("cache");
    let share = generate(&root, 300);
    let started = Instant::now();
    settle(started);
    let cache = root.join("scan.cache");
    let c = cache.to_str().unwrap();
    let first = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--summary",
            "--cache",
            c,
            "share",
        ],
        &root,
    );
    let s1 = summary(&first);
    assert!(s1["bytes_read"].as_u64().unwrap() > 0);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the cache is private");
    }
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(
        !text.contains("机密★") && !text.contains("TOP SECRET//") && !text.contains("1101**"),
        "no scanned text in the cache"
    );
    let second = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--summary",
            "--cache",
            c,
            "share",
        ],
        &root,
    );
    let s2 = summary(&second);
    assert_eq!(
        s2["bytes_read"], 0,
        "an unchanged share reads no content: {s2}"
    );
    assert_eq!(
        s2["cached"].as_u64().unwrap() as usize,
        share.levels.len()
            - share
                .io_plain
                .iter()
                .filter(|p| share.levels.contains_key(*p))
                .count()
    );
    assert_eq!(
        canonical(&first.stdout),
        canonical(&second.stdout),
        "cached records equal fresh ones but for excerpts and marking text"
    );
    assert_eq!(code(&first), code(&second));
    // an edit with the same size whose mtime is put back (`touch -r`) is still rescanned
    let victim = share.dir.join("d1/e1/file1.txt");
    let before = std::fs::read(&victim).unwrap();
    let meta = std::fs::metadata(&victim).unwrap();
    let mut edited = "机密★10年\n".as_bytes().to_vec();
    edited.resize(before.len(), b'\n');
    std::fs::write(&victim, &edited).unwrap();
    let f = std::fs::File::options().write(true).open(&victim).unwrap();
    f.set_modified(meta.modified().unwrap()).unwrap();
    drop(f);
    assert_eq!(
        std::fs::metadata(&victim).unwrap().modified().unwrap(),
        meta.modified().unwrap()
    );
    let third = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--summary",
            "--cache",
            c,
            "share",
        ],
        &root,
    );
    let s3 = summary(&third);
    assert_eq!(
        s3["bytes_read"],
        edited.len(),
        "only the edited file is read: {s3}"
    );
    let recs = jsonl(&third.stdout);
    let r = recs
        .iter()
        .find(|r| r["path"] == "share/d1/e1/file1.txt")
        .unwrap();
    assert_eq!(r["level"], "secret");
    // a different policy does not reuse the entries
    std::fs::write(root.join("words.txt"), "nothing-matches-this\n").unwrap();
    let fourth = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--summary",
            "--cache",
            c,
            "--dictionary",
            "words.txt",
            "share",
        ],
        &root,
    );
    assert_eq!(summary(&fourth)["cached"], 0);
    // a file that is not a cache is refused
    std::fs::write(root.join("not-a-cache"), "hello\n").unwrap();
    let o = miji(&["scan", "--cache", "not-a-cache", "share/docs"], &root);
    assert_eq!(code(&o), 2);
}

#[test]
fn kill_9_mid_scan_then_resume_equals_a_clean_scan() {
    let (root, share, t) = big();
    settle(*t);
    let dir = tempdir("kill");
    let cache = dir.join("kill.cache");
    let c = cache.to_str().unwrap();
    let mut child = std::process::Command::new(bin())
        .args([
            "scan", "--format", "jsonl", "-j", "1", "--cache", c, "share",
        ])
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while cache_lines(&cache) < 300 && Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap_or(()); // SIGKILL
    let _ = child.wait();
    let lines = cache_lines(&cache);
    assert!(lines > 1, "some entries were journalled before the kill");
    eprintln!(
        "killed with {lines} journal lines for {} files",
        share.levels.len()
    );
    // a torn last write, as a crash mid-line leaves it
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&cache)
            .unwrap();
        f.write_all(b"{\"k\":\"c2hhcmUv").unwrap();
    }
    let resumed = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--summary",
            "--cache",
            c,
            "share",
        ],
        root,
    );
    let s = summary(&resumed);
    let cached = s["cached"].as_u64().unwrap();
    assert!(
        cached > 0 && cached as usize >= lines.saturating_sub(2).min(share.levels.len()) - 1,
        "resumed from the journal: {s} ({lines} lines)"
    );
    let clean = miji(&["scan", "--format", "jsonl", "share"], root);
    assert_eq!(
        canonical(&resumed.stdout),
        canonical(&clean.stdout),
        "resume gives the clean scan's report"
    );
    assert_eq!(code(&resumed), code(&clean));
    // and the journal is now whole: a further run reads nothing
    let again = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--summary",
            "--cache",
            c,
            "share",
        ],
        root,
    );
    assert_eq!(summary(&again)["bytes_read"], 0);
}

#[test]
fn baselines_report_only_new_findings_per_path() {
    let root = tempdir("baseline");
    let s = root.join("share");
    std::fs::create_dir_all(&s).unwrap();
    std::fs::write(
        s.join("a.txt"),
        "机密★10年\n\n身份证号：110101199003074477\n",
    )
    .unwrap();
    std::fs::write(s.join("b.txt"), "机密★10年\n正文\n").unwrap();
    std::fs::write(s.join("clean.txt"), "hello\n").unwrap();
    let o = miji(&["baseline", "create", "base.json", "share"], &root);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let b: Value = serde_json::from_slice(&std::fs::read(root.join("base.json")).unwrap()).unwrap();
    assert_eq!(b["schema"], "miji.baseline/1");
    assert_eq!(b["entries"].as_array().unwrap().len(), 3);
    assert!(
        !String::from_utf8_lossy(&std::fs::read(root.join("base.json")).unwrap()).contains("机密★"),
        "no scanned text"
    );
    // unchanged share: nothing to report, exit 0
    let o = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--summary",
            "--baseline",
            "base.json",
            "share",
        ],
        &root,
    );
    assert_eq!(code(&o), 0);
    let recs = jsonl(&o.stdout);
    assert!(
        recs.iter()
            .all(|r| r["findings"].as_array().unwrap().is_empty()
                && r["level"] == "public"
                && r["marking"].is_null()),
        "{recs:?}"
    );
    assert_eq!(summary(&o)["baseline_suppressed"], 3);
    // a new finding in a baselined file, and the same marking in a new file
    std::fs::write(
        s.join("a.txt"),
        "机密★10年\n\n身份证号：110101199003074477\n另一个：11010519491231002X\n",
    )
    .unwrap();
    std::fs::write(s.join("c.txt"), "机密★10年\n正文\n").unwrap();
    let o = miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--baseline",
            "base.json",
            "share",
        ],
        &root,
    );
    assert_eq!(code(&o), 1);
    let recs = jsonl(&o.stdout);
    let get = |p: &str| recs.iter().find(|r| r["path"] == p).unwrap();
    let a = get("share/a.txt");
    let fs = a["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 1, "{a}");
    assert_eq!(fs[0]["rule"], "pii.cn-resident-id");
    assert_eq!(
        a["level"], "public",
        "the baselined marking no longer raises the level"
    );
    assert!(a["marking"].is_null());
    // the action is what the remaining finding alone gives
    std::fs::write(root.join("only.txt"), "另一个：11010519491231002X\n").unwrap();
    let alone = jsonl(&miji(&["scan", "--format", "jsonl", "only.txt"], &root).stdout);
    assert_eq!(a["action"], alone[0]["action"]);
    assert_eq!(a["counts"], serde_json::json!({"pii.cn-resident-id": 1}));
    let c = get("share/c.txt");
    assert_eq!(
        c["level"], "secret",
        "a baseline entry does not hide the same marking in another file"
    );
    assert_eq!(get("share/b.txt")["level"], "public");
    assert_valid_report(&report_validator(), a);
}

#[test]
fn explain_still_prints_the_trace() {
    let (root, _, _) = big();
    let o = miji(&["explain", "share/docs/plan.docx"], root);
    assert_eq!(code(&o), 0);
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(
        t.contains("share/docs/plan.docx: secret") && t.contains("decisions ("),
        "{t}"
    );
}

/// The walker threads run the extractors in place (no thread per file): hostile files still
/// end as errors on their records, never a crash, with one and two threads; and a UTF-8 file
/// torn mid-character at both ends (cut at a byte offset) is read as UTF-8 and classified.
#[test]
fn hostile_files_on_the_walker_threads_and_torn_utf8() {
    let root = tempdir("hostile");
    let dir = root.join("share");
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "bomb_nested.zip",
        "deep_xml.docx",
        "overlap.zip",
        "zip_nested.zip",
    ] {
        std::fs::write(dir.join(name), fixture(name)).unwrap();
    }
    let text = "前言。\n机密★10年\n关于天穹计划的通知，请各单位按时报送材料。\n".repeat(4);
    let bytes = text.as_bytes();
    std::fs::write(dir.join("torn.txt"), &bytes[1..bytes.len() - 1]).unwrap();
    for threads in ["1", "2"] {
        let o = miji(
            &["scan", "--format", "jsonl", "-j", threads, "share"],
            &root,
        );
        assert!(
            [0, 1, 2].contains(&code(&o)),
            "-j {threads}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let records = jsonl(&o.stdout);
        let by_name = |n: &str| {
            records
                .iter()
                .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(n)))
                .unwrap_or_else(|| panic!("no record for {n}"))
        };
        let kinds = |r: &Value| -> Vec<String> {
            r["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["kind"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(records.len(), 5, "-j {threads}");
        assert!(kinds(by_name("deep_xml.docx")).contains(&"limit.depth".to_owned()));
        assert!(kinds(by_name("bomb_nested.zip")).contains(&"limit.size".to_owned()));
        for r in &records {
            assert!(!kinds(r).contains(&"internal".to_owned()), "{r}");
        }
        let torn = by_name("torn.txt");
        assert_eq!(torn["level"], "secret", "{torn}");
        assert_eq!(torn["encoding"], "UTF-8", "{torn}");
    }
}
