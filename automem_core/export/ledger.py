"""The training ledger: every training of a memory specialist, as append-only ``trainings`` rows.

A training is recorded when it starts (``running``) and again when it ends (``finished`` with its
steps, losses and adapter, or ``failed`` with the reason); the latest row per training is its
state. Runs that evaluate a specialist carry its ``training_id``, and a run may not play seeds
the specialist's export was mined from: that would measure memorisation, not memory.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from automem_core.errors import AutoMemError
from automem_core.export.examples import read_card
from automem_core.export.openai_finetune import FineTuneResult
from automem_core.export.recipe import Recipe
from automem_core.export.train_lora import TrainingResult
from automem_core.store import current
from automem_core.store.current import latest_sql
from automem_core.store.reader import query_store
from automem_core.store.record_rows import TrainingRow
from automem_core.store.records import append_records
from automem_core.store.schema import utc_now

LATEST_SQL = f"SELECT * FROM ({latest_sql('trainings')}) ORDER BY created_at"


class LedgerError(AutoMemError, ValueError):
    """A training or an evaluation the ledger refuses; the message says how to fix it."""


def _export_id(root: Path, export_dir: Path) -> str | None:
    """The recorded export written to ``export_dir`` (the newest), if any."""
    found = query_store(
        root,
        lambda con: con.execute(
            "SELECT export_id FROM exports WHERE out_dir = ? ORDER BY created_at DESC LIMIT 1",
            [str(export_dir.resolve())],
        ).fetchall(),
        tables=("exports",),
    )
    return str(found[0][0]) if found else None


def start_training(
    root: Path, export_dir: Path, recipe: Recipe, backend: str, examples: int
) -> TrainingRow:
    """Record a training as ``running`` and return its row."""
    row = TrainingRow(
        training_id=f"t-{uuid.uuid4().hex[:10]}",
        export_id=_export_id(root, export_dir),
        export_dir=str(export_dir.resolve()),
        backend=backend,
        base_model=recipe.base_model,
        recipe_json=json.dumps(recipe.public_dict(), sort_keys=True),
        status="running",
        job_id=None,
        steps=0,
        final_loss=None,
        heldout_loss_before=None,
        heldout_loss_after=None,
        adapter_path=None,
        wall_s=0.0,
        created_at=utc_now(),
        examples=examples,
        out_dir=None,
        error=None,
    )
    append_records(root, "trainings", [row])
    return row


def finish_lora(root: Path, row: TrainingRow, result: TrainingResult, out_dir: Path) -> TrainingRow:
    """Record a finished LoRA training: steps, losses, adapter, wall time."""
    done = replace(
        row,
        status="finished",
        steps=result.steps,
        final_loss=result.final_train_loss,
        heldout_loss_before=result.held_out_loss_before,
        heldout_loss_after=result.held_out_loss_after,
        adapter_path=str(result.adapter_dir),
        wall_s=round(result.wall_time_s, 1),
        out_dir=str(out_dir),
        created_at=utc_now(),
    )
    append_records(root, "trainings", [done])
    return done


def finish_openai(root: Path, row: TrainingRow, result: FineTuneResult) -> TrainingRow:
    """Record an OpenAI fine-tuning job as it stands (finished or still going)."""
    done = replace(
        row,
        status=result.status,
        job_id=result.job_id,
        adapter_path=result.fine_tuned_model,
        wall_s=round(result.elapsed_s, 1),
        error=result.error,
        created_at=utc_now(),
    )
    append_records(root, "trainings", [done])
    return done


def fail_training(root: Path, row: TrainingRow, error: str, started: float) -> TrainingRow:
    failed = replace(
        row,
        status="failed",
        error=error.splitlines()[0] if error else "failed",
        wall_s=round(time.monotonic() - started, 1),
        created_at=utc_now(),
    )
    append_records(root, "trainings", [failed])
    return failed


def load_trainings(root: Path) -> pd.DataFrame:
    """Every training's latest row (its state), oldest first."""
    return query_store(root, lambda con: con.execute(LATEST_SQL).df(), tables=("trainings",))


def training(root: Path, training_id: str) -> TrainingRow:
    found: TrainingRow | None = current.latest(root, "trainings", training_id=training_id)
    if found is None:
        raise LedgerError(f"no training {training_id!r}; list them with `automem trainings`")
    return found


def mined_seeds(export_dir: Path) -> dict[str, list[int]]:
    """Per game, the seeds of the episodes the export's examples came from (its card)."""
    card = read_card(export_dir)
    seeds = card.get("seeds", {})
    by_game = seeds.get("by_game") or {str(card.get("game", "")): seeds.get("traces", [])}
    return {str(game): [int(s) for s in seeds] for game, seeds in by_game.items()}


def check_evaluation_seeds(
    root: Path, training_id: str, game: str, seeds: Iterable[int]
) -> TrainingRow:
    """Refuse to evaluate a specialist on seeds its export was mined from; its ledger row."""
    row = training(root, training_id)
    if row.status not in ("finished", "succeeded"):
        raise LedgerError(f"training {training_id} is {row.status}; evaluate a finished one")
    shared = sorted(set(seeds) & set(mined_seeds(Path(row.export_dir)).get(game, [])))
    if shared:
        listed = ", ".join(map(str, shared[:8])) + (" …" if len(shared) > 8 else "")
        raise LedgerError(
            f"training {training_id} learned from {game} seeds {listed}; evaluate it on other "
            "seeds (its export's card lists them)"
        )
    return row
