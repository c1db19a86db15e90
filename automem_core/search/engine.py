"""Answering a query over the store: every run in scope (its index, and a scan of what the
index does not hold), then the records; the best hits with their snippets, and the counts.

Examples:
    >>> from automem_core.search import search
    >>> result = search(Path("data"), '"grid bug" memory:stair*', SearchFilters(games=("nethack",)))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tantivy
from tantivy import Occur, Order, Query

from automem_core.search.corpus import RunInfo, Searchable, open_run, rescan_run, run_info
from automem_core.search.fields import (
    RECORD_SOURCES,
    TAG_FIELD,
    TEXT_FIELDS,
    schema,
    tag,
    untag,
)
from automem_core.search.filters import SearchFilters, filter_alternatives, keeps_run
from automem_core.search.highlight import Snippet, matched_words, snippet, spans
from automem_core.search.query import Node, Regex, Words, parse_query, positive_atoms, to_tantivy
from automem_core.search.records import records_searchable
from automem_core.store.catalog import RunFiles, scan

log = logging.getLogger(__name__)
SearchOrder = Literal["relevance", "step"]
MAX_LIMIT = 1_000
SEARCH_THREADS = min(8, os.cpu_count() or 1)
INDEX_FAILURES = (ValueError, OSError)
# The field a hit of each source is shown by when no word of the query is in its text.
MAIN_FIELD = {
    "observation": "observation",
    "turn": "completion",
    "op": "op",
    "memory": "memory",
    "proposal": "rationale",
    "label": "note",
}


@dataclass(frozen=True)
class Hit:
    """One text that matched, where it is, and the parts of it that matched."""

    source: str
    score: float
    snippets: tuple[Snippet, ...]
    words: tuple[str, ...]  # the words that matched, for a viewer to mark
    run_id: str | None = None
    episode_id: str | None = None
    step: int | None = None  # a memory line: the step that wrote it
    phase: str | None = None
    turn: int | None = None
    game: str | None = None
    task: str | None = None
    seed: int | None = None
    version: str | None = None
    status: str | None = None
    kind: str | None = None  # the op kind (an op, or the op that wrote a memory line)
    file: str | None = None
    line: int | None = None  # a memory line: its line number when written
    until: int | None = None  # a memory line: the last step at whose end it was there
    ref: str | None = None  # a record's id
    author: str | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class RunCount:
    run_id: str
    game: str
    version: str
    hits: int


@dataclass
class SearchResult:
    query: str
    filters: SearchFilters
    total: int  # hits in all, of which ``hits`` are the first
    hits: list[Hit]
    counts: list[RunCount]  # per run with hits
    record_hits: int
    notes: list[str]
    elapsed_ms: float = 0.0
    runs_searched: int = 0
    stopped: bool = False  # the time limit ended the search before every run was read


@dataclass
class _Plan:
    """A query, ready to run against the index of any run or the records'."""

    node: Node
    filters: SearchFilters
    order: SearchOrder
    limit: int

    def queries(
        self, s: Searchable, run: RunInfo | None, extra: Sequence[Query] = ()
    ) -> list[Query]:
        """The query for one searchable: one per disjoint alternative of the filters."""
        props = run.props() if run is not None else None
        base = [(Occur.Must, to_tantivy(self.node, props))] + [(Occur.Must, q) for q in extra]
        if s.exclude:
            ids = [tag("episode_id", e) for e in s.exclude]
            base.append((Occur.MustNot, Query.term_set_query(schema(), TAG_FIELD, ids)))
        alternatives = filter_alternatives(self.filters, records=run is None)
        return [Query.boolean_query(base + alt) for alt in alternatives]

    def run(
        self, s: Searchable, run: RunInfo | None, extra: Sequence[Query] = ()
    ) -> tuple[int, list[tuple[Any, Any]]]:
        total, hits = 0, []
        for query in self.queries(s, run, extra):
            if self.order == "step":
                found = s.searcher.search(
                    query, self.limit, count=True, order_by_field="at", order=Order.Asc
                )
            else:
                found = s.searcher.search(query, self.limit, count=True)
            total += int(getattr(found, "count", 0) or 0)
            hits += list(found.hits)
        if len(hits) > self.limit:  # two alternatives: the best of both
            hits = sorted(hits, key=lambda h: _key(self.order, h[0], 0))[: self.limit]
        return total, hits


