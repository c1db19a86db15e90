"""The LLM judge through the local OpenAI-compatible server: verdicts land as llm labels with
their tokens and cost; an answer without a verdict is recorded as malformed, never as one."""

from __future__ import annotations

import asyncio
import json

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.llm.config import ModelConfig
from automem_core.mining.judge import JudgeConfig, judge_decisions, parse_verdict
from automem_core.mining.mine import mine
from automem_core.store.records import read_records
from automem_core.testing.local_server import LocalServer
from automem_core.testing.sample_store import play_fake_run


def responder(messages):
    context = messages[-1]["content"]
    if "LOG turn 0 at step 3 " in context:
        return "Thinking... {not json"  # no verdict: must be recorded as malformed
    completion = context.split("ITS COMPLETION:\n", 1)[1].split("\n\nRESULTS OF ITS OPS", 1)[0]
    verdict = "good" if "<|SEARCH|>" in completion else "bad"
    return f"Here: {json.dumps({'verdict': verdict, 'reason': 'checked the ' + verdict})}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"verdict": "good", "reason": "found water"}', ("good", "found water")),
        (
            'sure ```json\n{"verdict":"BAD","reason":"  wrote\\nnothing "}\n```',
            ("bad", "wrote nothing"),
        ),
        ('{"verdict": "maybe"}', None),
        ("no json at all", None),
        ('{"verdict": "good"', None),
    ],
)
def test_parse_verdict_takes_only_good_or_bad(text, expected):
    assert parse_verdict(text) == expected


def test_judge_labels_decisions_through_a_real_endpoint(tmp_path):
    play_fake_run(tmp_path, seeds=(0,), steps=6, run_id="r")
    mine(tmp_path, ["r"])
    decisions = load_decisions(tmp_path).to_dict("records")
    with LocalServer(responder) as server:
        url = server.start()
        config = JudgeConfig(
            model=ModelConfig(base_url=url, model="judge-m", max_retries=0),
            price_in_per_1m=2.0,
            price_out_per_1m=8.0,
        )
        labels = asyncio.run(judge_decisions(tmp_path, config, decisions))
    assert len(labels) == len(decisions)
    stored = read_records(tmp_path, "labels").to_pylist()
    assert {r["source"] for r in stored} == {"llm:judge-m"}
    verdicts = {r["verdict"] for r in stored}
    assert {"good", "bad", "malformed"} <= verdicts
    good = next(r for r in stored if r["verdict"] == "good")
    assert good["note"] == "checked the good" and good["tokens_in"] > 0
    assert good["cost_usd"] == pytest.approx(
        (good["tokens_in"] * 2 + good["tokens_out"] * 8) / 1e6, abs=1e-6
    )
    table = load_decisions(tmp_path).set_index("decision_id")
    malformed = [r["target_id"] for r in stored if r["verdict"] == "malformed"]
    assert all(table.loc[m, "judge"] is None and table.loc[m, "label"] is None for m in malformed)
