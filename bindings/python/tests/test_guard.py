"""The LLM guard: ``screen_messages`` verdicts and rewrites, the LiteLLM guardrail end to end
(the real proxy, a recording fake upstream, the official openai client) and the PySpark
example."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import miji

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
FIXTURES = HERE.parents[2] / "tests" / "fixtures" / "chat"


# --- screen_messages -------------------------------------------------------------------------


def test_clean_prompt_passes(scanner: miji.Scanner) -> None:
    payload = {"model": "m", "messages": [{"role": "user", "content": "What is the capital of France?"}]}
    v = miji.screen_messages(scanner, payload)
    assert v.action == "pass" and v.allowed and v.message == ""
    assert v.verb == miji.Action.ALLOW and v.level == miji.Level.PUBLIC
    assert v.payload is payload and v.rules == []
    assert len(v.incident) == 16 and int(v.incident, 16) >= 0


def test_marking_is_refused_with_a_message_that_names_rule_level_incident(scanner: miji.Scanner) -> None:
    payload = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "机密★10年\n关于天穹计划的通知"},
    ]
    v = miji.screen_messages(scanner, payload, redact=True)
    assert v.action == "refuse" and not v.allowed and v.payload is None
    assert v.verb == miji.Action.BLOCK and v.level == miji.Level.SECRET
    assert "cn.state-secret" in v.rules
    assert v.locations == {"messages[1].content": ["cn.state-secret"]}
    for part in ("cn.state-secret", "secret", "机密", v.incident, "Incident ID", "事件编号"):
        assert part in v.message
    assert "天穹计划" not in v.message and "10年" not in v.message
    assert v.report is not None and v.report.marking is not None


def test_incident_ids_are_random(scanner: miji.Scanner) -> None:
    ids = {miji.screen_messages(scanner, "[]").incident for _ in range(20)}
    assert len(ids) == 20


def test_payload_forms(scanner: miji.Scanner) -> None:
    text = json.dumps({"messages": [{"role": "user", "content": "TOP SECRET//NOFORN\nplan"}]})
    for payload in (text, text.encode(), json.loads(text)):
        v = miji.screen_messages(scanner, payload)
        assert v.action == "refuse" and v.level == miji.Level.TOP_SECRET
    with pytest.raises(TypeError):
        miji.screen_messages(scanner, 42)  # type: ignore[arg-type]


def test_redact_rewrites_in_the_message_it_came_from(scanner: miji.Scanner) -> None:
    payload = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "张三的身份证号 11010519491231002X，请核对。"},
        ],
    }
    refused = miji.screen_messages(scanner, payload)
    assert refused.verb == miji.Action.REDACT and refused.action == "refuse"
    v = miji.screen_messages(scanner, payload, redact=True)
    assert v.action == "rewrite" and v.allowed
    assert isinstance(v.payload, dict)
    out = v.payload["messages"]
    assert out[0]["content"] == "Be brief."
    assert "11010519491231002X" not in out[1]["content"]
    assert out[1]["content"].startswith("张三的身份证号 1101")
    assert v.locations == {"messages[1].content": ["pii.cn-resident-id"]}
    # str in, str out
    v = miji.screen_messages(scanner, json.dumps(payload, ensure_ascii=False), redact=True)
    assert isinstance(v.payload, str) and "11010519491231002X" not in v.payload


def test_redact_never_rewrites_a_marking_away(scanner: miji.Scanner) -> None:
    payload = [{"role": "user", "content": "TOP SECRET//NOFORN\n身份证 11010519491231002X"}]
    v = miji.screen_messages(scanner, payload, redact=True)
    assert v.action == "refuse"


def test_fixture_payloads(scanner: miji.Scanner) -> None:
    v = miji.screen_messages(scanner, (FIXTURES / "chat_completions.json").read_bytes())
    assert v.action == "refuse" and v.level == miji.Level.TOP_SECRET
    assert v.locations["messages[1].content[0]:plan.docx!/word/header1.xml"] == ["cn.state-secret"]
    assert v.locations["messages[1].content[2]"] == ["error:no-text-layer"]
    v = miji.screen_messages(scanner, (FIXTURES / "split_document.json").read_bytes())
    assert v.level == miji.Level.CONFIDENTIAL and v.action == "refuse"
    v = miji.screen_messages(scanner, (FIXTURES / "malformed.json").read_bytes(), redact=True)
    assert v.action == "refuse" and "corrupt" in v.message


def test_unreadable_image_is_not_clean(scanner: miji.Scanner) -> None:
    payload = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is on this page?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        }
    ]
    v = miji.screen_messages(scanner, payload, redact=True)
    assert v.action == "refuse" and v.errors == ["no-text-layer"]


def test_guard_failure_refuses(scanner: miji.Scanner) -> None:
    class Broken:
        def scan_chat(self, payload: Any) -> Any:
            raise RuntimeError("boom")

    v = miji.screen_messages(Broken(), [])  # type: ignore[arg-type]
    assert v.action == "refuse" and v.error == "RuntimeError: boom" and v.incident in v.message


# --- LiteLLM end to end ----------------------------------------------------------------------

LITELLM_PIN = "1.80.0"
SECRET_PROMPT = "机密★10年\n关于天穹计划的通知：请总结。"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Upstream:
    """A fake OpenAI upstream on 127.0.0.1 that records every request body."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.stream_chunks: list[str] = ["Paris."]
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                upstream.received.append(body)
                base = {"id": "chatcmpl-1", "created": 1, "model": body.get("model", "m")}
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for i, piece in enumerate(upstream.stream_chunks):
                        chunk = {
                            **base,
                            "object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(0.02)
                    end = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                    self.wfile.flush()
                    self.close_connection = True
                    return
                answer = {
                    **base,
                    "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def texts(self) -> str:
        return json.dumps(self.received, ensure_ascii=False)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


FAULTY = '''
from miji.integrations.litellm import MijiGuardrail


class FaultyGuardrail(MijiGuardrail):
    """Test only: the screening itself raises."""

    def screen(self, data):
        raise RuntimeError("injected fault")
'''


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Upstream]]:
    try:
        import litellm  # noqa: F401
        import openai
    except ImportError as e:
        pytest.skip(f"litellm[proxy]=={LITELLM_PIN} / openai not installed ({e}); test.sh installs them")
    exe = Path(sys.executable).parent / "litellm"
    if not exe.exists():
        pytest.skip(f"the litellm proxy command is not installed next to {sys.executable}")
    work = tmp_path_factory.mktemp("litellm")
    shutil.copy(EXAMPLES / "litellm" / "miji_guardrail.py", work)
    (work / "faulty_guardrail.py").write_text(FAULTY)
    config = (EXAMPLES / "litellm" / "config.yaml").read_text()
    config = config.replace(
        "\nlitellm_settings:",
        "  - guardrail_name: miji-faulty\n"
        "    litellm_params:\n"
        "      guardrail: faulty_guardrail.FaultyGuardrail\n"
        "      mode: pre_call\n"
        "      default_on: false\n"
        "\nlitellm_settings:",
    )
    (work / "config.yaml").write_text(config)
    upstream = Upstream()
    port = _free_port()
    env = {
        **os.environ,
        "UPSTREAM_API_BASE": f"http://127.0.0.1:{upstream.port}/v1",
        "OPENAI_API_KEY": "sk-fake",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "MIJI_GUARD_HOLDBACK": "64",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log = open(work / "proxy.log", "wb")
    proc = subprocess.Popen(
        [str(exe), "--config", str(work / "config.yaml"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"litellm proxy exited: {(work / 'proxy.log').read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"litellm proxy did not start: {(work / 'proxy.log').read_text()[-3000:]}")
                time.sleep(0.5)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}", api_key="sk-anything", max_retries=0, timeout=60)
        yield client, upstream
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        upstream.close()
        print((work / "proxy.log").read_text()[-2000:])


def test_litellm_clean_prompt_passes(proxy: tuple[Any, Upstream]) -> None:
    client, upstream = proxy
    before = len(upstream.received)
    r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}])
    assert r.choices[0].message.content == "Paris."
    assert len(upstream.received) == before + 1
    assert "Capital of France?" in upstream.texts()


