"""Text reports over the store: the CLI's ``runs``, ``episodes`` and ``diagnostics`` tables.

They show the same numbers as the dashboard, from the same queries (``runs.py``,
``diagnostics.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from automem_core.analysis.diagnostics import load_diagnostics
from automem_core.analysis.runs import (
    load_episodes,
    run_rows,
    runs_frame,
    task_stats,
    task_summaries,
)
from automem_core.analysis.summary import Summary, game_mean
from automem_core.store.layout import no_runs_hint
from automem_core.store.reader import query_store


def _line(label: str, summary: Summary, part: list[dict[str, Any]]) -> str:
    degraded = sum(int(r["degraded"]) for r in part)
    failed = sum(int(r["failed"]) for r in part)
    note = f"  degraded {degraded}, failed {failed} (not counted)" if degraded or failed else ""
    return f"    {label:<28} {summary.render()}{note}"


def render_runs_table(data: Path) -> str:
    """Per run: its settings, then each task's clean progression and the game's (the mean of
    its tasks), with the degraded and failed episodes counted beside them."""

    def query(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
        stats = task_stats(con)
        return runs_frame(run_rows(con), stats), stats

    runs, stats = query_store(data, query, tables=("runs", "episodes"))
    if runs.empty:
        return no_runs_hint(data)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in stats.to_dict("records"):
        groups.setdefault(str(row["run_id"]), []).append(row)
    lines = []
    for r in runs.itertuples(index=False):
        part = groups.get(str(r.run), [])
        seed_set = f"  seeds {r.seed_set}" if r.seed_set else ""
        lines.append(
            f"{r.run}  [{r.status}]  scaffold {r.scaffold}  model {r.model}{seed_set}  "
            f"episodes {r.episodes}  tokens {r.tokens}"
        )
        tasks = task_summaries(part)
        for task, summary in tasks.items():
            lines.append(_line(task, summary, [row for row in part if row["task"] == task]))
        clean = {t: s for t, s in tasks.items() if s.n}
        lines.append(_line(f"{r.game} (mean of tasks)", game_mean(clean), part))
    return "\n".join(lines)


def render_episodes_table(data: Path, run_id: str | None = None) -> str:
    """One line per episode (optionally of one run): id, status, steps, progression, error."""
    rows = load_episodes(data, run_id)
    if rows.empty:
        scope = f"run {run_id!r}" if run_id else str(data)
        return f"no episodes in {scope}; see `automem runs --data {data}`"
    lines = [f"{'episode':<60} {'status':<11} {'steps':>6} {'progression':>11}  failed calls"]
    for e in rows.itertuples(index=False):
        lines.append(
            f"{e.episode_id:<60} {e.status:<11} {e.steps:>6} {100 * e.progression:>10.1f}%"
            f"  {e.failed_calls}/{e.llm_calls}"
        )
        if isinstance(e.error, str) and e.error:
            lines.append(f"    error: {e.error}")
    return "\n".join(lines)


def render_diagnostics(data: Path, run_id: str | None = None) -> str:
    """Per run: the diagnostics summed over its episodes, ops per step, and file growth."""
    tables = load_diagnostics(data, run_id)
    runs, growth = tables["runs"], tables["file_growth"]
    if runs.empty:
        scope = f"run {run_id!r}" if run_id else str(data)
        return f"no episodes in {scope}; see `automem runs --data {data}`"
    out = []
    for row in runs.to_dict("records"):
        run = row.pop("run")
        out.append(run)
        for key, value in row.items():
            shown = f"{value:.3f}" if key.endswith("/step") else f"{value:g}"
            out.append(f"    {key:<28} {shown}")
        for f in growth[growth["run"] == run].to_dict("records"):
            out.append(
                f"    file {f['file']:<23} {f['lines at start']:g} -> {f['lines at end']:g} lines"
                f" ({f['per 100']:+g} per 100 steps)"
            )
    return "\n".join(out)
