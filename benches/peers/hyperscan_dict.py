#!/usr/bin/env python3
"""Hyperscan (the `hyperscan` PyPI package, which ships the library) on the same dictionaries
and corpus as the criterion benchmarks: literal mode, case-insensitive, counts checked against
the generator's manifest (for the `dict_*_common` hard case, which the manifest has no count
for, against `ahocorasick_rs`'s overlapping search over ASCII-lower-cased bytes: the same
semantics as Hyperscan's all-matches, caseless). Prints one JSON object per line.

Usage: hyperscan_dict.py BENCH_DATA_DIR
"""
import json
import re
import sys
import time

import ahocorasick_rs
import hyperscan


def main() -> None:
    data = sys.argv[1]
    manifest = json.load(open(f"{data}/manifest.json"))
    corpus = open(f"{data}/corpus.txt", "rb").read()
    for size in ("10000", "100000", "10000_common", "100000_common"):
        terms = [t for t in open(f"{data}/dict_{size}.txt", encoding="utf-8").read().splitlines() if t]
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        exprs = [re.escape(t).encode("utf-8") for t in terms]
        t0 = time.perf_counter()
        db.compile(
            expressions=exprs,
            ids=list(range(len(exprs))),
            elements=len(exprs),
            flags=[hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH * 0 for _ in exprs],
        )
        compile_s = time.perf_counter() - t0
        count = 0

        def on_match(_id, _from, _to, _flags, _ctx):
            nonlocal count
            count += 1

        best = None
        for _ in range(3):
            count = 0
            t0 = time.perf_counter()
            db.scan(corpus, match_event_handler=on_match)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        if size.endswith("_common"):
            oracle = ahocorasick_rs.BytesAhoCorasick([t.encode("utf-8").lower() for t in terms])
            expected = len(oracle.find_matches_as_indexes(corpus.lower(), overlapping=True))
        else:
            expected = manifest["corpus"]["expected"]["ci"][size]
        print(json.dumps({
            "engine": "hyperscan (python, literal, caseless)",
            "terms": size,
            "mib_per_s": round(len(corpus) / best / (1 << 20), 1),
            "matches": count,
            "expected": expected,
            "compile_s": round(compile_s, 2),
        }))
        # every match is an end position of an embedded term: the count must equal the expected one
        assert count == expected, f"hyperscan found {count}, manifest says {expected}"


if __name__ == "__main__":
    main()
