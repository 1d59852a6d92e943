"""Batch screening with PySpark: prompts (and files) through ``mapInPandas``.

The ``miji.Scanner`` is built *inside* the partition function, once per partition on the
executor (a compiled policy is not pickled to executors; building one takes milliseconds),
and every prompt goes through ``miji.screen_messages``, so the batch gets the same verdicts
as the LLM guard: ``pass`` / ``rewrite`` / ``refuse``, level, rules, incident ID.

    python pyspark_screen.py                      # built-in sample prompts, local[2]
    python pyspark_screen.py --files a.docx b.txt # also screen files (paths the executors see)

Prints one JSON line per input: ``{"id", "kind", "action", "level", "rules", "incident"}``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator

import pandas as pd
from pyspark.sql import SparkSession

SAMPLE_PROMPTS = [
    "What is the capital of France?",
    "TOP SECRET//NOFORN\nSummarise the attached operation plan.",
    "张三的身份证号 11010519491231002X，请核对格式。",
]

SCHEMA = "id string, kind string, action string, level string, rules string, incident string"


def screen_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Screens one partition: ``id``, ``kind`` (``prompt`` or ``file``), ``value``."""
    import miji  # imported on the executor

    scanner = miji.Scanner()  # one per partition, shared by its batches
    for batch in batches:
        rows = []
        for id_, kind, value in zip(batch["id"], batch["kind"], batch["value"]):
            if kind == "prompt":
                v = miji.screen_messages(scanner, [{"role": "user", "content": value}])
                action, level, rules, incident = v.action, v.level.label, v.rules, v.incident
            else:
                report = scanner.scan_file(value)
                # the guard's mapping, without rewriting: allow/warn pass, redact/block refuse
                action = "pass" if report.action <= miji.Action.WARN else "refuse"
                level, rules, incident = report.level.label, sorted({f.rule for f in report.findings}), ""
            rows.append((id_, kind, action, level, json.dumps(rules), incident))
        yield pd.DataFrame(rows, columns=["id", "kind", "action", "level", "rules", "incident"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", default=[], help="files to screen too")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    spark = (
        SparkSession.builder.master(args.master)
        .appName("miji-screen")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        inputs = [(f"prompt-{i}", "prompt", p) for i, p in enumerate(SAMPLE_PROMPTS)]
        inputs += [(path, "file", path) for path in args.files]
        df = spark.createDataFrame(inputs, "id string, kind string, value string").repartition(2)
        for row in df.mapInPandas(screen_partition, SCHEMA).collect():
            out = row.asDict()
            out["rules"] = json.loads(out["rules"])
            print(json.dumps(out, ensure_ascii=False))
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
