"""The embedded reviewer: rule-based, it maps diagnostics to structural patches, so Loop 1 runs
offline end to end.

Each rule looks at the reviewed runs' diagnostics and, when its problem shows and the parent does
not already have the remedy, proposes the structure the paper's reviewer found for it:

- the agent keeps re-reading the same files to find where it is and how it fares → a status file
  the engine rewrites every step;
- a map file that keeps growing with lines written again → make it keyed, with UPSERT (and
  UPSERT_MAP on the map file for NetHack and MiniHack);
- the agent spends its LOG turns writing every action into its actions log → the engine logs
  each action and its observed outcome itself;
- a log that outgrows a few hundred lines → pruning, with a header saying what was dropped;
- observations that alternate → the oscillation warning.

Each proposal cites real steps of the reviewed episodes where its diagnostic holds (the engine
checks it). A rule already proposed for this parent is not proposed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from automem_core.analysis.diagnostics import load_diagnostics
from automem_core.analysis.episode import open_episode
from automem_core.analysis.runs import load_episodes
from automem_core.analysis.step_checks import steps_where
from automem_core.review.proposal import Citation, ProposalDraft
from automem_core.review.proposals import load_proposals
from automem_core.review.review import ReviewOutput
from automem_core.scaffold import Scaffold

MAP_FILES = ("dungeon_map", "map_notes", "map")
LOG_FILES = ("actions_log", "survival_log", "monster_encounters", "notes")
NLE_GAMES = ("nethack", "minihack")


@dataclass(frozen=True)
class Evidence:
    """What the rules read: the runs' summed diagnostics and the files' growth."""

    diagnostics: dict[str, float]  # summed over the reviewed runs, per 100 steps
    growth: dict[str, float]  # file → lines added per 100 steps (mean over episodes)
    end_lines: dict[str, float]  # file → mean lines at the end of the episodes
    steps: int


def gather(root: Path, runs: Sequence[str]) -> Evidence:
    tables = load_diagnostics(root)
    episodes = tables["episodes"]
    episodes = episodes[episodes["run_id"].isin(runs)]
    steps = int(episodes["steps"].sum()) or 1
    columns = ["unchanged_observations", "oscillations", "redundant_writes", "empty_searches",
               "writes_never_read", "invalid_actions"]  # fmt: skip
    per_100 = {c: 100 * float(episodes[c].sum()) / steps for c in columns}
    growth = tables["file_growth"]
    growth = growth[growth["run"].isin(runs)].groupby("file").mean(numeric_only=True)
    return Evidence(
        per_100,
        growth["per 100"].to_dict() if not growth.empty else {},
        growth["lines at end"].to_dict() if not growth.empty else {},
        steps,
    )


def _index(scaffold: Scaffold, name: str) -> int:
    return [f.name for f in scaffold.spec.files].index(name)


def _ops_with(scaffold: Scaffold, *ops: str) -> list[str]:
    return [*scaffold.spec.ops, *(op for op in ops if op not in scaffold.spec.ops)]


def keyed_map(parent: Scaffold, ev: Evidence) -> tuple[list[dict[str, Any]], str, str] | None:
    names = [f.name for f in parent.spec.files if f.name in MAP_FILES and not f.keyed]
    growing = [n for n in names if ev.growth.get(n, 0) >= 3]
    if not growing or ev.diagnostics["redundant_writes"] < 1:
        return None
    name, nle = growing[0], parent.game in NLE_GAMES
    i = _index(parent, name)
    patch: list[dict[str, Any]] = [
        {"op": "replace", "path": f"/files/{i}/keyed", "value": True},
        {"op": "replace", "path": f"/files/{i}/line_format",
         "value": "(x,y): what is there" if nle else "<thing>: where it was seen"},
        {"op": "replace", "path": "/ops", "value": _ops_with(parent, "UPSERT", *(
            ("UPSERT_MAP",) if nle else ()))},
    ]  # fmt: skip
    if nle:
        patch.append({"op": "replace", "path": "/map_file", "value": name})
    repeats = ev.diagnostics["redundant_writes"]
    why = (
        f"{name} grows by {ev.growth[name]:.0f} lines per 100 steps while {repeats:.1f} "
        "writes per 100 steps repeat a line"
    )
    return patch, f"keyed {name} with upsert", why


def status_file(parent: Scaffold, ev: Evidence) -> tuple[list[dict[str, Any]], str, str] | None:
    if parent.spec.helpers.status_file.enabled or parent.spec.file("status") is not None:
        return None
    purpose = "position, vitals and inventory, written automatically every step"
    patch: list[dict[str, Any]] = [
        {"op": "add", "path": "/files/-", "value": {
            "name": "status", "writer": "helper", "max_lines": 20, "purpose": purpose}},
        {"op": "replace", "path": "/helpers/status_file", "value": {"enabled": True,
                                                                    "file": "status"}},
    ]  # fmt: skip
    empty = ev.diagnostics["empty_searches"]
    why = (
        "the agent re-reads its files step after step to recover where it is and how it "
        f"fares; {empty:.1f} searches per 100 steps find nothing"
    )
    return patch, "a status file written every step", why


def action_log(parent: Scaffold, ev: Evidence) -> tuple[list[dict[str, Any]], str, str] | None:
    name = parent.spec.helpers.action_log.file
    if parent.spec.helpers.action_log.enabled or parent.spec.file(name) is None:
        return None
    if ev.growth.get(name, 0) < 20:
        return None
    patch = [{"op": "replace", "path": "/helpers/action_log",
              "value": {"enabled": True, "file": name, "skip_routine_moves": False}}]  # fmt: skip
    why = (f"the agent writes {ev.growth[name]:.0f} lines per 100 steps into {name} itself, "
           "spending its LOG turns on what the engine can record exactly")  # fmt: skip
    return patch, f"{name} written by the engine", why


def pruning(parent: Scaffold, ev: Evidence) -> tuple[list[dict[str, Any]], str, str] | None:
    if parent.spec.helpers.pruning.enabled:
        return None
    long = [n for n in LOG_FILES if ev.end_lines.get(n, 0) >= 150 and parent.spec.file(n)]
    if not long:
        return None
    patch = [{"op": "replace", "path": "/helpers/pruning", "value": {
        "enabled": True, "files": long, "trigger_lines": 150, "keep_lines": 100}}]  # fmt: skip
    why = f"{', '.join(long)} end episodes with {max(ev.end_lines[n] for n in long):.0f} lines"
    return patch, f"pruning of {', '.join(long)}", why


def warnings(parent: Scaffold, ev: Evidence) -> tuple[list[dict[str, Any]], str, str] | None:
    if parent.spec.helpers.oscillation_warning.enabled or ev.diagnostics["oscillations"] < 2:
        return None
    patch = [{"op": "replace", "path": "/helpers/oscillation_warning",
              "value": {"enabled": True, "window": 6}}]  # fmt: skip
    why = f"{ev.diagnostics['oscillations']:.1f} steps per 100 return to the view of two before"
    return patch, "an oscillation warning", why


Rule = Callable[[Scaffold, Evidence], tuple[list[dict[str, Any]], str, str] | None]
RULES: tuple[tuple[Rule, tuple[str, ...]], ...] = (
    (status_file, ("repeated_read", "empty_search")),
    (keyed_map, ("redundant_write", "file_growth")),
    (action_log, ("file_growth",)),
    (pruning, ("file_growth",)),
    (warnings, ("oscillation",)),
)


def cite(root: Path, runs: Sequence[str], diagnostics: Sequence[str]) -> list[Citation]:
    """Up to three steps of the reviewed episodes where one of ``diagnostics`` holds."""
    episodes = pd.concat([load_episodes(root, r) for r in runs])
    found: list[Citation] = []
    for episode_id in episodes.sort_values("progression")["episode_id"]:
        ep = open_episode(root, str(episode_id))
        for diagnostic in diagnostics:
            for step in steps_where(ep, diagnostic, limit=1):
                found.append(Citation(episode_id=str(episode_id), step=step,
                                      shows=f"{diagnostic.replace('_', ' ')} at step {step}",
                                      diagnostic=diagnostic))  # fmt: skip
        if len(found) >= 3:
            break
    return found[:3]


class EmbeddedReviewer:
    label = "embedded"

    async def propose(
        self, root: Path, parent: Scaffold, runs: Sequence[str], feedback: str | None = None
    ) -> ReviewOutput:
        ev = gather(root, runs)
        tried = _tried(root, parent)
        for rule, diagnostics in RULES:
            found = rule(parent, ev)
            if found is None or found[1] in tried:
                continue
            patch, summary, why = found
            citations = cite(root, runs, diagnostics)
            if not citations:
                continue
            draft = ProposalDraft(
                summary=summary,
                rationale=why,
                patch=patch,
                citations=citations,
                expected_effect=f"fewer {' and '.join(d.replace('_', ' ') for d in diagnostics)}",
            )
            return ReviewOutput(draft, draft.model_dump_json(indent=1))
        return ReviewOutput(None, "")


def _tried(root: Path, parent: Scaffold) -> set[str]:
    """Summaries already proposed for this parent (whatever became of them)."""
    proposals = load_proposals(root)
    if proposals.empty:
        return set()
    return set(proposals.loc[proposals["parent_version"] == parent.version, "summary"])
