"""The built-in scaffolds: ``*-v0`` is the paper's base agent and nothing more
(docs/architecture.md, "Scaffolds"), and each richer built-in names v0's version as its parent."""

import pytest

from automem_core.scaffold import resolve_scaffold
from automem_core.scaffold.folder import BUILTIN_DIR, builtin_ids
from automem_core.scaffold.prompts import render_phase, render_system
from automem_core.scaffold.spec import CORE_OPS

NETHACK_FILES = [
    "game_rules",
    "nethack_symbols",
    "dungeon_map",
    "monster_encounters",
    "inventory",
    "actions_log",
    "strategy",
]
V0_FILES = {
    "crafter": ["map_notes", "crafting_progress", "survival_log", "actions_log", "strategy"],
    "nethack": NETHACK_FILES,
    "minihack": [f for f in NETHACK_FILES if f != "monster_encounters"],
}
PRE_FILLED = {"game_rules", "nethack_symbols"}
GAMES = sorted(V0_FILES)


@pytest.mark.parametrize("game", GAMES)
def test_v0_is_exactly_the_papers_base_agent(game):
    sc = resolve_scaffold(f"{game}-v0", game)
    spec = sc.spec
    assert sc.id == f"{game}-v0" and spec.parent is None
    # files: the paper's names, in order; only the rules and symbols are pre-filled
    assert [f.name for f in spec.files] == V0_FILES[game]
    for f in spec.files:
        assert bool(f.initial.strip()) == (f.name in PRE_FILLED), f.name
        assert not f.keyed and f.writer == "agent", f.name
        assert f.max_lines is None and f.prune == "none", f.name  # files grow without bound
    if game != "crafter":
        assert "stairs down" in sc.initial_files["nethack_symbols"]
        assert "stand on" in sc.initial_files["game_rules"]
    # ops: the core set, nothing keyed
    assert (
        tuple(spec.ops)
        == CORE_OPS
        == (
            "SEARCH",
            "READ",
            "TAIL",
            "COUNT",
            "APPEND",
            "WRITE",
            "CREATE",
        )
    )
    assert spec.map_file is None and not spec.op_help
    # limits: only the safety caps, and 10 LOG and 10 PLAN turns at most
    assert (spec.limits.max_log_turns, spec.limits.max_plan_turns) == (10, 10)
    # helpers: the unchanged-observation notice, and the map analysis for NetHack/MiniHack
    helpers = spec.helpers
    switched = {name for name, cfg in helpers if "enabled" in type(cfg).model_fields}
    on = {name for name in switched if getattr(helpers, name).enabled}
    expected = {"unchanged_observation"} | ({"map_analysis"} if game != "crafter" else set())
    assert on == expected
    files_shown = {name for name, cfg in helpers if "enabled" not in type(cfg).model_fields}
    assert files_shown == {"plan_injection", "goals_file", "plan_tail"}
    assert all(getattr(helpers, name).file is None for name in files_shown)
    assert helpers.unchanged_observation.stuck_after == 3
    assert not helpers.named_files()  # no status file, nothing injected, nothing pruned


@pytest.mark.parametrize("game", GAMES)
def test_v0_prompts_show_no_injection_and_carry_the_log_rules(game):
    sc = resolve_scaffold(f"{game}-v0", game)
    system = render_system(sc, {"north": "move north"})
    assert "UPSERT" not in system and "written automatically" not in system
    assert "max " not in system.split("Memory files:")[1]  # no line caps announced
    log = render_phase(sc, "log", {"step": 7, "previous_step": 6, "previous_action": "east"})
    assert "SEARCH or READ a file before you write to it" in log
    assert "Step 6 action 'east': <outcome>" in log
    assert "Skip routine moves" in log
    for needed in ("failures", "unchanged observations", "discoveries", "inventory", "damage"):
        assert needed in log
    plan = render_phase(sc, "plan", {"step": 7, "injected": "", "map_analysis": ""})
    assert "Contents of" not in plan


def test_each_richer_builtin_names_v0s_version_as_parent():
    richer = [b for b in builtin_ids() if not b.endswith("-v0")]
    assert richer == ["crafter-keyed-status", "minihack-keyed-status", "nethack-keyed-status"]
    for name in richer:
        game = name.split("-")[0]
        sc = resolve_scaffold(name, game)
        v0 = resolve_scaffold(f"{game}-v0", game)
        assert sc.parent == v0.version  # written as "parent: <game>-v0" in scaffold.yaml
        assert f"parent: {game}-v0\n" in (BUILTIN_DIR / name / "scaffold.yaml").read_text()
        assert "UPSERT" in sc.spec.ops and sc.spec.helpers.status_file.enabled
        assert sc.spec.helpers.plan_injection.file == "strategy"
        assert {f.name for f in v0.spec.files} <= {f.name for f in sc.spec.files}
