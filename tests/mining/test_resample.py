"""Alternatives: a decision's exact prompt sent again to a model, each answer's ops run on the
memory as it was when the turn began, in a scratch folder."""

from __future__ import annotations

import asyncio
import json

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.analysis.episode import memory_before_turn, open_episode, turns_at
from automem_core.llm.base import LLMConfigError
from automem_core.llm.config import ModelConfig
from automem_core.memory import snapshot
from automem_core.mining.mine import mine
from automem_core.mining.resample import resample
from automem_core.store.records import read_records
from automem_core.testing.local_server import LocalServer
from automem_core.testing.sample_store import play_fake_run


def test_alternatives_get_the_exact_prompt_and_results_on_the_memory_as_it_was(tmp_path):
    play_fake_run(tmp_path, seeds=(0,), steps=12, run_id="r")
    mine(tmp_path, ["r"])
    decisions = load_decisions(tmp_path)
    chosen = decisions[(decisions["phase"] == "plan") & (decisions["step"] == 9)]
    chosen = chosen.to_dict("records")[:1]
    seen: list[list[dict]] = []

    def responder(messages):
        seen.append(messages)
        return ["<|READ|>notes<|END|>", "<|SEARCH|>map|gold<|END|><|APPEND|>notes|x<|END|>"][
            len(seen) % 2
        ]

    before = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with LocalServer(responder) as server:
        model = ModelConfig(base_url=server.start(), model="m", temperature=0.9, max_retries=0)
        rows = asyncio.run(resample(tmp_path, chosen, model, samples=2)).made
    assert len(rows) == 2 and {r.sample for r in rows} == {0, 1}
    ep = open_episode(tmp_path, chosen[0]["episode_id"])
    turn = next(t for t in turns_at(ep, 9) if t["phase"] == "plan" and t["turn"] == 0)
    assert all(m == json.loads(turn["messages_json"]) for m in seen)
    memory = snapshot(memory_before_turn(ep, 9, "plan", 0))
    read_row = next(r for r in rows if r.completion.startswith("<|READ|>"))
    read_result = json.loads(read_row.results_json)["results"][0]
    assert memory["notes"].splitlines()[0] in read_result
    search_row = next(r for r in rows if r.completion.startswith("<|SEARCH|>"))
    results = json.loads(search_row.results_json)["results"]
    assert "read-only" in results[1] or "ERROR" in results[1]  # PLAN cannot write
    assert len(read_records(tmp_path, "alternatives")) == 2
    after = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
             and "records" not in p.parts}  # fmt: skip
    assert all(before[name] == data for name, data in after.items() if name in before)
    assert (
        load_decisions(tmp_path)
        .set_index("decision_id")
        .loc[chosen[0]["decision_id"], "alternatives"]
        == 2
    )


def test_resampling_at_temperature_zero_is_refused(tmp_path):
    with pytest.raises(LLMConfigError, match="temperature 0"):
        asyncio.run(resample(tmp_path, [], ModelConfig(base_url="http://x/v1", model="m"), 2))


def test_a_sample_appended_twice_is_read_once_the_first(tmp_path):
    """Two commands resampling one decision at once both append its sample 0 (the same id)."""
    from automem_core.store.reader import connect
    from automem_core.store.record_rows import AlternativeRow
    from automem_core.store.records import append_records

    def row(completion: str, at: str) -> AlternativeRow:
        return AlternativeRow("a1", "d1", "openai:m@x", 0, completion, "{}", 1, 1, 0.0, at)

    append_records(tmp_path, "alternatives", [row("second", "2026-01-02T00:00:00Z")])
    append_records(tmp_path, "alternatives", [row("first", "2026-01-01T00:00:00Z")])
    con = connect(tmp_path, tables=("alternatives",))
    assert con.execute("SELECT completion FROM alternatives").fetchall() == [("first",)]
    assert con.execute("SELECT count(*) FROM alternatives_appended").fetchone() == (2,)
    from automem_core.run.fork import find_alternative

    assert find_alternative(tmp_path, "a1") == ("d1", "first")  # what a fork plays: the same
