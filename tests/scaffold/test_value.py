"""A scaffold as a value: content hash, id@hash8 version, per-file diff, folder round trip, and
the content-addressed versions every run keeps under data/scaffolds/."""

from __future__ import annotations

import dataclasses

import pytest

from automem_core.scaffold import (
    ScaffoldError,
    diff,
    load_scaffold,
    load_version,
    make_scaffold,
    resolve_scaffold,
    store_version,
    write_scaffold,
)


def with_limits(scaffold, **limits):
    spec = scaffold.spec.model_copy(
        update={"limits": scaffold.spec.limits.model_copy(update=limits)}
    )
    return make_scaffold(spec)


def test_version_is_id_at_the_first_eight_hex_digits_of_the_content_hash():
    v0 = resolve_scaffold(None, "crafter")
    assert v0.version == f"crafter-v0@{v0.content_hash[:8]}"
    assert len(v0.content_hash) == 64 and int(v0.content_hash, 16) >= 0


def test_same_id_other_content_is_another_version_and_lineage_is_not_content():
    v0 = resolve_scaffold(None, "crafter")
    edited = with_limits(v0, search_cap=7)
    assert edited.id == v0.id and edited.version != v0.version
    child = make_scaffold(v0.spec.model_copy(update={"parent": v0.version}))
    assert child.content_hash == v0.content_hash  # the parent is lineage, not content


def test_folder_round_trip_keeps_the_value(tmp_path):
    for game in ("crafter", "minihack", "nethack"):
        original = resolve_scaffold(None, game)
        folder = write_scaffold(original, tmp_path / game)
        again = load_scaffold(folder)
        assert again == original and again.canonical() == original.canonical()
        assert (folder / "prompts" / "log.txt").read_text() == original.prompts["log"]


def test_diff_names_each_changed_part_with_a_unified_diff():
    v0 = resolve_scaffold(None, "nethack")
    spec = v0.spec.model_copy(deep=True)
    files = [f.model_copy(update={"initial": "Go down."}) if f.name == "strategy" else f
             for f in spec.files]  # fmt: skip
    prompts = spec.prompts.model_copy(update={"log": spec.prompts.log + "\nBe brief."})
    other = make_scaffold(spec.model_copy(update={"files": files, "prompts": prompts}))
    changes = diff(v0, other)
    assert sorted(changes) == ["files/strategy", "prompts/log.txt"]
    assert "+Be brief." in changes["prompts/log.txt"]
    assert changes["files/strategy"][0] == f"--- {v0.version}/files/strategy"
    assert diff(v0, v0) == {}
    assert "scaffold.yaml" in diff(v0, with_limits(v0, max_log_turns=2))


def test_runs_keep_their_version_and_it_resolves_by_name(tmp_path):
    v0 = resolve_scaffold(None, "minihack")
    edited = with_limits(v0, max_plan_turns=2)
    for s in (v0, edited):
        folder = store_version(s, tmp_path)
        assert folder == tmp_path / "scaffolds" / s.version
    assert resolve_scaffold(edited.version, "minihack", tmp_path) == edited
    assert load_version(tmp_path, v0.version) == v0
    with pytest.raises(ScaffoldError, match="not stored"):
        load_version(tmp_path, "minihack-v0@deadbeef")


def test_a_stored_version_edited_by_hand_is_refused(tmp_path):
    v0 = resolve_scaffold(None, "crafter")
    folder = store_version(v0, tmp_path)
    (folder / "prompts" / "plan.txt").write_text("changed $observation")
    with pytest.raises(ScaffoldError, match="was edited after it was stored"):
        load_version(tmp_path, v0.version)


def test_parent_named_by_builtin_id_resolves_to_its_version(tmp_path):
    v0 = resolve_scaffold(None, "crafter")
    child = dataclasses.replace(v0, spec=v0.spec.model_copy(update={"id": "crafter-mine"}))
    folder = write_scaffold(make_scaffold(child.spec), tmp_path / "mine")
    manifest = (folder / "scaffold.yaml").read_text()
    (folder / "scaffold.yaml").write_text(manifest.replace("parent: null", "parent: crafter-v0"))
    assert load_scaffold(folder).parent == v0.version


def test_values_spelled_out_at_their_defaults_hash_like_values_left_out():
    v0 = resolve_scaffold(None, "minihack")
    spelled = type(v0.spec).model_validate(v0.spec.model_dump(mode="json"))
    terse = type(v0.spec).model_validate(v0.spec.model_dump(mode="json", exclude_defaults=True))
    assert make_scaffold(spelled).content_hash == make_scaffold(terse).content_hash
    assert with_limits(v0, search_cap=v0.spec.limits.search_cap + 1).version != v0.version
