"""The reviewer's read-only tools over the store, and their OpenAI function schemas.

``StoreTools(root, run_ids)`` answers, as text a model can read, only about the reviewed runs
(what it can see is listed in ``scope.py``):

- ``sql(query)``: one read-only query over the views (``review/sql.py``: a confined connection);
- ``steps(episode_id, start, end)``: a capped range of step rows, observations cut short;
- ``step(episode_id, step)``: one step in full: observation, each turn's prompt and completion,
  each memory op and its result;
- ``memory(episode_id, step)``: every memory file as it was at the end of the step;
- ``search(text, limit)``: full-text search (``automem_core.search``: the runs' indexes) over the
  observations, completions, memory ops and results, memory lines and people's notes of the
  reviewed runs, never the proposals.

``schemas()`` is the ``tools=[…]`` list of a chat request; ``answer(name, arguments)`` runs one
tool call (``call`` gives its text). Nothing raises, whatever the model sends: arguments are
bounded before they are parsed (``tool_args.parse_arguments``), bad arguments, unknown tools and
missing episodes come back as an ``error: …`` text the model can act on, and an exception inside
a tool (a bug) becomes a one-line ``error:`` answer, logged and recorded in the
:class:`ToolAnswer`. Every answer, errors included, leaves through one exit: the store's
absolute path and the home directory are replaced (``<store>``, ``~``), text that is not valid
Unicode is repaired, and it is cut to the character budget with a note saying so.
"""

from __future__ import annotations

import difflib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from automem_core.review.scope import VIEWS
from automem_core.review.sql import ConfinedSQL, open_confined
from automem_core.review.sql_check import first_line
from automem_core.review.sql_render import render_cell
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
    parse_arguments,
)
from automem_core.review.tool_records import ToolAnswer
from automem_core.review.tool_render import (
    SNIPPET_CHARS,
    echo,
    private_paths,
    render_op,
    render_turn,
    step_summary,
)
from automem_core.search import QueryError, SearchFilters, search
from automem_core.search.report import hit_text, where
from automem_core.store.layout import StoreError

log = logging.getLogger(__name__)

BUDGET_CHARS = 12_000  # the most characters one answer holds
OBSERVATION_CHARS = 240  # of each observation in ``steps``
EPISODES_KEPT = 4  # episodes whose tables stay loaded between calls
FAILED = ("error:", "refused:", "stopped:")  # how an answer that is not a result begins
# What the search tool reads: the runs' texts and people's notes on their decisions; never the
# proposals, which span other runs (scope.py).
REVIEWED_SOURCES = ("observation", "turn", "op", "memory", "label")


@dataclass(frozen=True)
class _Tool:
    args: type[ToolArgs]
    description: str
    run: Callable[[StoreTools, Any], str]


