"""Opening the dashboard headless with AppTest against a given store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def open_app(root: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    """Run the app once with ``AUTOMEM_DATA=root`` and the URL query ``params``; no exception."""
    monkeypatch.setenv("AUTOMEM_DATA", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params = dict(params)
    at.run()
    assert not at.exception, at.exception[0].value if at.exception else ""
    return at
