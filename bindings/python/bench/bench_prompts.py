#!/usr/bin/env python3
"""Prompt-scanning benchmark: miji against Python keyword-search libraries, in one run.

Data: ``python3 /work/shared/bench/gen_corpus.py OUTDIR`` (``--size-mb 1`` is enough here:
only ``prompts.jsonl`` and ``dict_10000.txt`` are read). Not run in CI.

    python bench/bench_prompts.py OUTDIR [--dict 10000] [--prompts 3000] [--repeat 3]

Prompts are the generated ones, concatenated and cut into 2 KB pieces (2048 UTF-8 bytes at a
character boundary), passed as ``str``. For every engine it prints the per-prompt latency
(p50, p99, one call per prompt, single thread), single-thread batch throughput, and for
miji also ``scan_many`` on every core. Engines:

* ``miji``: the default policy (markings, PII and secret detectors) + the dictionary as
  ``dict.terms``; the full verdict (a ``Report``) per prompt;
* ``miji dict-only``: ``default_policy=False``, the dictionary only;
* ``ahocorasick_rs`` (leftmost-longest, ``find_matches_as_indexes``);
* ``pyahocorasick`` (``Automaton.iter_long``);
* Python ``re`` (one alternation of the escaped terms, longest first, ``finditer``).

The ``hits`` column counts dictionary matches each engine reported over all prompts, as a
sanity check (miji applies whole-word and case rules of its dictionaries, so it may differ).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import miji


def load_prompts(data: Path, n: int, size: int = 2048) -> list[str]:
    texts = []
    with open(data / "prompts.jsonl", encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
    blob = "\n".join(texts).encode("utf-8")
    prompts = []
    pos = 0
    while len(prompts) < n and pos + size <= len(blob):
        end = pos + size
        while end > pos and (blob[end] & 0xC0) == 0x80:  # do not cut a character
            end -= 1
        prompts.append(blob[pos:end].decode("utf-8"))
        pos = end
    return prompts


def percentile(sorted_ns: Sequence[int], q: float) -> float:
    idx = min(len(sorted_ns) - 1, max(0, round(q * (len(sorted_ns) - 1))))
    return sorted_ns[idx] / 1000.0


def measure(call: Callable[[str], int], prompts: list[str], repeat: int) -> tuple[float, float, float, int]:
    """(p50 µs, p99 µs, MB/s single-thread, hits)."""
    for p in prompts[: min(200, len(prompts))]:  # warm-up
        call(p)
    total_bytes = sum(len(p.encode("utf-8")) for p in prompts)
    lat: list[int] = []
    best = float("inf")
    hits = 0
    clock = time.perf_counter_ns
    for _ in range(repeat):
        hits = 0
        t_start = clock()
        for p in prompts:
            t0 = clock()
            hits += call(p)
            lat.append(clock() - t0)
        best = min(best, (clock() - t_start) / 1e9)
    lat.sort()
    return percentile(lat, 0.50), percentile(lat, 0.99), total_bytes / best / 1e6, hits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="output folder of gen_corpus.py")
    ap.add_argument("--dict", default="10000", help="dictionary size (dict_<N>.txt)")
    ap.add_argument("--prompts", type=int, default=3000, help="number of 2 KB prompts")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    dict_path = args.data / f"dict_{args.dict}.txt"
    if not (args.data / "prompts.jsonl").is_file() or not dict_path.is_file():
        print(f"no benchmark data in {args.data}: run python3 /work/shared/bench/gen_corpus.py {args.data}", file=sys.stderr)
        return 2
    terms = [t for t in dict_path.read_text("utf-8").splitlines() if t]
    prompts = load_prompts(args.data, args.prompts)
    total_mb = sum(len(p.encode("utf-8")) for p in prompts) / 1e6
    cores = os.cpu_count() or 1
    print(f"{len(prompts)} prompts of ~2 KB ({total_mb:.2f} MB), {len(terms)} terms, {cores} cores, "
          f"Python {sys.version.split()[0]}, miji {miji.__version__}\n")

    engines: list[tuple[str, Callable[[str], int]]] = []
    build: dict[str, float] = {}

    t = time.perf_counter()
    full = miji.Scanner(dictionaries={"terms": terms})
    build["miji"] = time.perf_counter() - t
    engines.append(("miji (default policy + dict)", lambda p: sum(f.rule == "dict.terms" for f in full.scan(p).findings)))

    t = time.perf_counter()
    only = miji.Scanner(dictionaries={"terms": terms}, default_policy=False)
    build["miji dict-only"] = time.perf_counter() - t
    engines.append(("miji dict-only", lambda p: len(only.scan(p).findings)))

    try:
        import ahocorasick_rs

        t = time.perf_counter()
        ac_rs = ahocorasick_rs.AhoCorasick(terms, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
        build["ahocorasick_rs"] = time.perf_counter() - t
        engines.append(("ahocorasick_rs", lambda p: len(ac_rs.find_matches_as_indexes(p))))
    except ImportError:
        print("(ahocorasick_rs not installed: pip install ahocorasick_rs)")

    try:
        import ahocorasick

        t = time.perf_counter()
        auto = ahocorasick.Automaton()
        for i, term in enumerate(terms):
            auto.add_word(term, i)
        auto.make_automaton()
        build["pyahocorasick"] = time.perf_counter() - t
        engines.append(("pyahocorasick", lambda p: sum(1 for _ in auto.iter_long(p))))
    except ImportError:
        print("(pyahocorasick not installed: pip install pyahocorasick)")

    t = time.perf_counter()
    rx = re.compile("|".join(re.escape(x) for x in sorted(terms, key=len, reverse=True)))
    build["re"] = time.perf_counter() - t
    engines.append(("re (alternation)", lambda p: sum(1 for _ in rx.finditer(p))))

    header = f"{'engine':<30} {'p50 µs':>9} {'p99 µs':>9} {'MB/s 1T':>9} {'hits':>7}"
    print(header)
    print("-" * len(header))
    for name, call in engines:
        p50, p99, mbps, hits = measure(call, prompts, args.repeat)
        print(f"{name:<30} {p50:>9.1f} {p99:>9.1f} {mbps:>9.1f} {hits:>7}")

    print()
    for label, scanner in (("miji (default policy + dict)", full), ("miji dict-only", only)):
        for threads in sorted({1, cores}):
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                reports = scanner.scan_many(prompts, threads=threads)
                best = min(best, time.perf_counter() - t)
            assert len(reports) == len(prompts)
            print(f"{label} scan_many, {threads} thread(s): {total_mb / best:.1f} MB/s "
                  f"({len(prompts) / best:,.0f} prompts/s)")
    print("\nbuild times: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in build.items()))
    levels = statistics.mode(r.level.label for r in full.scan_many(prompts[:200]))
    print(f"(most common level over the first 200 prompts: {levels})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
