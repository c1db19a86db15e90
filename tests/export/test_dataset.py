"""The whole Loop 2 export path on a played store: mine, label (a person and the judge), resample
through the local OpenAI-compatible server, label the alternatives, export every format; each
file checked by its consumer's rules, the export recorded, no secret written."""

from __future__ import annotations

import asyncio
import json

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.export.dataset import Selection, export
from automem_core.export.examples import read_prompt_completion
from automem_core.export.format_names import FORMAT_NAMES
from automem_core.llm.config import ModelConfig
from automem_core.memory import parse_completion
from automem_core.mining.labels import add_labels, new_label
from automem_core.mining.mine import mine
from automem_core.mining.resample import resample
from automem_core.store.records import read_records
from automem_core.testing.local_server import LocalServer
from automem_core.testing.sample_store import play_fake_run

FAKE_KEY = "sk-test-abcdefghijklmnop1234567890"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    play_fake_run(root, seeds=(0, 1), steps=25, run_id="r", seed_set="mining")
    mine(root, ["r"])
    decisions = load_decisions(root)
    plans = decisions[decisions["phase"] == "plan"].head(3).to_dict("records")

    def answer(messages):
        return "<|SEARCH|>notes|walls<|END|>"  # a different consultation of the same prompt

    with LocalServer(answer) as server:
        model = ModelConfig(base_url=server.start(), model="sampler", temperature=0.8)
        alternatives = asyncio.run(resample(root, plans, model, samples=1)).made
    labels = []
    for i, row in enumerate(decisions.to_dict("records")):
        verdict = "good" if row["score"] > 0 else ("unsure" if i % 7 == 0 else "bad")
        source = {"source": "llm:judge"} if i % 3 else {}
        who = "judge" if i % 3 else "ana"
        labels.append(new_label(row["decision_id"], verdict, who, **source,
                                scaffold_version=row["scaffold_version"]))  # fmt: skip
    for plan in plans:  # the original is good, its alternative bad: a pair
        labels.append(new_label(plan["decision_id"], "good", "ana"))
    for alt in alternatives:
        labels.append(new_label(alt.alternative_id, "bad", "ana", target_kind="alternative"))
    add_labels(root, labels)
    return root


def test_every_format_satisfies_its_consumer(labelled, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    made = export(labelled, tmp_path / "set", Selection(), list(FORMAT_NAMES), "ana")
    out = made.result.out_dir
    assert made.result.counts["examples"] > 5 and made.result.counts["pairs"] >= 1
    for path in out.iterdir():
        assert FAKE_KEY not in path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            loaded = datasets.load_dataset("json", data_files=str(path), split="train")
            assert len(loaded) > 0
    for line in (out / "openai_chat.jsonl").read_text().splitlines():
        messages = json.loads(line)["messages"]
        weighted = [m for m in messages if m.get("weight") == 1]
        assert len(weighted) == 1 and weighted[0] is messages[-1]
        roles = [m["role"] for m in messages if m["role"] != "system"]
        assert roles == ["user", "assistant"] * (len(roles) // 2)
        assert parse_completion(messages[-1]["content"]).action is None
        assert all(m["content"].strip() for m in messages)
    info = json.loads((out / "dataset_info.json").read_text())
    (entry,) = info.values()
    sharegpt = json.loads((out / entry["file_name"]).read_text())
    assert entry["columns"]["messages"] in sharegpt[0] and entry["columns"]["system"] in sharegpt[0]
    for line in (out / "trl_preference.jsonl").read_text().splitlines():
        pair = json.loads(line)
        assert pair["chosen"] != pair["rejected"] and pair["prompt"][-1]["role"] == "user"
    rows = read_prompt_completion(out)
    assert rows and all(r.completion[0]["role"] == "assistant" for r in rows)


def test_the_export_is_recorded_with_its_decisions_and_only_good_ones_are_targets(
    labelled, tmp_path
):
    made = export(
        labelled, tmp_path / "set", Selection(phases=("log",)), ["trl_prompt_completion"], "ana"
    )
    (row,) = [
        r for r in read_records(labelled, "exports").to_pylist() if r["export_id"] == made.export_id
    ]
    assert row["decision_ids"] == made.decisions and row["formats"] == ["trl_prompt_completion"]
    table = load_decisions(labelled).set_index("decision_id")
    assert set(table.loc[made.decisions, "label"]) == {"good"}
    assert all(made.export_id in table.loc[d, "exports"] for d in made.decisions)
    card = json.loads(row["card_json"])
    assert "phase in (log)" in row["selection"] and card["counts"]["examples"] == row["examples"]
