"""The GIL is released during scans: another Python thread runs while a large scan is under way.

No timing: the switch interval is made huge, so the only way the main thread can run while the
worker is inside `scan` is the worker releasing the GIL itself. The worker reads the main
thread's counter right before and right after the scan; with the GIL held throughout, the two
reads would be equal.
"""

from __future__ import annotations

import sys
import threading
import time

import miji

SIZE = 50 * 1024 * 1024


def big_text() -> str:
    line = "普通的工作文本，没有任何标记。An ordinary line of prose, nothing marked.\n"
    body = line * (SIZE // len(line.encode()) + 1)
    return "机密★10年\n\n" + body + "天穹计划\n"


def run_in_thread(call: object) -> tuple[int, int, object]:
    counter = [0]
    done = threading.Event()
    result: dict[str, object] = {}

    def worker() -> None:
        try:
            before = counter[0]
            value = call()  # type: ignore[operator]
            after = counter[0]
            result.update(before=before, after=after, value=value)
        except BaseException as e:  # pragma: no cover - surfaced below
            result["error"] = e
        finally:
            done.set()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        t = threading.Thread(target=worker)
        t.start()
        while not done.is_set():
            counter[0] += 1
            time.sleep(0)  # a voluntary release of the GIL, so the worker can run
        t.join()
    finally:
        sys.setswitchinterval(old)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["before"], result["after"], result["value"]  # type: ignore[return-value]


def test_scan_releases_the_gil() -> None:
    text = big_text()
    assert len(text.encode()) >= SIZE
    scanner = miji.Scanner(dictionaries={"projects": ["天穹计划"]})
    before, after, report = run_in_thread(lambda: scanner.scan(text))
    assert isinstance(report, miji.Report)
    assert report.level == miji.Level.SECRET
    last = report.findings[-1]
    assert last.rule == "dict.projects" and text[last.start : last.end] == "天穹计划"
    assert after > before, "the main thread did not run while scan() was under way: GIL held"


def test_scan_many_releases_the_gil() -> None:
    scanner = miji.Scanner()
    texts = ["机密★10年\n\n" + "普通文本 plain text\n" * 20000] * 64
    before, after, reports = run_in_thread(lambda: scanner.scan_many(texts))
    assert len(reports) == 64  # type: ignore[arg-type]
    assert after > before, "the main thread did not run while scan_many() was under way: GIL held"
