"""Every query the dashboard makes, behind Streamlit's caches; pages import only this module.

Store-wide tables (:mod:`dashboard.store_queries`) come from DuckDB views over the published
Parquet (``automem_core.store``) and are keyed by a token of the published files and their mtimes,
so a finished episode of a run still in progress shows up on the next rerun. One episode's replay
(:mod:`dashboard.episode_queries`) reads that episode's own files: its steps and memory ops once
(cached), and per step only the row groups that hold the step (turns, frames) plus the memory
rebuilt from the nearest keyframe, so a step change costs the same in a 1 000- and a 100 000-step
episode.
"""

from dashboard.episode_queries import (
    MAX_BINS,
    OP_COLUMNS,
    READ_KINDS,
    STEP_COLUMNS,
    WRITE_KINDS,
    EpisodeData,
    MemoryView,
    episode_mtime,
    forget_steps,
    frame_at,
    load_episode,
    memory_at_step,
    read_step_rows,
    turns_at,
)
from dashboard.store_queries import (
    REPO,
    clear_caches,
    data_root,
    episodes_table,
    file_growth,
    op_stats,
    progression_by_version,
    rerun_if_changed,
    runs_table,
    seed_demo,
    store_token,
)

__all__ = [
    "MAX_BINS",
    "OP_COLUMNS",
    "READ_KINDS",
    "REPO",
    "STEP_COLUMNS",
    "WRITE_KINDS",
    "EpisodeData",
    "MemoryView",
    "clear_caches",
    "data_root",
    "episode_mtime",
    "episodes_table",
    "file_growth",
    "forget_steps",
    "frame_at",
    "load_episode",
    "memory_at_step",
    "op_stats",
    "progression_by_version",
    "read_step_rows",
    "rerun_if_changed",
    "runs_table",
    "seed_demo",
    "store_token",
    "turns_at",
]
