"""A ready LLaMA-Factory SFT LoRA config for an export folder, and its ``dataset_info.json`` entry.

The YAML follows LLaMA-Factory's documented examples (``examples/train_lora/*_lora_sft.yaml``):
model, method, dataset, output, train and eval sections, with the recipe's LoRA and optimiser
settings. The export's ShareGPT file is registered in the folder's ``dataset_info.json`` with
explicit tags, and ``mask_history: true`` trains on the last turn only (the memory turn), never on
earlier assistant turns that a prompt carries as context.

The config is portable: its paths are relative to the export folder (``dataset_dir: .``), so the
folder can be copied to the training machine and run there with
``cd <export> && llamafactory-cli train llamafactory_sft_lora.yaml``. ``bf16`` comes from the
recipe or the caller; left unset, it is on only where an accelerator with bf16 is present.
``trust_remote_code`` is written only when the recipe asks for it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from automem_core.export.examples import ExportError, PromptCompletion, held_out_count, read_card
from automem_core.export.format_names import DATASET_INFO_FILE, SHAREGPT_FILE
from automem_core.export.formats import sharegpt_dataset_info
from automem_core.export.recipe import Recipe, check_example_count

log = logging.getLogger(__name__)

CONFIG_FILE = "llamafactory_sft_lora.yaml"
OUTPUT_DIR = "llamafactory_lora"


@dataclass(frozen=True)
class LlamaFactoryFiles:
    config_path: Path
    dataset_info_path: Path
    dataset_name: str
    examples: int


def lora_target(recipe: Recipe) -> str:
    """LLaMA-Factory's ``lora_target``: ``all`` for every linear layer, else comma-separated."""
    targets = recipe.target_modules
    return "all" if isinstance(targets, str) else ",".join(targets)


def render_llamafactory_config(
    recipe: Recipe,
    *,
    dataset_name: str,
    dataset_dir: str,
    output_dir: str,
    examples: int,
    bf16: bool = False,
) -> dict[str, dict[str, Any]]:
    """The config as sections of settings, in the order of LLaMA-Factory's examples."""
    held_out = held_out_count(examples, recipe.held_out_examples)
    model: dict[str, Any] = {"model_name_or_path": recipe.base_model}
    if recipe.trust_remote_code:
        model["trust_remote_code"] = True
    return {
        "model": model,
        "method": {
            "stage": "sft",
            "do_train": True,
            "finetuning_type": "lora",
            "lora_rank": recipe.lora_rank,
            "lora_alpha": recipe.lora_alpha,
            "lora_dropout": float(recipe.lora_dropout),
            "lora_target": lora_target(recipe),
        },
        "dataset": {
            "dataset": dataset_name,
            "dataset_dir": dataset_dir,
            "template": recipe.template,
            "cutoff_len": recipe.cutoff_len,
            "mask_history": True,
            "train_on_prompt": False,
            "overwrite_cache": True,
            "preprocessing_num_workers": 4,
        },
        "output": {
            "output_dir": output_dir,
            "logging_steps": 10,
            "save_steps": 500,
            "plot_loss": True,
            "overwrite_output_dir": True,
            "report_to": "none",
        },
        "train": {
            "per_device_train_batch_size": recipe.batch_size,
            "gradient_accumulation_steps": recipe.gradient_accumulation,
            "learning_rate": float(recipe.learning_rate),
            "num_train_epochs": float(recipe.epochs),
            "lr_scheduler_type": recipe.scheduler,
            "warmup_ratio": float(recipe.warmup_ratio),
            "bf16": bf16,
            "ddp_timeout": 180000000,
        },
        "eval": {
            "val_size": round(held_out / examples, 4) if examples else 0.0,
            "per_device_eval_batch_size": 1,
            "eval_strategy": "steps",
            "eval_steps": 100,
        },
    }


def render_yaml(sections: dict[str, dict[str, Any]]) -> str:
    """``### section`` headers and ``key: value`` lines, like the documented examples."""
    parts = [
        f"### {name}\n" + yaml.safe_dump(values, sort_keys=False, default_flow_style=False)
        for name, values in sections.items()
    ]
    return "\n".join(parts)


