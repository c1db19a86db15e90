"""Matching what the model asked for against the game's action names."""

from __future__ import annotations

import re
from collections.abc import Iterable

_NOISE = re.compile(r"[\s_]+")
_TRIM = " \t\r\n.`'\"*:;,!"


def _norm(text: str) -> str:
    return _NOISE.sub(" ", text.strip(_TRIM).lower()).strip()


class ActionMatcher:
    """Case-, spacing- and underscore-insensitive lookup of action names."""

    def __init__(self, names: Iterable[str]) -> None:
        self._by_norm: dict[str, str] = {}
        for name in names:
            self._by_norm.setdefault(_norm(name), name)
            self._by_norm.setdefault(name, name)  # exact spelling wins, e.g. "Y" vs "y"

    def match(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        stripped = raw.strip(_TRIM)
        if stripped in self._by_norm:
            return self._by_norm[stripped]
        return self._by_norm.get(_norm(raw))


def default_action_notice(raw: str | None, played: str, source: str = "invalid") -> str:
    """The one-line notice that starts the next observation when the default action was played."""
    if source == "failure":
        return f"[Notice: the model call failed last step; '{played}' was played instead.]"
    if raw is None:
        return f"[Notice: no action was given last step; '{played}' was played instead.]"
    flat = " ".join(raw.split())
    shown = flat if len(flat) <= 60 else flat[:57] + "..."
    return f"[Notice: '{shown}' is not a valid action; '{played}' was played instead.]"
