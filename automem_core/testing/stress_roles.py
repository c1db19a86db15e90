"""The processes of the stress scenario (``stress.py``), each a real process doing what people and
commands do to a store: ``python -m automem_core.testing.stress_roles <role> …``.

- ``run DATA RUN_ID SEEDS STEPS WORKERS``: ``automem run`` of the fake game with worker processes;
- ``label DATA NAME COUNT SEED``: a person labelling COUNT decisions one append at a time (each
  append may merge the table), writing after each how many are committed (``NAME.count``);
- ``merge DATA``: a merge of the labels into one file, as ``automem compact`` does.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from automem_core.store.record_merge import merge_records
from automem_core.store.record_rows import LabelRow, Verdict
from automem_core.store.records import append_records

VERDICTS: tuple[Verdict, ...] = ("good", "bad", "unsure")
PROGRESS = "stress-progress"  # beside the store: one file per labeller, its committed count


def label_id(name: str, i: int) -> str:
    return f"{name}-{i:05d}"


def progress_file(root: Path, name: str) -> Path:
    return Path(root).parent / PROGRESS / f"{name}.count"


def committed(root: Path) -> int:
    """Labels the labellers have committed so far (read before a read: its lower bound)."""
    folder = Path(root).parent / PROGRESS
    total = 0
    for path in folder.glob("*.count") if folder.is_dir() else ():
        text = path.read_text(encoding="utf-8").strip()
        total += int(text) if text.isdigit() else 0
    return total


def _write_count(path: Path, n: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(str(n), encoding="utf-8")
    os.replace(tmp, path)


def label(root: Path, name: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    out = progress_file(root, name)
    out.parent.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        verdict = VERDICTS[rng.randrange(len(VERDICTS))]
        row = LabelRow(label_id(name, i), "decision", f"d{rng.randrange(200)}", verdict, "", name,
                       "human", "fake-v0@1", 0, 0, 0.0, f"{time.time():.6f}")  # fmt: skip
        append_records(root, "labels", [row])
        _write_count(out, i + 1)
        time.sleep(rng.uniform(0.0, 0.01))


def run(root: Path, run_id: str, seeds: str, steps: str, workers: str) -> int:
    import automem_core.testing.fake_game  # noqa: F401  (registers the game here and in workers)
    from automem_core.cli import main

    return main(["run", "--game", "fake", "--tasks", "grid", "--seeds", seeds, "--max-steps",
                 steps, "--workers", workers, "--concurrency", "4", "--run-id", run_id,
                 "--quiet", "--data", str(root)])  # fmt: skip


def main(argv: list[str]) -> int:
    role, root, rest = argv[0], Path(argv[1]), argv[2:]
    if role == "run":
        return run(root, *rest)
    if role == "label":
        label(root, rest[0], int(rest[1]), int(rest[2]))
        return 0
    if role == "merge":
        merge_records(root, "labels", full=True)
        return 0
    raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
