"""Executing ops: result blocks, phase rules, caps, keyed writes and rendering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from automem_core.memory.files import FilePolicy, MemoryFiles, MemoryLimits, MemoryNameError
from automem_core.memory.ops import (
    execute_helper_write,
    execute_op,
    execute_ops,
    make_error_result,
    map_key,
)
from automem_core.memory.parser import MemoryOp, OpKind, parse_completion
from automem_core.memory.results import OpResult, render_results
from automem_core.memory.state import Mutation, snapshot

LOOSE = FilePolicy(max_lines=1000, prune="reject")


def make_files(
    tmp_path: Path,
    initial: dict[str, str] | None = None,
    *,
    limits: MemoryLimits | None = None,
    policies: dict[str, FilePolicy] | None = None,
    map_file: str | None = "map.txt",
) -> MemoryFiles:
    files = MemoryFiles(
        tmp_path / "memory",
        limits or MemoryLimits(),
        policies or {},
        LOOSE,
        map_file=map_file,
    )
    files.initialise(initial or {})
    return files


def run(files: MemoryFiles, kind: OpKind, *args: str, step: int = 1) -> OpResult:
    op = MemoryOp(kind=kind, args=args, raw="")
    result = execute_op(files, op, step, read_only=False)
    assert files.read_disk() == snapshot(files.state)
    return result


def run_text(files: MemoryFiles, text: str, *, read_only: bool = False) -> list[OpResult]:
    return execute_ops(files, parse_completion(text).ops, 1, read_only=read_only)


# --------------------------------------------------------------------------- reads


def test_search_lists_matching_lines_case_insensitively(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes.txt": "Water north\ntree east\nwater south"})
    result = run(files, "SEARCH", "notes.txt", "WATER")
    assert result.text == "── SEARCH notes.txt for 'WATER' ──\nWater north\nwater south"
    assert (result.ok, result.hits, result.read_lines, result.mutations) == (True, 2, (0, 2), ())


def test_search_without_matches_says_so(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes.txt": "tree"})
    result = run(files, "SEARCH", "notes.txt", "water")
    assert result.text == "── SEARCH notes.txt for 'water' ──\n[No lines matching 'water']"
    assert result.ok
    assert result.hits == 0


def test_search_keeps_the_newest_matches_up_to_the_cap(tmp_path: Path) -> None:
    lines = "\n".join(f"water {i}" for i in range(30))
    files = make_files(tmp_path, {"notes.txt": lines}, limits=MemoryLimits(search_cap=5))
    result = run(files, "SEARCH", "notes.txt", "water")
    body = result.text.split("\n")[1:]
    assert body[0] == "[showing the newest 5 of 30 matching lines]"
    assert body[1:] == [f"water {i}" for i in range(25, 30)]
    assert result.hits == 5


def test_read_returns_the_whole_file(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes.txt": "a\nb"})
    result = run(files, "READ", "notes.txt")
    assert result.text == "── READ notes.txt ──\na\nb"
    assert result.hits == 2


def test_read_of_an_empty_file(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes.txt": ""})
    result = run(files, "READ", "notes.txt")
    assert result.text == "── READ notes.txt ──\n[FILE IS EMPTY]"
    assert result.hits == 0


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes.txt": "1\n2\n3\n4\n5\n6"})
    result = run(files, "TAIL", "notes.txt", "5")
    assert result.text == "── TAIL notes.txt (last 5) ──\n2\n3\n4\n5\n6"
    assert result.read_lines == (1, 2, 3, 4, 5)
    assert run(files, "TAIL", "notes.txt", "50").hits == 6


def test_count_gives_the_number_of_matching_lines(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes.txt": "water\nWATER here\ntree"})
    result = run(files, "COUNT", "notes.txt", "water")
    assert result.text == "── COUNT notes.txt for 'water' ──\n2"


def test_read_of_missing_file_is_an_error(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    result = run(files, "READ", "x")
    assert result.text == "── READ x ──\n[ERROR: file 'x' does not exist]"
    assert not result.ok
    assert result.error == "file 'x' does not exist"


def test_invalid_name_is_an_error(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    result = run(files, "READ", "../x")
    assert result.text.endswith("[ERROR: invalid file name '../x': contains a path separator]")


# --------------------------------------------------------------------------- writes


def test_append_reports_the_new_line_count(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes.txt": "\n".join("abcdefghijk")})
    result = run(files, "APPEND", "notes.txt", "water north", step=4)
    assert result.text == "── APPEND notes.txt ──\n[OK: notes.txt now has 12 lines]"
    assert result.mutations == (Mutation(kind="append", file="notes.txt", text="water north"),)
    assert files.state["notes.txt"].origins[-1] == 4


def test_append_creates_a_missing_file(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    result = run(files, "APPEND", "new.txt", "a\nb")
    assert result.ok
    assert files.read_disk() == {"new.txt": "a\nb"}


def test_write_replaces_and_creates(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"plan.md": "old"})
    assert run(files, "WRITE", "plan.md", "1\n2").text.endswith("[OK: plan.md now has 2 lines]")
    assert run(files, "WRITE", "fresh.md", "x").ok
    assert files.read_disk() == {"fresh.md": "x", "plan.md": "1\n2"}


def test_create_makes_an_empty_file_once(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    first = run(files, "CREATE", "plan.md")
    assert first.text == "── CREATE plan.md ──\n[OK: created plan.md]"
    run(files, "APPEND", "plan.md", "x")
    second = run(files, "CREATE", "plan.md")
    assert second.ok
    assert second.mutations == ()
    assert files.state["plan.md"].lines == ["x"]


def test_replace_rewrites_occurrences(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes": "tree east\nwater\ntree tree"})
    result = run(files, "REPLACE", "notes", "tree", "oak", step=6)
    assert result.text == "── REPLACE notes ──\n[OK: replaced 3 occurrences; notes now has 3 lines]"
    assert files.state["notes"].origins == [6, 0, 6]


def test_replace_errors_when_missing(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes": "tree"})
    assert run(files, "REPLACE", "nope", "a", "b").error == "file 'nope' does not exist"
    assert run(files, "REPLACE", "notes", "water", "b").error == "'water' not found in notes"
    assert files.state["notes"].lines == ["tree"]


def test_delete_removes_the_file(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes": "tree"})
    assert run(files, "DELETE", "notes").text == "── DELETE notes ──\n[OK: deleted notes]"
    assert files.read_disk() == {}
    assert run(files, "DELETE", "notes").error == "file 'notes' does not exist"


def test_upsert_replaces_the_keyed_line(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"inv": "wood: 1\nstone: 2"})
    result = run(files, "UPSERT", "inv", "wood", "3", step=2)
    assert (
        result.text == "── UPSERT inv key 'wood' ──\n[OK: updated key 'wood'; inv now has 2 lines]"
    )
    run(files, "UPSERT", "inv", "iron", "1", step=3)
    assert files.state["inv"].lines == ["wood: 3", "stone: 2", "iron: 1"]
    assert files.state["inv"].origins == [2, 0, 3]


def test_upsert_map_normalises_coordinates(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    first = run(files, "UPSERT_MAP", "3, 4", "fountain")
    assert (
        first.text
        == "── UPSERT_MAP map.txt (3,4) ──\n[OK: added key '(3,4)'; map.txt now has 1 line]"
    )
    assert first.file == "map.txt"
    run(files, "UPSERT_MAP", "(3,4)", "dry fountain")
    run(files, "UPSERT_MAP", "10,-2", "stairs down")
    assert files.read_disk() == {"map.txt": "(3,4): dry fountain\n(10,-2): stairs down"}


def test_upsert_map_rejects_bad_coordinates(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    result = run(files, "UPSERT_MAP", "north", "door")
    assert not result.ok
    assert "x,y" in (result.error or "")


def test_upsert_map_without_a_map_file_is_an_error(tmp_path: Path) -> None:
    files = make_files(tmp_path, map_file=None)
    result = run(files, "UPSERT_MAP", "1,2", "door")
    assert not result.ok
    assert "map file" in (result.error or "")
    assert files.state == {}


@pytest.mark.parametrize(
    ("coords", "key"),
    [
        ("3,4", "(3,4)"),
        (" 3 , 4 ", "(3,4)"),
        ("(03,4)", "(3,4)"),
        ("3 4", "(3,4)"),
        ("3", None),
        ("a,b", None),
    ],
)
def test_map_key(coords: str, key: str | None) -> None:
    assert map_key(coords) == key


# --------------------------------------------------------------------------- rules and caps


@pytest.mark.parametrize(
    "text",
    [
        "<|APPEND|>notes|x<|END|>",
        "<|WRITE|>notes|x<|END|>",
        "<|CREATE|>other<|END|>",
        "<|UPSERT|>notes|k|v<|END|>",
        "<|UPSERT_MAP|>1,2|v<|END|>",
        "<|REPLACE|>notes|a|b<|END|>",
        "<|DELETE|>notes<|END|>",
    ],
)
def test_plan_phase_refuses_every_write(tmp_path: Path, text: str) -> None:
    files = make_files(tmp_path, {"notes": "a"})
    [result] = run_text(files, text, read_only=True)
    kind = parse_completion(text).ops[0].kind
    assert result.text.endswith(f"[ERROR: {kind} is not allowed in the PLAN phase]")
    assert files.read_disk() == {"notes": "a"}


def test_plan_phase_allows_reads(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes": "a"})
    text = (
        "<|READ|>notes<|END|><|SEARCH|>notes|a<|END|><|TAIL|>notes|1<|END|><|COUNT|>notes|a<|END|>"
    )
    assert all(r.ok for r in run_text(files, text, read_only=True))


def test_helper_files_are_not_writable_by_the_agent(tmp_path: Path) -> None:
    helper = FilePolicy(max_lines=5, prune="reject", writable_by_agent=False)
    files = make_files(tmp_path, {"status": "hp 9"}, policies={"status": helper})
    result = run(files, "APPEND", "status", "hp 1")
    assert result.error == "file 'status' is written by a helper, not the agent"
    assert run(files, "READ", "status").ok
    assert run(files, "DELETE", "status").error == result.error


def test_helper_writes_go_through_the_guarded_path(tmp_path: Path) -> None:
    helper = FilePolicy(max_lines=2, prune="drop_oldest", writable_by_agent=False)
    files = make_files(tmp_path, {"status": "hp 9"}, policies={"status": helper})
    result = execute_helper_write(files, "status", "hp 8\nfood 3\nstep 4", 2)
    assert result.ok and files.state["status"].lines == ["food 3", "step 4"]  # the line cap
    assert [m.kind for m in result.mutations] == ["write", "prune"]
    assert files.read_disk() == snapshot(files.state)
    (files.root / "status").unlink()
    (files.root / "status").mkdir()
    failed = execute_helper_write(files, "status", "hp 7", 3)
    assert not failed.ok and failed.error == "could not change file 'status': Is a directory"
    assert (
        failed.text == "── WRITE status ──\n[ERROR: could not change file 'status': Is a directory]"
    )
    assert files.state["status"].lines == ["food 3", "step 4"]
    assert not execute_helper_write(files, "../status", "x", 4).ok


def test_ops_past_the_turn_cap_are_not_run(tmp_path: Path) -> None:
    files = make_files(tmp_path, limits=MemoryLimits(max_ops_per_turn=2))
    results = run_text(files, "<|APPEND|>n|1<|END|>" * 4)
    assert [r.ok for r in results] == [True, True, False, False]
    assert (
        results[3].text
        == "── APPEND n ──\n[ERROR: too many ops this turn (max 2); this op was not run]"
    )
    assert files.state["n"].lines == ["1", "1"]


def test_file_count_cap(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"a": "", "b": ""}, limits=MemoryLimits(max_files=3))
    assert run(files, "CREATE", "c").ok
    for kind, args in [
        ("CREATE", ("d",)),
        ("APPEND", ("d", "x")),
        ("WRITE", ("d", "x")),
        ("UPSERT", ("d", "k", "x")),
    ]:
        assert run(files, kind, *args).text.endswith("[ERROR: too many files (max 3)]")  # type: ignore[arg-type]
    assert run(files, "APPEND", "a", "x").ok
    assert sorted(files.read_disk()) == ["a", "b", "c"]


def test_file_byte_cap(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes": "x" * 90}, limits=MemoryLimits(max_file_bytes=100))
    result = run(files, "APPEND", "notes", "y" * 20)
    assert result.text.endswith("[ERROR: file would exceed 100 bytes]")
    assert run(files, "WRITE", "notes", "é" * 51).error == "file would exceed 100 bytes"
    assert run(files, "WRITE", "notes", "short").ok


def test_line_cap_drop_oldest_prunes_the_overflow(tmp_path: Path) -> None:
    policy = FilePolicy(max_lines=3, prune="drop_oldest")
    files = make_files(tmp_path, {"notes": "1\n2"}, policies={"notes": policy})
    result = run(files, "APPEND", "notes", "3\n4\n5", step=8)
    assert result.ok
    assert result.mutations == (
        Mutation(kind="append", file="notes", text="3\n4\n5"),
        Mutation(kind="prune", file="notes", count=2),
    )
    assert (
        result.text
        == "── APPEND notes ──\n[OK: notes now has 3 lines; dropped 2 lines (the oldest)]"
    )
    assert files.read_disk() == {"notes": "3\n4\n5"}


def test_line_cap_drop_oldest_applies_to_write_and_upsert(tmp_path: Path) -> None:
    policy = FilePolicy(max_lines=2, prune="drop_oldest", keyed=True)
    files = make_files(tmp_path, {"m": "a: 1\nb: 2"}, policies={"m": policy})
    assert len(run(files, "UPSERT", "m", "c", "3").mutations) == 2
    assert files.state["m"].lines == ["b: 2", "c: 3"]
    assert len(run(files, "UPSERT", "m", "b", "9").mutations) == 1
    assert run(files, "WRITE", "m", "1\n2\n3\n4").ok
    assert files.state["m"].lines == ["3", "4"]


def test_line_cap_reject_refuses_the_write(tmp_path: Path) -> None:
    policy = FilePolicy(max_lines=2, prune="reject")
    files = make_files(tmp_path, {"notes": "1\n2"}, policies={"notes": policy})
    result = run(files, "APPEND", "notes", "3")
    assert result.text.startswith("── APPEND notes ──\n[ERROR: file 'notes' is full (2 lines); ")
    assert result.mutations == ()
    assert not run(files, "WRITE", "notes", "a\nb\nc").ok
    assert run(files, "UPSERT", "notes", "1", "x").ok is False
    assert run(files, "REPLACE", "notes", "1", "one").ok
    assert files.read_disk() == {"notes": "one\n2"}


def test_wrong_arity_op_built_by_hand_is_an_error(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    result = run(files, "APPEND", "notes")
    assert result.error == "APPEND needs file|text: got 'notes'"
    assert run(files, "TAIL", "notes", "x").error is not None


def test_planted_directory_at_a_name_is_an_error_result(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    (files.root / "notes").mkdir()
    result = execute_op(files, MemoryOp("APPEND", ("notes", "x"), ""), 1, read_only=False)
    assert not result.ok
    assert result.error is not None and result.error.startswith("could not change file 'notes'")
    assert files.state == {}


def test_make_error_result_has_a_block(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    result = make_error_result(
        files, MemoryOp("REPLACE", ("a", "b", "c"), ""), "REPLACE is not enabled"
    )
    assert result.text == "── REPLACE a ──\n[ERROR: REPLACE is not enabled]"


# --------------------------------------------------------------------------- rendering


def test_render_results_joins_blocks(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes": "a"})
    results = run_text(files, "<|READ|>notes<|END|><|COUNT|>notes|a<|END|>")
    assert render_results(results, 4000) == "── READ notes ──\na\n\n── COUNT notes for 'a' ──\n1"


@pytest.mark.parametrize("max_chars", [60, 100, 999])
def test_render_results_truncates_with_a_marker(tmp_path: Path, max_chars: int) -> None:
    files = make_files(tmp_path, {"notes": "\n".join(f"line {i}" for i in range(200))})
    results = run_text(files, "<|READ|>notes<|END|>")
    full = render_results(results, 100_000)
    text = render_results(results, max_chars)
    assert len(text) <= max_chars
    kept, marker = text.rsplit("\n", 1)
    assert full.startswith(kept)
    assert marker == f"[… truncated {len(full) - len(kept)} chars]"


def test_render_results_control_characters_stay_on_one_header_line(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    result = run(files, "READ", "bad\nname")
    assert result.text.split("\n")[0] == "── READ bad\\nname ──"


def test_parse_errors_come_first_as_labelled_blocks(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes": "a"})
    text = "<|TAIL|>notes|-5<|END|><|READ|>notes<|END|>"
    parsed = parse_completion(text)
    assert render_results(
        execute_ops(files, parsed.ops, 1, read_only=True), 4000, parsed.errors
    ) == (
        "── PARSE ERROR ──\n"
        "[ERROR: TAIL needs file|N with N a positive integer: <|TAIL|>notes|-5<|END|>]\n\n"
        "── READ notes ──\na"
    )


def test_parse_errors_count_toward_the_result_cap() -> None:
    text = render_results([], 200, ["x" * 500])
    assert len(text) <= 200 and text.startswith("── PARSE ERROR ──\n[ERROR: xxx")


# --------------------------------------------------------------------------- case clashes


@pytest.mark.parametrize(
    ("kind", "args"),
    [
        ("CREATE", ("STATUS",)),
        ("WRITE", ("Notes", "x")),
        ("APPEND", ("NOTES", "x")),
        ("UPSERT", ("nOtes", "k", "x")),
        ("APPEND", ("Plan", "x")),  # declared by the scaffold, not created yet
    ],
)
def test_a_new_name_differing_only_by_case_is_refused(
    tmp_path: Path, kind: OpKind, args: tuple[str, ...]
) -> None:
    policies = {"plan": LOOSE}
    files = make_files(tmp_path, {"status": "hp 9", "notes": "a"}, policies=policies)
    before = snapshot(files.state)
    result = run(files, kind, *args)
    assert result.error is not None and "differs only by case from '" in result.error
    assert snapshot(files.state) == before
    assert sorted(os.listdir(files.root)) == ["notes", "status"]


def test_the_exact_name_is_no_clash(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"notes": "a"})
    assert run(files, "APPEND", "notes", "b").ok
    assert run(files, "CREATE", "notes2").ok


def test_apply_refuses_a_case_clash_whoever_writes(tmp_path: Path) -> None:
    files = make_files(tmp_path, {"status": "hp 9"})
    with pytest.raises(MemoryNameError, match="differs only by case"):
        files.apply(Mutation(kind="write", file="Status", text="x"), 1)
    assert list(files.state) == ["status"]


def test_initial_files_differing_only_by_case_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="differ only by case"):
        make_files(tmp_path, {"notes": "a", "NOTES": "b"})
