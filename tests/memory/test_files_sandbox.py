"""The memory folder is a sandbox: hostile names, planted links and caps never escape it."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automem_core.memory.files import (
    FilePolicy,
    MemoryFiles,
    MemoryLimits,
    MemoryNameError,
    check_file_name,
)
from automem_core.memory.ops import execute_ops
from automem_core.memory.parser import OP_FORMS, OP_KINDS, MemoryOp, parse_completion
from automem_core.memory.state import Mutation, snapshot

LIMITS = MemoryLimits(
    max_files=5, max_file_bytes=200, max_ops_per_turn=5, search_cap=3, max_name_len=16
)
POLICIES = {
    "notes": FilePolicy(max_lines=4, prune="drop_oldest"),
    "log": FilePolicy(max_lines=3, prune="reject"),
    "status": FilePolicy(max_lines=2, prune="reject", writable_by_agent=False),
    "map": FilePolicy(max_lines=5, prune="drop_oldest", keyed=True),
}
DEFAULT = FilePolicy(max_lines=6, prune="drop_oldest")
INITIAL = {"notes": "seen tree", "status": "hp 9\nfood 9", "log": ""}
PLANTED = ("evil", "evil_dir", "fresh", "hard")  # links planted inside root, pointing outside
SENTINEL_NAME = "@SENTINEL@"  # replaced by the absolute path of a file outside root

HOSTILE_NAMES = [
    "../x",
    "../sentinel/target.txt",
    "/etc/passwd",
    SENTINEL_NAME,
    "a/b",
    "a\\b",
    "nul\x00x",
    ".hidden",
    ".",
    "..",
    "",
    "x" * 17,
    "y" * 300,
    "ünïcode",
    "notes\n",
    " notes",
    "a..b",
    "C:evil",
    *PLANTED,
    *POLICIES,
    "new1",
    "new2",
    "new3",
    "plan.md",
]
VALID_NAMES = [*PLANTED, *POLICIES, "new1", "new2", "new3", "plan.md"]
names = st.one_of(
    st.sampled_from(["notes", "log", "map", "new1"]),
    st.sampled_from(VALID_NAMES),
    st.sampled_from(HOSTILE_NAMES),
    st.text(max_size=20),
)
contents = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="ab \n|", max_size=30),
    st.sampled_from(["", "water", "tree|east", "a\nb\nc\nd\ne", "x" * 250, "1,2", "hp 1"]),
)
words = st.one_of(st.sampled_from(["water", "tree", "e", "1", "hp", "a"]), st.text(max_size=5))
ARG_STRATEGIES = {
    "file": names,
    "keyword": words,
    "key": words,
    "old": words,
    "N": st.sampled_from(["1", "3", "10", "0", "x", ""]),
    "x,y": st.sampled_from(["1,2", "3, 4", "(5,6)", "x", ""]),
}


@st.composite
def memory_ops(draw: st.DrawFn) -> MemoryOp:
    kind = draw(st.sampled_from(OP_KINDS))
    form = OP_FORMS[kind]
    if draw(st.integers(0, 9)) == 0:  # now and then a wrong number of arguments
        form = ("file", "text", "text", "text")[: draw(st.integers(0, 4))]
    args = tuple(draw(ARG_STRATEGIES.get(arg, contents)) for arg in form)
    return MemoryOp(kind=kind, args=args, raw="")


def render_op(op: MemoryOp) -> str:
    return f"<|{op.kind}|>{'|'.join(op.args)}<|END|>"


turns = st.lists(
    st.tuples(
        st.lists(memory_ops(), max_size=7), st.booleans(), st.integers(0, 3).map(lambda i: i == 0)
    ),
    max_size=8,
)


def outside_state(base: Path, root: Path) -> dict[str, object]:
    """Everything under ``base`` except ``root``'s contents: type, bytes, link target, mtime."""
    seen: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        here = Path(dirpath)
        if here == root:
            dirnames.clear()
            continue
        for name in dirnames + filenames:
            path = here / name
            info = path.lstat()
            key = str(path.relative_to(base))
            if stat.S_ISLNK(info.st_mode):
                seen[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                seen[key] = ("file", path.read_bytes(), info.st_mtime_ns, info.st_mode)
            else:
                seen[key] = ("dir", info.st_mode)
    return seen


def assert_sandbox_holds(files: MemoryFiles, base: Path, root: Path) -> None:
    for entry in os.scandir(root):
        if entry.name in PLANTED and (
            entry.is_symlink() or entry.stat(follow_symlinks=False).st_nlink > 1
        ):
            continue  # never touched: its target is checked with everything outside
        assert entry.is_file(follow_symlinks=False), entry.name
        assert check_file_name(entry.name, LIMITS.max_name_len) is None, entry.name
        assert entry.name in files.state, entry.name
    assert len(files.state) <= LIMITS.max_files
    for name, f in files.state.items():
        assert check_file_name(name, LIMITS.max_name_len) is None
        assert len(f.lines) <= files.policy(name).max_lines
        assert len("\n".join(f.lines).encode()) <= LIMITS.max_file_bytes
        assert len(f.lines) == len(f.origins)
    assert files.read_disk() == snapshot(files.state)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(turns)
def test_hostile_op_sequences_stay_inside_root(
    plan: list[tuple[list[MemoryOp], bool, bool]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        sentinel = base / "sentinel"
        sentinel.mkdir()
        (sentinel / "target.txt").write_text("do not touch")
        root = base / "memory"
        files = MemoryFiles(root, LIMITS, POLICIES, DEFAULT, map_file="map")
        files.initialise(INITIAL)
        os.symlink(sentinel / "target.txt", root / "evil")
        os.symlink(sentinel, root / "evil_dir")
        os.symlink("../sentinel/target.txt", root / "fresh")
        (sentinel / "linked.txt").write_text("do not touch either")
        os.link(sentinel / "linked.txt", root / "hard")
        before = outside_state(base, root)
        for step, (ops, as_text, read_only) in enumerate(plan, start=1):
            ops = [
                MemoryOp(
                    o.kind,
                    tuple(a.replace(SENTINEL_NAME, str(sentinel / "target.txt")) for a in o.args),
                    "",
                )
                for o in ops
            ]
            if as_text:
                ops = list(parse_completion("\n".join(render_op(o) for o in ops)).ops)
            results = execute_ops(files, ops, step, read_only=read_only)
            assert len(results) == len(ops)
            assert all(r.ok or r.text.split("\n")[-1].startswith("[ERROR: ") for r in results)
            assert all(len(r.text.split("\n")[0]) < 300 for r in results)
        assert outside_state(base, root) == before
        assert_sandbox_holds(files, base, root)


def test_write_through_a_planted_link_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({})
    os.symlink(outside, files.root / "notes")
    [result] = execute_ops(files, [MemoryOp("APPEND", ("notes", "x"), "")], 1, read_only=False)
    assert not result.ok and "could not change file 'notes'" in result.text
    assert outside.read_text() == "secret"
    assert "notes" not in files.state  # the state is unchanged when the disk refuses


def test_write_to_a_planted_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({})
    os.mkfifo(files.root / "notes")
    [result] = execute_ops(files, [MemoryOp("APPEND", ("notes", "x"), "")], 1, read_only=False)
    assert not result.ok and "could not change file 'notes'" in result.text


def test_delete_never_unlinks_a_planted_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"plan": "a"})
    (files.root / "plan").unlink()
    os.symlink(outside, files.root / "plan")
    [result] = execute_ops(files, [MemoryOp("DELETE", ("plan",), "")], 1, read_only=False)
    assert result.ok
    assert (files.root / "plan").is_symlink()
    assert outside.read_text() == "secret"


def _append(files: MemoryFiles, name: str, text: str = "x", step: int = 1) -> str:
    [result] = execute_ops(files, [MemoryOp("APPEND", (name, text), "")], step, read_only=False)
    return result.text


def test_write_through_a_planted_hard_link_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({})
    os.link(outside, files.root / "fresh")
    assert "[ERROR: could not change file 'fresh': 'fresh' has 2 links" in _append(files, "fresh")
    assert outside.read_text() == "secret"
    assert "fresh" not in files.state


def test_a_hard_link_swapped_in_for_an_open_file_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"notes": "a"})
    assert "[OK:" in _append(files, "notes")  # the folder now keeps a descriptor of notes open
    (files.root / "notes").unlink()
    os.link(outside, files.root / "notes")
    assert "has 2 links" in _append(files, "notes", step=2)
    assert outside.read_text() == "secret"
    assert files.state["notes"].lines == ["a", "x"]


