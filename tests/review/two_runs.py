"""A store with a reviewed run and another one, each with rows in every record table, and a
canary file outside the store: what the reviewer must see, and what it must never see."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from automem_core.mining.labels import add_labels, new_label
from automem_core.mining.mine import mine
from automem_core.store.record_rows import (
    AlternativeRow,
    EvaluationRow,
    ExportRow,
    ProposalRow,
    TrainingRow,
)
from automem_core.store.records import append_records, read_records
from automem_core.store.schema import utc_now
from automem_core.testing.sample_store import play_fake_run

CANARY = "automem-canary-5b1e"
OTHER_NOTE = f"a person's note on the other run {CANARY}"


@dataclass(frozen=True)
class TwoRuns:
    root: Path
    outside: Path  # a folder beside the store, holding a canary file
    reviewed: str = "rev"
    other: str = "other"


def _alternative(decision_id: str, i: int, text: str) -> AlternativeRow:
    return AlternativeRow(
        alternative_id=f"{decision_id}#alt{i}", decision_id=decision_id, model="m", sample=i,
        completion=text, results_json="[]", tokens_in=1, tokens_out=1, cost_usd=0.0,
        created_at=utc_now(),
    )  # fmt: skip


def _loop_records(root: Path, run_id: str, folder: Path) -> None:
    """A proposal, an evaluation, an export and a training that concern ``run_id`` and name
    folders of the machine."""
    now = utc_now()
    citations = f'[{{"episode_id": "{run_id}.grid.s0", "step": 1, "shows": "{CANARY}"}}]'
    append_records(root, "proposals", [ProposalRow(
        proposal_id=f"p-{run_id}", event="proposed", parent_version="fake@00000000",
        candidate_version=None, summary=CANARY, rationale=CANARY, patch_json="[]",
        citations_json=citations, expected_effect="", reason="", raw_output="",
        reviewer="embedded", author="someone", review_runs=[run_id], same_seeds=False,
        tokens_in=0, tokens_out=0, calls=0, tool_calls=0, cost_usd=0.0, created_at=now,
    )])  # fmt: skip
    append_records(root, "evaluations", [EvaluationRow(
        evaluation_id=f"e-{run_id}", proposal_id=f"p-{run_id}", version="v", parent_version="p",
        seed_set="gating", run_id=run_id, parent_run_id=run_id, rule="strict", pairs=1,
        dropped_pairs=0, mean=1.0, parent_mean=0.0, delta=1.0, delta_stderr=0.0, delta_low=0.0,
        delta_high=1.0, degraded=0, parent_degraded=0, verdict="reported", reason=CANARY,
        pairs_json="[]", created_at=now,
    )])  # fmt: skip
    append_records(root, "exports", [ExportRow(
        export_id=f"x-{run_id}", out_dir=str(folder), formats=["openai"], selection=CANARY,
        decision_ids=[], examples=0, pairs=0, card_json="{}", author="someone", created_at=now,
    )])  # fmt: skip
    append_records(root, "trainings", [TrainingRow(
        training_id=f"t-{run_id}", export_id=f"x-{run_id}", export_dir=str(folder),
        backend="trl", base_model="m", recipe_json="{}", status="finished", job_id=None,
        steps=1, final_loss=None, heldout_loss_before=None, heldout_loss_after=None,
        adapter_path=str(folder / "adapter"), wall_s=0.0, created_at=now, examples=0,
        out_dir=str(folder), error=None,
    )])  # fmt: skip


def make_two_runs(base: Path) -> TwoRuns:
    """Runs ``rev`` (reviewed) and ``other`` under ``base/data``, a canary in ``base/outside``."""
    root, outside = base / "data", base / "outside"
    outside.mkdir()
    (outside / "canary.txt").write_text(f"{CANARY}\n")
    play_fake_run(root, seeds=(0, 1), steps=20, run_id="rev")
    play_fake_run(root, seeds=(0,), steps=10, run_id="other")
    for run_id in ("rev", "other"):
        mine(root, [run_id])
    decisions = read_records(root, "decisions").to_pylist()
    labels, alternatives = [], []
    for run_id in ("rev", "other"):
        ids = [d["decision_id"] for d in decisions if d["run_id"] == run_id][:3]
        note = OTHER_NOTE if run_id == "other" else "a person's note on the reviewed run"
        labels += [new_label(d, "good", "someone", note=note) for d in ids]
        alternatives += [_alternative(d, 0, f"an alternative for {run_id}") for d in ids]
        _loop_records(root, run_id, outside / run_id)
    append_records(root, "alternatives", alternatives)
    labels.append(
        new_label(alternatives[-1].alternative_id, "bad", "someone", note=OTHER_NOTE,
                  target_kind="alternative")
    )  # fmt: skip
    add_labels(root, labels)
    return TwoRuns(root, outside)
