"""Search: find the moments where any text the agent saw, wrote or read occurs, across runs.

A query (words, phrases, prefixes, regular expressions, boolean operators, properties) under
filters, or a sequence ("A, then B within k steps", or A and no B); the hits grouped by episode
with their snippets, counts per run and scaffold version, and each hit a link into the Replay at
its step with the matched words marked. The view lives in the URL, so a link reproduces it.
"""

from __future__ import annotations

from typing import get_args

import pandas as pd
import streamlit as st

from automem_core.memory import OP_KINDS
from automem_core.search import QueryError, SearchResult
from automem_core.search.engine import versions_of
from automem_core.search.fields import PHASE_RANK, SOURCES
from automem_core.store.record_rows import SEED_SETS
from automem_core.store.schema import EpisodeStatus
from dashboard import data
from dashboard.empty import show_empty_store
from dashboard.render import escape_text
from dashboard.search import data as search_data
from dashboard.search import results
from dashboard.search import state as ss
from dashboard.widgets import identity

LIMIT = 200  # hits drawn
HELP = (
    'Words (all must occur), "a phrase", prefix*, OR, NOT or -word, ( ); a field: '
    "observation, action, completion, op, result, memory, rationale, note (memory:stairs, "
    "memory:/stai?rs?/ for a regular expression on each word); properties: kind:SEARCH "
    "access:write file:notes phase:log step:[10 TO 20]"
)


def _options(stats: pd.DataFrame) -> dict[str, list[str]]:
    def column(name: str) -> list[str]:
        return sorted({str(v) for v in stats[name].dropna()}) if name in stats else []

    return {
        "runs": column("run_id"),
        "games": column("game"),
        "tasks": column("task"),
        "versions": column("scaffold"),
        "seed_sets": list(SEED_SETS),
        "statuses": list(get_args(EpisodeStatus)),
        "phases": list(PHASE_RANK),
        "kinds": list(OP_KINDS),
        "sources": list(SOURCES),
    }


LABELS = {
    "runs": "Runs",
    "games": "Games",
    "tasks": "Tasks",
    "versions": "Scaffold versions",
    "seed_sets": "Seed sets",
    "statuses": "Episode status",
    "phases": "Phases",
    "kinds": "Op kinds",
    "sources": "Sources",
}


def filters(options: dict[str, list[str]]) -> None:
    with st.expander("Filters", expanded=False):
        cols = st.columns(3)
        for i, (name, label) in enumerate(LABELS.items()):
            chosen = [v for v in st.session_state.get(ss.key(name)) or [] if v in options[name]]
            st.session_state[ss.key(name)] = chosen
            cols[i % 3].multiselect(label, options[name], key=ss.key(name))
        low, high, order = st.columns(3)
        low.number_input("From step", min_value=-1, value=None, key=ss.key("step_from"))
        lines = "Memory lines count when they existed at any step of the range"
        high.number_input("To step", min_value=-1, value=None, key=ss.key("step_to"), help=lines)
        order.toggle("Earliest steps first", key=ss.key("first"), help="Else the best matches")
    with st.expander("Then… (a sequence in one episode)", expanded=bool(st.session_state.get(
            ss.key("then")))):  # fmt: skip
        then, within, never = st.columns([4, 1, 2], vertical_alignment="bottom")
        then.text_input("Then (a second query)", key=ss.key("then"), help=HELP,
                        placeholder="access:read result:stairs")  # fmt: skip
        within.number_input("Within steps", min_value=0, max_value=100_000, key=ss.key("within"))
        never.toggle("Never (no such text within the window)", key=ss.key("never"))


def counts(result: SearchResult) -> None:
    """Hits per run and per scaffold version (of all the hits, not only those drawn)."""
    if result.counts:
        st.html(results.counts_html(result.counts, versions_of(result.counts)))


def show_search(view: ss.View) -> None:
    order = "step" if view.first else "relevance"
    result = search_data.search_results(root, view.query, view.filters, order, LIMIT)
    for note in result.notes:
        st.info(escape_text(note), icon=":material/info:")
    shown = len(result.hits)
    st.markdown(
        f"**{result.total:,} hit{'' if result.total == 1 else 's'}**"
        + (f" · the first {shown} drawn" if shown < result.total else "")
        + (f" · {result.record_hits} in proposals and labels" if result.record_hits else "")
        + f" · {result.elapsed_ms:.0f} ms"
    )
    counts(result)
    if result.hits:
        st.html(results.hits_html(result.hits, identity.keep_in_url))


def show_sequence(view: ss.View) -> None:
    found = search_data.sequence_results(root, view.query, view.then, view.within, view.never,
                                  view.filters, LIMIT)  # fmt: skip
    for note in found.notes:
        st.info(escape_text(note), icon=":material/info:")
    rule = "and no" if view.never else "then"
    st.markdown(
        f"**{found.total:,} time{'' if found.total == 1 else 's'}** the first query {rule} "
        f"the second within {view.within} steps, in {found.episodes:,} episode"
        f"{'' if found.episodes == 1 else 's'} · {found.elapsed_ms:.0f} ms"
    )
    if found.matches:
        st.html(results.matches_html(found.matches, identity.keep_in_url))


root = data.data_root()
st.title("Search")
if not data.store_token(root):
    show_empty_store(root, ss.PAGE)
    st.stop()
ss.adopt_url()
st.text_input("Query", key=ss.key("q"), help=HELP, placeholder='stairs, "grid bug", memory:key*')
filters(_options(data.task_stats(str(root), data.episodes_token(root))))
view = ss.current()
who = identity.current()
ss.write_url(view, {identity.PARAM: who} if who and not identity.auth_configured() else {})
if not view.query:
    st.caption(
        "Type a query: observations, completions, memory ops and their results, memory lines "
        "(with the steps each existed), proposals' rationales and labels' notes."
    )
    st.stop()
try:
    if view.then:
        show_sequence(view)
    else:
        show_search(view)
except QueryError as exc:
    st.error(escape_text(str(exc)), icon=":material/error:")
