"""The shared semantic corpus (`tests/semantic/cases.toml`): every front reports the same."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

import miji

from conftest import ROOT

CASES: list[dict[str, Any]] = tomllib.loads((ROOT / "tests" / "semantic" / "cases.toml").read_text("utf-8"))["case"]


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(scanner: miji.Scanner, case: dict[str, Any]) -> None:
    report = scanner.scan(case["text"])
    assert report.level == miji.Level.parse(case["level"]), report.to_json()
    assert report.level.label == case["level"]
    for key in ("rule", "period", "condition"):
        if key in case:
            assert report.marking is not None, f"{case['name']}: no marking, expected {key}={case[key]!r}"
            assert getattr(report.marking, key) == case[key], report.to_json()
    # The same verdict through the other entry points.
    assert scanner.scan(case["text"].encode()).to_dict() == report.to_dict()
    assert scanner.scan_many([case["text"]])[0].to_dict() == report.to_dict()
