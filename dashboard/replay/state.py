"""The replay page's view state: session keys ``replay.*``, kept in step with the URL.

The model keys (run, episode, step, compare, highlight) outlive the widgets, which Streamlit
forgets when another page is shown; each widget is set from its model key before it is drawn and
writes back through its callback. The URL (``?run=…&episode=…&step=…[&compare=…]``, and
``&highlight=w1+w2``: words a search hit marks) is written after every run; a URL this page did
not write (a deep link, a link from another page, browser history) wins.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.widgets import identity
from dashboard.widgets.shared_state import shared

RUN, EPISODE, STEP, COMPARE = "replay.run", "replay.episode", "replay.step", "replay.compare"
HIGHLIGHT = "replay.highlight"  # words marked in the step's texts (a search hit's link sets them)
FILTERS = {  # within the chosen run
    "task": "replay.f_task",
    "seed": "replay.f_seed",
    "outcome": "replay.f_outcome",
}
MEMORY_TAB = "replay.memory_tab"  # the memory panel's open tab (only it is drawn)
MEMORY_TABS = ("Diff vs previous step", "Files at this step", "Diff vs another step")
BAD_LINK = "replay.bad_link"  # what the URL asked for that does not exist (shown, then cleared)
URL_KEYS = ("run", "episode", "step", "compare", "cite", "highlight")
CITE = "replay.cite"  # "<proposal>:<index>" of the citation that opened this episode
_URL_SEEN = "replay.url"  # the query params this page last wrote or adopted
_LAST_TICK = "replay.last_tick"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _url_now() -> dict[str, str]:
    return {k: st.query_params[k] for k in URL_KEYS if k in st.query_params}


def adopt_url() -> None:
    """Take run/episode/step/compare from the URL when it is not the one this page wrote."""
    url = _url_now()
    if url == st.session_state.get(_URL_SEEN):
        return
    st.session_state[_URL_SEEN] = url
    if "episode" not in url:
        return
    st.session_state[RUN] = url.get("run")
    st.session_state[EPISODE] = url["episode"]
    st.session_state[STEP] = _int(url.get("step")) or 0
    st.session_state[COMPARE] = _int(url.get("compare"))
    st.session_state[CITE] = (url["episode"], url["cite"]) if url.get("cite") else None
    st.session_state[HIGHLIGHT] = tuple(url.get("highlight", "").split())
    if st.session_state[COMPARE] is not None:  # a link to a comparison opens its tab
        st.session_state[MEMORY_TAB] = MEMORY_TABS[2]
    st.session_state[BAD_LINK] = {"episode": url["episode"], "run": url.get("run")}
    if "step" in url and _int(url["step"]) is None:
        st.session_state[BAD_LINK]["step"] = url["step"]
    for key in FILTERS.values():  # a deep link shows its episode whatever the filters were
        st.session_state.pop(key, None)


def write_url(run_id: str, episode_id: str, step: int, compare: int | None) -> None:
    want = {"run": run_id, "episode": episode_id, "step": str(step)}
    if compare is not None:
        want["compare"] = str(compare)
    cited = st.session_state.get(CITE)
    if cited and cited[0] == episode_id:  # the claim stays with its episode
        want["cite"] = cited[1]
    if st.session_state.get(HIGHLIGHT):
        want["highlight"] = " ".join(st.session_state[HIGHLIGHT])
    if _url_now() != want:
        st.query_params.from_dict(identity.keep_in_url(want))
    st.session_state[_URL_SEEN] = want


def choose(options: list[str], key: str) -> str:
    """The model value of ``key`` if it is among ``options``, else the first option (stored)."""
    value = st.session_state.get(key)
    if value not in options:
        value = options[0]
        st.session_state[key] = value
    return value


def filtered_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    """Episodes left by the sidebar filters (an empty filter keeps everything)."""
    keep = pd.Series(True, index=episodes.index)
    for column, key in FILTERS.items():
        chosen = st.session_state.get(key) or []
        if chosen:
            keep &= episodes[column].astype(str).isin([str(c) for c in chosen])
    return episodes[keep]


def current_step(first: int, last: int) -> int:
    """The step shown, within ``first``…``last`` (a fork's steps start at its fork step)."""
    step = _int(st.session_state.get(STEP)) or 0
    step = max(first, min(step, last))
    st.session_state[STEP] = step
    return step


# --------------------------------------------------------------------------- callbacks


def set_step(step: int | None) -> None:
    if step is not None:
        st.session_state[STEP] = int(step)


def step_by(delta: int, last: int, first: int = 0) -> None:
    """One step back or on from the step shown, staying within ``first``…``last``."""
    step = _int(st.session_state.get(STEP)) or 0
    set_step(min(max(step + delta, first), last))


def jump(ep: Any, kind: str, label: str) -> None:
    """To the next step after the one shown with an event of ``kind`` (a toast when none)."""
    step = _int(st.session_state.get(STEP)) or 0
    target = ep.next_event(kind, step)
    if target is None:
        st.toast(f"No {label} after step {step}.")
    set_step(target)


_SHOWN = "replay.shown"  # values the page itself wrote into widgets, most recent last


def _shown() -> deque[Any]:
    """The values the page wrote into its widgets: one object changed in place, so two runs
    of a session at once (Streamlit starts a new press's run before the old one stops) both
    add theirs; a list read, extended and written back would lose one of them."""
    return shared(_SHOWN, lambda: deque(maxlen=64), lambda kept: isinstance(kept, deque))


def from_widget(model_key: str, widget_key: str) -> None:
    """A person changed the widget: take its value, unless it is one the page itself showed
    earlier. Pressing keys faster than the page redraws, the browser sends back the widget's
    stale value with the next press; that echo must not undo the moves made since."""
    value = st.session_state.get(widget_key)
    if value in _shown() and value != st.session_state.get(model_key):
        return
    st.session_state[model_key] = value


def highlighted() -> tuple[str, ...]:
    return tuple(st.session_state.get(HIGHLIGHT) or ())


def clear_highlight() -> None:
    st.session_state[HIGHLIGHT] = ()


def pick_run(widget_key: str) -> None:
    st.session_state[RUN] = st.session_state.get(widget_key)
    st.session_state[EPISODE] = None
    clear_highlight()
    st.session_state[STEP] = 0
    st.session_state.pop(BAD_LINK, None)


def pick_episode(widget_key: str) -> None:
    st.session_state[EPISODE] = st.session_state.get(widget_key)
    clear_highlight()
    st.session_state[STEP] = 0
    st.session_state.pop(BAD_LINK, None)


PLAYING = "replay.playing"  # (playing, speed) the step fragment was built for


def play_changed() -> None:
    """Play or speed changed: the step fragment is rebuilt with the new interval."""
    st.session_state[PLAYING] = None


TIMELINE = "replay.timeline"


def timeline_clicked() -> None:
    """A click on the timeline: jump to the step the clicked point carries."""
    state = st.session_state.get(TIMELINE)
    points = state["selection"]["points"] if state else []
    if not points:
        return
    target = points[0].get("customdata", points[0].get("x"))
    if isinstance(target, list):
        target = target[0] if target else None
    set_step(_int(target))


def sync_widget(widget_key: str, value: Any) -> None:
    """Show the model's ``value`` in a widget about to be drawn (noted first: whatever the
    browser may show is known as the page's own)."""
    _shown().append(value)
    if st.session_state.get(widget_key) != value:
        st.session_state[widget_key] = value


def playback() -> tuple[bool, float]:
    """Whether playback is on, and its speed in steps per second."""
    return bool(st.session_state.get("replay.play")), float(
        st.session_state.get("replay.speed") or 2.0
    )


def tick(last_step: int) -> None:
    """During playback, advance one step when its interval has passed."""
    playing, speed = playback()
    now = time.monotonic()
    if not playing or now - st.session_state.get(_LAST_TICK, 0.0) < 0.9 / speed:
        return
    st.session_state[_LAST_TICK] = now
    step = _int(st.session_state.get(STEP)) or 0
    if step < last_step:
        st.session_state[STEP] = step + 1
