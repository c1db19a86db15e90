"""Diagnostics at one step, for citations: "step 812 shows an empty search" must be true.

The reviewer cites episodes and steps with the diagnostic each illustrates; the engine checks that
the diagnostic holds there (:func:`diagnostic_holds`), and the embedded reviewer finds where it
holds (:func:`steps_where`). Definitions follow ``diagnostics.py``, at one step:

- ``invalid_action``: the step's action was not one of the game's (or missing);
- ``unchanged_observation``: the step's observation equals the previous one;
- ``oscillation``: it equals the one two steps before, after a different one;
- ``zero_reward_streak``: the step ends :data:`STREAK` or more steps without reward;
- ``empty_search``: a SEARCH of the agent matched nothing;
- ``redundant_write``: an agent write put only lines already written to that file;
- ``never_read``: an agent write put lines that no later read returned;
- ``file_growth``: an agent write made a file longer;
- ``repeated_read``: the agent read a file it had read the step before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automem_core.analysis.episode import EpisodeData
from automem_core.store.summary import READ_KINDS, WRITE_KINDS, written_lines

STREAK = 20
DIAGNOSTICS: tuple[str, ...] = (
    "invalid_action",
    "unchanged_observation",
    "oscillation",
    "zero_reward_streak",
    "empty_search",
    "redundant_write",
    "never_read",
    "file_growth",
    "repeated_read",
)


def _observation(ep: EpisodeData, step: int) -> str | None:
    if not ep.n_steps or not ep.first_step <= step <= ep.last_step:
        return None
    return str(ep.step_row(step)["observation"])


def _agent_ops(ep: EpisodeData, step: int) -> list[dict[str, Any]]:
    return [o for o in ep.ops_at(step) if o["phase"] != "helper"]


_WRITE_STEPS: dict[tuple[str, str], tuple[frozenset[int], frozenset[int]]] = {}


def _write_steps(ep: EpisodeData) -> tuple[frozenset[int], frozenset[int]]:
    """(steps with a redundant agent write, steps with an agent write never read later), from
    one walk over the episode's ops (kept for the last few episodes asked about)."""
    key = (ep.episode_id, ep.source.token)
    if key not in _WRITE_STEPS:
        if len(_WRITE_STEPS) >= 8:
            _WRITE_STEPS.pop(next(iter(_WRITE_STEPS)))
        _WRITE_STEPS[key] = _walk_writes(ep)
    return _WRITE_STEPS[key]


def _walk_writes(ep: EpisodeData) -> tuple[frozenset[int], frozenset[int]]:
    seen: set[tuple[str, str]] = set()
    writes: list[tuple[int, int, list[str]]] = []  # (step, seq, lines)
    last_read: dict[str, int] = {}
    redundant: set[int] = set()
    for op in ep.ops.to_pylist():
        if op["phase"] == "helper" or not op["ok"]:
            continue
        if op["kind"] in READ_KINDS and op["hits"]:
            for line in op["result"].split("\n")[1:]:
                last_read[line] = op["seq"]
        elif op["kind"] in WRITE_KINDS:
            lines = written_lines(op["mutations_json"])
            if lines:
                if all((op["file"], line) in seen for line in lines):
                    redundant.add(op["step"])
                seen.update((op["file"], line) for line in lines)
                writes.append((op["step"], op["seq"], lines))
    never = {step for step, seq, lines in writes
             if not any(last_read.get(line, -1) > seq for line in lines)}  # fmt: skip
    return frozenset(redundant), frozenset(never)


def _invalid(ep: EpisodeData, step: int) -> bool:
    return not ep.step_row(step)["action_valid"]


def _unchanged(ep: EpisodeData, step: int) -> bool:
    return step > ep.first_step and _observation(ep, step) == _observation(ep, step - 1)


def _oscillation(ep: EpisodeData, step: int) -> bool:
    now = _observation(ep, step)
    if step <= ep.first_step + 1:
        return False
    return now == _observation(ep, step - 2) and now != _observation(ep, step - 1)


def _streak(ep: EpisodeData, step: int) -> bool:
    first = step - STREAK + 1
    if first < ep.first_step:
        return False
    return all(ep.step_row(s)["reward"] <= 0 for s in range(first, step + 1))


def _empty_search(ep: EpisodeData, step: int) -> bool:
    return any(o["kind"] == "SEARCH" and o["ok"] and not o["hits"] for o in _agent_ops(ep, step))


def _redundant(ep: EpisodeData, step: int) -> bool:
    return step in _write_steps(ep)[0]


def _never_read(ep: EpisodeData, step: int) -> bool:
    return step in _write_steps(ep)[1]


def _growth(ep: EpisodeData, step: int) -> bool:
    before, after = ep.memory_at(step - 1), ep.memory_at(step)
    written = {o["file"] for o in _agent_ops(ep, step) if o["ok"] and o["kind"] in WRITE_KINDS}
    return any(
        len(after[f].lines) > (len(before[f].lines) if f in before else 0)
        for f in written
        if f in after
    )


def _repeated_read(ep: EpisodeData, step: int) -> bool:
    def files(s: int) -> set[str]:
        return {o["file"] for o in _agent_ops(ep, s) if o["kind"] in READ_KINDS}

    return step > ep.first_step and bool(files(step) & files(step - 1))


CHECKS: dict[str, Callable[[EpisodeData, int], bool]] = {
    "invalid_action": _invalid,
    "unchanged_observation": _unchanged,
    "oscillation": _oscillation,
    "zero_reward_streak": _streak,
    "empty_search": _empty_search,
    "redundant_write": _redundant,
    "never_read": _never_read,
    "file_growth": _growth,
    "repeated_read": _repeated_read,
}


def diagnostic_holds(ep: EpisodeData, step: int, diagnostic: str) -> bool:
    """Whether ``diagnostic`` (one of :data:`DIAGNOSTICS`) holds at ``step``."""
    if diagnostic not in CHECKS:
        raise ValueError(f"unknown diagnostic {diagnostic!r}; use one of {', '.join(DIAGNOSTICS)}")
    if not ep.n_steps or not ep.first_step <= step <= ep.last_step:  # a fork starts later
        return False
    return CHECKS[diagnostic](ep, step)


def steps_where(ep: EpisodeData, diagnostic: str, limit: int = 3) -> list[int]:
    """The first ``limit`` steps where ``diagnostic`` holds."""
    found = []
    for step in range(ep.first_step, ep.last_step + 1):
        if diagnostic_holds(ep, step, diagnostic):
            found.append(step)
            if len(found) >= limit:
                break
    return found


def describe(diagnostic: str) -> str:
    """The one-line definition of a diagnostic (from this module's docstring)."""
    for line in (__doc__ or "").splitlines():
        if line.startswith(f"- ``{diagnostic}``"):
            return line.split(":", 1)[1].strip()
    return diagnostic
