"""miji: classification markings and sensitive content, found fast.

Finds security-classification markings (``机密★10年``, ``TOP SECRET//NOFORN``, ``TLP:AMBER``,
``Company Confidential``…), dictionary terms and sensitive data in text, documents and
prompts, while leaving prose that merely *mentions* secrecy alone::

    import miji

    scanner = miji.Scanner(dictionaries={"projects": ["天穹计划", "Project Aurora"]})
    report = scanner.scan("机密★10年\\n关于天穹计划的通知")
    assert report.level == miji.Level.SECRET
    assert report.marking is not None and report.marking.period == "10年"

``miji.screen_messages(scanner, payload)`` screens an LLM request before it is sent (see
``miji.guard``); ``miji.integrations.litellm`` plugs it into a LiteLLM proxy.

Everything is decided by the Rust core (``miji._native``); this package only re-exports it.
"""

from __future__ import annotations

from miji._enums import Action, Level
from miji._native import (
    SCHEMA,
    ExtractError,
    Finding,
    LimitExceeded,
    Marking,
    MijiError,
    PolicyError,
    Report,
    Scanner,
    __version__,
)
from miji._native import ACTIONS as _ACTIONS
from miji.guard import Verdict, screen_messages
from miji._native import LEVELS as _LEVELS

# The enums are written in Python (for IntEnum ordering); the core's vocabularies decide them.
if [m.label for m in Level] != list(_LEVELS) or [m.label for m in Action] != list(_ACTIONS):
    raise ImportError("miji._enums is out of step with the native module")

__all__ = [
    "SCHEMA",
    "Action",
    "ExtractError",
    "Finding",
    "Level",
    "LimitExceeded",
    "Marking",
    "MijiError",
    "PolicyError",
    "Report",
    "Scanner",
    "Verdict",
    "__version__",
    "screen_messages",
]
