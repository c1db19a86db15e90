"""Every query the dashboard makes, behind Streamlit's caches; pages import only this module.

Store-wide tables (:mod:`dashboard.store_queries`) come from DuckDB views over the published
Parquet (``automem_core.store``). The heavy ones are keyed by a token of the published episode
files and their mtimes (:func:`episodes_token`), so a finished episode of a run still in progress
shows up on the next rerun while a live run's heartbeat leaves them cached; the runs table is keyed
by the whole store's token (:func:`store_token`). One episode's replay
(:mod:`dashboard.episode_queries`) reads that episode's own files: its steps and memory ops once
(cached), and per step only the row groups that hold the step (turns, frames) plus the memory
rebuilt from the nearest keyframe, so a step change costs the same in a 1 000- and a 100 000-step
episode.
"""

from dashboard.episode_queries import (
    MAX_BINS,
    OP_COLUMNS,
    READ_ERRORS,
    READ_KINDS,
    STEP_COLUMNS,
    EpisodeData,
    MemoryView,
    episode_mtime,
    forget_steps,
    frame_at,
    load_episode,
    memory_at_step,
    read_error,
    read_step_rows,
    turns_at,
)
from dashboard.store_queries import (
    REPO,
    STALE_AFTER_S,
    clear_caches,
    data_root,
    effective_status,
    episodes_table,
    episodes_token,
    file_growth,
    op_stats,
    progression_by_version,
    rerun_if_changed,
    runs_table,
    runs_token,
    seed_demo,
    stale_at,
    store_problems,
    store_token,
)

__all__ = [
    "MAX_BINS",
    "OP_COLUMNS",
    "READ_ERRORS",
    "READ_KINDS",
    "REPO",
    "STALE_AFTER_S",
    "STEP_COLUMNS",
    "EpisodeData",
    "MemoryView",
    "clear_caches",
    "data_root",
    "effective_status",
    "episode_mtime",
    "episodes_table",
    "episodes_token",
    "file_growth",
    "forget_steps",
    "frame_at",
    "load_episode",
    "memory_at_step",
    "op_stats",
    "progression_by_version",
    "read_error",
    "read_step_rows",
    "rerun_if_changed",
    "runs_table",
    "runs_token",
    "seed_demo",
    "stale_at",
    "store_problems",
    "store_token",
    "turns_at",
]