def accelerator_has_bf16() -> bool:
    """Whether this machine has an accelerator that trains in bf16 (False without torch)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def write_sharegpt(export_dir: Path, rows: list[PromptCompletion]) -> Path:
    """Write the ShareGPT file from ``rows`` (for an export made without it)."""
    from automem_core.export.example import MemoryExample
    from automem_core.export.formats import to_sharegpt

    examples = [
        MemoryExample(r.decision_id, r.game, "", 0, "", "log", list(r.prompt),
                      r.completion[0]["content"], "good", "", 0.0)
        for r in rows
    ]  # fmt: skip
    path = export_dir / SHAREGPT_FILE
    path.write_text(json.dumps(to_sharegpt(examples), ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path


def count_sharegpt_examples(export_dir: Path) -> int:
    path = export_dir / SHAREGPT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path}: missing; point at an export folder with it") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not JSON ({exc.msg}); re-export the folder") from None
    if not isinstance(data, list) or not all(
        isinstance(row, dict) and isinstance(row.get("conversations"), list) for row in data
    ):
        raise ExportError(f"{path}: expected a list of {{'conversations': [...]}}; re-export")
    return len(data)


def write_llamafactory_config(
    export_dir: Path | str,
    recipe: Recipe,
    *,
    output_dir: Path | str | None = None,
    dataset_name: str | None = None,
    allow_few_examples: bool = False,
    bf16: bool | None = None,
    rows: list[PromptCompletion] | None = None,
) -> LlamaFactoryFiles:
    """Write ``llamafactory_sft_lora.yaml`` into the export folder and register the ShareGPT file
    in its ``dataset_info.json`` (other entries are kept). With no ShareGPT file in the folder,
    it is written from ``rows`` (the export's examples from another format). ``bf16``: the
    caller's choice, else the recipe's, else whether this machine's accelerator has it."""
    folder = Path(export_dir).resolve()
    if not (folder / SHAREGPT_FILE).is_file() and rows is not None:
        write_sharegpt(folder, rows)
    examples = count_sharegpt_examples(folder)
    check_example_count(examples, recipe, allow_few_examples=allow_few_examples)
    game = recipe.game or str(read_card(folder).get("game") or "memory")
    name = dataset_name or f"automem_{game}"
    out = str(output_dir) if output_dir is not None else OUTPUT_DIR
    chosen = bf16 if bf16 is not None else recipe.bf16
    detected = chosen is None
    use_bf16 = accelerator_has_bf16() if chosen is None else chosen
    info_path = folder / DATASET_INFO_FILE
    info = _read_dataset_info(info_path)
    info.update(sharegpt_dataset_info(name))
    info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    sections = render_llamafactory_config(
        recipe, dataset_name=name, dataset_dir=".", output_dir=out, examples=examples,
        bf16=use_bf16,
    )  # fmt: skip
    config_path = folder / CONFIG_FILE
    header = (
        f"# LLaMA-Factory SFT LoRA config written by AutoMem for {examples} {game} memory turns.\n"
        "# Paths are relative to this folder: copy the folder anywhere, then run in it\n"
        f"#   llamafactory-cli train {CONFIG_FILE}\n"
    )
    if detected:
        found = "an accelerator with bf16" if use_bf16 else "no accelerator with bf16"
        header += (
            f"# bf16: {str(use_bf16).lower()} because {found} was found where this was written; "
            "on other hardware set it (automem train --bf16 / --no-bf16)\n"
        )
    header += "\n"
    config_path.write_text(header + render_yaml(sections), encoding="utf-8")
    log.info("wrote %s (dataset %s, %d examples)", config_path, name, examples)
    return LlamaFactoryFiles(config_path, info_path, name, examples)


def _read_dataset_info(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not JSON ({exc.msg}); fix or delete it") from None
    if not isinstance(info, dict):
        raise ExportError(f"{path}: expected a mapping of dataset names; fix or delete it")
    return info
