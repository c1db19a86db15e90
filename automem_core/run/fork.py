"""Forks: an episode's game rebuilt at step T, its memory as it was then (edited), played on.

A fork is an episode of a *fork run*, stored like any other (same tables, same replay), with
``parent_episode_id``, ``fork_step`` and ``fork_edit_json`` set. Its steps start at T (the
parent holds the steps before); its first keyframe, at T - 1, is the memory it started with.
This module settles what a fork run will play (:func:`load_parent`, :func:`resolve_edit`,
:func:`plan_forks`); ``fork_play.py`` plays it. The replay to T uses the raw game, with no model
and no logging (``fork_replay.py``); the memory is rebuilt from the log (``fork_memory.py``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc

from automem_core.errors import AutoMemError
from automem_core.llm.config import ModelConfig, parse_model_config
from automem_core.run.fork_edit import (
    NO_EDIT,
    ForkEdit,
    ForkEditError,
    alternative,
    drop,
    parse_edit_flag,
    patch,
    to_json,
)
from automem_core.scaffold import Scaffold, load_version, resolve_scaffold
from automem_core.store.catalog import EpisodeFiles, locate_episode
from automem_core.store.layout import check_id
from automem_core.store.reader import query_store
from automem_core.store.records import read_records


class ForkError(AutoMemError, ValueError):
    """A fork that cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Parent:
    """The episode a fork starts from: where its rows are, its row, and its run's row."""

    found: EpisodeFiles
    episode: dict[str, Any]
    run: dict[str, Any]

    @property
    def episode_id(self) -> str:
        return self.found.episode_id

    @property
    def steps(self) -> int:
        return int(self.episode["steps"])

    @property
    def version(self) -> str:
        return f"{self.episode['scaffold_id']}@{str(self.episode['scaffold_hash'])[:8]}"


@dataclass(frozen=True)
class ForkJob:
    """One fork to play: its episode id, parent, step, edit and horizon (at most that many
    steps, fewer when the game ends)."""

    fork_id: str
    parent: Parent
    step: int
    edit: ForkEdit
    horizon: int


@dataclass(frozen=True)
class ForkSetup:
    """What a fork run plays with (every fork of the run alike)."""

    run_id: str
    game: str
    scaffold: Scaffold
    model: ModelConfig
    action_model: ModelConfig | None = None
    model_error_threshold: float = 0.1


