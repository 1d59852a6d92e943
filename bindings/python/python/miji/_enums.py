"""The ordered vocabularies of the contract: ``Level`` (§1) and ``Action`` (§4)."""

from __future__ import annotations

import enum

__all__ = ["Action", "Level"]


class _Vocabulary(enum.IntEnum):
    """An ``IntEnum`` whose members also have the contract's kebab-case name (``label``)."""

    @property
    def label(self) -> str:
        """The name used in reports and policies (``"top-secret"``, ``"block"``)."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, label: str) -> "_Vocabulary":
        """The member named ``label`` in reports and policies (``Level.parse("top-secret")``)."""
        for member in cls:
            if member.label == label:
                return member
        expected = ", ".join(m.label for m in cls)
        raise ValueError(f"unknown {cls.__name__.lower()} {label!r} (expected one of: {expected})")

    def __str__(self) -> str:
        return self.label

    def __format__(self, spec: str) -> str:
        return format(self.label, spec)


class Level(_Vocabulary):
    """The level ladder, ordered: ``Level.SECRET > Level.INTERNAL``."""

    PUBLIC = 0
    INTERNAL = 1
    CONFIDENTIAL = 2
    SECRET = 3
    TOP_SECRET = 4

    @classmethod
    def parse(cls, label: str) -> "Level":
        """The level named ``label`` (``"public"`` … ``"top-secret"``)."""
        return super().parse(label)  # type: ignore[return-value]


class Action(_Vocabulary):
    """The four verbs, ordered ``ALLOW < WARN < REDACT < BLOCK``."""

    ALLOW = 0
    WARN = 1
    REDACT = 2
    BLOCK = 3

    @classmethod
    def parse(cls, label: str) -> "Action":
        """The action named ``label`` (``"allow"``, ``"warn"``, ``"redact"``, ``"block"``)."""
        return super().parse(label)  # type: ignore[return-value]
