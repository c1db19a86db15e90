"""``ReplayClient``: recorded turns by (episode_id, step, phase, turn)."""

from __future__ import annotations

import asyncio

import pytest

from automem_core.llm.base import LLMConfigError, TurnRequest
from automem_core.llm.replay import ReplayClient


def request(episode_id: str = "ep-1", step: int = 0, phase: str = "plan", turn: int = 0):
    return TurnRequest(
        messages=[{"role": "user", "content": "obs"}],
        game="crafter",
        phase=phase,  # type: ignore[arg-type]
        step=step,
        turn=turn,
        episode_id=episode_id,
    )


def test_recorded_turn_is_answered_verbatim():
    client = ReplayClient({("ep-1", 4, "action", 1): "noop"})
    completion = asyncio.run(client.complete(request(step=4, phase="action", turn=1)))
    assert completion.text == "noop"
    assert completion.error is None


def test_missing_turn_is_an_error_completion_naming_the_position():
    client = ReplayClient({("ep-1", 4, "action", 1): "noop"})
    completion = asyncio.run(client.complete(request(step=4, phase="action", turn=2)))
    assert completion.text == ""
    assert completion.error is not None
    for part in ("ep-1", "step 4", "phase action", "turn 2", "re-record"):
        assert part in completion.error


def test_lookup_distinguishes_every_key_part():
    client = ReplayClient({("ep-1", 0, "plan", 0): "hit"})
    assert asyncio.run(client.complete(request())).text == "hit"
    for miss in (
        request(episode_id="ep-2"),
        request(step=1),
        request(phase="log"),
        request(turn=1),
    ):
        assert asyncio.run(client.complete(miss)).error is not None


def test_from_rows_builds_the_lookup():
    rows = [
        {"episode_id": "e", "step": 0, "phase": "log", "turn": 0, "completion": "APPEND x"},
        {"episode_id": "e", "step": "1", "phase": "plan", "turn": 0, "completion": "go"},
        {"episode_id": "e", "step": 1, "phase": "action", "turn": 0, "completion": None, "x": 1},
    ]
    client = ReplayClient.from_rows(rows)
    assert len(client) == 3
    assert asyncio.run(client.complete(request("e", 0, "log"))).text == "APPEND x"
    assert asyncio.run(client.complete(request("e", 1, "plan"))).text == "go"
    empty = asyncio.run(client.complete(request("e", 1, "action")))
    assert (empty.text, empty.error) == ("", None)


def test_from_rows_names_a_missing_column():
    with pytest.raises(LLMConfigError, match="row 0 lacks turn"):
        ReplayClient.from_rows([{"episode_id": "e", "step": 0, "phase": "log", "completion": ""}])


def test_from_rows_rejects_a_non_integer_step():
    row = {"episode_id": "e", "step": "three", "phase": "log", "turn": 0, "completion": ""}
    with pytest.raises(LLMConfigError, match="step must be an integer"):
        ReplayClient.from_rows([row])


def test_label_defaults_to_replay_and_can_be_set():
    assert ReplayClient({}).label == "replay"
    assert ReplayClient({}, label="replay:run-7").label == "replay:run-7"
    asyncio.run(ReplayClient({}).aclose())
