"""`to_dict()`/`to_json()` against the committed JSON Schema (`schema/report.v1.json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import miji

from conftest import ROOT, write_docx


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "schema" / "report.v1.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def reports(tmp_path: Path) -> list[miji.Report]:
    scanner = miji.Scanner(dictionaries={"projects": ["天穹计划"]})
    docx = write_docx(tmp_path / "plan.docx", ["关于天穹计划 身份证 11010519491231002X"], header=["绝密★启用前"])
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    texts = [
        "机密★10年\n\n关于天穹计划的补充说明",
        "nothing to see",
        "TOP SECRET//SI//NOFORN\n\nMEMO\n\nTOP SECRET//SI//NOFORN",
        "key AKIAIOSFODNN7EXAMPLE and card 4111 1111 1111 1111",
    ]
    return scanner.scan_many(texts) + scanner.scan_files([docx, png])


def test_reports_validate(tmp_path: Path, validator: jsonschema.Draft202012Validator) -> None:
    for report in reports(tmp_path):
        as_dict: dict[str, Any] = report.to_dict()
        validator.validate(as_dict)
        validator.validate(json.loads(report.to_json()))
        assert json.loads(report.to_json()) == as_dict
        assert as_dict["schema"] == "miji.report/1"
        assert as_dict["level"] == report.level.label and as_dict["action"] == report.action.label
