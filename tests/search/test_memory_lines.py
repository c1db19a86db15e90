"""Memory lines with their lifetimes: the index says which file, which line, the step that wrote
it and the last step it was there, exactly as the memory the store rebuilds at every step."""

from __future__ import annotations

from automem_core.memory.state import FileState, Mutation
from automem_core.search import SearchFilters, search
from automem_core.search.memory_lines import OpMutations, memory_lines
from automem_core.search.report import lifetime, where
from automem_core.store.memory_at import memory_at
from tests.search.oracle import memory_lines as rebuilt


def op(step: int, *mutations: Mutation, kind: str = "APPEND") -> OpMutations:
    return OpMutations(step, "log", 0, kind, mutations)


def test_each_mutation_ends_the_lines_it_removes_and_starts_those_it_writes():
    initial = {"plan": FileState(["explore"], [-1])}
    ops = [
        op(0, Mutation("append", "notes", "stairs east\nwater west")),
        op(2, Mutation("upsert", "map", "door", key="3,4"), kind="UPSERT"),
        op(3, Mutation("upsert", "map", "open door", key="3,4"), kind="UPSERT"),
        op(4, Mutation("replace", "notes", "lake", old="water"), kind="REPLACE"),
        op(5, Mutation("write", "plan", "go down"), kind="WRITE"),
        op(6, Mutation("prune", "notes", "[older lines dropped]", count=1), kind="APPEND"),
        op(7, Mutation("append", "scratch", "gone soon"), Mutation("delete", "scratch")),
    ]
    got = {(x.file, x.text): (x.written, x.until, x.line, x.kind) for x in memory_lines(
        initial, ops, last_step=9)}  # fmt: skip
    assert got == {
        ("plan", "explore"): (-1, 4, 1, ""),
        ("notes", "stairs east"): (0, 5, 1, "APPEND"),
        ("notes", "water west"): (0, 3, 2, "APPEND"),
        ("map", "3,4: door"): (2, 2, 1, "UPSERT"),
        ("map", "3,4: open door"): (3, 9, 1, "UPSERT"),
        ("notes", "lake west"): (4, 9, 2, "REPLACE"),
        ("plan", "go down"): (5, 9, 1, "WRITE"),
        ("notes", "[older lines dropped]"): (6, 9, 1, "APPEND"),
        ("scratch", "gone soon"): (7, 6, 1, "APPEND"),  # never there at the end of a step
    }


def test_lifetimes_read_as_steps():
    assert lifetime(-1, 4) == "there at the end of steps the start–4"
    assert lifetime(7, 6) == "gone before step 7 ended"


def test_indexed_lines_existed_exactly_during_the_steps_they_say(store):
    episodes = ["alpha.grid.s0", "alpha.crash.s1", "beta.grid.s0"]
    truth = {(e, f, w, t): (first, last) for e, f, w, t, first, last in rebuilt(store, episodes)}
    result = search(store, "memory:/.*/", SearchFilters(sources=("memory",)), limit=1000)
    lines = [h for h in result.hits if h.episode_id in episodes]
    assert len(lines) == len(truth)
    for hit in lines:
        key = (hit.episode_id, hit.file, hit.step, hit.snippets[0].text)
        assert truth[key] == (hit.step, hit.until), key
    plan = [h for h in lines if h.file == "plan" and h.episode_id == "alpha.grid.s0"]
    assert [(h.step, h.until) for h in plan] == [(-1, 9), (10, 39), (10, 39)]
    assert where(plan[0]).startswith("memory plan line 1: an initial line, there at the end of")


def test_a_line_is_numbered_where_it_was_written(store):
    query = 'script OR bold OR "walls stop"'
    result = search(store, query, SearchFilters(sources=("memory",)), limit=100)
    assert {h.line for h in result.hits} == {1, 2, 3}
    for hit in result.hits:
        assert hit.file == "notes" and hit.kind == "APPEND"
        lines = memory_at(store, str(hit.episode_id), int(hit.step))["notes"].split("\n")
        assert lines[int(hit.line) - 1] == hit.snippets[0].text
        assert where(hit) == (f"memory notes line {hit.line}: written at step {hit.step}, "
                              f"{lifetime(int(hit.step), int(hit.until))}")  # fmt: skip
