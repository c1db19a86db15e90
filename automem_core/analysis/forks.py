"""An episode's forks (``run/fork.py``): which episodes start from it, where, with which edit."""

from __future__ import annotations

import pandas as pd

from automem_core.run.fork_edit import parse_edit, render_edit

FORK_COLUMNS = ["episode_id", "run_id", "fork_step", "edit", "steps", "progression", "status"]


def edit_words(edit_json: object) -> str:
    """A fork's edit in words ('' for an episode that is no fork)."""
    if edit_json is None or (isinstance(edit_json, float) and edit_json != edit_json):
        return ""
    return render_edit(parse_edit(str(edit_json)))


def forks_of(episodes: pd.DataFrame, episode_id: str) -> pd.DataFrame:
    """The forks of ``episode_id`` among ``episodes`` (rows of ``analysis.runs.episodes_frame``),
    by fork step, each with its edit in words."""
    if episodes.empty or "parent_episode_id" not in episodes:
        return pd.DataFrame(columns=FORK_COLUMNS)
    found = episodes[episodes["parent_episode_id"] == episode_id].copy()
    found["edit"] = found["fork_edit_json"].map(edit_words)
    found["fork_step"] = found["fork_step"].astype("int64")
    return found.sort_values(["fork_step", "episode_id"])[FORK_COLUMNS].reset_index(drop=True)
