from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from automem_core.export import writer
from automem_core.export.examples import ExportError, read_card, read_prompt_completion
from automem_core.export.format_names import FORMAT_NAMES
from automem_core.export.llamafactory import write_llamafactory_config
from automem_core.export.recipe import default_recipe
from automem_core.export.secrets import secret_values
from automem_core.export.writer import REDACTED, write_export
from tests.export.memory_turns import example, realistic_examples, realistic_pairs

QUERY = "label = 'good' AND game = 'crafter' AND seed NOT IN eval_seeds"
FORMULA = "0.6*retrieved_later + 0.4*progress_after_retrieval"


def export(out: Path, formats: list[str] | None = None, **kw: object) -> writer.ExportResult:
    kw.setdefault("environ", {})
    return write_export(
        out,
        kw.pop("examples", realistic_examples()),  # type: ignore[arg-type]
        kw.pop("pairs", realistic_pairs()),  # type: ignore[arg-type]
        formats or list(FORMAT_NAMES),
        QUERY,
        FORMULA,
        "evaluation seeds 0-99 were excluded",
        **kw,  # type: ignore[arg-type]
    )


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted(folder.iterdir()))


def test_write_export_writes_the_listed_files_and_nothing_else(tmp_path: Path) -> None:
    result = export(tmp_path / "set")
    assert sorted(os.listdir(tmp_path / "set")) == list(result.files)
    assert {"README.md", "card.json", "dataset_info.json", "openai_chat.jsonl"} <= set(result.files)
    assert os.listdir(tmp_path) == ["set"]  # no temporary folder left beside it
    assert result.counts == {"examples": 9, "log": 4, "plan": 5, "pairs": 3}
    assert result.dropped["examples"]["no_op"] == 2
    assert result.dropped["pairs"] == {"same_after_cleaning": 1}


def test_write_export_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "set"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", "utf-8")
    with pytest.raises(ExportError, match=r"not empty.*--overwrite"):
        export(out)
    assert os.listdir(out) == ["notes.txt"]
    assert os.listdir(tmp_path) == ["set"]


def test_write_export_fills_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "set").mkdir()
    export(tmp_path / "set", ["trl_prompt_completion"])
    assert len(read_prompt_completion(tmp_path / "set")) == 9


def test_write_export_overwrites_only_when_told(tmp_path: Path) -> None:
    out = tmp_path / "set"
    export(out)
    result = export(out, ["trl_prompt_completion"], overwrite=True)
    assert sorted(os.listdir(out)) == list(result.files)
    assert "sharegpt.json" not in result.files  # the old export's files are gone
    assert os.listdir(tmp_path) == ["set"]