def test_litellm_sensitive_prompt_never_leaves(proxy: tuple[Any, Upstream]) -> None:
    import openai

    client, upstream = proxy
    before = len(upstream.received)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": SECRET_PROMPT}])
    assert err.value.status_code == 400
    text = str(err.value)
    assert "cn.state-secret" in text and "secret" in text
    assert "Incident ID" in text or "incident" in text
    import re

    assert re.search(r"[0-9a-f]{16}", text)
    assert "天穹计划" not in text
    assert len(upstream.received) == before, "the sensitive prompt reached the upstream"
    assert "天穹计划" not in upstream.texts()


def test_litellm_redact_rewrites_before_sending(proxy: tuple[Any, Upstream]) -> None:
    client, upstream = proxy
    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "核对身份证号 11010519491231002X 的格式"}]
    )
    assert r.choices[0].message.content == "Paris."
    last = json.dumps(upstream.received[-1], ensure_ascii=False)
    assert "核对身份证号" in last and "11010519491231002X" not in last


def test_litellm_stream_is_cut_before_a_split_marking(proxy: tuple[Any, Upstream]) -> None:
    client, upstream = proxy
    upstream.stream_chunks = [
        "Here is the summary you asked for. ",
        "It has two parts.\n",
        "TOP SEC",
        "RET//NOFORN\n",
        "Operation details: move at dawn.",
    ]
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Summarise"}], stream=True
    )
    pieces, reasons = [], []
    for chunk in stream:
        for c in chunk.choices:
            if c.delta and c.delta.content:
                pieces.append(c.delta.content)
            if c.finish_reason:
                reasons.append(c.finish_reason)
    got = "".join(pieces)
    assert "TOP SEC" not in got and "NOFORN" not in got and "dawn" not in got
    assert "us.banner" in got and "Incident ID" in got
    assert "content_filter" in reasons


