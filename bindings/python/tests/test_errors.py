"""Every exception class, and the mapping of every error kind."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import miji

from conftest import ROOT, write_docx

GOLDEN = sorted((ROOT / "tests" / "policy-errors").glob("P*.toml"))


def test_hierarchy() -> None:
    assert issubclass(miji.PolicyError, miji.MijiError)
    assert issubclass(miji.PolicyError, ValueError)
    assert issubclass(miji.ExtractError, miji.MijiError)
    assert issubclass(miji.LimitExceeded, miji.MijiError)
    assert issubclass(miji.MijiError, Exception)
    assert not issubclass(miji.ExtractError, ValueError)
    for cls in (miji.MijiError, miji.PolicyError, miji.ExtractError, miji.LimitExceeded):
        assert cls.__module__ == "miji" and cls.__doc__


def test_bad_toml_is_p001() -> None:
    with pytest.raises(miji.PolicyError) as info:
        miji.Scanner.from_toml("[[marking]\nid = 'x'\n", name="bad.toml")
    e = info.value
    assert e.code == "P001"
    assert (e.file, e.line, e.column) == ("bad.toml", 1, 11)
    assert "P001" in str(e) and "bad.toml:1:11" in str(e)
    assert e.diagnostics[0]["code"] == "P001"
    assert isinstance(e, ValueError)


def test_unknown_field_is_p002() -> None:
    policy = "[[dictionary]]\nname = 'codes'\nterms = ['X']\ncolour = 'red'\n"
    with pytest.raises(miji.PolicyError) as info:
        miji.Scanner.from_toml(policy)
    assert info.value.code == "P002"
    assert "colour" in info.value.message
    assert info.value.line == 4


def test_bad_regex_is_p003(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        "[[marking]]\nid = 'acme.label'\nscheme = 'corp'\nkeywords = ['ACME']\npattern = '^(ACME$'\nlevel = 'internal'\n",
        "utf-8",
    )
    with pytest.raises(miji.PolicyError) as info:
        miji.Scanner.from_file(path)
    e = info.value
    assert e.code == "P003" and e.file == str(path) and (e.line, e.column) == (5, 11)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_policy_errors(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The core's golden diagnostics, through Python: same code and place (the core's own
    golden test owns the wording)."""
    monkeypatch.chdir(ROOT)
    relative = path.relative_to(ROOT)
    expected = path.with_suffix(".out").read_text("utf-8").rstrip("\n")
    with pytest.raises(miji.PolicyError) as info:
        miji.Scanner.from_file(relative)
    e = info.value
    assert e.code == path.stem.split("-")[0]
    assert str(e).splitlines()[0].startswith(f"error[{e.code}]: ")
    places = [line for line in str(e).splitlines() if line.startswith(" --> ")]
    assert places == [line for line in expected.splitlines() if line.startswith(" --> ")]
    place = re.search(r"--> (.+):(\d+):(\d+)$", expected.splitlines()[1])
    if place:
        assert (e.file, e.line, e.column) == (place[1], int(place[2]), int(place[3]))


def test_missing_files_are_file_not_found(tmp_path: Path, scanner: miji.Scanner) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(FileNotFoundError) as info:
        miji.Scanner.from_file(missing)
    assert info.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        scanner.scan_file(tmp_path / "nope.docx")
    real = tmp_path / "real.txt"
    real.write_text("x", "utf-8")
    with pytest.raises(FileNotFoundError):
        scanner.scan_files([real, tmp_path / "nope.txt"])
    with pytest.raises(IsADirectoryError):
        scanner.scan_file(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_is_permission_error(tmp_path: Path, scanner: miji.Scanner) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x", "utf-8")
    path.chmod(0)
    try:
        with pytest.raises(PermissionError):
            scanner.scan_file(path)
        with pytest.raises(PermissionError):
            miji.Scanner.from_file(path)
    finally:
        path.chmod(0o600)


PERMISSION_PROBE = """
import sys, miji
path = sys.argv[1]
for call in (lambda: miji.Scanner().scan_file(path), lambda: miji.Scanner.from_file(path)):
    try:
        call()
    except PermissionError as e:
        assert e.filename == path, e.filename
    else:
        raise SystemExit("no PermissionError")
print("ok")
"""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only as root")
def test_unreadable_file_is_permission_error_as_root(tmp_path: Path) -> None:
    """Root reads every file: check the mapping in a child without the DAC capabilities."""
    import shutil
    import subprocess
    import sys

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    path = tmp_path / "secret.txt"
    path.write_text("机密★10年", "utf-8")
    path.chmod(0)
    command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", sys.executable, "-c", PERMISSION_PROBE, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if done.returncode != 0 and "setpriv" in done.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {done.stderr.strip()}")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_extract_error_in_strict_mode(tmp_path: Path, scanner: miji.Scanner) -> None:
    png = tmp_path / "scan.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(miji.ExtractError) as info:
        scanner.scan_file(png, strict=True)
    e = info.value
    assert e.kind == "no-text-layer"
    assert isinstance(e.report, miji.Report) and e.report.complete is False
    with pytest.raises(miji.ExtractError):
        scanner.scan_files([png], strict=True)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(miji.ExtractError) as info:
        scanner.scan_file(blob, strict=True)
    assert info.value.kind == "unsupported-format"


def test_limit_exceeded_in_strict_mode(tmp_path: Path) -> None:
    docx = write_docx(tmp_path / "plan.docx", ["正文"], header=["机密★10年"])
    small = miji.Scanner(limits={"max_size": 100})
    report = small.scan_file(docx)
    assert not report.complete and report.errors[0]["kind"] == "limit.size"
    with pytest.raises(miji.LimitExceeded) as info:
        small.scan_file(docx, strict=True)
    assert info.value.kind == "limit.size"
    assert info.value.report is not None and info.value.report.errors[0]["kind"] == "limit.size"
    assert not isinstance(info.value, miji.ExtractError)
    # A complete record never raises, strict or not.
    assert miji.Scanner().scan_file(docx, strict=True).complete
