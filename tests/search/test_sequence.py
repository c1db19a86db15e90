"""Sequence queries against known answers: every A followed (or not) by a B within k steps in
the same episode, compared with the same question answered from the rows directly."""

from __future__ import annotations

import pytest

from automem_core.memory import READ_ONLY_OPS
from automem_core.search import QueryError, SearchFilters
from automem_core.search.fields import PHASE_RANK
from automem_core.search.sequence import sequence_search
from tests.search.oracle import Text, holds

WRITE = "source:op access:write op:walls"
READ = "access:read result:walls"


def _order(t: Text) -> tuple[int, int, int]:
    phase = str(t.props["phase"])
    turn = int(t.key[4]) if t.key[0] in ("turn", "op") else 0  # type: ignore[call-overload]
    return int(t.props["step"]), PHASE_RANK[phase], turn  # type: ignore[call-overload]


def _pairs(pool, first, then, within: int, absent: bool) -> set[tuple[str, int, int | None]]:  # type: ignore[no-untyped-def]
    a = [t for t in pool if first(t)]
    b = [t for t in pool if then(t)]
    out = set()
    for x in a:
        later = sorted(
            _order(y) for y in b
            if y.key[1] == x.key[1] and _order(y) > _order(x)
            and y.props["step"] - x.props["step"] <= within  # type: ignore[operator]
        )  # fmt: skip
        if bool(later) != absent:
            out.add((x.key[1], x.props["step"], later[0][0] if later else None))
    return out  # type: ignore[return-value]


def _write(t: Text) -> bool:
    return t.key[0] == "op" and t.props["kind"] not in READ_ONLY_OPS and holds(
        t.fields["op"], ["walls"])  # fmt: skip


def _read(t: Text) -> bool:
    return t.key[0] == "op" and t.props["kind"] in READ_ONLY_OPS and holds(
        t.fields["result"], ["walls"])  # fmt: skip


def _got(result) -> set[tuple[str, int, int | None]]:  # type: ignore[no-untyped-def]
    assert result.total == len(result.matches)
    return {(m.episode_id, m.step, m.then_step) for m in result.matches}


@pytest.mark.parametrize("within", [0, 3, 30])
def test_a_write_followed_by_a_read_within_k_steps(store, pool, within):
    want = _pairs(pool, _write, _read, within, absent=False)
    result = sequence_search(store, WRITE, READ, within, limit=1000)
    assert _got(result) == want
    if within == 30:
        assert want, "some notes are read back within 30 steps"


@pytest.mark.parametrize("within", [3, 30])
def test_a_write_that_nothing_read_within_k_steps(store, pool, within):
    want = _pairs(pool, _write, _read, within, absent=True)
    result = sequence_search(store, WRITE, READ, within, absent=True, limit=1000)
    assert _got(result) == want and want
    assert all(m.then is None and m.first is not None for m in result.matches)
    assert result.episodes == len({e for e, _, _ in want})


def test_an_observation_then_an_op_in_a_later_phase_of_the_same_step_counts(store, pool):
    seen = lambda t: t.key[0] == "observation" and holds(t.fields["observation"], ["gold"])  # noqa: E731
    upsert = lambda t: t.key[0] == "op" and t.props["kind"] == "UPSERT"  # noqa: E731
    want = _pairs(pool, seen, upsert, 0, absent=False)
    result = sequence_search(store, "observation:gold", "kind:UPSERT", 0, limit=1000)
    assert _got(result) == want and want
    assert all(m.then_step == m.step for m in result.matches)


def test_the_filters_apply_to_both_sides(store, pool):
    result = sequence_search(store, WRITE, READ, 30, filters=SearchFilters(runs=("beta",)),
                             limit=1000)  # fmt: skip
    want = {p for p in _pairs(pool, _write, _read, 30, False) if p[0].startswith("beta.")}
    assert _got(result) == want and want


def test_a_window_past_the_end_of_the_episode_is_marked_cut_short(store):
    beta = SearchFilters(runs=("beta",))
    result = sequence_search(store, "observation:gold", "memory:nothing", 5, absent=True,
                             filters=beta, limit=1000)  # fmt: skip
    cut = {m.step for m in result.matches if m.cut_short}
    assert cut == {m.step for m in result.matches if m.step + 5 > 39} and cut


def test_a_window_of_a_negative_number_of_steps_is_refused(store):
    with pytest.raises(QueryError, match="within must be between 0 and"):
        sequence_search(store, "gold", "gold", -1)
