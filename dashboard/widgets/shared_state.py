"""One object per session that overlapping runs share.

Streamlit starts the run for a new event before the run it replaces has stopped, so two runs
of one session can read and write session state at once. State those runs change together is
kept as one mutable object, made once (under a lock, so two first runs do not each make one)
and then changed in place, never read, copied and written back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

T = TypeVar("T")
_MAKING = threading.Lock()


def shared(key: str, make: Callable[[], T], fits: Callable[[Any], bool]) -> T:
    """The session's object under ``key``; made by ``make`` when what is there does not
    ``fit`` (first use, or the app's modules were reloaded)."""
    with _MAKING:
        kept: Any = st.session_state.get(key)
        if not fits(kept):
            kept = make()
            st.session_state[key] = kept
    found: T = kept
    return found