def test_litellm_clean_stream_passes_whole(proxy: tuple[Any, Upstream]) -> None:
    client, upstream = proxy
    upstream.stream_chunks = ["The capital ", "of France ", "is Paris. " * 20, "Done."]
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital?"}], stream=True
    )
    got = "".join(c.delta.content or "" for chunk in stream for c in chunk.choices if c.delta)
    assert got == "".join(upstream.stream_chunks)


def test_litellm_guardrail_exception_refuses(proxy: tuple[Any, Upstream]) -> None:
    import openai

    client, upstream = proxy
    before = len(upstream.received)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Capital of Italy?"}],
            extra_body={"guardrails": ["miji-faulty"]},
        )
    assert err.value.status_code == 400
    assert "security check failed" in str(err.value)
    assert len(upstream.received) == before


# --- PySpark example -------------------------------------------------------------------------


def test_pyspark_example(tmp_path: Path) -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark is not installed (test.sh installs it from PyPI)")
    if shutil.which("java") is None or subprocess.run(["java", "-version"], capture_output=True).returncode != 0:
        pytest.skip("no working Java (`java -version` fails): PySpark needs a JVM")
    (tmp_path / "memo.txt").write_text("机密★10年\n项目计划", encoding="utf-8")
    (tmp_path / "note.txt").write_text("lunch at noon", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "pyspark_screen.py"), "--files", str(tmp_path / "memo.txt"), str(tmp_path / "note.txt")],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    by_id = {r["id"]: r for r in rows}
    assert by_id["prompt-0"]["action"] == "pass"
    assert by_id["prompt-1"]["action"] == "refuse" and by_id["prompt-1"]["level"] == "top-secret"
    assert by_id[str(tmp_path / "memo.txt")]["level"] == "secret"
    assert by_id[str(tmp_path / "note.txt")]["action"] == "pass"
