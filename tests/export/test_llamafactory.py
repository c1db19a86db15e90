"""The generated LLaMA-Factory config against LLaMA-Factory's documented fields (not installed).

The fields and types below are copied from LLaMA-Factory's documentation: the example
``examples/train_lora/llama3_lora_sft.yaml`` and the argument classes it documents
(``hparams/data_args.py``, ``hparams/finetuning_args.py``, ``hparams/model_args.py``, and
transformers' ``TrainingArguments`` for the train/eval keys), and ``data/README.md`` for
``dataset_info.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from automem_core.export.examples import ExportError
from automem_core.export.llamafactory import (
    CONFIG_FILE,
    accelerator_has_bf16,
    write_llamafactory_config,
)
from automem_core.export.recipe import TooFewExamplesError, default_recipe
from tests.export.export_fixture import make_export

# field -> type, or the tuple of documented choices (all strings)
DOCUMENTED_FIELDS: dict[str, type | tuple[str, ...]] = {
    # model (model_args.py)
    "model_name_or_path": str,
    "trust_remote_code": bool,
    # method (finetuning_args.py)
    "stage": ("pt", "sft", "rm", "ppo", "dpo", "kto"),
    "do_train": bool,
    "finetuning_type": ("lora", "oft", "freeze", "full"),
    "lora_rank": int,
    "lora_alpha": int,
    "lora_dropout": float,
    "lora_target": str,
    # dataset (data_args.py)
    "dataset": str,
    "dataset_dir": str,
    "template": str,
    "cutoff_len": int,
    "train_on_prompt": bool,
    "mask_history": bool,
    "max_samples": int,
    "overwrite_cache": bool,
    "preprocessing_num_workers": int,
    "val_size": float,
    # output
    "output_dir": str,
    "logging_steps": int,
    "save_steps": int,
    "plot_loss": bool,
    "overwrite_output_dir": bool,
    "report_to": str,
    # train
    "per_device_train_batch_size": int,
    "gradient_accumulation_steps": int,
    "learning_rate": float,
    "num_train_epochs": float,
    "lr_scheduler_type": (
        "linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
        "constant_with_warmup", "inverse_sqrt",
    ),
    "warmup_ratio": float,
    "bf16": bool,
    "ddp_timeout": int,
    # eval
    "per_device_eval_batch_size": int,
    "eval_strategy": ("no", "steps", "epoch"),
    "eval_steps": int,
}  # fmt: skip
REQUIRED_FOR_SFT_LORA = {
    "model_name_or_path", "stage", "do_train", "finetuning_type", "lora_rank", "lora_target",
    "dataset", "dataset_dir", "template", "cutoff_len", "output_dir",
    "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate",
    "num_train_epochs", "lr_scheduler_type", "warmup_ratio", "bf16",
}  # fmt: skip
DATASET_INFO_KEYS = {
    "hf_hub_url", "ms_hub_url", "script_url", "file_name", "formatting", "ranking", "subset",
    "folder", "columns", "tags",
}  # fmt: skip
COLUMN_KEYS = {
    "prompt", "query", "response", "history", "messages", "system", "tools", "images", "chosen",
    "rejected", "kto_tag",
}  # fmt: skip
TAG_KEYS = {
    "role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag",
    "system_tag",
}  # fmt: skip


def _conforms(value: object, expected: type | tuple[str, ...]) -> bool:
    if isinstance(expected, tuple):
        return value in expected
    if expected is float:
        return isinstance(value, float)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    export = make_export(tmp_path / "export", n=80)
    files = write_llamafactory_config(
        export, default_recipe("crafter"), allow_few_examples=True, output_dir=tmp_path / "saves"
    )
    assert files.config_path == export.resolve() / CONFIG_FILE
    return export, yaml.safe_load(files.config_path.read_text())


def test_config_uses_only_documented_fields_with_documented_types(
    written: tuple[Path, dict[str, object]],
) -> None:
    _, config = written
    unknown = sorted(set(config) - set(DOCUMENTED_FIELDS))
    assert unknown == []
    wrong = {k: v for k, v in config.items() if not _conforms(v, DOCUMENTED_FIELDS[k])}
    assert wrong == {}
    assert sorted(REQUIRED_FOR_SFT_LORA - set(config)) == []


def test_config_carries_the_recipe(written: tuple[Path, dict[str, object]]) -> None:
    _, config = written
    assert config["stage"] == "sft" and config["finetuning_type"] == "lora"
    assert (config["lora_rank"], config["lora_alpha"], config["lora_dropout"]) == (256, 512, 0.0)
    assert config["lora_target"] == "q_proj,k_proj,v_proj,o_proj"
    assert config["learning_rate"] == 5e-5 and config["num_train_epochs"] == 4.0
    assert config["per_device_train_batch_size"] == 2
    assert config["gradient_accumulation_steps"] == 8
    assert config["cutoff_len"] == 16384 and config["lr_scheduler_type"] == "cosine"
    assert config["warmup_ratio"] == 0.05 and config["template"] == "qwen"
    assert config["dataset_dir"] == "."  # relative: the folder can move to the training machine
    assert config["mask_history"] is True and config["train_on_prompt"] is False
    assert config["val_size"] == pytest.approx(8 / 80)


def test_all_linear_recipe_targets_all(tmp_path: Path) -> None:
    export = make_export(tmp_path, n=10)
    files = write_llamafactory_config(export, default_recipe("nethack"), allow_few_examples=True)
    assert yaml.safe_load(files.config_path.read_text())["lora_target"] == "all"


def test_dataset_info_entry_is_documented_sharegpt_and_points_at_the_file(
    written: tuple[Path, dict[str, object]],
) -> None:
    export, config = written
    info = json.loads((export / "dataset_info.json").read_text())
    entry = info[config["dataset"]]
    assert set(entry) <= DATASET_INFO_KEYS
    assert set(entry["columns"]) <= COLUMN_KEYS and set(entry["tags"]) <= TAG_KEYS
    assert entry["formatting"] == "sharegpt" and entry["columns"]["messages"] == "conversations"
    rows = json.loads((export / entry["file_name"]).read_text())
    tags = entry["tags"]
    for row in rows:
        turns = [m for m in row["conversations"] if m[tags["role_tag"]] != "system"]
        # documented: human at odd positions, gpt at even positions, ending with gpt
        roles = [m[tags["role_tag"]] for m in turns]
        assert roles[0::2] == [tags["user_tag"]] * len(roles[0::2])
        assert roles[1::2] == [tags["assistant_tag"]] * len(roles[1::2])
        assert roles[-1] == tags["assistant_tag"]


def test_existing_dataset_info_entries_are_kept(tmp_path: Path) -> None:
    export = make_export(tmp_path, n=10)
    before = json.loads((export / "dataset_info.json").read_text())
    files = write_llamafactory_config(export, default_recipe("minihack"), allow_few_examples=True)
    after = json.loads(files.dataset_info_path.read_text())
    assert files.dataset_name == "automem_minihack"
    assert set(after) == set(before) | {"automem_minihack"}


def test_too_few_examples_refused_with_minimum(tmp_path: Path) -> None:
    export = make_export(tmp_path, n=10)
    with pytest.raises(TooFewExamplesError, match="at least 300"):
        write_llamafactory_config(export, default_recipe("minihack"))
    assert not (export / CONFIG_FILE).exists()


def test_missing_sharegpt_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"sharegpt\.json: missing"):
        write_llamafactory_config(tmp_path, default_recipe("minihack"), allow_few_examples=True)


def test_config_is_portable_and_honours_bf16_and_remote_code(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export", n=10)
    recipe = default_recipe("crafter")
    files = write_llamafactory_config(export, recipe, allow_few_examples=True)
    text = files.config_path.read_text()
    config = yaml.safe_load(text)
    assert config["dataset_dir"] == "." and config["output_dir"] == "llamafactory_lora"
    assert str(tmp_path) not in text  # no absolute path anywhere
    assert "trust_remote_code" not in config
    has = accelerator_has_bf16()
    assert config["bf16"] is has and f"# bf16: {str(has).lower()} because" in text
    moved = tmp_path / "elsewhere"
    export.rename(moved)  # the config still names the data relative to its own folder
    assert (moved / config["dataset_dir"] / "dataset_info.json").is_file()
    files = write_llamafactory_config(
        moved, recipe.replace(trust_remote_code=True), allow_few_examples=True, bf16=True
    )
    config = yaml.safe_load(files.config_path.read_text())
    assert config["bf16"] is True and config["trust_remote_code"] is True
    assert "# bf16:" not in files.config_path.read_text()  # chosen, not detected
