"""Keyboard shortcuts that never drop a press.

A button's shortcut is lost when it is pressed while the app is still drawing the previous
press. This widget keeps one log of the page's key presses for as long as the page lives (in
the page, not in the zero-height frame that sends it, so a redraw that replaces the frame loses
nothing) and sends the whole log every time; each run takes the presses it has not seen yet, in
order: a burst of ten presses makes ten moves. Presses made while typing in a field are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

_FRONTEND = Path(__file__).parent / "keys_frontend"
_component = components.declare_component("automem_keys", path=str(_FRONTEND))


def new_presses(keys: list[str], key: str) -> list[str]:
    """The watched ``keys`` pressed since the last run (names as ``KeyboardEvent.key``, letters
    lower-case: ``"1"``, ``"u"``, ``"ArrowLeft"``)."""
    value: Any = _component(keys=keys, key=key, default=None)
    if not isinstance(value, dict):
        return []
    seen_key = f"{key}.seen"
    log = [str(k) for k in value.get("presses", [])]
    seen = st.session_state.get(seen_key)
    done = seen[1] if isinstance(seen, tuple) and seen[0] == value.get("id") else 0
    if done >= len(log):
        return []
    st.session_state[seen_key] = (value.get("id"), len(log))
    return [k for k in log[done:] if k in keys]