def _first(doc: dict[str, list[Any]], name: str) -> Any:
    values = doc.get(name)
    return values[0] if values else None


def make_hit(
    doc: tantivy.Document, score: float, atoms: list[Words | Regex], run: RunInfo | None
) -> Hit:
    d = doc.to_dict()
    props = untag(d.get(TAG_FIELD, []))
    if run is not None:
        props.update(run.props())
    source = props.get("source", "")
    shown, marked = [], []
    for name in TEXT_FIELDS:
        text = _first(d, name)
        if not text:
            continue
        found = spans(text, atoms, name)
        if found:
            shown.append(snippet(text, found, name))
            marked += [w for w in matched_words(text, found) if w not in marked]
    if not shown:
        main = MAIN_FIELD.get(source, "observation")
        shown.append(snippet(str(_first(d, main) or ""), [], main))

    def number(name: str) -> int | None:
        value = _first(d, name)
        return int(value) if value is not None else None

    return Hit(
        source=source,
        score=float(score),
        snippets=tuple(shown),
        words=tuple(marked),
        run_id=props.get("run_id") or None,
        episode_id=props.get("episode_id"),
        step=number("step"),
        phase=props.get("phase"),
        turn=number("turn"),
        game=props.get("game") or None,
        task=props.get("task"),
        seed=number("seed"),
        version=props.get("version") or None,
        status=props.get("status"),
        kind=props.get("kind"),
        file=props.get("file"),
        line=number("line"),
        until=number("until") if source == "memory" else None,
        ref=props.get("ref"),
        author=props.get("author"),
        verdict=props.get("verdict"),
    )


def _records_scope(current_runs: list[str]) -> Query:
    """Proposals, and labels of decisions whose run is still in the store."""
    proposal = Query.term_query(schema(), TAG_FIELD, tag("source", "proposal"))
    present = [tag("run_id", r) for r in current_runs] or ["\0"]
    labels = Query.term_set_query(schema(), TAG_FIELD, present)
    return Query.boolean_query([(Occur.Should, proposal), (Occur.Should, labels)])


def runs_in_scope(root: Path, filters: SearchFilters) -> list[tuple[RunFiles, RunInfo]]:
    chosen = scan(root, list(filters.runs) if filters.runs else None)
    out = []
    for run in chosen:
        info = run_info(run)
        if info is not None and keeps_run(filters, run.run_id, info.game, info.version,
                                          info.seed_set):  # fmt: skip
            out.append((run, info))
    return out


