"""Finding the base model before training: a folder or a cached id is used as it is; an absent
model fails in one line within seconds, offline or with the hub unreachable."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from automem_core.export.base_model import BaseModelError, resolve_base_model


def test_a_folder_is_used_as_it_is_and_loaded_locally(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    found = resolve_base_model(str(tmp_path))
    assert found.name == str(tmp_path) and found.local_only


def test_offline_an_absent_model_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(BaseModelError, match="HF_HUB_OFFLINE is set") as err:
        resolve_base_model("nobody/absent-model-1b")
    assert time.monotonic() - started < 1.0
    assert "--base-model FOLDER" in str(err.value) and "\n" not in str(err.value)


def test_an_unreachable_hub_fails_within_five_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("huggingface_hub")
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(BaseModelError, match="hub cannot be reached"):
        resolve_base_model("nobody/absent-model-1b")
    assert time.monotonic() - started < 5.0
