"""The Python API: scanners, reports, findings, markings, enums, batch and file scans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import miji

from conftest import write_docx

PROMPT = "机密★10年\n\n关于天穹计划的补充说明，另见 Project Aurora。"


def test_default_scanner_reads_a_marking(scanner: miji.Scanner) -> None:
    report = scanner.scan("机密★10年\n\n关于某项工作的通知")
    assert isinstance(report, miji.Report)
    assert report.level == miji.Level.SECRET
    assert report.action == miji.Action.BLOCK
    assert report.complete is True
    assert report.schema == miji.SCHEMA == "miji.report/1"
    assert report.path is None
    assert report.bytes == len("机密★10年\n\n关于某项工作的通知".encode())
    assert report.policy == scanner.policy_digest
    marking = report.marking
    assert isinstance(marking, miji.Marking)
    assert (marking.scheme, marking.label, marking.level, marking.text) == ("cn", "机密", miji.Level.SECRET, "机密★10年")
    assert marking.period == "10年" and marking.condition is None and marking.declassify_on is None
    assert marking.role == "body" and marking.location == [] and marking.confidence == "high"
    assert marking.rule == "cn.state-secret"
    assert "period='10年'" in repr(marking) or 'period="10年"' in repr(marking)


def test_mention_stays_public(scanner: miji.Scanner) -> None:
    report = scanner.scan("第十三条 国家秘密的密级分为绝密、机密、秘密三级。")
    assert report.level == miji.Level.PUBLIC
    assert report.marking is None
    assert report.action == miji.Action.ALLOW


def test_dictionaries(dict_scanner: miji.Scanner) -> None:
    report = dict_scanner.scan(PROMPT)
    hits = [f for f in report.findings if f.rule == "dict.projects"]
    assert [f.excerpt for f in hits] == ["天穹计划", "Project Aurora"]
    assert all(f.kind == "keyword" and f.category == "projects" and f.level is None for f in hits)
    assert report.counts["dict.projects"] == 2
    assert "dict.projects" in dict_scanner.rule_ids
    assert "dict.projects" not in miji.Scanner().rule_ids


def test_dictionaries_accept_any_iterable_and_pairs() -> None:
    a = miji.Scanner(dictionaries={"p": ("天穹计划",), "q": {"REDFOX"}})
    b = miji.Scanner(dictionaries=[("p", iter(["天穹计划"])), ("q", ["REDFOX"])])
    text = "天穹计划 and REDFOX"
    assert [f.rule for f in a.scan(text).findings] == [f.rule for f in b.scan(text).findings] == ["dict.p", "dict.q"]


def test_dictionary_terms_must_not_be_a_single_string() -> None:
    with pytest.raises(TypeError):
        miji.Scanner(dictionaries={"p": "天穹计划"})


def test_scan_rejects_other_types(scanner: miji.Scanner) -> None:
    with pytest.raises(TypeError):
        scanner.scan(42)  # type: ignore[arg-type]


def test_scan_bytes_matches_str(dict_scanner: miji.Scanner) -> None:
    assert dict_scanner.scan(PROMPT.encode()).to_dict() == dict_scanner.scan(PROMPT).to_dict()
    # Invalid UTF-8 is replaced, never an exception.
    report = dict_scanner.scan(b"\xff\xfe TOP SECRET//NOFORN\n")
    assert report.complete


def test_levels_and_actions_are_ordered_int_enums() -> None:
    assert miji.Level.SECRET > miji.Level.INTERNAL
    assert miji.Level.TOP_SECRET == max(miji.Level)
    assert [int(level) for level in miji.Level] == [0, 1, 2, 3, 4]
    assert [level.label for level in miji.Level] == ["public", "internal", "confidential", "secret", "top-secret"]
    assert miji.Level.parse("top-secret") is miji.Level.TOP_SECRET
    assert str(miji.Level.TOP_SECRET) == f"{miji.Level.TOP_SECRET}" == "top-secret"
    assert miji.Action.ALLOW < miji.Action.WARN < miji.Action.REDACT < miji.Action.BLOCK
    assert miji.Action.parse("redact") is miji.Action.REDACT
    with pytest.raises(ValueError):
        miji.Level.parse("secretish")


def test_reprs(dict_scanner: miji.Scanner) -> None:
    report = dict_scanner.scan(PROMPT)
    assert repr(report).startswith("Report(level=Level.SECRET, action=Action.BLOCK, marking=")
    assert "findings=3" in repr(report)
    assert repr(report.findings[0]).startswith("Finding(kind=")
    assert repr(dict_scanner).startswith("Scanner(")


def test_report_is_immutable(scanner: miji.Scanner) -> None:
    report = scanner.scan("TOP SECRET//NOFORN\n\nbody\n\nTOP SECRET//NOFORN")
    with pytest.raises(AttributeError):
        report.level = miji.Level.PUBLIC  # type: ignore[misc]


def test_findings_fields(dict_scanner: miji.Scanner) -> None:
    report = dict_scanner.scan(PROMPT)
    marking = report.findings[0]
    assert marking.kind == "marking" and marking.rule == "cn.state-secret"
    assert marking.level == miji.Level.SECRET and marking.scheme == "cn"
    assert (marking.line, marking.column, marking.start, marking.end) == (1, 1, 0, 6)
    assert (marking.byte_start, marking.byte_end) == (0, len("机密★10年".encode()))
    assert marking.role == "body" and marking.location == []
    assert len(marking.fingerprint) == 16
    d = marking.to_dict()
    assert d["start"] == marking.byte_start and d["end"] == marking.byte_end


def test_to_json_and_to_dict_agree(dict_scanner: miji.Scanner) -> None:
    report = dict_scanner.scan(PROMPT)
    assert json.loads(report.to_json()) == report.to_dict() == json.loads(report.to_json(pretty=True))
    assert "\n" in report.to_json(pretty=True) and "\n" not in report.to_json()
    d = report.to_dict()
    assert d["findings"] == [f.to_dict() for f in report.findings]
    assert report.marking is not None and d["marking"] == report.marking.to_dict()
    assert report.members == [] and report.errors == [] and report.truncated is None


def test_redact(dict_scanner: miji.Scanner) -> None:
    clean = dict_scanner.redact("请查看天穹计划的进度")
    assert "天穹计划" not in clean
    assert clean.startswith("请查看") and clean.endswith("的进度")
    assert dict_scanner.redact("nothing here") == "nothing here"


def test_explain(scanner: miji.Scanner) -> None:
    trace = scanner.explain("机密★10年\n\n国家秘密的密级分为绝密、机密、秘密三级。")
    assert isinstance(trace, list) and trace
    assert all(isinstance(t, dict) and {"rule", "verdict", "line", "text"} <= t.keys() for t in trace)
    known = {"marking", "mention", "below-threshold", "uncorroborated", "allowed"}
    assert {t["verdict"] for t in trace} <= known
    assert any(t["line"] == 3 and t["verdict"] == "mention" for t in trace)
    assert scanner.explain(b"nothing here") == []


def test_scan_many_keeps_order_and_matches_scan(dict_scanner: miji.Scanner) -> None:
    texts: list[str | bytes] = [PROMPT, "nothing", "TLP:AMBER\n\nIndicators", b"TOP SECRET//NOFORN\n\nx\n\nTOP SECRET//NOFORN"] * 25
    many = dict_scanner.scan_many(texts)
    assert [r.to_dict() for r in many] == [dict_scanner.scan(t).to_dict() for t in texts]
    assert [r.to_dict() for r in dict_scanner.scan_many(iter(texts), threads=1)] == [r.to_dict() for r in many]
    assert dict_scanner.scan_many([]) == []


def test_from_toml_and_from_file(tmp_path: Path) -> None:
    policy = '[[dictionary]]\nname = "codes"\nterms = ["BLUEBIRD"]\n'
    a = miji.Scanner.from_toml(policy)
    path = tmp_path / "policy.toml"
    path.write_text(policy, "utf-8")
    b = miji.Scanner.from_file(path)
    c = miji.Scanner.from_file(str(path))
    for s in (a, b, c):
        report = s.scan("BLUEBIRD is go. 机密★10年")
        assert [f.rule for f in report.findings] == ["dict.codes"]
    # Without the default packs, markings are not read.
    only = miji.Scanner.from_toml(policy, default_policy=False)
    assert only.scan("机密★10年\n正文").level == miji.Level.PUBLIC
    assert miji.Scanner.from_toml(policy).scan("机密★10年\n正文").level == miji.Level.SECRET


def test_scan_file_text_and_docx(tmp_path: Path, dict_scanner: miji.Scanner) -> None:
    txt = tmp_path / "note.txt"
    txt.write_text("TOP SECRET//NOFORN\n\nplans\n\nTOP SECRET//NOFORN\n", "utf-8")
    report = dict_scanner.scan_file(txt)
    assert report.level == miji.Level.TOP_SECRET and report.path == str(txt) and report.complete
    assert report.encoding == "UTF-8"

    docx = write_docx(tmp_path / "plan.docx", ["关于天穹计划的补充说明"], header=["机密★10年"])
    report = dict_scanner.scan_file(docx)
    assert report.level == miji.Level.SECRET and report.complete
    assert report.marking is not None
    assert report.marking.location == ["word/header1.xml"] and report.marking.role == "header"
    keyword = next(f for f in report.findings if f.rule == "dict.projects")
    assert keyword.location == ["word/document.xml"] and (keyword.start, keyword.end) == (2, 6)

    reports = dict_scanner.scan_files([txt, docx, str(txt)])
    assert [r.path for r in reports] == [str(txt), str(docx), str(txt)]
    assert [r.level for r in reports] == [miji.Level.TOP_SECRET, miji.Level.SECRET, miji.Level.TOP_SECRET]
    assert [r.to_dict() for r in dict_scanner.scan_files([docx], threads=1)] == [reports[1].to_dict()]


def test_incomplete_file_is_never_silently_public(tmp_path: Path, scanner: miji.Scanner) -> None:
    png = tmp_path / "scan.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    report = scanner.scan_file(png)
    assert report.complete is False
    assert report.errors and report.errors[0]["kind"] == "no-text-layer"
    assert report.action >= miji.Action.WARN


def test_limits_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown limit"):
        miji.Scanner(limits={"max_sise": 1})
    with pytest.raises(ValueError):
        miji.Scanner(limits={"max_size": -1})
    miji.Scanner(limits={"max_size": 1 << 20, "max_time": None, "max_depth": 3})
