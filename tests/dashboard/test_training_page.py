"""The Training page: the ledger, one training's loss curve and export, and the runs that
evaluated it beside the base model's runs on the same seeds."""

from __future__ import annotations

from pathlib import Path

from automem_core.export.ledger import fail_training, finish_lora, start_training
from automem_core.export.loss_curve import LossPoint, write_loss_curve
from automem_core.export.recipe import default_recipe
from automem_core.export.train_lora import TrainingResult
from automem_core.testing.sample_store import play_fake_run
from tests.dashboard.apptest import open_app
from tests.export.export_fixture import make_export


def _ledger(root: Path, tmp: Path) -> str:
    export = make_export(tmp / "export", n=20)
    recipe = default_recipe("crafter")
    row = start_training(root, export, recipe, "trl", 20)
    out = tmp / "training"
    points = [LossPoint(0, "held_out", 3.0), LossPoint(5, "train", 2.0),
              LossPoint(10, "train", 1.0), LossPoint(10, "held_out", 1.5)]  # fmt: skip
    curve = write_loss_curve(points, out, png=False)
    result = TrainingResult(10, 1.0, 3.0, 1.5, out / "adapter", curve[0], 12.0, 12, 8,
                            recipe.base_model)  # fmt: skip
    finish_lora(root, row, result, out)
    failed = start_training(root, export, recipe, "trl", 20)
    fail_training(root, failed, "out of memory on the GPU\nTraceback …", 0.0)
    return row.training_id


def test_training_page_shows_ledger_curve_and_evaluations(tmp_path, monkeypatch):
    root = tmp_path / "data"
    training_id = _ledger(root, tmp_path)
    play_fake_run(root, seeds=(5, 6), steps=6, run_id="base")
    play_fake_run(root, seeds=(5, 6), steps=6, run_id="specialist", training_id=training_id)
    play_fake_run(root, seeds=(8,), steps=6, run_id="other-seeds")
    at = open_app(root, monkeypatch)
    at.switch_page("training/view.py").run()
    assert not at.exception
    ledger = at.dataframe[0].value
    assert list(ledger["status"]) == ["finished", "failed"]
    # the newest training is shown first: the failed one, with its one-line reason
    assert [e.value for e in at.error] == ["out of memory on the GPU"]
    at.selectbox(key="training.pick").select(training_id).run()
    assert not at.error
    assert at.get("plotly_chart"), "the loss curve"
    said = " ".join(m.value for m in at.markdown)
    assert "20 examples" in said and "mined from seeds crafter:" in said
    runs = at.dataframe[1].value.set_index("run")
    assert dict(runs["role"]) == {"specialist": "specialist", "base": "base"}
    assert runs.loc["specialist", "seeds"] == "5,6" and runs.loc["specialist", "clean"] == 2
    assert runs.loc["base", "progression"] == runs.loc["specialist", "progression"]  # same player


def test_training_page_without_trainings_says_how_to_train(tmp_path, monkeypatch):
    play_fake_run(tmp_path, steps=3)
    at = open_app(tmp_path, monkeypatch)
    at.switch_page("training/view.py").run()
    assert any("automem train EXPORT_DIR" in i.value for i in at.info)
