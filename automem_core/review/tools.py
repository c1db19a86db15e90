"""The reviewer's read-only tools over the store, and their OpenAI function schemas.

``StoreTools(root, run_ids)`` answers, as text a model can read, only about the reviewed runs:

- ``sql(query)``: one read-only query over the views (``review/sql.py``: a confined connection);
- ``steps(episode_id, start, end)``: a capped range of step rows, observations cut short;
- ``step(episode_id, step)``: one step in full: observation, each turn's prompt and completion,
  each memory op and its result;
- ``memory(episode_id, step)``: every memory file as it was at the end of the step;
- ``search(text, limit)``: where a text occurs in observations and completions.

``schemas()`` is the ``tools=[…]`` list of a chat request; ``call(name, arguments_json)`` runs one
tool call. Nothing raises: bad arguments, unknown tools and missing episodes come back as an
``error: …`` text the model can act on, and every answer is cut to a character budget with a
note saying so and how to ask for less.
"""

from __future__ import annotations

import difflib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from pydantic import ValidationError

from automem_core.analysis.episode import (
    READ_ERRORS,
    EpisodeData,
    memory_at_step,
    open_episode,
    step_detail,
    steps_in_range,
)
from automem_core.review.sql import ConfinedSQL, open_confined, render_cell
from automem_core.review.tool_args import (
    MAX_SEARCH_HITS,
    MAX_STEPS,
    MemoryArgs,
    SearchArgs,
    SqlArgs,
    StepArgs,
    StepsArgs,
    ToolArgs,
    describe_error,
    json_schema,
)
from automem_core.store.layout import StoreError

log = logging.getLogger(__name__)

BUDGET_CHARS = 12_000  # the most characters one answer holds
OBSERVATION_CHARS = 240  # of each observation in ``steps``
SNIPPET_CHARS = 160  # of each ``search`` hit
EPISODES_KEPT = 4  # episodes whose tables stay loaded between calls
_PHASE_ORDER = (
    "CASE phase WHEN 'observation' THEN 0 WHEN 'log' THEN 1 WHEN 'plan' THEN 2 ELSE 3 END"
)


@dataclass(frozen=True)
class _Tool:
    args: type[ToolArgs]
    description: str
    run: Callable[[StoreTools, Any], str]


def _tools() -> dict[str, _Tool]:
    return {
        "sql": _Tool(
            SqlArgs,
            "Run one read-only DuckDB SELECT over the views runs, episodes, steps, turns, "
            "memory_ops, memory_snapshots, frames, labels (only the reviewed runs). Answers the "
            "first rows as a table and how many more there were; DESCRIBE <view> lists columns.",
            lambda t, a: t.sql(a.query),
        ),
        "steps": _Tool(
            StepsArgs,
            "Step rows of an episode from start to end: action, reward, warnings and the start of "
            "the observation. Use it to skim long episodes; `step` shows one step in full.",
            lambda t, a: t.steps(a.episode_id, a.start, a.end),
        ),
        "step": _Tool(
            StepArgs,
            "One step in full: the observation, each LOG/PLAN/action turn's prompt and "
            "completion, and every memory operation with its result.",
            lambda t, a: t.step(a.episode_id, a.step, full_prompts=a.full_prompts),
        ),
        "memory": _Tool(
            MemoryArgs,
            "Every memory file of an episode as it was at the end of a step (-1: the initial "
            "files), each line with the step that wrote it.",
            lambda t, a: t.memory(a.episode_id, a.step),
        ),
        "search": _Tool(
            SearchArgs,
            "Find a text in the observations and the model's completions of the reviewed runs: "
            "episode, step, phase and a snippet per hit.",
            lambda t, a: t.search(a.text, a.limit),
        ),
    }


TOOLS = _tools()