def load_parent(root: Path, episode_id: str) -> Parent:
    """The episode and its run's row (StoreError when the episode is not in the store)."""
    found = locate_episode(root, episode_id)

    def rows(con: duckdb.DuckDBPyConnection, sql: str, key: str) -> list[dict[str, Any]]:
        result = con.execute(sql, [key])
        names = [d[0] for d in result.description or ()]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def query(con: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (
            rows(con, "SELECT * FROM episodes WHERE episode_id = ?", episode_id),
            rows(con, "SELECT * FROM runs WHERE run_id = ?", found.run_id),
        )

    episodes, runs = query_store(root, query, tables=("runs", "episodes"), run_ids=[found.run_id])
    if not episodes or not runs:
        raise ForkError(f"episode {episode_id} or its run {found.run_id} has no readable row")
    return Parent(found, episodes[0], runs[0])


def check_step(parent: Parent, step: int) -> None:
    if parent.episode.get("fork_step") is not None:
        raise ForkError(
            f"episode {parent.episode_id} is itself a fork (of "
            f"{parent.episode['parent_episode_id']} at step {parent.episode['fork_step']}); "
            "fork that episode, whose log starts at step 0"
        )
    if not 0 <= step < parent.steps:
        raise ForkError(
            f"--step {step}: episode {parent.episode_id} has steps 0–{parent.steps - 1}"
        )


def parent_models(parent: Parent) -> tuple[ModelConfig, ModelConfig | None]:
    """The memory and action model settings the parent's run played with (its public ones:
    a key is read from the environment variable they name, as for any run)."""
    saved = json.loads(str(parent.run.get("model_config_json") or "{}"))
    memory = parse_model_config(saved.get("memory") or {}, source=f"run {parent.run['run_id']}")
    action = saved.get("action")
    return memory, (parse_model_config(action, source="its action model") if action else None)


def parent_scaffold(root: Path, parent: Parent) -> Scaffold:
    return load_version(root, parent.version)


def fork_scaffold(root: Path, parent: Parent, name: str | None) -> Scaffold:
    """``name`` (a built-in id, stored version or folder), or the parent's own version."""
    if not name:
        return parent_scaffold(root, parent)
    return resolve_scaffold(name, str(parent.episode["game"]), root)


def _patch_body(body: str) -> list[dict[str, Any]]:
    text = body
    if body.startswith("@"):
        try:
            text = Path(body[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ForkEditError(f"cannot read the patch file {body[1:]}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ForkEditError(f"the patch is not JSON ({exc})") from None
    return data if isinstance(data, list) else [data]


def find_alternative(root: Path, alternative_id: str) -> tuple[str, str]:
    """(decision id, completion) of a recorded alternative answer."""
    rows = read_records(root, "alternatives")
    found = rows.filter(pc.equal(rows["alternative_id"], alternative_id)).to_pylist()
    if not found:
        raise ForkEditError(
            f"no alternative {alternative_id!r}; list them with `automem decisions --alternatives`"
        )
    first = min(found, key=lambda row: str(row["created_at"]))  # as the alternatives view shows
    return str(first["decision_id"]), str(first["completion"])


def resolve_edit(root: Path, flag: str | None) -> ForkEdit:
    """The edit an ``--edit`` flag asks for (none without one)."""
    if not flag:
        return NO_EDIT
    kind, first, rest = parse_edit_flag(flag)
    if kind == "drop":
        return drop(first)
    if kind == "alternative":
        decision_id, completion = find_alternative(root, first)
        return alternative(decision_id, first, completion)
    return patch(first, _patch_body(rest))


def settings_hash(setup_identity: dict[str, Any]) -> str:
    key = json.dumps(setup_identity, sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()


def identity(setup: ForkSetup, jobs: list[ForkJob]) -> dict[str, Any]:
    """Everything that decides a fork run's episodes (its settings hash)."""
    return {
        "kind": "fork",
        "scaffold": setup.scaffold.content_hash,
        "model": setup.model.public_dict(),
        "action_model": setup.action_model.public_dict() if setup.action_model else None,
        "forks": [
            [j.fork_id.split(".", 1)[-1], j.parent.episode_id, j.step, to_json(j.edit), j.horizon]
            for j in jobs
        ],
    }


def plan_forks(
    parent: Parent,
    step: int,
    edit: ForkEdit,
    horizon: int | None,
    samples: int,
    run_id: str | None,
    setup_without_id: ForkSetup,
) -> tuple[ForkSetup, list[ForkJob], str]:
    """The fork run of ``automem fork``: ``samples`` forks of ``parent`` at ``step`` with
    ``edit``, each for ``horizon`` steps (default: as many as the parent had left)."""
    check_step(parent, step)
    if samples < 1:
        raise ForkError(f"--samples {samples}: play at least 1 fork")
    left = parent.steps - step
    horizon = left if horizon is None else horizon
    if horizon < 1:
        raise ForkError(f"--max-steps {horizon}: a fork plays at least 1 step")
    ep = parent.episode
    suffix = f"{ep['task']}.s{ep['seed']}.t{step}"
    draft = [ForkJob(f"x.{suffix}.k{k}", parent, step, edit, horizon) for k in range(samples)]
    settings = settings_hash(identity(setup_without_id, draft))
    run_id = check_id(run_id or f"fork-{ep['game']}-{settings[:10]}", "run id")
    jobs = [ForkJob(f"{run_id}.{suffix}.k{k}", parent, step, edit, horizon) for k in range(samples)]
    setup = ForkSetup(
        run_id, setup_without_id.game, setup_without_id.scaffold, setup_without_id.model,
        setup_without_id.action_model, setup_without_id.model_error_threshold,
    )  # fmt: skip
    return setup, jobs, settings
