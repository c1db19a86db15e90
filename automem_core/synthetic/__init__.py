"""Realistic synthetic episodes written through the real store, for tests and benchmarks.

A scripted agent (:mod:`.player`) walks a small generated world (:mod:`.world`) and answers every
LOG and PLAN turn in the real op syntax; the completions go through the real parser, ops run
against a real :class:`MemoryFiles` folder, rows are made by the real :class:`StepRecorder` and
published by the real :class:`EpisodeWriter` (:mod:`.episodes`) with keyframes and frames
(Crafter-like PNGs, NetHack-like 24×80 tty). Everything is seeded, so the same arguments write the
same store. Two agent-written lines that a viewer must show literally are appended to ``notes`` at
fixed steps: :data:`SCRIPT_LINE` and :data:`BOLD_LINE`.
"""

from automem_core.synthetic.episodes import (
    synthetic_episode_id,
    write_sample_store,
    write_synthetic_episode,
    write_synthetic_run,
)
from automem_core.synthetic.games import DEFAULT_TASKS, GAMES, GameSpec
from automem_core.synthetic.player import (
    BOLD_LINE,
    BOLD_STEP,
    CLIENT,
    SCRIPT_LINE,
    SCRIPT_STEP,
    ScriptedEpisode,
)
from automem_core.synthetic.world import MOVES, World

__all__ = [
    "BOLD_LINE",
    "BOLD_STEP",
    "CLIENT",
    "DEFAULT_TASKS",
    "GAMES",
    "MOVES",
    "SCRIPT_LINE",
    "SCRIPT_STEP",
    "GameSpec",
    "ScriptedEpisode",
    "World",
    "synthetic_episode_id",
    "write_sample_store",
    "write_synthetic_episode",
    "write_synthetic_run",
]