def _tools() -> dict[str, _Tool]:
    return {
        "sql": _Tool(
            SqlArgs,
            f"Run one read-only DuckDB SELECT over the views {', '.join(VIEWS)} (only the "
            "reviewed runs). Answers the first rows as a table and how many more there were; "
            "DESCRIBE <view> lists columns.",
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
            "Full-text search of the reviewed runs: observations, LLM completions, memory ops "
            "and their results, memory lines (with the steps each existed), people's notes. "
            'Words (all must occur), "a phrase", prefix*, OR, NOT or -word, ( ), a field '
            "(observation, completion, op, result, memory, note) as memory:stairs or "
            "memory:/stai?rs?/ (a regular expression on each lowercased word), properties as "
            "kind:SEARCH access:write file:notes phase:log step:[10 TO 20]. Answers the count "
            "and per hit: episode, step, where, and a snippet with matches in [brackets].",
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
        self.search_timeout_s = sql_timeout_s
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
        self._private = private_paths(self.root)

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

    def answer(self, name: object, arguments: object) -> ToolAnswer:
        """Run one tool call; every failure is an ``error: …`` text, never an exception."""
        started = time.perf_counter()
        crash = None
        try:
            text = self._dispatch(name, arguments)
        except Exception as exc:  # a tool answers the model, whatever happens
            log.warning("review tool %s failed", echo(name), exc_info=True)
            crash = echo(f"{type(exc).__name__}: {first_line(exc)}", 200)
            text = f"error: {echo(name)} failed ({crash}); try other arguments or another tool"
        text = self._finish(text)
        return ToolAnswer(text, text.startswith(FAILED), time.perf_counter() - started, crash)

    def call(self, name: object, arguments: object) -> str:
        """The text of :meth:`answer`."""
        return self.answer(name, arguments).text

    def close(self) -> None:
        self._sql.close()

    def __enter__(self) -> StoreTools:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _dispatch(self, name: object, arguments: object) -> str:
        tool = TOOLS.get(name) if isinstance(name, str) else None
        if tool is None:
            return f"error: no tool named {echo(name)!r}; the tools are {', '.join(TOOLS)}"
        raw, error = parse_arguments(str(name), arguments)
        if raw is None:
            return error
        try:
            args = tool.args.model_validate(raw)
        except ValidationError as exc:
            return f"error: bad arguments for {name}: {describe_error(exc)}; {_usage(str(name))}"
        return tool.run(self, args)

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
            step_summary(row),
            "observation:",
            row["observation"],
        ]
        ops = detail["ops"]
        used: set[int] = set()
        for turn in detail["turns"]:
            lines.append(render_turn(turn, full_prompts))
            mine = [o for o in ops if (o["phase"], o["turn"]) == (turn["phase"], turn["turn"])]
            used.update(o["seq"] for o in mine)
            lines += ["ops:", *(render_op(o) for o in mine)] if mine else ["ops: none"]
        rest = [o for o in ops if o["seq"] not in used]
        if rest:
            lines += ["── ops outside the turns (helpers, initial files) ──"]
            lines += [render_op(o) for o in rest]
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
        try:
            found = search(
                self.root,
                text,
                SearchFilters(runs=self.run_ids, sources=REVIEWED_SOURCES),
                limit=limit,
                deadline_s=self.search_timeout_s,
            )
        except QueryError as exc:
            return f"error: {exc}"
        if found.stopped:
            return "stopped: the search ran past the time limit; narrow it with properties"
        notes = "".join(f"\nnote: {n}" for n in found.notes)
        if not found.hits:
            return f"no text of the reviewed runs matches {echo(text)!r}{notes}"
        lines = [f"{found.total} hit{'' if found.total == 1 else 's'} for {echo(text)!r}" + (
            f", first {len(found.hits)} shown (raise limit, up to {MAX_SEARCH_HITS}, or narrow "
            "the query)" if found.total > len(found.hits) else ""
        ) + notes]  # fmt: skip
        for hit in found.hits:
            own = hit.episode_id and hit.source not in ("label", "proposal")
            place = f"{hit.episode_id} {where(hit)}" if own else where(hit)
            lines.append(f"{place}: {render_cell(hit_text(hit), SNIPPET_CHARS)}")
        return self._cap("\n".join(lines), "lower limit")

    # ------------------------------------------------------------------ helpers

    def _episode(self, episode_id: str, step: int | None = None) -> tuple[EpisodeData | None, str]:
        """The loaded episode, or None and the error for the model."""
        run_id = self._run_of.get(episode_id)
        if run_id is None:
            close = difflib.get_close_matches(episode_id, list(self._run_of), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "list them with sql"
            return None, (
                f"error: episode {echo(episode_id)!r} is not in the reviewed runs "
                f"({', '.join(self.run_ids)}); {hint} (SELECT episode_id, steps FROM episodes)"
            )
        with self._lock:
            ep = self._loaded.get(episode_id)
            if ep is None:
                try:
                    ep = open_episode(self.root, episode_id, run_id)
                except (StoreError, *READ_ERRORS) as exc:
                    return None, (f"error: episode {episode_id} cannot be read ({first_line(exc)})")
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
        return f"{step_summary(row)}\n  obs: {observation}"

    def _finish(self, text: str) -> str:
        """The one exit of every answer: no path of the machine, valid Unicode, the budget."""
        for private, alias in self._private:
            text = text.replace(private, alias)
        text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates → "?"
        return self._cap(text)

    def _cap(self, text: str, hint: str = "ask for less") -> str:
        if len(text) <= self.budget_chars:
            return text
        note = (
            f"\n[cut: the answer was {len(text)} chars, over the "
            f"{self.budget_chars}-char budget; {hint}]"
        )
        if len(note) >= self.budget_chars:
            return note.strip()[: self.budget_chars]
        return text[: self.budget_chars - len(note)] + note


def _has_step(ep: EpisodeData, step: int) -> bool:
    i = int(np.searchsorted(ep.step_index, step))
    return i < ep.n_steps and int(ep.step_index[i]) == step


def _usage(name: str) -> str:
    props = TOOLS[name].args.model_json_schema().get("properties", {})
    return f"{name} takes {json.dumps({k: v.get('type', '?') for k, v in props.items()})}"
