"""Every format read by the code that trains on it: the tokens a trainer trains on are exactly the
memory turn's target, for every example, with nothing of the context.

Supervised formats go through TRL's ``SFTTrainer`` data collator; preference formats through
``DPOTrainer``'s tokenization and ``DataCollatorForPreference``. Each file is read the way its
consumer reads it: the TRL files as they are; the OpenAI chat file by OpenAI's rule (only the
message of weight 1 is trained); the ShareGPT file by LLaMA-Factory's ``mask_history`` (only the
last ``gpt`` turn); the OpenAI preference file by its documented fields. A tiny random model and a
tokenizer trained on the export's own text stand in for a real base model. The folder also loads
with ``datasets.load_dataset`` (its default config) and its card with ``huggingface_hub``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from automem_core.export.format_names import FILE_NAMES, FORMAT_NAMES
from automem_core.export.writer import write_export
from tests.export.memory_turns import realistic_examples, realistic_pairs

pytest.importorskip("trl", reason="needs the train extra: pip install -e .[train]")
END_OF_TURN = "<|im_end|>"  # the tiny tokenizer's ChatML end of turn


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("consumers") / "set"
    write_export(out, realistic_examples(), realistic_pairs(), list(FORMAT_NAMES),
                 "every decision", "score", environ={})  # fmt: skip
    return out


@pytest.fixture(scope="module")
def tiny(export: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.export.tiny_model import make_tiny_base_model

    base = make_tiny_base_model(export, tmp_path_factory.mktemp("tiny"), max_positions=8192)
    return AutoModelForCausalLM.from_pretrained(base), AutoTokenizer.from_pretrained(base)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _plain(m: dict[str, Any]) -> dict[str, str]:
    return {"role": m["role"], "content": m["content"]}


def sft_rows(export: Path, name: str) -> list[dict[str, Any]]:
    """Prompt–completion rows of the supervised format ``name``, split where its consumer puts
    the trained part."""
    path = export / FILE_NAMES[name]  # type: ignore[index]
    if name == "trl_prompt_completion":
        return [{"prompt": r["prompt"], "completion": r["completion"]} for r in _lines(path)]
    if name == "openai_chat":  # OpenAI trains the assistant messages of weight 1
        rows = []
        for r in _lines(path):
            trained = [i for i, m in enumerate(r["messages"]) if m.get("weight", 1) == 1
                       and m["role"] == "assistant"]  # fmt: skip
            assert trained == [len(r["messages"]) - 1], "only the memory turn has weight 1"
            messages = [_plain(m) for m in r["messages"]]
            rows.append({"prompt": messages[:-1], "completion": messages[-1:]})
        return rows
    roles = {"human": "user", "gpt": "assistant"}  # ShareGPT, LLaMA-Factory's mask_history
    rows = []
    for r in json.loads(path.read_text("utf-8")):
        turns = [{"role": roles[t["from"]], "content": t["value"]} for t in r["conversations"]]
        system = [{"role": "system", "content": r["system"]}] if r["system"] else []
        rows.append({"prompt": system + turns[:-1], "completion": turns[-1:]})
    return rows


def assert_trains_exactly(trained_text: str, target: str) -> None:
    """The trained tokens spell the target, then only the template's end of turn."""
    assert trained_text.startswith(target), (trained_text[:80], target[:80])
    assert trained_text[len(target) :].strip() == END_OF_TURN


@pytest.mark.parametrize("name", ["trl_prompt_completion", "openai_chat", "sharegpt"])
def test_sft_collator_trains_on_the_target_alone(
    name: str, export: Path, tiny: tuple[Any, Any], tmp_path: Path
) -> None:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    model, tokenizer = tiny
    rows = sft_rows(export, name)
    config = SFTConfig(output_dir=str(tmp_path), max_length=None, report_to="none", bf16=False)
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer)  # fmt: skip
    assert len(trainer.train_dataset) == len(rows) == 9
    for i, row in enumerate(rows):
        batch = trainer.data_collator([trainer.train_dataset[i]])
        labels, ids = batch["labels"][0].tolist(), batch["input_ids"][0].tolist()
        trained = [k for k, label in enumerate(labels) if label != -100]
        assert trained == list(range(trained[0], trained[-1] + 1)), "one span, at the end"
        assert trained[-1] == len(ids) - 1 or labels[trained[-1] + 1 :] == [-100] * (
            len(ids) - trained[-1] - 1
        )
        assert_trains_exactly(tokenizer.decode([ids[k] for k in trained]),
                              row["completion"][0]["content"])  # fmt: skip


def preference_rows(export: Path, name: str) -> list[dict[str, Any]]:
    rows = _lines(export / FILE_NAMES[name])  # type: ignore[index]
    if name == "trl_preference":
        return rows
    out = []
    for r in rows:  # OpenAI's documented preference fields; one-turn conversations
        prompt = r["input"]["messages"]
        assert [m["role"] for m in prompt if m["role"] != "system"] == ["user"]
        out.append({"prompt": prompt, "chosen": r["preferred_output"],
                    "rejected": r["non_preferred_output"]})  # fmt: skip
    return out


@pytest.mark.parametrize("name", ["trl_preference", "openai_preference"])
def test_preference_collator_trains_on_both_answers_alone(
    name: str, export: Path, tiny: tuple[Any, Any], tmp_path: Path
) -> None:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    model, tokenizer = tiny
    rows = preference_rows(export, name)
    config = DPOConfig(output_dir=str(tmp_path), max_length=None, report_to="none", bf16=False)
    trainer = DPOTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer)  # fmt: skip
    assert len(trainer.train_dataset) == len(rows) == 3
    for i, row in enumerate(rows):
        batch = trainer.data_collator([trainer.train_dataset[i]])
        for b, side in enumerate(("chosen", "rejected")):  # the batch: chosen, then rejected
            ids, mask = batch["input_ids"][b].tolist(), batch["completion_mask"][b].tolist()
            trained = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m])
            assert_trains_exactly(trained, row[side][0]["content"])


def test_the_folder_loads_its_default_config_and_its_card_parses(export: Path) -> None:
    import datasets
    from huggingface_hub import DatasetCard

    loaded = datasets.load_dataset(str(export), split="train")
    assert len(loaded) == 9 and "messages" in loaded.column_names  # openai_chat: the first
    card = DatasetCard.load(export / "README.md")
    assert card.data["license"] == "other"
    configs = card.data["configs"]
    assert [c["config_name"] for c in configs if c.get("default")] == ["openai_chat"]
    assert {c["config_name"] for c in configs} == set(FORMAT_NAMES)
    assert "must set the license" in card.text
