"""Text reports over the store: the CLI's ``runs``, ``episodes`` and ``diagnostics`` tables.

They show the same numbers as the dashboard, from the same queries (``runs.py``,
``diagnostics.py``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from automem_core.analysis.diagnostics import load_diagnostics
from automem_core.analysis.runs import load_episodes, load_runs
from automem_core.analysis.summary import Summary, by_task, game_mean


def _failures(eps: pd.DataFrame) -> str:
    degraded = int((eps["status"] == "degraded").sum())
    failed = int(eps["status"].isin(["model_error", "error"]).sum())
    return f"degraded {degraded}, failed {failed} (not counted)" if degraded or failed else ""


def _line(label: str, summary: Summary, eps: pd.DataFrame) -> str:
    note = _failures(eps)
    return f"    {label:<28} {summary.render()}" + (f"  {note}" if note else "")


def render_runs_table(data: Path) -> str:
    runs = load_runs(data)
    if runs.empty:
        return f"no runs in {data}; try `automem demo --data {data}`"
    episodes = load_episodes(data)
    lines = []
    for r in runs.itertuples(index=False):
        eps = episodes[episodes["run_id"] == r.run]
        seed_set = f"  seeds {r.seed_set}" if r.seed_set else ""
        lines.append(
            f"{r.run}  [{r.status}]  scaffold {r.scaffold}  model {r.model}{seed_set}  "
            f"episodes {r.episodes}  tokens {r.tokens}"
        )
        ok = eps[eps["status"] == "ok"]
        tasks = by_task(zip(ok["task"], ok["progression"], strict=True))
        for task in sorted(set(eps["task"])):
            summary = tasks.get(task) or Summary(float("nan"), float("nan"), 0)
            lines.append(_line(task, summary, eps[eps["task"] == task]))
        lines.append(_line(f"{r.game} (mean of tasks)", game_mean(tasks), eps))
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
