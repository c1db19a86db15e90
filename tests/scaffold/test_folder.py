from pathlib import Path

import pytest
import yaml

from automem_core.scaffold import (
    ScaffoldError,
    builtin_ids,
    load_scaffold,
    resolve_scaffold,
    write_scaffold,
)
from automem_core.scaffold.prompts import render_phase, render_system


def _copy_builtin(tmp_path: Path, game: str = "crafter") -> Path:
    return write_scaffold(resolve_scaffold(None, game), tmp_path / "sc")


def _edit(folder: Path, **changes: object) -> None:
    raw = yaml.safe_load((folder / "scaffold.yaml").read_text())
    raw.update(changes)
    (folder / "scaffold.yaml").write_text(yaml.safe_dump(raw))


def test_builtins_are_v0_and_the_richer_ones_named_for_what_they_add():
    assert builtin_ids() == [
        "crafter-keyed-status",
        "crafter-v0",
        "minihack-keyed-status",
        "minihack-v0",
        "nethack-keyed-status",
        "nethack-v0",
    ]
    minihack = resolve_scaffold(None, "minihack")
    assert minihack.id == "minihack-v0" and minihack.spec.map_file is None
    keyed = resolve_scaffold("minihack-keyed-status", "minihack")
    assert keyed.spec.map_file == "dungeon_map"


def test_hash_is_stable_and_changes_with_content(tmp_path):
    folder = _copy_builtin(tmp_path)
    a, b = load_scaffold(folder), load_scaffold(folder)
    assert a.content_hash == b.content_hash
    (folder / "prompts" / "plan.txt").write_text("changed $observation")
    assert load_scaffold(folder).content_hash != a.content_hash


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"game": "Chess!"}, "game"),
        ({"limits": {"max_log_turns": 0}}, "limits.max_log_turns"),
        ({"ops": ["SEARCH", "TELEPORT"]}, "ops.1"),
        ({"map_file": "nowhere"}, "map_file 'nowhere'"),
        ({"colour": "blue"}, "colour"),
        ({"files": [{"name": "../etc", "purpose": "x"}]}, "files.0.name"),
    ],
)
def test_invalid_field_is_named(tmp_path, changes, needle):
    folder = _copy_builtin(tmp_path)
    _edit(folder, **changes)
    with pytest.raises(ScaffoldError) as err:
        load_scaffold(folder)
    message = str(err.value)
    assert needle in message and "scaffold.yaml" in message and "\n" not in message


def test_missing_prompt_file_and_bad_yaml_are_one_line_errors(tmp_path):
    folder = _copy_builtin(tmp_path)
    (folder / "prompts" / "log.txt").unlink()
    with pytest.raises(ScaffoldError, match=r"prompts.log: file 'prompts/log.txt' not found"):
        load_scaffold(folder)
    (folder / "scaffold.yaml").write_text("id: [unclosed\n")
    with pytest.raises(ScaffoldError, match="not valid YAML"):
        load_scaffold(folder)


def test_prompt_path_cannot_escape_the_folder(tmp_path):
    folder = _copy_builtin(tmp_path)
    _edit(folder, prompts={"system": "../../etc/passwd"})
    with pytest.raises(ScaffoldError, match="must stay inside"):
        load_scaffold(folder)


def test_wrong_game_and_unknown_name_are_rejected():
    with pytest.raises(ScaffoldError, match="is for crafter, not nethack"):
        resolve_scaffold("crafter-v0", "nethack")
    with pytest.raises(ScaffoldError, match="not found"):
        resolve_scaffold("no-such-scaffold", "crafter")


def test_system_prompt_lists_ops_files_and_actions():
    sc = resolve_scaffold("nethack-keyed-status", "nethack")
    text = render_system(sc, {"north": "move north", "down": "go down stairs"})
    assert "<|UPSERT_MAP|>x,y|description<|END|>" in text
    assert "- dungeon_map:" in text and "- down: go down stairs" in text
    assert "written automatically" in text  # the status file is helper-owned


def test_agent_text_with_template_syntax_is_substituted_literally():
    sc = resolve_scaffold(None, "crafter")
    out = render_phase(sc, "plan", {"observation": "$step ${evil} {braces}", "step": 4})
    assert "$step ${evil} {braces}" in out and "Step 4." in out


def test_memory_rules_are_checked_when_the_scaffold_loads(tmp_path):
    folder = _copy_builtin(tmp_path)
    raw = yaml.safe_load((folder / "scaffold.yaml").read_text())
    raw["files"][0] = {"name": "a..b", "purpose": "x"}
    (folder / "scaffold.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ScaffoldError, match=r"files.0: name 'a..b'"):
        load_scaffold(folder)
    raw["files"][0] = {"name": "notes", "purpose": "x", "initial": "1\n2\n3", "max_lines": 2}
    (folder / "scaffold.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ScaffoldError, match="more than max_lines=2"):
        load_scaffold(folder)
