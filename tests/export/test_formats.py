"""Every export format checked by the rules of the program that consumes it.

The export is written from realistic memory turns (``memory_turns.py``); each file is then loaded
with the ``datasets`` JSON loader, as the trainers do, and held to its consumer's rules: OpenAI
chat fine-tuning (alternating roles, ``weight`` 1 only on the trained turn), LLaMA-Factory's
ShareGPT converter (human/gpt at odd/even positions, an even count, the ``dataset_info.json``
columns and tags), TRL's conversational forms (its own ``apply_chat_template`` splits prompt from
completion exactly at the target), AutoMem's own reader of the prompt–completion file, and the
preference forms (one shared prompt, two different answers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from automem_core.export.example import prompt_problem
from automem_core.export.examples import read_prompt_completion, split_held_out
from automem_core.export.format_names import FORMAT_NAMES
from automem_core.export.formats import (
    FORMATS,
    fold_history,
    sharegpt_dataset_info,
    to_openai_chat,
    to_sharegpt,
    to_trl_prompt_completion,
)
from automem_core.export.targets import clean_examples
from automem_core.export.writer import write_export
from automem_core.memory.parser import parse_completion
from tests.export.memory_turns import realistic_examples, realistic_pairs

datasets = pytest.importorskip("datasets", reason="the train extra holds datasets")

N_EXAMPLES = 9  # of realistic_examples() left after cleaning
N_PAIRS = 3


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "crafter-set"
    write_export(
        out,
        realistic_examples(),
        realistic_pairs(),
        list(FORMAT_NAMES),
        selection_query="label = 'good' AND game = 'crafter'",
        score_formula="0.5*retrieved + 0.5*progress_after",
        excluded_seeds_note="evaluation seeds 0-99 excluded",
        environ={},
    )
    return out


def load(export: Path, name: str, tmp_path: Path) -> list[dict[str, Any]]:
    """The rows of format ``name`` as the ``datasets`` JSON loader reads them."""
    path = export / FORMATS[name].file_name  # type: ignore[index]
    ds = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf")
    )
    rows = ds.to_list()
    assert rows, f"{name}: empty"
    return rows


def assert_memory_target(text: str, phase_hint: str = "") -> None:
    parsed = parse_completion(text)
    assert parsed.action is None, f"game action in a memory-turn target{phase_hint}: {text!r}"
    assert parsed.ops and not parsed.errors
    assert text.strip() and "```" not in text


def assert_chat(messages: list[dict[str, Any]]) -> None:
    """An optional system message, then user/assistant alternating, ending with the assistant;
    no empty content anywhere."""
    assert prompt_problem(messages[:-1]) is None
    assert messages[-1]["role"] == "assistant"
    assert all(isinstance(m["content"], str) and m["content"].strip() for m in messages)


def test_every_format_loads_with_datasets_and_is_not_empty(export: Path, tmp_path: Path) -> None:
    for name in FORMAT_NAMES:
        expected = N_PAIRS if FORMATS[name].source == "pairs" else N_EXAMPLES
        assert len(load(export, name, tmp_path)) == expected, name


def test_openai_chat_weights_only_the_memory_turn(export: Path, tmp_path: Path) -> None:
    rows = load(export, "openai_chat", tmp_path)
    earlier_turns = 0
    for row in rows:
        assert set(row) == {"messages"}  # the API rejects unknown top-level keys
        messages = row["messages"]
        assert_chat(messages)
        for message in messages[:-1]:
            if message["role"] == "assistant":
                assert message["weight"] == 0
                earlier_turns += 1
            else:
                assert message.get("weight") is None  # weight is for assistant messages only
        assert messages[-1]["weight"] == 1
        assert_memory_target(messages[-1]["content"])
    assert earlier_turns >= 2  # the realistic set holds multi-turn prompts


def test_openai_chat_lines_hold_no_null_weights(export: Path) -> None:
    lines = (export / FORMATS["openai_chat"].file_name).read_text("utf-8").splitlines()
    for line in lines:
        for message in json.loads(line)["messages"]:
            assert ("weight" in message) == (message["role"] == "assistant")
            assert message.get("weight", 0) in (0, 1)


def test_sharegpt_follows_llamafactory_converter_rules(export: Path, tmp_path: Path) -> None:
    info = json.loads((export / "dataset_info.json").read_text("utf-8"))
    (entry,) = info.values()
    assert entry["formatting"] == "sharegpt"
    assert (export / entry["file_name"]).is_file()
    assert entry["file_name"] == FORMATS["sharegpt"].file_name
    rows = load(export, "sharegpt", tmp_path)
    columns, tags = entry["columns"], entry["tags"]
    for row in rows:
        assert set(row) == {columns["messages"], columns["system"]}
        assert row[columns["system"]].strip()
        turns = row[columns["messages"]]
        assert len(turns) % 2 == 0  # LLaMA-Factory skips an odd count as "invalid"
        for index, turn in enumerate(turns):
            assert set(turn) == {tags["role_tag"], tags["content_tag"]}
            expected = tags["user_tag"] if index % 2 == 0 else tags["assistant_tag"]
            assert turn[tags["role_tag"]] == expected
            assert turn[tags["content_tag"]].strip()
        assert_memory_target(turns[-1][tags["content_tag"]])


def test_sharegpt_dataset_info_documents_the_system_column() -> None:
    entry = sharegpt_dataset_info("automem_crafter")["automem_crafter"]
    assert entry["columns"] == {"messages": "conversations", "system": "system"}
    assert entry["tags"] == {
        "role_tag": "from",
        "content_tag": "value",
        "user_tag": "human",
        "assistant_tag": "gpt",
    }


def test_dataset_info_is_named_after_the_card_game(export: Path) -> None:
    card = json.loads((export / "card.json").read_text("utf-8"))
    info = json.loads((export / "dataset_info.json").read_text("utf-8"))
    assert list(info) == [f"automem_{card['game']}"] == [card["dataset_name"]]


def test_trl_prompt_completion_is_read_by_automem(export: Path, tmp_path: Path) -> None:
    rows = load(export, "trl_prompt_completion", tmp_path)
    read = read_prompt_completion(export)
    assert [r.decision_id for r in read] == [row["decision_id"] for row in rows]
    assert {r.game for r in read} == {"crafter"}
    assert len({r.decision_id for r in read}) == len(read)
    for r in read:
        assert_chat([*r.prompt, *r.completion])
        assert_memory_target(r.completion[0]["content"])
    train, held = split_held_out(read, 2)
    assert held and len(train) + len(held) == len(read)


def test_trl_chat_template_splits_exactly_at_the_target(export: Path, tmp_path: Path) -> None:
    from trl.data_utils import apply_chat_template, is_conversational

    from tests.export.tiny_model import train_tokenizer

    tokenizer = train_tokenizer(export)
    for row in load(export, "trl_prompt_completion", tmp_path):
        assert is_conversational(row)
        pc = {"prompt": row["prompt"], "completion": row["completion"]}
        out = apply_chat_template(pc, tokenizer)
        assert out["completion"] == f"{row['completion'][0]['content']}<|im_end|>\n"
        assert out["prompt"].endswith("<|im_start|>assistant\n")
    for row in load(export, "trl_preference", tmp_path):
        out = apply_chat_template(row, tokenizer)
        assert out["chosen"] == f"{row['chosen'][0]['content']}<|im_end|>\n"
        assert out["rejected"] == f"{row['rejected'][0]['content']}<|im_end|>\n"


def test_trl_preference_pairs_share_their_prompt(export: Path, tmp_path: Path) -> None:
    originals = {json.dumps(p.messages) for p in realistic_pairs()}
    for row in load(export, "trl_preference", tmp_path):
        assert set(row) == {"prompt", "chosen", "rejected"}
        assert json.dumps(row["prompt"]) in originals  # the prompt exactly as the model saw it
        assert prompt_problem(row["prompt"]) is None
        (chosen,), (rejected,) = row["chosen"], row["rejected"]
        assert chosen["role"] == rejected["role"] == "assistant"
        assert chosen["content"] != rejected["content"]
        assert_memory_target(chosen["content"])
        assert parse_completion(rejected["content"]).action is None
        assert rejected["content"].strip()


def test_openai_preference_matches_the_documented_form(export: Path, tmp_path: Path) -> None:
    trl_rows = load(export, "trl_preference", tmp_path)
    rows = load(export, "openai_preference", tmp_path)
    for row, trl_row in zip(rows, trl_rows, strict=True):
        assert set(row) == {"input", "preferred_output", "non_preferred_output"}
        assert row["input"]["messages"] == fold_history(trl_row["prompt"])
        body = [m for m in row["input"]["messages"] if m["role"] != "system"]
        assert [m["role"] for m in body] == ["user"]  # one turn, as OpenAI's DPO trains
        for message in trl_row["prompt"][1:]:  # every earlier message is folded in, in order
            assert message["content"] in body[0]["content"]
        (preferred,), (non_preferred,) = row["preferred_output"], row["non_preferred_output"]
        assert preferred["role"] == non_preferred["role"] == "assistant"
        assert preferred["content"] == trl_row["chosen"][0]["content"]
        assert non_preferred["content"] == trl_row["rejected"][0]["content"]
        assert preferred["content"] != non_preferred["content"]
        assert_memory_target(preferred["content"])
        assert parse_completion(non_preferred["content"]).action is None


def test_no_game_action_in_any_trained_turn_of_any_format(export: Path) -> None:
    """Read the raw files: every text trained on (weight 1, gpt's last turn, completion, chosen)
    and every rejected answer is free of game actions."""
    texts: list[str] = []
    for line in (export / "openai_chat.jsonl").read_text("utf-8").splitlines():
        texts += [m["content"] for m in json.loads(line)["messages"] if m.get("weight") == 1]
    sharegpt = json.loads((export / "sharegpt.json").read_text("utf-8"))
    texts += [r["conversations"][-1]["value"] for r in sharegpt]
    for name in ("trl_prompt_completion.jsonl", "trl_preference.jsonl"):
        for line in (export / name).read_text("utf-8").splitlines():
            row = json.loads(line)
            texts += [m["content"] for m in row.get("messages", [])[-1:]]
            texts += [m["content"] for m in row.get("completion", []) + row.get("chosen", [])]
            texts += [m["content"] for m in row.get("rejected", [])]
    assert len(texts) == 3 * N_EXAMPLES + 2 * N_PAIRS
    assert all(parse_completion(t).action is None for t in texts)


def test_format_functions_are_pure() -> None:
    examples = list(clean_examples(realistic_examples(), include_unsure=False).examples)
    before = [json.dumps(e.messages) for e in examples]
    assert to_openai_chat(examples) == to_openai_chat(examples)
    to_sharegpt(examples)
    rows = to_trl_prompt_completion(examples)
    rows[0]["prompt"][0]["content"] = "changed"  # a row is a copy, not a view of the example
    assert [json.dumps(e.messages) for e in examples] == before