def test_a_memory_file_linked_out_of_the_folder_is_no_longer_written(tmp_path: Path) -> None:
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"notes": "a"})
    os.link(files.root / "notes", tmp_path / "copy")
    assert "has 2 links" in _append(files, "notes")
    assert (tmp_path / "copy").read_text() == "a"


def test_a_file_replaced_under_an_open_descriptor_is_written_at_its_name(tmp_path: Path) -> None:
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"notes": "a"})
    _append(files, "notes")
    (files.root / "notes").unlink()
    (files.root / "notes").write_text("planted")
    assert "[OK:" in _append(files, "notes", "y", step=2)
    assert files.read_disk()["notes"] == "a\nx\ny"


def test_read_disk_skips_hard_linked_files(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"notes": "a"})
    os.link(outside, files.root / "fresh")
    assert files.read_disk() == {"notes": "a"}


def test_read_disk_ignores_links_and_odd_entries(tmp_path: Path) -> None:
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"notes": "a"})
    os.symlink(tmp_path, files.root / "link")
    (files.root / "sub").mkdir()
    (files.root / ".hidden").write_text("x")
    assert files.read_disk() == {"notes": "a"}


def test_initialise_resets_the_folder_and_returns_mutations(tmp_path: Path) -> None:
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"old": "x"})
    mutations = files.initialise({"notes": "a\nb\n", "log": ""}, step=0)
    assert mutations == [
        Mutation(kind="write", file="notes", text="a\nb"),
        Mutation(kind="create", file="log"),
    ]
    assert files.read_disk() == {"log": "", "notes": "a\nb"}
    assert files.index() == [("log", 0), ("notes", 2)]


