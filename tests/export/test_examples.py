from __future__ import annotations

import json
from pathlib import Path

import pytest

from automem_core.export.examples import (
    ExportError,
    read_card,
    read_prompt_completion,
    split_held_out,
)
from tests.export.export_fixture import make_export


def test_read_prompt_completion_reads_every_example(tmp_path: Path) -> None:
    rows = read_prompt_completion(make_export(tmp_path, n=30))
    assert len(rows) == 30
    assert all(r.completion[0]["role"] == "assistant" for r in rows)
    assert rows[0].prompt[0]["role"] == "system"
    assert rows[0].as_trl()["completion"][0]["content"].startswith("<|APPEND|>actions_log|Step ")


def test_read_prompt_completion_bad_line_names_line_and_field(tmp_path: Path) -> None:
    export = make_export(tmp_path, n=5)
    path = export / "trl_prompt_completion.jsonl"
    lines = path.read_text().splitlines()
    broken = json.loads(lines[2])
    del broken["completion"]
    lines[2] = json.dumps(broken)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ExportError, match=r"trl_prompt_completion\.jsonl:3: field `completion`"):
        read_prompt_completion(export)


def test_read_prompt_completion_missing_file_says_what_folder_needs(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"trl_prompt_completion\.jsonl"):
        read_prompt_completion(tmp_path)


def test_split_held_out_is_stable_when_examples_are_added(tmp_path: Path) -> None:
    rows = read_prompt_completion(make_export(tmp_path / "a", n=60))
    train, held = split_held_out(rows, 6)
    assert len(held) == 6 and len(train) == 54
    assert not {r.decision_id for r in held} & {r.decision_id for r in train}
    more = rows + read_prompt_completion(make_export(tmp_path / "b", n=20, seed=1))
    _, held_more = split_held_out(more, 6)
    kept = {r.decision_id for r in held} & {r.decision_id for r in held_more}
    assert len(kept) >= 4  # adding examples displaces at most the ones that now hash lower


def test_split_held_out_small_export_holds_out_at_most_a_fifth(tmp_path: Path) -> None:
    rows = read_prompt_completion(make_export(tmp_path, n=12))
    train, held = split_held_out(rows, 8)
    assert len(train) == 10 and len(held) == 2
    assert [len(split_held_out(rows[:n], 8)[1]) for n in (1, 2, 3)] == [0, 1, 1]


def test_read_card_returns_counts(tmp_path: Path) -> None:
    card = read_card(make_export(tmp_path, n=10, game="crafter"))
    assert card["game"] == "crafter" and card["counts"]["examples"] == 10
