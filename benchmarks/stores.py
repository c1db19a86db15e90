"""Benchmark stores, built once and kept in a cache folder (they take minutes to make).

- ``played_store``: episodes of the fake game played by the real runner, in runs of 100.
- ``cloned_store``: a run of episodes played by the real runner, copied through the store's
  writer (``clone_episodes``) and compacted, then the compacted run copied under new run ids
  (``clone_run``) until the store holds the asked number of steps.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
logging.disable(logging.WARNING)

from automem_core.store.compact import compact_run  # noqa: E402
from automem_core.store.derive import add_derived  # noqa: E402
from automem_core.store.schema import SCHEMA_VERSION  # noqa: E402
from automem_core.testing.sample_store import (  # noqa: E402
    clone_episodes,
    clone_run,
    describe,
    play_fake_run,
)

PER_RUN = 100


def played_store(root: Path, episodes: int, steps: int = 50) -> Path:
    """``episodes`` played episodes of ``steps`` steps, 100 to a run (reused when present,
    upgraded as `automem upgrade` would)."""
    done = root / ".complete"
    if done.exists():
        add_derived(root)
        return root
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    for r in range(-(-episodes // PER_RUN)):
        seeds = range(r * PER_RUN, min(episodes, (r + 1) * PER_RUN))
        play_fake_run(root, seeds=seeds, steps=steps, run_id=f"r{r:04d}", workers=2)
        print(f"  played run {r + 1} of {-(-episodes // PER_RUN)}", flush=True)
    print(f"  played {episodes:,} episodes in {time.perf_counter() - t0:.0f} s")
    done.touch()
    return root


def cloned_store(root: Path, runs: int, steps: int = 1_000) -> Path:
    """``runs`` runs of 100 episodes of ``steps`` steps, all copies of one played episode
    (made again when an older schema wrote them: they hold every table the writer derives)."""
    done = root / ".complete"
    if done.exists() and done.read_text() == f"schema {SCHEMA_VERSION}":
        return root
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    play_fake_run(root, seeds=(0,), steps=steps, run_id="seed-run")
    clone_episodes(root, "seed-run.grid.s0", "c0000", PER_RUN)
    compact_run(root, "c0000")
    for r in range(1, runs):
        clone_run(root, "c0000", f"c{r:04d}")
    print(f"  made {describe(root)} in {time.perf_counter() - t0:.0f} s")
    done.write_text(f"schema {SCHEMA_VERSION}")
    return root
