"""The filters of a search: which runs, episodes and texts a query looks at.

An empty tuple puts no condition; several values of one filter are alternatives. The step
range keeps texts of those steps, and memory lines that existed during any of them (a line
written before the range and still there inside it counts).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from tantivy import FieldType, Occur, Query

from automem_core.search.fields import RUN_KEYWORDS, TAG_FIELD, schema, tag

# filter attribute → the document field it tests
FIELD_OF = {
    "runs": "run_id",
    "games": "game",
    "tasks": "task",
    "versions": "version",
    "seed_sets": "seed_set",
    "statuses": "status",
    "phases": "phase",
    "kinds": "kind",
    "sources": "source",
}


@dataclass(frozen=True)
class SearchFilters:
    runs: tuple[str, ...] = ()
    games: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()  # scaffold versions, id@hash8
    seed_sets: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # episode statuses
    phases: tuple[str, ...] = ()  # observation, helper, log, plan, action, init
    kinds: tuple[str, ...] = ()  # op kinds
    sources: tuple[str, ...] = ()  # observation, turn, op, memory, proposal, label
    step_min: int | None = None
    step_max: int | None = None

    def __post_init__(self) -> None:  # one spelling of the closed sets, whatever was typed
        object.__setattr__(self, "kinds", tuple(k.upper() for k in self.kinds))
        for name in ("phases", "sources", "statuses"):
            object.__setattr__(self, name, tuple(v.lower() for v in getattr(self, name)))

    def is_empty(self) -> bool:
        return all(not getattr(self, f.name) and getattr(self, f.name) != 0 for f in fields(self))

    def describe(self) -> str:
        """The filters in one line (for a report's header)."""
        parts = [f"{FIELD_OF[k]} {'|'.join(v)}" for k, v in self.values().items()]
        if self.step_min is not None or self.step_max is not None:
            low = "" if self.step_min is None else self.step_min
            high = "" if self.step_max is None else self.step_max
            parts.append(f"steps {low}–{high}")
        return ", ".join(parts)

    def values(self) -> dict[str, tuple[str, ...]]:
        return {k: getattr(self, k) for k in FIELD_OF if getattr(self, k)}


def _range(field: str, low: int | None, high: int | None) -> Query:
    return Query.range_query(schema(), field, FieldType.Integer, low, high)


Clauses = list[tuple[Occur, Query]]


def step_alternatives(low: int | None, high: int | None) -> list[Clauses]:
    """Texts of steps ``low``–``high``, or memory lines that existed during any of them: two
    disjoint alternatives, each searched on its own. (One query with an OR of the two would let
    the step range lead the search, reading the step of every document; in a conjunction the
    query's own words lead.)"""
    memory = Query.term_query(schema(), TAG_FIELD, tag("source", "memory"))
    texts = [(Occur.Must, _range("step", low, high)), (Occur.MustNot, memory)]
    lines = [
        (Occur.Must, memory),
        (Occur.Must, _range("step", None, high)),
        (Occur.Must, _range("until", low, None)),
    ]
    return [texts, lines]


def filter_alternatives(filters: SearchFilters, records: bool = False) -> list[Clauses]:
    """The filters as conditions a document must meet, in one or more disjoint alternatives (a
    hit matches exactly one). A run's own properties are checked per run (:func:`keeps_run`),
    not per document, except in the records (``records``)."""
    common: Clauses = [
        (
            Occur.Must,
            Query.term_set_query(schema(), TAG_FIELD, [tag(FIELD_OF[name], v) for v in values]),
        )
        for name, values in filters.values().items()
        if records or FIELD_OF[name] not in RUN_KEYWORDS
    ]
    if filters.step_min is None and filters.step_max is None:
        return [common]
    return [common + alt for alt in step_alternatives(filters.step_min, filters.step_max)]


def keeps_run(filters: SearchFilters, run_id: str, game: str, version: str, seed_set: str) -> bool:
    """Whether a run can hold a hit under the run-wide filters (the others are per text)."""
    checks = (
        (filters.runs, run_id),
        (filters.games, game),
        (filters.versions, version),
        (filters.seed_sets, seed_set),
    )
    return all(not wanted or value in wanted for wanted, value in checks)
