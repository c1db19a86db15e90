"""Text reports over the store (the CLI's ``runs`` table)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from automem_core.metrics import Summary, by_task, game_mean
from automem_core.store.reader import connect


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    game: str
    scaffold_id: str
    client: str
    status: str
    episodes: int
    planned: int
    errors: int
    tokens: int
    tasks: dict[str, Summary]
    overall: Summary  # the game's progression: mean of the task means


def summarise_runs(data: Path) -> list[RunSummary]:
    con = connect(data)
    runs = con.execute(
        "SELECT run_id, game, scaffold_id, memory_client, status, episodes_planned "
        "FROM runs ORDER BY created_at"
    ).fetchall()
    episodes = con.execute(
        "SELECT run_id, task, progression, status, tokens_in + tokens_out FROM episodes"
    ).fetchall()
    out = []
    for run_id, game, scaffold_id, client, status, planned in runs:
        eps = [e for e in episodes if e[0] == run_id]
        ok = [(e[1], e[2]) for e in eps if e[3] == "ok"]
        tasks = by_task(ok)
        out.append(
            RunSummary(
                run_id=run_id,
                game=game,
                scaffold_id=scaffold_id,
                client=client,
                status=status,
                episodes=len(eps),
                planned=planned,
                errors=sum(1 for e in eps if e[3] != "ok"),
                tokens=sum(int(e[4]) for e in eps),
                tasks=tasks,
                overall=game_mean(tasks),
            )
        )
    con.close()
    return out


def render_runs_table(data: Path) -> str:
    runs = summarise_runs(data)
    if not runs:
        return f"no runs in {data}; try `automem demo --data {data}`"
    lines = []
    for r in runs:
        lines.append(
            f"{r.run_id}  [{r.status}]  scaffold {r.scaffold_id}  model {r.client}  "
            f"episodes {r.episodes}/{r.planned}  errors {r.errors}  tokens {r.tokens}"
        )
        for task, s in r.tasks.items():
            lines.append(f"    {task:<24} {s.render()}")
        lines.append(f"    {r.game + ' (mean of tasks)':<24} {r.overall.render()}")
    return "\n".join(lines)


def render_episodes_table(data: Path, run_id: str | None = None) -> str:
    """One line per episode (optionally of one run): id, status, steps, progression, error."""
    con = connect(data)
    where, params = ("WHERE run_id = ?", [run_id]) if run_id else ("", [])
    rows = con.execute(
        "SELECT episode_id, status, steps, progression, error FROM episodes "
        f"{where} ORDER BY episode_id",
        params,
    ).fetchall()
    con.close()
    if not rows:
        scope = f"run {run_id!r}" if run_id else str(data)
        return f"no episodes in {scope}; see `automem runs --data {data}`"
    lines = [f"{'episode':<60} {'status':<6} {'steps':>6} {'progression':>11}"]
    for eid, status, steps, progression, error in rows:
        lines.append(f"{eid:<60} {status:<6} {steps:>6} {100 * progression:>10.1f}%")
        if error:
            lines.append(f"    error: {error}")
    return "\n".join(lines)
