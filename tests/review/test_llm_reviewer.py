"""The LLM reviewer through the local OpenAI-compatible server: the "model" calls the SQL, steps
and memory tools (one forbidden statement among them), proposes a wording-only revision that is
recorded as invalid with its reason, gets the reason back, and then lands a valid proposal."""

from __future__ import annotations

import asyncio
import json

import pytest

from automem_core.analysis.episode import open_episode
from automem_core.analysis.step_checks import steps_where
from automem_core.llm.config import ModelConfig
from automem_core.review.llm_reviewer import LLMReviewer, ReviewerConfig
from automem_core.review.proposals import load_proposals
from automem_core.review.review import review
from automem_core.scaffold import load_scaffold, load_version
from automem_core.store.reader import connect
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.local_server import LocalServer, Reply
from automem_core.testing.sample_store import play_fake_run

CALLS = [
    ("sql", {"query": "SELECT count(*) AS n FROM steps"}),
    ("sql", {"query": "COPY steps TO '/tmp/automem-stolen.csv'"}),
    ("steps", {"episode_id": "rev.grid.s0", "start": 0, "end": 4}),
    ("memory", {"episode_id": "rev.grid.s0", "step": 5}),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm-review")
    play_fake_run(root, seeds=(0,), steps=30, run_id="rev", seed_set="review")
    return root


def test_the_reviewer_reads_with_tools_and_a_refusal_goes_back_to_it(store):
    empty = steps_where(open_episode(store, "rev.grid.s0"), "empty_search")[0]
    answers: list[list[str]] = []

    def responder(request):
        tool_answers = [m["content"] for m in request if m["role"] == "tool"]
        if len(tool_answers) < len(CALLS):
            return Reply(tool_calls=[CALLS[len(tool_answers)]])
        answers.append(tool_answers)
        refused = "REFUSED" in request[1]["content"]
        patch = ([{"op": "replace", "path": "/limits/search_cap", "value": 8}] if refused else
                 [{"op": "replace", "path": "/description", "value": "a vault"}])  # fmt: skip
        return json.dumps({
            "summary": "fewer lines per search", "rationale": "searches return walls of text",
            "patch": patch, "expected_effect": "fewer empty searches",
            "citations": [{"episode_id": "rev.grid.s0", "step": empty,
                           "shows": "a search that found nothing", "diagnostic": "empty_search"}],
        })  # fmt: skip

    with LocalServer(responder) as server:
        config = ReviewerConfig(
            model=ModelConfig(base_url=server.start(), model="reviewer-m", max_retries=0),
            price_in_per_1m=1.0, price_out_per_1m=4.0,
        )  # fmt: skip
        parent = load_scaffold(SCAFFOLD_DIR)
        row = asyncio.run(review(store, LLMReviewer(config), parent, ["rev"]))
    assert row is not None and row.event == "proposed"
    proposals = load_proposals(store).set_index("event")
    invalid = proposals.loc["invalid"]
    assert "wording only" in invalid["reason"] and "/description" in invalid["raw_output"]
    assert invalid["tool_calls"] == 4 and invalid["calls"] == 5 and invalid["tokens_in"] > 0
    assert invalid["cost_usd"] > 0
    candidate = load_version(store, row.candidate_version)
    assert candidate.spec.limits.search_cap == 8 and candidate.parent == parent.version
    first = answers[0]
    n = connect(store).execute("SELECT count(*) FROM steps").fetchone()[0]
    assert str(n) in first[0]  # the SQL tool answered what the store holds
    assert first[1].startswith("refused:") and "COPY" in first[1]
    actions = [a for (a,) in connect(store).execute(
        "SELECT action FROM steps WHERE step <= 4 ORDER BY step").fetchall()]  # fmt: skip
    assert all(a in first[2] for a in actions)
    assert len(answers) == 2  # the refusal went back once, with its reason
