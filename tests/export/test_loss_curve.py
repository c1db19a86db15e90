from __future__ import annotations

import csv
import json
from pathlib import Path

from PIL import Image

from automem_core.export.loss_curve import LossPoint, points_from_log_history, write_loss_curve


def test_points_from_log_history_keeps_train_and_eval_losses() -> None:
    history = [
        {"loss": 2.5, "step": 1, "learning_rate": 1e-4},
        {"loss": 2.0, "step": 2},
        {"eval_loss": 1.9, "step": 2},
        {"train_runtime": 3.0, "step": 2},
    ]
    assert points_from_log_history(history) == [
        LossPoint(1, "train", 2.5),
        LossPoint(2, "train", 2.0),
        LossPoint(2, "held_out", 1.9),
    ]


def test_write_loss_curve_writes_csv_json_and_png(tmp_path: Path) -> None:
    points = [LossPoint(0, "held_out", 3.0), LossPoint(1, "train", 2.8), LossPoint(2, "train", 2.1)]
    paths = write_loss_curve(points, tmp_path)
    assert [p.name for p in paths] == ["loss_curve.csv", "loss_curve.json", "loss_curve.png"]
    with paths[0].open() as fh:
        assert list(csv.reader(fh)) == [
            ["step", "split", "loss"],
            ["0", "held_out", "3"],
            ["1", "train", "2.8"],
            ["2", "train", "2.1"],
        ]
    assert json.loads(paths[1].read_text())[2] == {"step": 2, "split": "train", "loss": 2.1}
    image = Image.open(paths[2])
    assert image.size == (640, 360)
    colours = {c for _, c in image.getcolors(maxcolors=100_000) or []}
    assert (31, 119, 180) in colours  # the train line is drawn


def test_write_loss_curve_without_points_skips_png(tmp_path: Path) -> None:
    assert [p.name for p in write_loss_curve([], tmp_path)] == ["loss_curve.csv", "loss_curve.json"]
