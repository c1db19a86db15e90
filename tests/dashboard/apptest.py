"""Opening the dashboard headless with AppTest against a given store (``AUTOMEM_DATA``)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from automem_core.store.catalog import scan_run
from automem_core.store.layout import Layout
from automem_core.testing.stress import RUN_ID

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def open_app(root: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    """Run the app once with ``AUTOMEM_DATA=root`` and the URL query ``params``; no exception."""
    monkeypatch.setenv("AUTOMEM_DATA", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params = dict(params)
    at.run()
    assert not at.exception, at.exception[0].value if at.exception else ""
    return at


def open_pages(root: Path, rng: random.Random) -> None:
    """For the stress scenario (``AUTOMEM_DATA`` set to ``root``): the Overview, or the Replay
    of a published episode at a step and the next; raises what a page raised or showed as an
    error."""
    folder = Layout(root).run_dir(RUN_ID)
    episodes = scan_run(folder).episodes() if folder.is_dir() else []
    at = AppTest.from_file(APP, default_timeout=60)
    replay = bool(episodes) and rng.random() < 0.6
    if replay:
        at.query_params = {"run": RUN_ID, "episode": rng.choice(episodes), "step": "3"}
    at.run()
    if replay and not at.exception and not at.error:
        at.button(key="replay.next").click().run()  # the step again, maybe after a compaction
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    if at.error:
        raise RuntimeError(at.error[0].value)
