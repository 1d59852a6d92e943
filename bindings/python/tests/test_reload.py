"""`Scanner.reload`: an atomic swap; a bad policy raises and the old one keeps working."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import miji

A = '[[dictionary]]\nname = "codes"\nterms = ["BLUEBIRD"]\n'
B = '[[dictionary]]\nname = "codes"\nterms = ["REDFOX"]\n'
BAD = '[[dictionary]]\nname = "codes"\nterms = ["REDFOX"]\ncolour = "red"\n'
TEXT = "BLUEBIRD and REDFOX"


def rules_seen(scanner: miji.Scanner) -> list[str]:
    return [f.excerpt or "" for f in scanner.scan(TEXT).findings]


def test_reload_swaps_and_bad_reload_keeps_old(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(A, "utf-8")
    scanner = miji.Scanner.from_file(policy)
    assert rules_seen(scanner) == ["BLUEBIRD"]
    digest_a = scanner.policy_digest

    policy.write_text(B, "utf-8")
    scanner.reload()  # the same file, read again
    assert rules_seen(scanner) == ["REDFOX"]
    assert scanner.policy_digest != digest_a

    bad = tmp_path / "bad.toml"
    bad.write_text(BAD, "utf-8")
    with pytest.raises(miji.PolicyError) as info:
        scanner.reload(bad)
    assert info.value.code == "P002"
    assert rules_seen(scanner) == ["REDFOX"]

    with pytest.raises(FileNotFoundError):
        scanner.reload(tmp_path / "missing.toml")
    assert rules_seen(scanner) == ["REDFOX"]

    # A failed reload does not change the source: reload() re-reads policy.toml.
    policy.write_text(A, "utf-8")
    scanner.reload()
    assert rules_seen(scanner) == ["BLUEBIRD"]


def test_reload_keeps_dictionaries_and_accepts_toml() -> None:
    scanner = miji.Scanner.from_toml(A, dictionaries={"projects": ["天穹计划"]})
    scanner.reload_toml(B)
    rules = [f.rule for f in scanner.scan("REDFOX 天穹计划").findings]
    assert rules == ["dict.codes", "dict.projects"]
    with pytest.raises(miji.PolicyError):
        scanner.reload_toml("[[dictionary]\n")
    assert [f.rule for f in scanner.scan("REDFOX 天穹计划").findings] == rules


def test_reload_while_scanning(tmp_path: Path) -> None:
    scanner = miji.Scanner.from_toml(A)
    stop = threading.Event()
    seen: set[tuple[str, ...]] = set()
    errors: list[BaseException] = []

    def scan_loop() -> None:
        try:
            while not stop.is_set():
                for report in scanner.scan_many([TEXT] * 8, threads=2):
                    seen.add(tuple(f.excerpt or "" for f in report.findings))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=scan_loop) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(10):
            scanner.reload_toml(B if i % 2 == 0 else A)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    # Every report came from one whole policy, never a mix.
    assert seen <= {("BLUEBIRD",), ("REDFOX",)}
