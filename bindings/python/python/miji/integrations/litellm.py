"""A LiteLLM proxy guardrail: screens every request with ``miji.screen_messages`` *before*
the upstream call, and the streamed answers through a bounded hold-back window.

Config (``examples/litellm/config.yaml``)::

    guardrails:
      - guardrail_name: miji
        litellm_params:
          guardrail: miji_guardrail.MijiGuardrail   # a one-line file next to the config
          mode: pre_call                           # before the call; not during_call
          default_on: true

``mode: pre_call`` matters: LiteLLM's ``during_call`` runs in parallel with the upstream call,
so the prompt would already be sent. Behaviour (contract §4, §5):

- ``pass`` / ``rewrite``: the request goes on (rewritten: ``messages`` / ``input`` replaced
  by the masked payload). ``refuse``: ``fastapi.HTTPException(400)`` whose ``detail`` names
  the rules, the level and the incident ID (Chinese and English), never the content. A 400,
  not a 500: the openai client retries 5xx.
- Any exception inside the guardrail refuses the request (400), never passes it.
- Streamed answers: text is released to the client only once ``MIJI_GUARD_HOLDBACK``
  (default 256) more characters have arrived after it, and the whole answer so far is
  scanned at every chunk; a ``redact`` or ``block`` answer is cut there: the held-back
  chunks are dropped and one last chunk with the refusal text and ``finish_reason:
  "content_filter"`` ends the stream. A marking up to the window's length, split over any
  number of chunks, never reaches the client. Non-streamed answers are checked too (400).

Environment: ``MIJI_POLICY`` (a policy file; default: the built-in policy),
``MIJI_GUARD_REDACT`` (``0`` refuses ``redact`` verdicts instead of rewriting; default ``1``),
``MIJI_GUARD_HOLDBACK`` (characters).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.guardrails import GuardrailEventHooks

import miji
from miji.guard import Verdict, refusal_message, screen_messages

__all__ = ["MijiGuardrail"]

log = logging.getLogger("miji.guard.litellm")

_KEYS = ("messages", "input", "prompt", "instructions", "system")


def _refuse(detail: dict[str, Any]) -> HTTPException:
    return HTTPException(status_code=400, detail=detail)


def _failure(incident: str) -> HTTPException:
    return _refuse(
        {
            "error": "miji guard failure",
            "message": "已拦截：安全检查出错，请求未发送至外部模型。事件编号："
            f"{incident}。\nBlocked: the security check failed, so the request was not sent. "
            f"Incident ID: {incident}.",
            "incident": incident,
        }
    )


class MijiGuardrail(CustomGuardrail):  # type: ignore[misc]
    """miji as a LiteLLM ``CustomGuardrail`` (see the module docs)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        policy = os.environ.get("MIJI_POLICY")
        self.scanner = miji.Scanner.from_file(policy) if policy else miji.Scanner()
        self.redact = os.environ.get("MIJI_GUARD_REDACT", "1") != "0"
        self.holdback = int(os.environ.get("MIJI_GUARD_HOLDBACK", "256"))

    def should_run_guardrail(self, data: Any, event_type: GuardrailEventHooks) -> bool:
        """Answers are checked wherever requests are: ``post_call`` follows ``pre_call``."""
        if event_type == GuardrailEventHooks.post_call:
            event_type = GuardrailEventHooks.pre_call
        result: bool = super().should_run_guardrail(data=data, event_type=event_type)
        return result

    def screen(self, data: dict[str, Any]) -> Verdict:
        """Screens the text-bearing fields of a request body."""
        payload = {k: data[k] for k in _KEYS if k in data}
        return screen_messages(self.scanner, payload, redact=self.redact)

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        incident = secrets.token_hex(8)
        try:
            verdict = await asyncio.to_thread(self.screen, data)
            if verdict.error is not None:
                log.error("miji guard failed (incident %s): %s", verdict.incident, verdict.error)
                raise _failure(verdict.incident)
            if not verdict.allowed:
                raise _refuse(
                    {
                        "error": "miji guard refused the request",
                        "message": verdict.message,
                        "incident": verdict.incident,
                        "level": verdict.level.label,
                        "rules": verdict.rules,
                        "locations": sorted(verdict.locations),
                    }
                )
            if verdict.action == "rewrite" and isinstance(verdict.payload, dict):
                data.update(verdict.payload)
            return data
        except HTTPException:
            raise
        except Exception:  # fail closed
            log.exception("miji guard failed (incident %s); refusing", incident)
            raise _failure(incident) from None

    async def async_post_call_success_hook(self, data: dict[str, Any], user_api_key_dict: Any, response: Any) -> Any:
        incident = secrets.token_hex(8)
        try:
            texts = []
            for choice in getattr(response, "choices", None) or []:
                message = getattr(choice, "message", None)
                content = getattr(message, "content", None)
                if isinstance(content, str):
                    texts.append(content)
            if not texts:
                return response
            report = await asyncio.to_thread(self.scanner.scan, "\n".join(texts))
            if report.action >= miji.Action.REDACT:
                rules = sorted({f.rule for f in report.findings})
                raise _refuse(
                    {
                        "error": "miji guard withheld the answer",
                        "message": refusal_message(report.level.label, rules, incident),
                        "incident": incident,
                        "level": report.level.label,
                        "rules": rules,
                    }
                )
            return response
        except HTTPException:
            raise
        except Exception:
            log.exception("miji guard failed on an answer (incident %s); withholding it", incident)
            raise _failure(incident) from None

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        held: list[tuple[Any, int]] = []  # chunks not yet released, with their text length
        released = 0  # characters released
        text: list[str] = []
        total = 0
        last: Any = None
        try:
            async for chunk in response:
                last = chunk
                piece = _delta_text(chunk)
                text.append(piece)
                total += len(piece)
                held.append((chunk, len(piece)))
                if piece:
                    report = await asyncio.to_thread(self.scanner.scan, "".join(text))
                    if report.action >= miji.Action.REDACT:
                        yield _cut(chunk, report)
                        return
                # release while what stays held is at least the window
                while held and total - (released + held[0][1]) >= self.holdback:
                    c, n = held.pop(0)
                    released += n
                    yield c
            for c, _ in held:
                yield c
        except Exception:
            incident = secrets.token_hex(8)
            log.exception("miji guard failed on a stream (incident %s); cutting it", incident)
            if last is not None:
                yield _cut(last, None, incident)


def _delta_text(chunk: Any) -> str:
    out = []
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        content = getattr(delta, "content", None)
        if isinstance(content, str):
            out.append(content)
    return "".join(out)


def _cut(chunk: Any, report: Any, incident: str | None = None) -> Any:
    """A last chunk carrying the refusal text instead of the held-back answer."""
    incident = incident or secrets.token_hex(8)
    if report is not None:
        rules = sorted({f.rule for f in report.findings})
        text = refusal_message(report.level.label, rules, incident)
        log.warning("miji guard cut a streamed answer: incident=%s level=%s rules=%s", incident, report.level.label, rules)
    else:
        text = f"[miji guard failure, incident {incident}]"
    out = chunk.model_copy(deep=True) if hasattr(chunk, "model_copy") else chunk
    for choice in getattr(out, "choices", None) or []:
        choice.delta.content = "\n" + text
        choice.finish_reason = "content_filter"
    return out
