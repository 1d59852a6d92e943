"""Offsets: `.start/.end` are `str` indices, `.byte_start/.byte_end` UTF-8 bytes, on CJK + emoji."""

from __future__ import annotations

from pathlib import Path

import miji

from conftest import write_docx

TERMS = ["天穹计划", "Project Aurora", "🚀火箭", "ÉCLAIR"]

TEXT = (
    "😀🎉 前言：表情符号在前面 👍🏽\n"
    "机密★10年\n"
    "\n"
    "关于天穹计划的补充说明 😀 Project Aurora 与 🚀火箭 及 ÉCLAIR。\n"
    "𠀀𠀁（扩展B汉字）天穹计划\n"
    "TLP:AMBER\n"
    "最后一行 🇨🇳 天穹计划"
)


def check(text: str, report: miji.Report) -> None:
    raw = text.encode("utf-8")
    assert report.findings
    for f in report.findings:
        assert 0 <= f.start <= f.end <= len(text)
        matched = text[f.start : f.end]
        assert raw[f.byte_start : f.byte_end].decode("utf-8") == matched
        assert len(text[: f.start].encode("utf-8")) == f.byte_start
        line_start = text.rfind("\n", 0, f.start) + 1
        assert f.line == text.count("\n", 0, f.start) + 1
        assert f.column == f.start - line_start + 1
        if f.kind == "marking" or f.rule.startswith("dict."):
            assert matched == f.excerpt, (f, matched)


def test_cjk_and_emoji_offsets() -> None:
    scanner = miji.Scanner(dictionaries={"projects": TERMS})
    report = scanner.scan(TEXT)
    check(TEXT, report)
    rules = [f.rule for f in report.findings]
    assert rules.count("dict.projects") == 6
    matched = sorted(TEXT[f.start : f.end] for f in report.findings if f.rule == "dict.projects")
    assert matched == sorted(["天穹计划"] * 3 + ["Project Aurora", "🚀火箭", "ÉCLAIR"])
    assert report.level == miji.Level.SECRET


def test_offsets_in_batch_and_bytes() -> None:
    scanner = miji.Scanner(dictionaries={"projects": TERMS})
    for report in scanner.scan_many([TEXT, TEXT.encode("utf-8")]):
        check(TEXT, report)


def test_ascii_offsets_are_bytes() -> None:
    scanner = miji.Scanner(dictionaries={"projects": ["Project Aurora"]})
    text = "intro\nSee Project Aurora and Project Aurora."
    for f in scanner.scan(text).findings:
        assert (f.start, f.end) == (f.byte_start, f.byte_end)
        assert text[f.start : f.end] == "Project Aurora"


def test_file_offsets_count_within_the_segment(tmp_path: Path) -> None:
    scanner = miji.Scanner(dictionaries={"projects": TERMS})
    body = "😀🎉 关于天穹计划 👍🏽 Project Aurora 与 🚀火箭"
    docx = write_docx(tmp_path / "p.docx", [body], header=["😀 页眉", "机密★10年"])
    report = scanner.scan_file(docx)
    body_text = body + "\n"  # paragraphs end with a newline
    header_text = "😀 页眉\n机密★10年\n"
    seen = 0
    for f in report.findings:
        text = {"word/document.xml": body_text, "word/header1.xml": header_text}.get(f.location[0]) if f.location else None
        if text is None:
            continue
        seen += 1
        assert text.encode()[f.byte_start : f.byte_end].decode() == text[f.start : f.end]
        if f.kind == "marking" or f.rule.startswith("dict."):
            assert text[f.start : f.end] == f.excerpt
    assert seen >= 4
    assert report.level == miji.Level.SECRET