@pytest.mark.parametrize(
    "initial",
    [{"../x": ""}, {f"f{i}": "" for i in range(6)}, {"notes": "x" * 201}, {"log": "1\n2\n3\n4"}],
)
def test_initialise_refuses_a_bad_scaffold(tmp_path: Path, initial: dict[str, str]) -> None:
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    with pytest.raises(ValueError):
        files.initialise(initial)


def test_apply_refuses_a_bad_name_and_keeps_state(tmp_path: Path) -> None:
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"notes": "a"})
    with pytest.raises(MemoryNameError):
        files.apply(Mutation(kind="write", file="../escape", text="x"), 1)
    assert not (tmp_path / "escape").exists()
    assert snapshot(files.state) == {"notes": "a"}


def test_restore_rewrites_the_folder(tmp_path: Path) -> None:
    files = MemoryFiles(tmp_path / "memory", LIMITS, POLICIES, DEFAULT)
    files.initialise({"notes": "a"})
    saved = {name: f for name, f in files.state.items()}
    files.apply(Mutation(kind="append", file="other", text="b"), 1)
    files.restore(saved)
    assert files.read_disk() == {"notes": "a"}


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("notes.txt", True),
        ("a-b_c.d", True),
        ("9lives", True),
        ("../x", False),
        ("/etc/passwd", False),
        ("a/b", False),
        ("a\\b", False),
        ("a\x00b", False),
        (".hidden", False),
        ("a..b", False),
        ("", False),
        ("x" * 65, False),
        ("x" * 64, True),
        ("ünï", False),
        ("notes\n", False),
        ("-x", False),
        ("a b", False),
    ],
)
def test_check_file_name(name: str, ok: bool) -> None:
    assert (check_file_name(name, 64) is None) == ok


@given(st.text(max_size=80))
def test_valid_names_never_leave_the_folder(name: str) -> None:
    if check_file_name(name, 64) is None:
        assert Path(name).name == name
        assert not Path(name).is_absolute()
        assert ".." not in name and "/" not in name
