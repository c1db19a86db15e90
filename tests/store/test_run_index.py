"""The run index: listing runs opens no run file that did not change, and never shows an old
row."""

from __future__ import annotations

import dataclasses
import shutil

import pyarrow.parquet as pq
import pytest

from automem_core.store.catalog import scan
from automem_core.store.layout import Layout
from automem_core.store.reader import connect, view_files
from automem_core.store.run_index import read_run_rows
from automem_core.store.schema import RunRow
from automem_core.store.writer import write_run
from automem_core.testing.sample_store import play_fake_run


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    root = tmp_path_factory.mktemp("index") / "data"
    for run in ("a", "b", "c"):
        play_fake_run(root, seeds=(0,), steps=4, run_id=run)
    return root


@pytest.fixture()
def root(played, tmp_path):
    shutil.copytree(played, tmp_path / "data")
    return tmp_path / "data"


def rows(root):
    """(run rows, how many run files were read afresh)."""
    plan = view_files(root, ())

    def read(run):
        return pq.read_table(run.run_file)

    table, fresh = read_run_rows(root, scan(root), read)
    assert not plan.problems
    return {r["run_id"]: r for r in table.to_pylist()}, fresh


def statuses(root) -> dict[str, str]:
    return dict(
        connect(root, tables=("runs",)).execute("SELECT run_id, status FROM runs").fetchall()
    )


def test_a_second_listing_reads_no_run_file(root):
    Layout(root).run_index.unlink(missing_ok=True)
    first, fresh = rows(root)
    assert fresh == 3 and sorted(first) == ["a", "b", "c"]
    again, fresh = rows(root)
    assert fresh == 0 and again == first


def test_a_changed_run_row_is_read_again_and_shown(root):
    rows(root)
    (row,) = pq.read_table(Layout(root).run_file("b")).to_pylist()
    write_run(Layout(root), dataclasses.replace(RunRow(**row), status="interrupted"))
    found, fresh = rows(root)
    assert fresh == 1 and found["b"]["status"] == "interrupted"
    assert statuses(root) == {"a": "finished", "b": "interrupted", "c": "finished"}


def test_a_damaged_index_is_ignored_and_rewritten(root):
    rows(root)
    Layout(root).run_index.write_bytes(b"not parquet")
    assert statuses(root) == {"a": "finished", "b": "finished", "c": "finished"}
    assert rows(root)[1] == 0  # rewritten by the listing before


def test_a_deleted_run_leaves_the_index_and_a_damaged_run_file_is_reported(root, caplog):
    rows(root)
    shutil.rmtree(Layout(root).run_dir("c"))
    Layout(root).run_file("a").write_bytes(b"damaged")
    assert statuses(root) == {"b": "finished"}
    assert "left out" in caplog.text and "run.parquet" in caplog.text
    index = pq.read_table(Layout(root).run_index).column("run_id").to_pylist()
    assert index == ["b"]