class StoreTools:
    """Read-only tools over ``run_ids`` under ``root``. Close it (or use ``with``) when done."""

    def __init__(
        self,
        root: Path,
        run_ids: Sequence[str],
        *,
        budget_chars: int = BUDGET_CHARS,
        max_steps: int = MAX_STEPS,
        observation_chars: int = OBSERVATION_CHARS,
        sql_rows: int = 200,
        sql_timeout_s: float = 10.0,
    ) -> None:
        self.root = Path(root)
        self.run_ids = tuple(run_ids)
        self.budget_chars = budget_chars
        self.max_steps = max_steps
        self.observation_chars = observation_chars
        self._sql: ConfinedSQL = open_confined(
            self.root, self.run_ids, max_rows=sql_rows, timeout_s=sql_timeout_s
        )
        found = {str(r) for (r,) in self._sql.rows("SELECT run_id FROM runs")}
        missing = [r for r in self.run_ids if r not in found]
        if missing:
            self._sql.close()
            raise StoreError(
                f"run {', '.join(missing)} is not in {self.root}; list them with `automem runs`"
            )
        rows = self._sql.rows("SELECT episode_id, run_id FROM episodes ORDER BY episode_id")
        self._run_of: dict[str, str] = {str(e): str(r) for e, r in rows}
        self._loaded: OrderedDict[str, EpisodeData] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ protocol

    def schemas(self) -> list[dict[str, Any]]:
        """The ``tools`` list of an OpenAI chat request."""
        return [
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": tool.description,
                    "parameters": json_schema(tool.args),
                },
            }
            for name, tool in TOOLS.items()
        ]

    def call(self, name: str, arguments_json: str | Mapping[str, Any] | None) -> str:
        """Run one tool call; every failure is an ``error: …`` text, never an exception."""
        tool = TOOLS.get(name)
        if tool is None:
            return f"error: no tool named {name[:80]!r}; the tools are {', '.join(TOOLS)}"
        try:
            raw = (
                json.loads(arguments_json or "{}")
                if isinstance(arguments_json, str | None)
                else arguments_json
            )
        except ValueError as exc:
            return f"error: the arguments of {name} are not JSON ({exc}); send a JSON object"
        if not isinstance(raw, Mapping):
            return f"error: the arguments of {name} must be a JSON object, got {type(raw).__name__}"
        try:
            args = tool.args.model_validate(dict(raw))
        except ValidationError as exc:
            return f"error: bad arguments for {name}: {describe_error(exc)}; {_usage(name)}"
        try:
            return tool.run(self, args)
        except Exception as exc:  # a tool answers the model, whatever happens
            log.warning("review tool %s failed", name, exc_info=True)
            return self._cap(f"error: {name} failed ({type(exc).__name__}: {exc})")

    def close(self) -> None:
        self._sql.close()

    def __enter__(self) -> StoreTools:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ tools

    def sql(self, query: str) -> str:
        return self._cap(self._sql.query(query).text, "select fewer columns or rows")

    def steps(self, episode_id: str, start: int, end: int) -> str:
        ep, error = self._episode(episode_id)
        if ep is None:
            return error
        first, last = int(ep.step_index[0]), int(ep.step_index[-1])
        if end < start:
            return f"error: end ({end}) is before start ({start})"
        if start > last or end < first:
            return f"error: episode {episode_id} has steps {first}–{last}; {start}–{end} holds none"
        rows = steps_in_range(ep, start, min(end, start + self.max_steps - 1))
        if not rows:
            return f"error: episode {episode_id} has no step in {start}–{end}"
        head = f"episode {episode_id} ({self._run_of[episode_id]}, steps {first}–{last})"
        body: list[str] = []
        size = len(head) + 100  # the head and a closing note
        for row in rows:  # whole rows, as many as the budget holds
            line = self._step_line(row)
            if body and size + len(line) > self.budget_chars:
                break
            body.append(line)
            size += len(line) + 1
        shown_end = int(rows[len(body) - 1]["step"])
        lines = [f"{head}: steps {rows[0]['step']}–{shown_end}", *body]
        if shown_end < min(end, last):
            why = f"{self.max_steps} steps per call" if len(body) == self.max_steps else "budget"
            lines.append(f"[{why}: continue with start={shown_end + 1}]")
        return self._cap("\n".join(lines), "ask for a shorter range")

    def step(self, episode_id: str, step: int, *, full_prompts: bool = False) -> str:
        ep, error = self._episode(episode_id, step)
        if ep is None:
            return error
        detail = step_detail(ep, step)
        row = detail["step"]
        lines = [
            f"episode {episode_id} step {step} ({self._run_of[episode_id]})",
            _step_summary(row),
            "observation:",
            row["observation"],
        ]
        ops = detail["ops"]
        used: set[int] = set()
        for turn in detail["turns"]:
            lines.append(_render_turn(turn, full_prompts))
            mine = [o for o in ops if (o["phase"], o["turn"]) == (turn["phase"], turn["turn"])]
            used.update(o["seq"] for o in mine)
            lines += ["ops:", *(_render_op(o) for o in mine)] if mine else ["ops: none"]
        rest = [o for o in ops if o["seq"] not in used]
        if rest:
            lines += ["── ops outside the turns (helpers, initial files) ──"]
            lines += [_render_op(o) for o in rest]
        hint = "the prompts are long: read the ops and completions with sql on turns/memory_ops"
        return self._cap("\n".join(lines), hint)

    def memory(self, episode_id: str, step: int) -> str:
        ep, error = self._episode(episode_id, None if step == -1 else step)
        if ep is None:
            return error
        files = memory_at_step(ep, step)
        when = "initially" if step == -1 else f"at the end of step {step}"
        lines = [f"memory of episode {episode_id} {when}: {len(files)} files"]
        for name, (texts, origins) in files.items():
            lines.append(f"── {name} ({len(texts)} lines) ──")
            lines += [
                f"{i} [{'init' if o < 0 else f's{o}'}] {text}"
                for i, (text, o) in enumerate(zip(texts, origins, strict=True), 1)
            ]
        hint = "search one file with sql on memory_ops, or ask for an earlier step"
        return self._cap("\n".join(lines), hint)

    def search(self, text: str, limit: int = 20) -> str:
        limit = max(1, min(limit, MAX_SEARCH_HITS))
        query = f"""
            WITH hits AS (
                SELECT episode_id, step, 'observation' AS phase, 0 AS turn, observation AS text
                FROM steps WHERE strpos(lower(observation), lower($1)) > 0
                UNION ALL
                SELECT episode_id, step, phase, turn, completion AS text
                FROM turns WHERE strpos(lower(completion), lower($1)) > 0
            )
            SELECT episode_id, step, phase, turn, text, count(*) OVER () AS total
            FROM hits ORDER BY episode_id, step, {_PHASE_ORDER}, turn LIMIT $2"""
        try:
            rows = self._sql.rows(query, (text, limit))
        except duckdb.InterruptException:
            return "stopped: the search ran past the time limit; search within one episode with sql"
        if not rows:
            return f"no observation or completion of the reviewed runs contains {text!r}"
        total = int(rows[0][5])
        lines = [f"{total} hit{'' if total == 1 else 's'} for {text!r}" + (
            f", first {len(rows)} shown (raise limit, up to {MAX_SEARCH_HITS}, or narrow the text)"
            if total > len(rows) else ""
        )]  # fmt: skip
        for episode_id, step, phase, turn, found, _ in rows:
            where = "observation" if phase == "observation" else f"{phase} turn {turn} completion"
            lines.append(f"{episode_id} step {step} {where}: {_snippet(str(found), text)}")
        return self._cap("\n".join(lines), "lower limit")

    # ------------------------------------------------------------------ helpers

    def _episode(self, episode_id: str, step: int | None = None) -> tuple[EpisodeData | None, str]:
        """The loaded episode, or None and the error for the model."""
        run_id = self._run_of.get(episode_id)
        if run_id is None:
            close = difflib.get_close_matches(episode_id, list(self._run_of), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "list them with sql"
            return None, (
                f"error: episode {episode_id!r} is not in the reviewed runs "
                f"({', '.join(self.run_ids)}); {hint} (SELECT episode_id, steps FROM episodes)"
            )
        with self._lock:
            ep = self._loaded.get(episode_id)
            if ep is None:
                try:
                    ep = open_episode(self.root, episode_id, run_id)
                except (StoreError, *READ_ERRORS) as exc:
                    return None, f"error: episode {episode_id} cannot be read ({exc})"
                self._loaded[episode_id] = ep
                if len(self._loaded) > EPISODES_KEPT:
                    self._loaded.popitem(last=False)
            self._loaded.move_to_end(episode_id)
        if ep.n_steps == 0:
            return None, f"error: episode {episode_id} has no steps"
        if step is not None and not _has_step(ep, step):
            first, last = int(ep.step_index[0]), int(ep.step_index[-1])
            return None, f"error: episode {episode_id} has steps {first}–{last}; no step {step}"
        return ep, ""

    def _step_line(self, row: Mapping[str, Any]) -> str:
        observation = render_cell(row["observation"], self.observation_chars)
        return f"{_step_summary(row)}\n  obs: {observation}"

    def _cap(self, text: str, hint: str = "ask for less") -> str:
        if len(text) <= self.budget_chars:
            return text
        note = (
            f"\n[cut: the answer was {len(text)} chars, over the "
            f"{self.budget_chars}-char budget; {hint}]"
        )
        return text[: max(0, self.budget_chars - len(note))] + note


def _has_step(ep: EpisodeData, step: int) -> bool:
    i = int(np.searchsorted(ep.step_index, step))
    return i < ep.n_steps and int(ep.step_index[i]) == step


def _step_summary(row: Mapping[str, Any]) -> str:
    valid = "" if row["action_valid"] else f" (invalid: asked {row['raw_action']!r})"
    warnings = "; ".join(row["warnings"]) or "-"
    return (
        f"step {row['step']} | action: {row['action']}{valid} | reward: {row['reward']:g} | "
        f"progression: {row['progression']:g} | warnings: {warnings}"
    )


def _render_turn(turn: Mapping[str, Any], full_prompts: bool) -> str:
    head = (
        f"── {turn['phase'].upper()} turn {turn['turn']} ({turn['client']}; "
        f"{turn['tokens_in']} tokens in, {turn['tokens_out']} out"
    )
    head += f"; {turn['retries']} retries" if turn["retries"] else ""
    lines = [head + ") ──", "prompt:"]
    for message in json.loads(turn["messages_json"]):
        role, content = message.get("role", "?"), str(message.get("content") or "")
        if role == "system" and not full_prompts:
            lines.append(f"[system: {len(content)} chars, not shown; full_prompts=true shows it]")
        else:
            lines += [f"[{role}]", content]
    lines += ["completion:", turn["completion"]]
    if turn["parse_errors"]:
        lines.append(f"parse errors: {'; '.join(turn['parse_errors'])}")
    if turn["error"]:
        lines.append(f"call failed: {turn['error']}")
    return "\n".join(lines)


def _render_op(op: Mapping[str, Any]) -> str:
    status = "ok" if op["ok"] else "FAILED"
    args = " | ".join(render_cell(a, 200) for a in op["args"])
    result = "\n    ".join(str(op["result"]).splitlines())
    return f"  #{op['seq']} {op['phase']} {op['kind']} {args} [{status}]\n    {result}"


def _snippet(text: str, needle: str) -> str:
    at = max(0, text.lower().find(needle.lower()))
    lo = max(0, at - SNIPPET_CHARS // 3)
    hi = min(len(text), lo + SNIPPET_CHARS)
    cut = render_cell(text[lo:hi], SNIPPET_CHARS + 40)
    return f"{'…' if lo else ''}{cut}{'…' if hi < len(text) else ''}"


def _usage(name: str) -> str:
    props = TOOLS[name].args.model_json_schema().get("properties", {})
    return f"{name} takes {json.dumps({k: v.get('type', '?') for k, v in props.items()})}"