def test_write_export_failure_leaves_the_old_export_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "set"
    export(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = {"n": 0}

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")

    monkeypatch.setattr(writer.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        export(out, ["trl_prompt_completion"], overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert os.listdir(tmp_path) == ["set"]
    with pytest.raises(OSError, match="disk full"):
        calls["n"] = 0
        export(tmp_path / "new")
    assert os.listdir(tmp_path) == ["set"]  # a failed new export leaves nothing


def test_write_export_excludes_unsure_unless_asked(tmp_path: Path) -> None:
    card = read_card(export(tmp_path / "a").out_dir)
    assert card["counts"]["by_label"] == {"good": 9}
    assert card["dropped"]["examples"]["label_unsure"] == 1
    card = read_card(export(tmp_path / "b", include_unsure=True).out_dir)
    assert card["counts"]["by_label"] == {"good": 9, "unsure": 1}
    assert card["include_unsure"] is True
    assert "label_unsure" not in card["dropped"]["examples"]


def test_card_records_the_selection_and_provenance(tmp_path: Path) -> None:
    out = export(tmp_path / "set").out_dir
    card = read_card(out)
    assert card["game"] == "crafter"
    assert card["seeds"]["traces"] == [101]
    assert card["scaffold_versions"] == ["crafter-v0@0123abcd"]
    assert card["scaffolds"] == [
        {"version": "crafter-v0@0123abcd", "id": "crafter-v0", "hash": "0123abcd"}
    ]
    assert card["tasks"] == {"crafter": ["default"]}
    assert card["counts"]["examples"] == 9
    assert card["counts"]["by_label_source"] == {"human": 7, "llm:gpt-4.1": 1, "llm:x": 1}
    assert card["selection_query"] == QUERY and card["score_formula"] == FORMULA
    assert card["formats"]["trl_prompt_completion"] == "trl_prompt_completion.jsonl"
    readme = (out / "README.md").read_text("utf-8")
    front, body = readme.split("---\n")[1:3]
    import yaml

    meta = yaml.safe_load(front)
    assert meta["task_categories"] == ["text-generation"]
    assert {c["config_name"] for c in meta["configs"]} == set(FORMAT_NAMES)
    for config in meta["configs"]:
        assert (out / config["data_files"][0]["path"]).is_file()
    for fact in (QUERY, FORMULA, "0123abcd", "seeds of crafter: 101", "no_op 2", "llm:gpt-4.1 1"):
        assert fact in body


def test_card_lists_every_game_task_and_seed(tmp_path: Path) -> None:
    examples = [
        example(0, "log", "<|APPEND|>a|b<|END|><|DONE|>", seed=7),
        replace(example(1, "plan", "<|READ|>notes<|END|>", seed=9, game="minihack"), task="room"),
    ]
    card = read_card(export(tmp_path / "set", examples=examples, pairs=[]).out_dir)
    assert card["game"] == "crafter+minihack"
    assert card["seeds"]["by_game"] == {"crafter": [7], "minihack": [9]}
    assert card["tasks"] == {"crafter": ["default"], "minihack": ["room"]}


def test_write_export_drops_examples_that_hold_a_secret_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-test-3f9a1c0b7d2e4f60a1b2c3d4e5f6a7b8"
    password = 'pa"ss\\word-42-Zq8v!x'  # needs escaping in JSON
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("DB_PASSWORD", password)
    leaky = example(0, "log", f"<|APPEND|>actions_log|config says {key}<|END|><|DONE|>")
    told = example(
        1, "log", "<|APPEND|>actions_log|noted<|END|><|DONE|>",
        messages=[{"role": "user", "content": f"Step 2. Password {password} leaked; tell us."}],
    )  # fmt: skip
    result = write_export(
        tmp_path / "set",
        [leaky, told, *realistic_examples()[2:]],
        realistic_pairs(),
        list(FORMAT_NAMES),
        f"{QUERY} -- run with {key}",
        FORMULA,
    )
    text = all_text(tmp_path / "set")
    assert key not in text and password not in text and json.dumps(password)[1:-1] not in text
    assert result.dropped["examples"]["held_secret"] == 2
    assert "tell us" not in text and f"run with {REDACTED}" in text  # the card's text is scrubbed
    assert result.secrets_scrubbed == 1
    assert any("held the value of a secret" in n and "OPENAI_API_KEY" in n for n in result.notes)


def test_plain_words_and_file_names_in_secret_variables_redact_nothing(tmp_path: Path) -> None:
    env = {"TOKEN_FILE": "actions_log", "KEYBOARD": "us", "SECRET_WORD": "water", "HOME_KEY": "map"}
    result = export(tmp_path / "set", environ=env)
    assert result.secrets_scrubbed == 0 and "held_secret" not in result.dropped["examples"]
    assert "actions_log" in all_text(tmp_path / "set")
    assert REDACTED not in all_text(tmp_path / "set")


def test_secret_values_counts_configured_keys_and_key_shaped_values() -> None:
    env = {
        "OPENAI_API_KEY": "sk-aaaaaaaaaaaa",  # a configured key variable: counts when not a word
        "MY_ENDPOINT_KEY": "Zx81-q0PL-77ab-Qe3r",  # looks like a key
        "HF_TOKEN": "hf_Vb2kQ9mLx0PzR4tYw8NcJ",
        "client_secret": "cccccccccc",  # secret name, but too uniform to be a key
        "PGPASSWORD": "correct horse battery",  # spaces: a phrase, not a key
        "TOKEN_FILE": "actions_log",  # a memory file's name
        "HOME": "/root/Xy7-Q2-lmnop-98",  # not a secret's name
        "KEYBOARD": "us",
    }
    assert set(secret_values(env, never={"actions_log"})) == {
        "sk-aaaaaaaaaaaa",
        "Zx81-q0PL-77ab-Qe3r",
        "hf_Vb2kQ9mLx0PzR4tYw8NcJ",
    }
    assert (
        secret_values(env, key_variables=["TOKEN_FILE"], never={"actions_log"}).get("actions_log")
        is None
    )


def test_write_export_skips_pair_formats_without_pairs(tmp_path: Path) -> None:
    result = export(tmp_path / "set", pairs=[])
    assert set(result.skipped_formats) == {"trl_preference", "openai_preference"}
    assert "trl_preference.jsonl" not in result.files
    assert "trl_preference" not in read_card(tmp_path / "set")["formats"]


def test_write_export_refuses_when_nothing_is_left(tmp_path: Path) -> None:
    only_noise = [example(0, "plan", "ACTION: Noop"), example(1, "log", "ok", label="bad")]
    with pytest.raises(ExportError, match=r"nothing to export.*no_op"):
        export(tmp_path / "set", examples=only_noise, pairs=[])
    assert not (tmp_path / "set").exists()
    assert os.listdir(tmp_path) == []


def test_write_export_names_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"alpaca.*choose from.*openai_chat"):
        export(tmp_path / "set", ["alpaca"])


def test_dataset_info_is_valid_json_matching_the_sharegpt_file(tmp_path: Path) -> None:
    out = export(tmp_path / "set", ["sharegpt"], dataset_name="crafter_memory").out_dir
    info = json.loads((out / "dataset_info.json").read_text("utf-8"))
    assert info["crafter_memory"]["file_name"] == "sharegpt.json"
    assert read_card(out)["dataset_name"] == "crafter_memory"


def test_llamafactory_config_accepts_the_export(tmp_path: Path) -> None:
    out = export(tmp_path / "set").out_dir
    files = write_llamafactory_config(out, default_recipe("crafter"), allow_few_examples=True)
    assert files.examples == 9
    assert files.dataset_name == "automem_crafter"


def test_llamafactory_config_keeps_the_system_column(tmp_path: Path) -> None:
    out = export(tmp_path / "set").out_dir
    write_llamafactory_config(out, default_recipe("crafter"), allow_few_examples=True)
    info = json.loads((out / "dataset_info.json").read_text("utf-8"))
    assert info["automem_crafter"]["columns"].get("system") == "system"
