"""The Search page's state: session keys ``search.*``, reproduced from and written to the URL
(``?q=…&then=…&within=…&never=1&order=step&run=a,b&steps=10-20…``), so a link shows the view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from automem_core.search import SearchFilters
from automem_core.search.filters import FIELD_OF

PAGE = "search"
# filter → its URL parameter (its widget: key(filter)): the field it tests, "run" for the run id
FILTERS = {name: "run" if field == "run_id" else field for name, field in FIELD_OF.items()}
TEXTS = ("q", "then")
NUMBERS = ("within", "step_from", "step_to")
FLAGS = ("never", "first")
DEFAULT_WITHIN = 10
_SEEN = f"{PAGE}.url"


def key(name: str) -> str:
    return f"{PAGE}.{name}"


def _csv(text: str) -> list[str]:
    return [p for p in text.split(",") if p]


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def adopt_url() -> None:
    """Set the widgets from the URL when it is not the one this page wrote (a link)."""
    url = st.query_params.to_dict()
    if url == st.session_state.get(_SEEN):
        return
    st.session_state[_SEEN] = url
    for name in TEXTS:
        st.session_state[key(name)] = url.get(name, "")
    for name, param in FILTERS.items():
        st.session_state[key(name)] = _csv(url.get(param, ""))
    low, _, high = url.get("steps", "").partition("-")
    st.session_state[key("step_from")] = _number(low)
    st.session_state[key("step_to")] = _number(high)
    st.session_state[key("within")] = _number(url.get("within")) or DEFAULT_WITHIN
    for name in FLAGS:
        st.session_state[key(name)] = url.get(name) == "1"


@dataclass(frozen=True)
class View:
    query: str
    then: str
    within: int
    never: bool
    first: bool
    filters: SearchFilters

    def to_url(self) -> dict[str, str]:
        out = {"q": self.query}
        if self.then:
            out |= {"then": self.then, "within": str(self.within)}
            if self.never:
                out["never"] = "1"
        if self.first:
            out["first"] = "1"
        for name, param in FILTERS.items():
            values = getattr(self.filters, name)
            if values:
                out[param] = ",".join(values)
        low, high = self.filters.step_min, self.filters.step_max
        if low is not None or high is not None:
            out["steps"] = f"{'' if low is None else low}-{'' if high is None else high}"
        return {k: v for k, v in out.items() if v}


def current() -> View:
    """The view the widgets show now."""

    def get(name: str) -> Any:
        return st.session_state.get(key(name))

    filters = SearchFilters(
        **{name: tuple(str(v) for v in get(name) or ()) for name in FILTERS},
        step_min=_number(str(get("step_from"))) if get("step_from") is not None else None,
        step_max=_number(str(get("step_to"))) if get("step_to") is not None else None,
    )
    return View(
        query=str(get("q") or "").strip(),
        then=str(get("then") or "").strip(),
        within=int(get("within") or DEFAULT_WITHIN),
        never=bool(get("never")),
        first=bool(get("first")),
        filters=filters,
    )


def write_url(view: View, extra: dict[str, str]) -> None:
    want = {**view.to_url(), **extra}
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)
    st.session_state[_SEEN] = want
