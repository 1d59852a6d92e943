//! The real `miji` binary: exit-code precedence (contract §3), every output format checked
//! against the committed report schema, standard input, policy diagnostics, `check`, `explain`.

use miji_tests::{assert_valid_report, report_validator};
use std::path::Path;

fn run_miji(args: &[&str], stdin: Option<&[u8]>, cwd: &Path) -> std::process::Output {
    miji_tests::run_miji(Path::new(env!("CARGO_BIN_EXE_miji")), args, stdin, cwd)
}

fn share(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, content) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("miji-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().expect("exit code")
}

#[test]
fn exit_codes_follow_the_contract_precedence() {
    let d = tempdir("exit");
    share(
        &d,
        &[
            ("secret.txt", "机密★10年\n正文\n".as_bytes()),
            ("clean.txt", b"hello\n"),
            ("internal.txt", "内部资料 注意保存\n正文".as_bytes()),
        ],
    );
    let dp = d.to_str().unwrap();
    // 0: nothing at or above the default fail-on-action (block)
    assert_eq!(
        code(&run_miji(&["scan", &format!("{dp}/clean.txt")], None, &d)),
        0
    );
    assert_eq!(
        code(&run_miji(
            &["scan", &format!("{dp}/internal.txt")],
            None,
            &d
        )),
        0
    );
    // 1: a record whose action is block
    assert_eq!(code(&run_miji(&["scan", dp], None, &d)), 1);
    // --fail-on LEVEL and --fail-on-action lower the bar
    assert_eq!(
        code(&run_miji(
            &[
                "scan",
                "--fail-on",
                "internal",
                &format!("{dp}/internal.txt")
            ],
            None,
            &d
        )),
        1
    );
    assert_eq!(
        code(&run_miji(
            &[
                "scan",
                "--fail-on-action",
                "warn",
                &format!("{dp}/internal.txt")
            ],
            None,
            &d
        )),
        1
    );
    assert_eq!(
        code(&run_miji(
            &["scan", "--fail-on", "secret", &format!("{dp}/internal.txt")],
            None,
            &d
        )),
        0
    );
    // 3: an input not read completely (and nothing failing)
    let missing = format!("{dp}/no-such-file.txt");
    assert_eq!(
        code(&run_miji(
            &["scan", &format!("{dp}/clean.txt"), &missing],
            None,
            &d
        )),
        3
    );
    // 1 wins over 3
    assert_eq!(
        code(&run_miji(
            &["scan", &format!("{dp}/secret.txt"), &missing],
            None,
            &d
        )),
        1
    );
    // 2 wins over everything: a bad policy, before scanning
    share(&d, &[("bad.toml", b"[[marking]\n")]);
    let o = run_miji(
        &[
            "scan",
            "--policy",
            &format!("{dp}/bad.toml"),
            &format!("{dp}/secret.txt"),
        ],
        None,
        &d,
    );
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error[P001]") && err.contains("bad.toml:1:"),
        "{err}"
    );
    assert!(o.stdout.is_empty(), "nothing scanned before a policy error");
    // 2: usage errors
    assert_eq!(
        code(&run_miji(&["scan", "--format", "yaml", dp], None, &d)),
        2
    );
    assert_eq!(
        code(&run_miji(&["scan", "--fail-on", "ultra", dp], None, &d)),
        2
    );
}

#[test]
fn every_format_validates_against_the_schema() {
    let d = tempdir("formats");
    share(
        &d,
        &[
            (
                "a/secret.txt",
                "机密★10年\n\n身份证号：110101199003074477\n".as_bytes(),
            ),
            ("a/clean.txt", b"nothing here\n"),
            (
                "b/banner.txt",
                b"TOP SECRET//SI//NOFORN\nbody\nTOP SECRET//SI//NOFORN\n",
            ),
            ("b/bad-utf8.txt", b"\xff\xfe\xfd SECRET//NOFORN\n"),
            ("c/empty.txt", b""),
        ],
    );
    let v = report_validator();
    let dp = d.to_str().unwrap();
    let o = run_miji(&["scan", "--format", "jsonl", dp], None, &d);
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    for l in &lines {
        assert_valid_report(&v, &serde_json::from_str(l).unwrap());
    }
    let o = run_miji(&["scan", "--format", "json", dp], None, &d);
    let arr: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(arr.as_array().unwrap().len(), 5);
    for r in arr.as_array().unwrap() {
        assert_valid_report(&v, r);
    }
    let secret = arr
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("secret.txt"))
        .unwrap();
    assert_eq!(secret["level"], "secret");
    assert_eq!(secret["marking"]["period"], "10年");
    let id = secret["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "pii.cn-resident-id")
        .unwrap();
    assert_eq!(
        id["excerpt"], "1101**********4477",
        "detector excerpts are masked"
    );
    let text = run_miji(&["scan", dp], None, &d);
    let t = String::from_utf8(text.stdout).unwrap();
    assert!(
        t.contains("secret.txt: secret (block)") && t.contains("banner.txt: top-secret (block)"),
        "{t}"
    );
}

#[test]
fn standard_input_and_dictionaries() {
    let d = tempdir("stdin");
    share(
        &d,
        &[(
            "projects.txt",
            "天穹计划\n# a comment\nProject Aurora\n".as_bytes(),
        )],
    );
    let o = run_miji(
        &[
            "scan",
            "--format",
            "jsonl",
            "--dictionary",
            "projects.txt",
            "-",
        ],
        Some("会议讨论了project aurora的进度".as_bytes()),
        &d,
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_report(&report_validator(), &r);
    assert_eq!(r["path"], "-");
    assert_eq!(r["findings"][0]["rule"], "dict.projects");
    assert_eq!(r["action"], "block");
    assert_eq!(code(&o), 1);
}

#[test]
fn check_and_explain() {
    let d = tempdir("check");
    share(
        &d,
        &[
            (
                "good.toml",
                b"[[dictionary]]\nname = \"codes\"\nterms = [\"BLUEBIRD\"]\nexamples.match = [\"op BLUEBIRD\"]\nexamples.no-match = [\"bluebirds\"]\n",
            ),
            (
                "wrong-example.toml",
                b"[[dictionary]]\nname = \"codes\"\nterms = [\"BLUEBIRD\"]\nexamples.match = [\"nothing\"]\nexamples.no-match = []\n",
            ),
            ("doc.txt", "前言\n这份说明提到机密文件的管理。\n".as_bytes()),
        ],
    );
    let o = run_miji(&["check", "good.toml"], None, &d);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let o = run_miji(&["check", "wrong-example.toml"], None, &d);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("error[P015]"));
    let o = run_miji(&["explain", "doc.txt"], None, &d);
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(
        t.contains("doc.txt: public") && t.contains("mention"),
        "{t}"
    );
    let o = run_miji(&["schema"], None, &d);
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        miji::report_json_schema()
    );
}
