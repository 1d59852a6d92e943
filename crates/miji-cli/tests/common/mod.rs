//! Helpers for the end-to-end tests of the real `miji` binary on a generated file share.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_miji"))
}

/// Runs `miji args` in `cwd` with stdin closed, NO_COLOR unset.
pub fn miji(args: &[&str], cwd: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run miji")
}

/// The exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// A fresh folder under the system temp dir.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("miji-cli-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The repository's test fixtures.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(miji_tests::root().join("tests/fixtures/extract").join(name)).expect(name)
}

/// What the generated share should give.
#[derive(Debug, Default)]
pub struct Share {
    /// The share's root (`share` under the test folder; tests run with the folder as cwd).
    pub dir: PathBuf,
    /// Expected level of every regular file, by path as reported (`share/...`), raw bytes.
    pub levels: BTreeMap<Vec<u8>, &'static str>,
    /// Paths of records that are `io` errors without `--follow`.
    pub io_plain: Vec<Vec<u8>>,
    /// Extra `io` records with `--follow` (dangling link, loop).
    pub io_follow: Vec<Vec<u8>>,
    /// Extra regular-file records with `--follow` (files reached through a link).
    pub follow_files: BTreeMap<Vec<u8>, &'static str>,
    /// Links inside folders (skipped without `--follow`).
    pub links: usize,
    /// Content bytes of every regular file (plain walk).
    pub bytes: u64,
    /// A file excluded by `.mijiignore`.
    pub ignored: Vec<u8>,
    /// The non-UTF-8 name.
    pub odd: Vec<u8>,
    /// A chmod-000 file (root still reads it).
    pub locked: Vec<u8>,
}

fn put(share: &mut Share, rel: &[u8], content: &[u8], level: &'static str) {
    let p = share.dir.join(OsStr::from_bytes(rel));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    let mut key = b"share/".to_vec();
    key.extend_from_slice(rel);
    share.bytes += content.len() as u64;
    share.levels.insert(key, level);
}

