"""The stress scenario (``automem_core/testing/stress.py``) run longer: a run with workers killed
and resumed, ``automem compact`` and label merges killed half-way, labellers appending, and the
CLI, the store's readers and the Overview and Replay pages reading, all at once on one store.

Prints what happened (kills survived, compactions and merges killed, labels written and found,
reads, page loads) and what went wrong (reader errors, final check problems); exits 1 if anything
did. A benchmark of robustness rather than speed: the baseline is the scenario's own count of
what was written, against which everything found is compared.

    python benchmarks/stress.py [--seed 1] [--seconds 180] [--kills 12] [--episodes 120]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automem_core.testing.stress import Page, StressConfig, run_stress  # noqa: E402


def load_pages() -> Page:
    """The pages the tests open (tests/dashboard/apptest.py), loaded by path: another
    installed package may own the name ``tests``."""
    path = ROOT / "tests" / "dashboard" / "apptest.py"
    spec = importlib.util.spec_from_file_location("stress_apptest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pages: Page = module.open_pages
    return pages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--kills", type=int, default=12)
    ap.add_argument("--episodes", type=int, default=120)
    ap.add_argument("--labellers", type=int, default=3)
    ap.add_argument("--labels-each", type=int, default=400)
    ap.add_argument("--no-pages", action="store_true", help="leave the dashboard out")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # Streamlit's "no runtime" notes outside a server
    cfg = StressConfig(
        seed=args.seed,
        seconds=args.seconds,
        episodes=args.episodes,
        kills=args.kills,
        labellers=args.labellers,
        labels_each=args.labels_each,
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        os.environ["AUTOMEM_DATA"] = str(root)
        pages = None if args.no_pages else load_pages()
        print(f"stress, seed {args.seed}, {args.seconds:.0f}s of churn: {cfg}", flush=True)
        report = run_stress(root, cfg, pages)

    print(report.render())
    print("every episode and label exactly once, no reader error" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
