"""A store for the search tests, played by the real runner (fake game), never committed:

- ``alpha``: tasks grid and crash, seeds 0 and 1, 40 steps, seed set ``review``: its two grid
  episodes compact into a part (and its index); the two crash episodes end in ``error`` and stay
  loose;
- ``beta``: the task grid, seed 0, 40 steps, another version of the scaffold, seed set
  ``gating``.

Each run's end leaves its index (a part's episodes and the loose ones). ``store`` is indexed
whole again and read-only for the tests; a test that changes a store copies it first
(``store_copy``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from automem_core.search import index_store
from automem_core.search.corpus import forget_indexes
from automem_core.testing.sample_store import play_fake_run, variant_scaffold
from tests.search.oracle import Text, texts

STEPS = 40


def make_store(root: Path) -> Path:
    play_fake_run(root, tasks=("grid", "crash"), seeds=(0, 1), steps=STEPS, run_id="alpha",
                  seed_set="review")  # fmt: skip
    variant = variant_scaffold(root.parent / "variant")
    play_fake_run(root, tasks=("grid",), seeds=(0,), steps=STEPS, run_id="beta",
                  scaffold=variant, seed_set="gating")  # fmt: skip
    return root


@pytest.fixture(scope="session")
def played(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store as the runs left it (compaction built the index of what it compacted)."""
    return make_store(tmp_path_factory.mktemp("search") / "data")


@pytest.fixture(scope="session")
def store(played: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("indexed") / "data"
    shutil.copytree(played, root)
    index_store(root)
    return root


@pytest.fixture(scope="session")
def pool(store: Path) -> list[Text]:
    return texts(store)


@pytest.fixture
def store_copy(store: Path, tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(store, root)
    return root


@pytest.fixture(autouse=True)
def fresh_indexes() -> None:
    forget_indexes()