def search(
    root: Path,
    text: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 50,
    order: SearchOrder = "relevance",
    records: bool = True,
    deadline_s: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> SearchResult:
    """The hits of ``text`` (the language of ``query.py``) under ``filters``: the first
    ``limit`` by relevance (or by step, earliest first), the count per run, and a note for every
    run that had to be read in full. ``records``: the store's proposals and labels too.
    ``deadline_s``: stop reading further runs after that long (the result says so)."""
    started = clock()
    filters = filters or SearchFilters()
    node = parse_query(text)
    to_tantivy(node)  # a query that cannot be compiled fails before any run is read
    plan = _Plan(node, filters, order, max(1, min(limit, MAX_LIMIT)))
    scope = runs_in_scope(Path(root), filters)
    candidates: list[tuple[tuple[Any, ...], Searchable, RunInfo | None, Any, float]] = []
    counts: dict[str, int] = {}
    notes: list[str] = []

    def one_run(run: RunFiles, info: RunInfo) -> _RunAnswer | None:
        if deadline_s is not None and clock() - started > deadline_s:
            return None
        return _search_run(plan, run, info)

    # tantivy searches without holding the interpreter: runs are searched side by side.
    with ThreadPoolExecutor(max_workers=SEARCH_THREADS) as pool:
        answers = list(pool.map(lambda pair: one_run(*pair), scope))
    searched = sum(1 for a in answers if a is not None)
    stopped = searched < len(scope)
    for (run, info), answer in zip(scope, answers, strict=True):
        if answer is None:
            continue
        notes += answer.notes
        counts[run.run_id] = answer.count
        candidates += [(_key(order, v, len(candidates) + i), s, info, a, v)
                       for i, (v, s, a) in enumerate(answer.hits)]  # fmt: skip
    if stopped:
        notes.append(f"stopped after {searched} of {len(scope)} runs: the time limit "
                     f"({deadline_s:g} s) was reached; narrow the search")  # fmt: skip
    record_hits = 0
    wants_records = not filters.sources or any(s in RECORD_SOURCES for s in filters.sources)
    if records and wants_records and not stopped:
        found, more = records_searchable(Path(root))
        notes += more
        if found is not None:
            present = [r.run_id for r in scan(Path(root))]
            record_hits, hits = plan.run(found, None, [_records_scope(present)])
            candidates += [(_key(order, v, len(candidates) + i), found, None, a, v)
                           for i, (v, a) in enumerate(hits)]  # fmt: skip
    candidates.sort(key=lambda c: c[0])
    atoms = positive_atoms(node)
    made = [
        (v, make_hit(s.searcher.doc(a), v, atoms, r)) for _, s, r, a, v in candidates[: plan.limit]
    ]
    made.sort(key=lambda vh: (_key(order, vh[0], 0), _place(vh[1])))  # equal hits: by place
    chosen = [hit for _, hit in made]
    infos = {run.run_id: i for run, i in scope}
    return SearchResult(
        query=text,
        filters=filters,
        total=sum(counts.values()) + record_hits,
        hits=chosen,
        counts=[
            RunCount(r, infos[r].game, infos[r].version, n) for r, n in sorted(counts.items()) if n
        ],
        record_hits=record_hits,
        notes=notes,
        elapsed_ms=(clock() - started) * 1000,
        runs_searched=searched,
        stopped=stopped,
    )


@dataclass
class _RunAnswer:
    count: int
    hits: list[tuple[Any, Searchable, Any]]  # (score or order, where, address)
    notes: list[str]


def _search_run(plan: _Plan, run: RunFiles, info: RunInfo) -> _RunAnswer:
    """One run's best hits and count: from its index, and a scan of what it does not hold; the
    whole run scanned when its index fails while answering."""
    searchables, notes = open_run(run)
    answer = _RunAnswer(0, [], notes)
    for s in searchables:
        try:
            count, hits = plan.run(s, info)
        except INDEX_FAILURES as exc:
            if s.scanned:
                raise
            log.warning("search index of %s failed: %s", run.run_id, exc)
            s, more = rescan_run(run, str(exc).splitlines()[0] if str(exc) else "")
            answer.notes += more
            count, hits = plan.run(s, info)
        answer.count += count
        answer.hits += [(v, s, a) for v, a in hits]
    return answer


def _key(order: SearchOrder, value: Any, arrival: int) -> tuple[Any, ...]:
    """Best first: the highest score, or the earliest step (records without one last)."""
    if order == "step":
        return (value if value is not None else float("inf"), arrival)
    return (-float(value), arrival)


def _place(hit: Hit) -> tuple[Any, ...]:
    """Where a hit is: equal hits are shown in this order, the same however the index's
    segments fell (documents of a run, a part, an update)."""
    step = hit.step if hit.step is not None else -2
    return (hit.run_id or "", hit.episode_id or "", step, hit.phase or "", hit.turn or 0,
            hit.file or "", hit.line or 0, hit.ref or "")  # fmt: skip


def group_by_episode(hits: Sequence[Hit]) -> list[tuple[str | None, list[Hit]]]:
    """Hits grouped by episode (records: None), groups in the order of their best hit."""
    groups: dict[str | None, list[Hit]] = {}
    for hit in hits:
        key = hit.episode_id if hit.source not in RECORD_SOURCES else None
        groups.setdefault(key, []).append(hit)
    return [(k, sorted(v, key=lambda h: (h.step if h.step is not None else -2))) for k, v in
            groups.items()]  # fmt: skip


def versions_of(counts: Sequence[RunCount]) -> dict[str, int]:
    """Hits per scaffold version."""
    out: dict[str, int] = {}
    for c in counts:
        out[c.version] = out.get(c.version, 0) + c.hits
    return out


__all__ = [
    "Hit",
    "RunCount",
    "SearchFilters",
    "SearchOrder",
    "SearchResult",
    "group_by_episode",
    "search",
    "versions_of",
]
