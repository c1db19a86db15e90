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

import bisect
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow.parquet as pq
from tantivy import DocAddress, Occur, Query

from automem_core.search.build import READ_ERRORS, episode_sources
from automem_core.search.corpus import RunInfo, Searchable, open_run
from automem_core.search.engine import Hit, make_hit, runs_in_scope
from automem_core.search.fields import TAG_FIELD, schema, step_of, tag
from automem_core.search.filters import SearchFilters, filter_clauses
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


def _positions(s: Searchable, query: Query) -> list[tuple[int, int, DocAddress]]:
    """(episode number, order, address) of every document ``query`` matches."""
    count = int(getattr(s.searcher.search(query, 1, count=True), "count", 0) or 0)
    if not count:
        return []
    hits = s.searcher.search(query, min(count, MAX_POSITIONS), count=False).hits
    addresses = [a for _, a in hits]
    numbers = s.searcher.fast_field_values("episode_no", addresses)
    orders = s.searcher.fast_field_values("at", addresses)
    return sorted(
        (int(n), int(o), a)
        for n, o, a in zip(numbers, orders, addresses, strict=True)
        if n is not None and o is not None
    )


def _last_steps(run: RunFiles, episodes: set[str]) -> dict[str, int]:
    """The last step of each episode, from the store's episode rows."""
    out: dict[str, int] = {}
    for source in episode_sources(run, episodes):
        path = source.files["episodes"]
        try:
            rows = pq.read_table(path, columns=["episode_id", "steps"]).to_pylist()
        except READ_ERRORS:
            continue
        out.update({r["episode_id"]: int(r["steps"]) - 1 for r in rows if r["episode_id"]})
    return out


def _side(
    node_query: Query, filters: SearchFilters, s: Searchable, episodes: list[str] | None = None
) -> Query:
    parts = [(Occur.Must, node_query)] + [(Occur.Must, c) for c in filter_clauses(filters)]
    if episodes is not None:
        wanted = [tag("episode_id", e) for e in episodes]
        parts.append((Occur.Must, Query.term_set_query(schema(), TAG_FIELD, wanted)))
    if s.exclude:
        gone = [tag("episode_id", e) for e in s.exclude]
        parts.append((Occur.MustNot, Query.term_set_query(schema(), TAG_FIELD, gone)))
    return Query.boolean_query(parts)


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
) -> list[tuple[SequenceMatch, Searchable, RunInfo, DocAddress, DocAddress | None]]:
    """The matches in one searchable of a run, each with the addresses of its A and B."""
    props = info.props()
    a_hits = _positions(s, _side(to_tantivy(a_node, props), filters, s))
    if not a_hits:
        return []
    names = {n: s.episodes.get(n) for n, _, _ in a_hits}
    episodes = sorted(e for e in names.values() if e)
    b_hits = _positions(s, _side(to_tantivy(b_node, props), filters, s, episodes))
    if len(a_hits) >= MAX_POSITIONS or len(b_hits) >= MAX_POSITIONS:
        notes.append(f"run {run.run_id}: more than {MAX_POSITIONS:,} positions; only the "
                     "first were compared")  # fmt: skip
    last = _last_steps(run, set(episodes))
    orders: dict[int, list[int]] = {}
    addresses: dict[int, list[DocAddress]] = {}
    for n, at, address in b_hits:
        orders.setdefault(n, []).append(at)
        addresses.setdefault(n, []).append(address)
    out = []
    for n, at, address in a_hits:
        episode_id = names.get(n)
        if episode_id is None:
            continue
        step = step_of(at)
        after = orders.get(n, [])
        i = bisect.bisect_right(after, at)
        followed = i < len(after) and step_of(after[i]) - step <= within
        if followed == absent:
            continue
        end = last.get(episode_id)
        match = SequenceMatch(
            run.run_id,
            episode_id,
            step,
            step_of(after[i]) if followed else None,
            end is not None and step + within > end,
        )
        out.append((match, s, info, address, addresses[n][i] if followed else None))
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
    found: list[tuple[SequenceMatch, Searchable, RunInfo, DocAddress, DocAddress | None]] = []
    notes: list[str] = []
    for run, info in runs_in_scope(Path(root), filters):
        searchables, run_notes = open_run(run)
        notes += run_notes
        for s in searchables:
            found += _matches(run, info, s, a_node, b_node, filters, within, absent, notes)
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
