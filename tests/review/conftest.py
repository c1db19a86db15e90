"""Fixtures shared by the reviewer's tests."""

from __future__ import annotations

import pytest

from tests.review.two_runs import TwoRuns, make_two_runs


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    return make_two_runs(tmp_path_factory.mktemp("two-runs"))
