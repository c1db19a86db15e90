"""Sequence queries: "A, then B within k steps, in the same episode" — or A and *no* B after it.

"A write mentioning X that nothing read within k steps" is ``first='source:op access:write
op:X'``, ``then='access:read result:X'``, ``within=k``, ``absent=True``. Both sides are queries
of the search language under the same filters. B follows A when it comes later in the episode
(a later step, or a later phase or turn of the same step: observation, helpers, LOG, PLAN,
action) and at most ``within`` steps later.

Every position of A and of B comes from the index (each document's episode number and order,
read from its fast columns; B only in the episodes where A occurs); the store says how long each
episode is, so an A whose window runs past the episode's end is marked ``cut_short`` (it had
fewer than ``within`` steps to be followed).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from tantivy import DocAddress, Occur, Query

from automem_core.search.build import READ_ERRORS, episode_sources
from automem_core.search.corpus import RunInfo, Searchable, open_run
from automem_core.search.engine import SEARCH_THREADS, Hit, make_hit, runs_in_scope
from automem_core.search.fields import TAG_FIELD, schema, tag
from automem_core.search.filters import SearchFilters, filter_alternatives
from automem_core.search.query import (
    Node,
    QueryError,
    parse_query,
    positive_atoms,
    to_tantivy,
)
from automem_core.store.catalog import RunFiles

MAX_POSITIONS = 2_000_000  # of one side in one run; past it the answer says it is partial
MAX_WITHIN = 1_000_000


@dataclass(frozen=True)
class SequenceMatch:
    """An A (its episode and step) and the first B after it within the window, if any."""

    run_id: str
    episode_id: str
    step: int
    then_step: int | None
    cut_short: bool  # the episode ended before the window did
    first: Hit | None = None  # the texts, for the first matches shown
    then: Hit | None = None


@dataclass
class SequenceResult:
    first: str
    then: str
    within: int
    absent: bool
    total: int  # matches in all (one per A)
    episodes: int  # episodes with a match
    matches: list[SequenceMatch]
    notes: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class _Positions:
    """Every document a query matched, sorted by episode number and order in the episode."""

    keys: np.ndarray  # episode number × 2**40 + order: one sortable key per document
    addresses: list[DocAddress]

    def __len__(self) -> int:
        return len(self.addresses)

    @property
    def episodes(self) -> np.ndarray:
        return self.keys >> 40

    @property
    def steps(self) -> np.ndarray:
        return (self.keys & (2**40 - 1)) // 64 - 1  # fields.step_of


def _positions(s: Searchable, queries: list[Query]) -> _Positions:
    """Where every document the (disjoint) ``queries`` match is, from the index's fast
    columns."""
    addresses: list[DocAddress] = []
    for query in queries:
        count = int(getattr(s.searcher.search(query, 1, count=True), "count", 0) or 0)
        if count:
            hits = s.searcher.search(query, min(count, MAX_POSITIONS), count=False).hits
            addresses += [a for _, a in hits]
    if not addresses:
        return _Positions(np.zeros(0, np.int64), [])
    numbers = np.array(s.searcher.fast_field_values("episode_no", addresses), np.int64)
    orders = np.array(s.searcher.fast_field_values("at", addresses), np.int64)
    keys = (numbers << 40) + orders
    order = np.argsort(keys, kind="stable")
    return _Positions(keys[order], [addresses[i] for i in order])


def _last_steps(run: RunFiles, episodes: set[str]) -> dict[str, int]:
    """The last step of each episode, from the store's episode rows (a fork's steps start at
    its fork step)."""
    out: dict[str, int] = {}
    paths = {source.files["episodes"] for source in episode_sources(run, episodes, ("episodes",))}
    for path in sorted(paths):  # a part's file holds many episodes: each file is read once
        try:
            rows = pq.read_table(path, columns=["episode_id", "steps", "fork_step"]).to_pylist()
        except READ_ERRORS:
            continue
        out.update(
            {
                r["episode_id"]: int(r["fork_step"] or 0) + int(r["steps"]) - 1
                for r in rows
                if r["episode_id"] in episodes
            }
        )
    return out


_Found = tuple[SequenceMatch, Searchable, RunInfo, DocAddress, DocAddress | None]


def _side(
    node_query: Query, filters: SearchFilters, s: Searchable, episodes: list[str] | None = None
) -> list[Query]:
    """One side's queries: one per disjoint alternative of the filters."""
    parts = [(Occur.Must, node_query)]
    if episodes is not None:
        wanted = [tag("episode_id", e) for e in episodes]
        parts.append((Occur.Must, Query.term_set_query(schema(), TAG_FIELD, wanted)))
    if s.exclude:
        gone = [tag("episode_id", e) for e in s.exclude]
        parts.append((Occur.MustNot, Query.term_set_query(schema(), TAG_FIELD, gone)))
    return [Query.boolean_query(parts + alt) for alt in filter_alternatives(filters)]


