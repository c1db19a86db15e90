"""The loss curve of a training run: a CSV and JSON of points and a small PNG chart.

Points come from the trainer's log history: ``train`` losses per logged step and ``held_out``
losses measured before (step 0) and after training. The PNG is drawn with Pillow, which the
project already depends on, so no plotting library is needed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Split = Literal["train", "held_out"]
_SIZE = (640, 360)
_MARGIN = (56, 20, 20, 36)  # left, top, right, bottom
_COLOURS: dict[str, tuple[int, int, int]] = {"train": (31, 119, 180), "held_out": (214, 39, 40)}


@dataclass(frozen=True)
class LossPoint:
    step: int
    split: Split
    loss: float


def points_from_log_history(history: Iterable[Mapping[str, Any]]) -> list[LossPoint]:
    """Train losses (``loss``) and eval losses (``eval_loss``) from a ``Trainer`` log history."""
    points: list[LossPoint] = []
    for entry in history:
        step = int(entry.get("step", 0))
        if "loss" in entry:
            points.append(LossPoint(step, "train", float(entry["loss"])))
        if "eval_loss" in entry:
            points.append(LossPoint(step, "held_out", float(entry["eval_loss"])))
    return points


def write_loss_curve(points: Sequence[LossPoint], folder: Path, *, png: bool = True) -> list[Path]:
    """Write ``loss_curve.csv``, ``loss_curve.json`` and (optionally) ``loss_curve.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / "loss_curve.csv", folder / "loss_curve.json"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "split", "loss"])
        writer.writerows((p.step, p.split, f"{p.loss:.6g}") for p in points)
    json_path.write_text(json.dumps([asdict(p) for p in points], indent=1), encoding="utf-8")
    written = [csv_path, json_path]
    if png and points:
        png_path = folder / "loss_curve.png"
        render_loss_png(points).save(png_path)
        written.append(png_path)
    return written


def render_loss_png(points: Sequence[LossPoint]) -> Any:
    """A line per split on loss-vs-step axes, as a Pillow image."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", _SIZE, "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = _MARGIN
    width, height = _SIZE[0] - left - right, _SIZE[1] - top - bottom
    steps = [p.step for p in points]
    losses = [p.loss for p in points]
    x0, x1 = min(steps), max(max(steps), min(steps) + 1)
    y0, y1 = min(losses), max(losses)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def xy(p: LossPoint) -> tuple[float, float]:
        x = left + (p.step - x0) / (x1 - x0) * width
        y = top + (1 - (p.loss - y0) / (y1 - y0)) * height
        return x, y

    draw.rectangle([left, top, left + width, top + height], outline=(120, 120, 120))
    draw.text((4, top), f"{y1:.3g}", fill="black")
    draw.text((4, top + height - 10), f"{y0:.3g}", fill="black")
    draw.text((left, top + height + 6), f"step {x0}", fill="black")
    draw.text((left + width - 60, top + height + 6), f"step {x1}", fill="black")
    for i, (split, colour) in enumerate(_COLOURS.items()):
        line = [xy(p) for p in points if p.split == split]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for x, y in line:
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        draw.text((left + width - 90, top + 6 + 14 * i), split, fill=colour)
    return image
