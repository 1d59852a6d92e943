#!/usr/bin/env python3
"""Check tests/corpus/manifest.toml against the files in tests/corpus.

Stdlib only (Python >= 3.11 for tomllib). Run from anywhere:

    python3 tests/corpus/check_manifest.py

Exits 1 and lists every problem when the manifest and the files disagree;
otherwise prints counts per scheme, per level and per negative kind.
"""
from __future__ import annotations

import collections
import pathlib
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    sys.exit("check_manifest.py needs Python 3.11+ (tomllib)")

ROOT = pathlib.Path(__file__).resolve().parent
MANIFEST = ROOT / "manifest.toml"

# contract.md §1: the level ladder and the closed list of scheme IDs.
LEVELS = ["public", "internal", "confidential", "secret", "top-secret"]
SCHEMES = {
    "cn", "cn-trade", "tw", "hk", "us", "uk", "nato", "eu", "de", "fr", "ru",
    "jp", "kr", "corp", "tlp", "label",
}
KEYS = {"file", "level", "scheme", "label", "period", "declassify_on", "condition", "note"}
MAX_BYTES = 20 * 1024


def main() -> int:
    errors: list[str] = []
    data = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    docs = data.get("doc", [])
    if not isinstance(docs, list) or not docs:
        print("manifest.toml has no [[doc]] entries")
        return 1

    listed: set[str] = set()
    by_scheme: collections.Counter[str] = collections.Counter()
    by_kind: collections.Counter[str] = collections.Counter()
    by_level: dict[str, collections.Counter[str]] = {
        "positive": collections.Counter(), "negative": collections.Counter()}

    for i, doc in enumerate(docs, 1):
        where = f"[[doc]] #{i}"
        rel = doc.get("file")
        if not isinstance(rel, str):
            errors.append(f"{where}: missing 'file'")
            continue
        where = f"{where} ({rel})"
        for key in doc:
            if key not in KEYS:
                errors.append(f"{where}: unknown key {key!r}")
        for key, value in doc.items():
            if not isinstance(value, str):
                errors.append(f"{where}: {key!r} must be a string")
        if rel in listed:
            errors.append(f"{where}: listed twice")
        listed.add(rel)

        parts = rel.split("/")
        if len(parts) != 3 or parts[0] not in ("positive", "negative") or not parts[2].endswith(".txt"):
            errors.append(f"{where}: path must be positive/<scheme>/NNN-name.txt or negative/<kind>/NNN-name.txt")
            continue
        side, group, name = parts
        if not (name[:3].isdigit() and name[3:4] == "-"):
            errors.append(f"{where}: file name must start with NNN-")

        path = ROOT / rel
        if not path.is_file():
            errors.append(f"{where}: file does not exist")
        else:
            raw = path.read_bytes()
            if len(raw) >= MAX_BYTES:
                errors.append(f"{where}: {len(raw)} bytes, limit is {MAX_BYTES}")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                errors.append(f"{where}: not valid UTF-8 ({e})")
            if raw.startswith(b"\xef\xbb\xbf"):
                errors.append(f"{where}: starts with a BOM")
            if not raw.strip():
                errors.append(f"{where}: empty")

        level = doc.get("level")
        if level not in LEVELS:
            errors.append(f"{where}: level {level!r} not in {LEVELS}")
        scheme = doc.get("scheme")
        if scheme is not None and scheme not in SCHEMES:
            errors.append(f"{where}: scheme {scheme!r} not in the contract's closed list")

        if side == "positive":
            if scheme is None:
                errors.append(f"{where}: positive document needs a scheme")
            elif scheme != group:
                errors.append(f"{where}: scheme {scheme!r} but directory {group!r}")
            by_scheme[group] += 1
        else:
            if level != "public":
                errors.append(f"{where}: negative document must be level 'public'")
            for key in ("scheme", "label", "period", "declassify_on", "condition"):
                if key in doc:
                    errors.append(f"{where}: negative document must not set {key!r}")
            by_kind[group] += 1
        if isinstance(level, str):
            by_level[side][level] += 1
        if not doc.get("note"):
            errors.append(f"{where}: missing 'note'")

    on_disk = {
        p.relative_to(ROOT).as_posix()
        for side in ("positive", "negative")
        for p in (ROOT / side).rglob("*")
        if p.is_file()
    }
    for rel in sorted(on_disk - listed):
        errors.append(f"{rel}: file is not in manifest.toml")

    if errors:
        for e in errors:
            print("error:", e)
        print(f"{len(errors)} problem(s)")
        return 1

    npos, nneg = sum(by_scheme.values()), sum(by_kind.values())
    print(f"{len(docs)} documents: {npos} positive, {nneg} negative")
    print("\npositive per scheme:")
    for s in sorted(by_scheme):
        print(f"  {s:<10} {by_scheme[s]:>4}")
    missing = sorted(SCHEMES - set(by_scheme))
    if missing:
        print(f"  (no positive yet for: {', '.join(missing)})")
    print("\nnegative per kind:")
    for k in sorted(by_kind):
        print(f"  {k:<14} {by_kind[k]:>4}")
    for side in ("positive", "negative"):
        print(f"\n{side} per expected level:")
        for lv in LEVELS:
            if by_level[side][lv]:
                print(f"  {lv:<13} {by_level[side][lv]:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