def _matches(
    run: RunFiles,
    info: RunInfo,
    s: Searchable,
    a_node: Node,
    b_node: Node,
    filters: SearchFilters,
    within: int,
    absent: bool,
    notes: list[str],
) -> list[_Found]:
    """The matches in one searchable of a run, each with the addresses of its A and B."""
    props = info.props()
    a = _positions(s, _side(to_tantivy(a_node, props), filters, s))
    if not len(a):
        return []
    names = {int(n): s.episodes.get(int(n)) for n in np.unique(a.episodes)}
    episodes = sorted(e for e in names.values() if e)
    b = _positions(s, _side(to_tantivy(b_node, props), filters, s, episodes))
    if len(a) >= MAX_POSITIONS or len(b) >= MAX_POSITIONS:
        notes.append(f"run {run.run_id}: more than {MAX_POSITIONS:,} positions; only the "
                     "first were compared")  # fmt: skip
    last = _last_steps(run, set(episodes))
    # The first B after each A: the next key, if it is in the same episode and in the window.
    nxt = np.searchsorted(b.keys, a.keys, side="right")
    has = nxt < len(b)
    at = np.minimum(nxt, max(len(b) - 1, 0))
    a_episodes, a_steps, b_steps = a.episodes, a.steps, b.steps
    followed = np.zeros(len(a), bool)
    if len(b):
        same = b.episodes[at] == a_episodes
        followed = has & same & (b_steps[at] - a_steps <= within)
    out = []
    for i in np.flatnonzero(followed != absent):
        episode_id = names.get(int(a_episodes[i]))
        if episode_id is None:
            continue
        step = int(a_steps[i])
        end = last.get(episode_id)
        j = int(at[i])
        match = SequenceMatch(
            run.run_id,
            episode_id,
            step,
            int(b_steps[j]) if followed[i] else None,
            end is not None and step + within > end,
        )
        out.append((match, s, info, a.addresses[i], b.addresses[j] if followed[i] else None))
    return out


def sequence_search(
    root: Path,
    first: str,
    then: str,
    within: int,
    *,
    absent: bool = False,
    filters: SearchFilters | None = None,
    limit: int = 50,
) -> SequenceResult:
    """Every A (``first``) followed by a B (``then``) within ``within`` steps in its episode,
    or, with ``absent``, every A followed by none."""
    if not 0 <= within <= MAX_WITHIN:
        raise QueryError(f"within must be between 0 and {MAX_WITHIN} steps, not {within}")
    started = time.perf_counter()
    filters = filters or SearchFilters()
    a_node, b_node = parse_query(first), parse_query(then)
    found: list[_Found] = []
    notes: list[str] = []

    def one_run(run: RunFiles, info: RunInfo) -> tuple[list[_Found], list[str]]:
        searchables, said = open_run(run)
        out: list[_Found] = []
        for s in searchables:
            out += _matches(run, info, s, a_node, b_node, filters, within, absent, said)
        return out, said

    with ThreadPoolExecutor(max_workers=SEARCH_THREADS) as pool:  # runs side by side
        for run_found, run_notes in pool.map(
            lambda pair: one_run(*pair), runs_in_scope(Path(root), filters)
        ):
            found += run_found
            notes += run_notes
    found.sort(key=lambda f: (f[0].run_id, f[0].episode_id, f[0].step))
    a_atoms, b_atoms = positive_atoms(a_node), positive_atoms(b_node)
    shown = [
        replace(
            match,
            first=make_hit(s.searcher.doc(a_at), 0.0, a_atoms, info),
            then=make_hit(s.searcher.doc(b_at), 0.0, b_atoms, info) if b_at else None,
        )
        for match, s, info, a_at, b_at in found[:limit]
    ]
    return SequenceResult(
        first,
        then,
        within,
        absent,
        total=len(found),
        episodes=len({(m.run_id, m.episode_id) for m, *_ in found}),
        matches=shown,
        notes=notes,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )
