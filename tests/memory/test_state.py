"""The pure memory model: every mutation kind, line origins, and rebuilding from a keyframe."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from automem_core.memory.state import (
    FileState,
    MemoryState,
    Mutation,
    apply_mutation,
    copy_state,
    snapshot,
)


def make_state(**files: list[str]) -> MemoryState:
    return {name: FileState(list(lines), [0] * len(lines)) for name, lines in files.items()}


def test_create_makes_an_empty_file() -> None:
    state: MemoryState = {}
    apply_mutation(state, Mutation(kind="create", file="notes"), 3)
    assert state == {"notes": FileState([], [])}


def test_create_keeps_an_existing_file() -> None:
    state = make_state(notes=["a"])
    apply_mutation(state, Mutation(kind="create", file="notes"), 3)
    assert state["notes"] == FileState(["a"], [0])


def test_write_replaces_lines_and_stamps_every_origin() -> None:
    state = make_state(notes=["old"])
    apply_mutation(state, Mutation(kind="write", file="notes", text="a\nb\nc"), 5)
    assert state["notes"] == FileState(["a", "b", "c"], [5, 5, 5])


def test_write_of_empty_text_leaves_no_lines() -> None:
    state = make_state(notes=["old"])
    apply_mutation(state, Mutation(kind="write", file="notes", text=""), 5)
    assert state["notes"] == FileState([], [])


def test_write_creates_a_missing_file() -> None:
    state: MemoryState = {}
    apply_mutation(state, Mutation(kind="write", file="plan", text="x"), 2)
    assert state["plan"] == FileState(["x"], [2])


def test_append_adds_each_line_and_keeps_old_origins() -> None:
    state = make_state(notes=["a"])
    apply_mutation(state, Mutation(kind="append", file="notes", text="b\nc"), 7)
    assert state["notes"] == FileState(["a", "b", "c"], [0, 7, 7])


def test_append_creates_a_missing_file() -> None:
    state: MemoryState = {}
    apply_mutation(state, Mutation(kind="append", file="notes", text="x"), 1)
    assert state["notes"] == FileState(["x"], [1])


def test_upsert_replaces_first_keyed_line_in_place() -> None:
    state = make_state(inv=["wood: 1", "stone: 2", "wood: stale"])
    apply_mutation(state, Mutation(kind="upsert", file="inv", key="wood", text="4"), 9)
    assert state["inv"] == FileState(["wood: 4", "stone: 2", "wood: stale"], [9, 0, 0])


def test_upsert_appends_when_key_is_absent() -> None:
    state = make_state(inv=["woodland: far"])
    apply_mutation(state, Mutation(kind="upsert", file="inv", key="wood", text="4"), 9)
    assert state["inv"] == FileState(["woodland: far", "wood: 4"], [0, 9])


def test_upsert_flattens_newlines_into_one_line() -> None:
    state: MemoryState = {}
    apply_mutation(state, Mutation(kind="upsert", file="m", key="(1,2)", text="a\nb"), 1)
    assert state["m"].lines == ["(1,2): a b"]


def test_replace_changes_matching_lines_and_their_origins() -> None:
    state = make_state(notes=["tree east", "water", "tree tree"])
    apply_mutation(state, Mutation(kind="replace", file="notes", old="tree", text="oak"), 4)
    assert state["notes"] == FileState(["oak east", "water", "oak oak"], [4, 0, 4])


def test_replace_with_a_newline_splits_the_line() -> None:
    state = make_state(notes=["a-b"])
    apply_mutation(state, Mutation(kind="replace", file="notes", old="-", text="\n"), 4)
    assert state["notes"] == FileState(["a", "b"], [4, 4])


def test_replace_of_empty_old_or_missing_file_does_nothing() -> None:
    state = make_state(notes=["a"])
    apply_mutation(state, Mutation(kind="replace", file="notes", old="", text="x"), 4)
    apply_mutation(state, Mutation(kind="replace", file="other", old="a", text="x"), 4)
    assert state == make_state(notes=["a"])


def test_delete_removes_the_file() -> None:
    state = make_state(notes=["a"], plan=["b"])
    apply_mutation(state, Mutation(kind="delete", file="notes"), 4)
    apply_mutation(state, Mutation(kind="delete", file="absent"), 4)
    assert list(state) == ["plan"]


def test_prune_drops_the_oldest_lines() -> None:
    state = make_state(notes=["a", "b", "c"])
    state["notes"].origins = [1, 2, 3]
    apply_mutation(state, Mutation(kind="prune", file="notes", count=2), 4)
    assert state["notes"] == FileState(["c"], [3])
    apply_mutation(state, Mutation(kind="prune", file="notes", count=5), 4)
    assert state["notes"] == FileState([], [])


def test_snapshot_joins_lines_sorted_by_name() -> None:
    state = make_state(b=["1", "2"], a=[])
    assert snapshot(state) == {"a": "", "b": "1\n2"}
    assert list(snapshot(state)) == ["a", "b"]


def test_copy_state_is_independent() -> None:
    state = make_state(notes=["a"])
    copied = copy_state(state)
    apply_mutation(copied, Mutation(kind="append", file="notes", text="b"), 1)
    assert state == make_state(notes=["a"])
    assert copied["notes"].lines == ["a", "b"]


_NAMES = st.sampled_from(["a", "b", "c"])
_TEXT = st.text(alphabet="ab:\n ", max_size=8)
_MUTATIONS = st.builds(
    Mutation,
    kind=st.sampled_from(["create", "write", "append", "upsert", "replace", "delete", "prune"]),
    file=_NAMES,
    text=_TEXT,
    key=st.sampled_from(["a", "b", "k"]),
    old=st.sampled_from(["", "a", "b:", " "]),
    count=st.integers(0, 4),
)


@given(st.lists(_MUTATIONS, max_size=30), st.integers(0, 30))
def test_keyframe_plus_log_rebuilds_memory(log: list[Mutation], cut: int) -> None:
    live: MemoryState = {}
    keyframe: MemoryState = {}
    for step, m in enumerate(log):
        apply_mutation(live, m, step)
        if step + 1 == cut:
            keyframe = copy_state(live)
    rebuilt = copy_state(keyframe) if cut <= len(log) else copy_state(live)
    for step, m in enumerate(log):
        if step >= cut:
            apply_mutation(rebuilt, m, step)
    assert rebuilt == live
    for f in live.values():
        assert len(f.lines) == len(f.origins)
        assert all("\n" not in line for line in f.lines)
