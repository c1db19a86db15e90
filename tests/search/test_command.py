"""``automem search`` and the search step of ``automem upgrade``."""

from __future__ import annotations

import json
import shutil

import pytest

from automem_core.cli import main
from automem_core.cli.search_commands import parse_steps
from automem_core.errors import UsageError
from automem_core.search import SearchFilters, search
from automem_core.search.build import index_dir, read_coverage
from automem_core.search.sequence import sequence_search
from automem_core.store.layout import Layout


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_hits_are_listed_by_episode_with_counts_per_run_and_version(store, capsys):
    code, out, _ = run(capsys, "search", "memory:bold", "--data", str(store))
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("5 hits for 'memory:bold' · ")
    assert lines[1] == "per run: alpha 4, beta 1"
    assert lines[2].startswith("per version: fake-v0@") and lines[2].count(" 4") == 1
    assert "── alpha.crash.s0 (fake · crash · seed 0 · fake-v0@" in out
    assert ("  memory notes line 2: written at step 3, there at the end of steps 3–39: "
            "memory: **[bold]**") in lines  # fmt: skip


def test_filters_and_json(store, capsys):
    argv = ["search", "gold", "--data", str(store), "--run", "alpha", "--task", "grid",
            "--kind", "upsert,append", "--steps", "5-9", "--json", "--limit", "3"]  # fmt: skip
    code, out, _ = run(capsys, *argv)
    got = json.loads(out)
    want = search(store, "gold", SearchFilters(runs=("alpha",), tasks=("grid",),
                  kinds=("UPSERT", "APPEND"), step_min=5, step_max=9), limit=3)  # fmt: skip
    assert code == 0 and got["total"] == want.total > 3 and len(got["hits"]) == 3
    assert {h["kind"] for h in got["hits"]} <= {"UPSERT", "APPEND"}
    first = got["hits"][0]["snippets"][0]
    start, end = first["spans"][0]
    assert first["text"][start:end].lower() == "gold"


def test_a_sequence_from_the_command_line(store, capsys):
    argv = ["search", "source:op access:write op:walls", "--then", "access:read result:walls",
            "--within", "3", "--never", "--data", str(store)]  # fmt: skip
    code, out, _ = run(capsys, *argv)
    want = sequence_search(store, argv[1], argv[3], 3, absent=True)
    assert code == 0 and want.total
    assert out.splitlines()[0].startswith(
        f"{want.total} times 'source:op access:write op:walls' and no 'access:read result:walls' "
        f"within 3 steps, in {want.episodes} episodes"
    )
    assert "alpha.grid.s0 step 7: nothing after" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "(gold"], "error: a parenthesis is not closed in the query\n"),
        (["search", "gold", "--never"], "error: --never needs --then QUERY"),
        (["search", "gold", "--steps", "9-2"], "error: --steps '9-2': the last step comes before"),
        (["search", "gold", "--run", "../x"], "error: invalid run id '../x'"),
    ],
)
def test_mistakes_are_one_line(store, capsys, argv, message):
    code, _, err = run(capsys, *argv, "--data", str(store))
    assert code == 2 and err.startswith(message) and err.count("\n") == 1


def test_step_ranges():
    assert parse_steps("10-20") == (10, 20)
    assert parse_steps("10-") == (10, None)
    assert parse_steps("-20") == (None, 20)
    assert parse_steps("7") == (7, 7)
    with pytest.raises(UsageError):
        parse_steps("ten")


def test_upgrade_builds_every_missing_index(played, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(played, root)
    shutil.rmtree(index_dir(Layout(root).run_dir("beta")))  # as a store from before search was
    code, out, _ = run(capsys, "upgrade", "--data", str(root))
    assert code == 0 and "the records' index is current" in out  # beta's by its compaction
    assert read_coverage(Layout(root).run_dir("beta")) is not None
    assert search(root, "gold").notes == []