/// Generates a share of `n` small text files in nested folders plus mixed formats, hidden files,
/// a `.mijiignore`, a chmod-000 file, a FIFO, a dangling link, a link loop, a link to a folder
/// and a non-UTF-8 name, in `root/share`.
pub fn generate(root: &Path, n: usize) -> Share {
    let mut s = Share {
        dir: root.join("share"),
        ..Share::default()
    };
    let gbk = fixture("tiny_gbk.txt");
    for i in 0..n {
        let dir = if i % 3 == 0 {
            format!("d{}/e{}/f{}", i % 10, i % 7, i % 5)
        } else {
            format!("d{}/e{}", i % 10, i % 7)
        };
        let name = format!("{dir}/file{i}.txt");
        let (content, level): (Vec<u8>, &str) = if i % 50 == 0 {
            (format!("机密★10年\n正文 {i}\n").into_bytes(), "secret")
        } else if i % 50 == 25 {
            (
                b"TOP SECRET//NOFORN\nbody\nTOP SECRET//NOFORN\n".to_vec(),
                "top-secret",
            )
        } else if i % 37 == 0 {
            (
                format!("客户 {i}\n身份证号：110101199003074477\n").into_bytes(),
                "public",
            )
        } else if i % 97 == 0 {
            (gbk.clone(), "secret")
        } else {
            (
                format!("hello world {i}\nnothing to see here\n").into_bytes(),
                "public",
            )
        };
        put(&mut s, name.as_bytes(), &content, level);
    }
    put(
        &mut s,
        b"docs/plan.docx",
        &fixture("docx_header.docx"),
        "secret",
    );
    put(
        &mut s,
        b"docs/archive.zip",
        &fixture("zip_with_docx.zip"),
        "secret",
    );
    put(
        &mut s,
        b"docs/x/footer.docx",
        &fixture("docx_footer.docx"),
        "",
    );
    put(&mut s, b".env", b"SECRET//NOFORN\n", "secret");
    put(&mut s, "odd/名字.txt".as_bytes(), b"plain\n", "public");
    put(
        &mut s,
        b"odd/bad\xffname.txt",
        "机密★5年\n".as_bytes(),
        "secret",
    );
    s.odd = b"share/odd/bad\xffname.txt".to_vec();
    put(&mut s, b"locked.txt", "机密★10年\n".as_bytes(), "secret");
    s.locked = b"share/locked.txt".to_vec();
    set_mode(&s.dir.join("locked.txt"), 0o000);
    put(&mut s, b"ignored/.mijiignore", b"skip_*.txt\n", "public");
    put(&mut s, b"ignored/keep.txt", b"kept\n", "public");
    std::fs::write(s.dir.join("ignored/skip_1.txt"), "绝密★30年\n").unwrap();
    s.ignored = b"share/ignored/skip_1.txt".to_vec();
    // links and special files
    let links = s.dir.join("links");
    std::fs::create_dir_all(&links).unwrap();
    std::os::unix::fs::symlink("nowhere", links.join("dangling")).unwrap();
    std::os::unix::fs::symlink("..", links.join("loop")).unwrap();
    std::os::unix::fs::symlink("../docs", links.join("to_docs")).unwrap();
    s.links = 3;
    s.io_follow.push(b"share/links/dangling".to_vec());
    s.io_follow.push(b"share/links/loop".to_vec());
    for (rel, level) in [
        ("docs/plan.docx", "secret"),
        ("docs/archive.zip", "secret"),
        ("docs/x/footer.docx", ""),
    ] {
        let key = format!("share/links/to_{rel}").into_bytes();
        s.follow_files.insert(key, level);
    }
    let fifo = links.join("fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(st.success());
    s.io_plain.push(b"share/links/fifo".to_vec());
    // the locked file is an io error when the tests do not run as root
    if std::fs::File::open(s.dir.join("locked.txt")).is_err() {
        s.io_plain.push(s.locked.clone());
    }
    s
}

pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A record's path as raw bytes.
pub fn raw_path(r: &Value) -> Vec<u8> {
    use base64::Engine as _;
    if let Some(b) = r["path_bytes"].as_str() {
        return base64::engine::general_purpose::STANDARD
            .decode(b)
            .expect("path_bytes is base64");
    }
    r["path"].as_str().expect("path").as_bytes().to_vec()
}

/// Parses JSON lines.
pub fn jsonl(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The last line of standard error as JSON (the `--summary` object).
pub fn summary(o: &Output) -> Value {
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no summary in {err}"));
    serde_json::from_str(line).expect("summary JSON")
}

/// A record as the cache keeps it: no excerpts, no marking text; sorted canonical text.
pub fn without_text(mut r: Value) -> String {
    if let Some(fs) = r["findings"].as_array_mut() {
        for f in fs {
            f.as_object_mut().unwrap().remove("excerpt");
        }
    }
    if r["marking"].is_object() {
        r["marking"]["text"] = Value::from("");
    }
    if let Some(ms) = r["members"].as_array_mut() {
        for m in ms {
            if m["marking"].is_object() {
                m["marking"]["text"] = Value::from("");
            }
        }
    }
    r.to_string()
}

/// Sorted canonical lines of a jsonl output, without scanned text.
pub fn canonical(bytes: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = jsonl(bytes).into_iter().map(without_text).collect();
    v.sort();
    v
}

/// Minimal RFC 4180 parser (quoted cells, doubled quotes, CRLF rows).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cell.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            _ => cell.push(c),
        }
    }
    rows
}

/// The vendored SARIF 2.1.0 schema as a validator (formats checked).
pub fn sarif_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(miji_tests::root().join("schema/sarif-2.1.0.json"))
            .expect("schema/sarif-2.1.0.json"),
    )
    .expect("schema json");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("SARIF schema compiles")
}
