"""Shared fixtures: the repository root, a default scanner, and document builders."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import miji

ROOT = Path(__file__).resolve().parents[3]

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _para(text: str) -> str:
    return f'<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def write_docx(path: Path, body: list[str], header: list[str] | None = None) -> Path:
    """A minimal .docx with body paragraphs and, optionally, a header part."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        paras = "".join(_para(t) for t in body)
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {W_NS}><w:body>{paras}</w:body></w:document>')
        if header:
            hdr = "".join(_para(t) for t in header)
            z.writestr("word/header1.xml", f'<?xml version="1.0"?><w:hdr {W_NS}>{hdr}</w:hdr>')
    return path


@pytest.fixture(scope="session")
def root() -> Path:
    assert (ROOT / "schema" / "report.v1.json").is_file(), f"not the repository root: {ROOT}"
    return ROOT


@pytest.fixture(scope="session")
def scanner() -> miji.Scanner:
    return miji.Scanner()


@pytest.fixture(scope="session")
def dict_scanner() -> miji.Scanner:
    return miji.Scanner(dictionaries={"projects": ["天穹计划", "Project Aurora"]})
