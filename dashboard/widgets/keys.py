"""Keyboard shortcuts that never drop a press and never apply one twice.

A button's shortcut is lost when it is pressed while the app is still drawing the previous
press. This widget keeps one log of the page's key presses for as long as the page lives (in
the page, not in the zero-height frame that sends it, so a redraw that replaces the frame loses
nothing) and sends the whole log every time; each run takes the presses it has not seen yet, in
order: a burst of ten presses makes ten moves. Presses made while typing in a field are ignored,
and each app page gets only the presses made on it (the log notes each press's path).

Two runs of one session can overlap: Streamlit starts the run for a new press at once, and the
run it replaces goes on until its next Streamlit call (any call, reading session state
included). So presses are taken inside :meth:`KeyLog.unseen`, which holds the session's lock
for this log and counts them as seen only when its block ends without being stopped: a run
stopped inside leaves them to the next run; two runs never take the same press.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

from dashboard.widgets.shared_state import shared

_FRONTEND = Path(__file__).parent / "keys_frontend"
_component = components.declare_component("automem_keys", path=str(_FRONTEND))


@dataclass
class _Seen:
    """How much of which page's log this session has applied, and who may change that."""

    log_id: Any = None
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class KeyLog:
    """The page's whole log of presses as this run received it."""

    watched: list[str]
    log_id: Any
    presses: list[str]
    _seen: _Seen

    @contextmanager
    def unseen(self) -> Iterator[list[str]]:
        """The watched presses no run has applied yet, in order; they count as applied when
        the block ends. Change state inside the block (it holds the session's lock)."""
        with self._seen.lock:
            seen = self._seen
            done = seen.count if seen.log_id == self.log_id else 0
            yield [k for k in self.presses[done:] if k in self.watched]
            seen.log_id, seen.count = self.log_id, max(done, len(self.presses))


def key_log(keys: list[str], key: str) -> KeyLog:
    """This page's key log (``keys`` are names as ``KeyboardEvent.key``, letters lower-case:
    ``"1"``, ``"u"``, ``"ArrowLeft"``)."""
    # Kept through a reload of this module (a new _Seen class): its count must survive.
    seen = shared(f"{key}.seen", _Seen, lambda kept: getattr(kept, "lock", None) is not None)
    value: Any = _component(keys=keys, key=key, default=None)
    if not isinstance(value, dict):
        return KeyLog(keys, seen.log_id, [], seen)
    return KeyLog(keys, value.get("id"), [str(k) for k in value.get("presses", [])], seen)
