"""Screening LLM prompts before they leave: ``screen_messages`` and its ``Verdict``.

The payload is read and scanned by the Rust core (``Scanner.scan_chat``: one document per
conversation, so a document pasted over two messages is still seen as one); this module only
maps the record's ``action`` onto the guard's three outcomes (contract §4):

=========  ==============================================================================
verb       LLM guard
=========  ==============================================================================
allow      ``pass``
warn       ``pass`` (logged on the ``miji.guard`` logger: incident, level, rules, never text)
redact     ``rewrite`` with ``redact=True`` when the rewritten payload re-scans at ``warn``
           or below (findings masked in the message they came from); otherwise ``refuse``
           (a marking, an unreadable part or a finding inside an attached file cannot be
           rewritten away)
block      ``refuse``
=========  ==============================================================================

A guard that fails refuses (contract §5): an error inside the scan gives a ``refuse`` verdict
with ``error`` set, never a pass. The refusal ``message`` names the rules, the level and the
incident ID, in Chinese and English, and never quotes the content.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from miji._enums import Action, Level
from miji._native import Report, Scanner

__all__ = ["Verdict", "screen_messages", "refusal_message"]

log = logging.getLogger("miji.guard")

Payload = Union[dict[str, Any], list[Any], str, bytes]

_LEVEL_ZH = {
    "public": "公开",
    "internal": "内部",
    "confidential": "秘密",
    "secret": "机密",
    "top-secret": "绝密",
}


@dataclass(frozen=True)
class Verdict:
    """What the guard decided for one payload.

    ``action`` is ``"pass"``, ``"rewrite"`` or ``"refuse"``; ``allowed`` is ``True`` for the
    first two. ``verb`` is the policy's action on the original payload, ``level`` its level,
    ``rules`` the rule IDs found (sorted), ``locations`` maps each location of a finding or
    unread part (``messages[3].content``, ``input[2].output``; 0-based JSON indices as in the
    payload) to the rules found there (``"error:<kind>"`` for unread parts). ``incident`` is a
    random 16-hex-digit ID for logs and the person refused; ``message`` is the refusal text
    (empty when allowed); ``report`` the full ``miji.Report``; ``payload`` the payload to
    send on (the rewritten one for ``rewrite``, the original for ``pass``, ``None`` for
    ``refuse``), of the type given (dict/list, ``str`` or ``bytes``).
    """

    action: Literal["pass", "rewrite", "refuse"]
    verb: Action
    level: Level
    rules: list[str]
    locations: dict[str, list[str]]
    incident: str
    message: str
    report: Report | None
    payload: Payload | None = None
    error: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        """``True`` when the payload may be sent on (``pass`` or ``rewrite``)."""
        return self.action != "refuse"


def refusal_message(level: str, rules: list[str], incident: str, errors: list[str] | None = None) -> str:
    """The text a refused person sees: rules, level and incident ID, never the content."""
    rule_text = ", ".join(rules) if rules else "-"
    zh = f"已拦截：该请求含敏感内容（密级：{_LEVEL_ZH.get(level, level)}；规则：{rule_text}），未发送至外部模型。"
    en = (
        f"Blocked: this request contains sensitive content (level: {level}; rules: {rule_text}) "
        "and was not sent to the external model."
    )
    if errors:
        kinds = ", ".join(sorted(set(errors)))
        zh += f"部分内容无法读取（{kinds}）。"
        en += f" Part of it could not be read ({kinds})."
    zh += f"事件编号：{incident}。如有疑问，请联系信息安全管理员。"
    en += f" Incident ID: {incident}. Contact your security officer if you think this is wrong."
    return f"{zh}\n{en}"


def _guard_failure_message(incident: str) -> str:
    return (
        f"已拦截：安全检查出错，请求未发送至外部模型。事件编号：{incident}。\n"
        f"Blocked: the security check failed, so the request was not sent to the external model. "
        f"Incident ID: {incident}."
    )


def _as_json(payload: Payload) -> str | bytes:
    if isinstance(payload, (str, bytes)):
        return payload
    if isinstance(payload, (dict, list)):
        return json.dumps(payload, ensure_ascii=False)
    raise TypeError(f"payload must be a dict, a list, str or bytes, not {type(payload).__name__}")


def _like(original: Payload, rewritten: str) -> Payload:
    if isinstance(original, str):
        return rewritten
    if isinstance(original, bytes):
        return rewritten.encode("utf-8")
    value: Payload = json.loads(rewritten)
    return value


def _locations(report: Report) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for f in report.findings:
        out.setdefault("!/".join(f.location), set()).add(f.rule)
    for e in report.errors:
        out.setdefault("!/".join(e.get("location", [])), set()).add(f"error:{e['kind']}")
    return {k: sorted(v) for k, v in out.items()}


def screen_messages(scanner: Scanner, payload: Payload, redact: bool = False) -> Verdict:
    """Screens an LLM request before it is sent (see the module docs for the verb mapping).

    ``payload``: an OpenAI Chat Completions request (``{"messages": [...]}``), a Responses
    API request (``{"input": ...}``), a bare list of messages, or the same as JSON ``str`` /
    ``bytes``. With ``redact=True`` a ``redact`` verdict rewrites the payload instead of
    refusing it, when masking the findings is enough. Raises ``TypeError`` for another type
    of payload; any other failure is a ``refuse`` verdict (fail closed).
    """
    raw = _as_json(payload)
    incident = secrets.token_hex(8)
    try:
        rewritten: str | None = None
        if redact:
            rewritten, report = scanner.redact_chat(raw)
        else:
            report = scanner.scan_chat(raw)
        verb = report.action
        level = report.level
        rules = sorted({f.rule for f in report.findings})
        locations = _locations(report)
        errors = [str(e["kind"]) for e in report.errors]
        common: dict[str, Any] = dict(
            verb=verb, level=level, rules=rules, locations=locations, incident=incident, report=report, errors=errors
        )
        if verb <= Action.WARN:
            if verb == Action.WARN:
                log.warning("miji guard: pass (warn) incident=%s level=%s rules=%s", incident, level.label, rules)
            return Verdict(action="pass", message="", payload=payload, **common)
        if verb == Action.REDACT and rewritten is not None:
            again = scanner.scan_chat(rewritten)
            if again.action <= Action.WARN:
                log.warning("miji guard: rewrite incident=%s level=%s rules=%s", incident, level.label, rules)
                return Verdict(action="rewrite", message="", payload=_like(payload, rewritten), **common)
        log.warning("miji guard: refuse incident=%s level=%s rules=%s errors=%s", incident, level.label, rules, errors)
        return Verdict(action="refuse", message=refusal_message(level.label, rules, incident, errors), **common)
    except Exception as e:  # fail closed: a guard that cannot decide refuses
        log.exception("miji guard: the scan failed; refusing (incident=%s)", incident)
        return Verdict(
            action="refuse",
            verb=Action.BLOCK,
            level=Level.PUBLIC,
            rules=[],
            locations={},
            incident=incident,
            message=_guard_failure_message(incident),
            report=None,
            error=f"{type(e).__name__}: {e}",
        )
