"""LoRA SFT of a memory specialist with TRL + PEFT on an export's prompt–completion pairs.

The examples are TRL's conversational prompt–completion form, so the loss falls on the
completion (the memory turn's ops) only: the system prompt, the observation and any earlier
turns in the prompt carry label -100. A few examples are held out and their loss is measured
before and after training. The run writes the adapter, the loss curve and ``training_result.json``
into ``out_dir``.

torch, transformers, trl, peft and datasets are imported inside the functions: they are the
``train`` extra, and the rest of the package works without them.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from automem_core.errors import AutoMemError
from automem_core.export.base_model import ResolvedModel, resolve_base_model
from automem_core.export.examples import (
    ExportError,
    PromptCompletion,
    read_sft_examples,
    split_held_out,
)
from automem_core.export.lengths import TokenizerCount
from automem_core.export.loss_curve import LossPoint, points_from_log_history, write_loss_curve
from automem_core.export.recipe import Recipe, check_example_count, peft_target_modules

log = logging.getLogger(__name__)

TRAIN_EXTRA_HINT = "install the train extra: pip install -e .[train]"
ADAPTER_DIR = "adapter"
RESULT_FILE = "training_result.json"


class TrainExtraMissingError(AutoMemError, ImportError):
    """torch / transformers / trl / peft / datasets is not installed."""


class TrainingError(AutoMemError):
    """A training that cannot start as asked; the message names the fix."""


Examples = Path | str | list[PromptCompletion]  # an export folder, or its examples already read


def _rows(examples: Examples) -> list[PromptCompletion]:
    return list(examples) if isinstance(examples, list) else read_sft_examples(examples)


@dataclass(frozen=True)
class Lengths:
    """Each example's length in the base model's tokens (prompt and completion, chat template
    applied), and which are longer than the recipe's cutoff."""

    lengths: tuple[int, ...]
    cutoff: int

    @property
    def too_long(self) -> tuple[int, ...]:
        """Indexes of the examples longer than the cutoff."""
        return tuple(i for i, n in enumerate(self.lengths) if n > self.cutoff)


def load_tokenizer(base: ResolvedModel) -> Any:
    """The base model's tokenizer (refused when it has no chat template: training renders
    chats)."""
    require_train_extra()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.name, local_files_only=base.local_only)
    if tokenizer.chat_template is None:
        raise TrainingError(
            f"{base.name}: the tokenizer has no chat template; use an instruct/chat model"
        )
    return tokenizer


def measure(rows: list[PromptCompletion], tokenizer: Any, cutoff: int) -> Lengths:
    counter = TokenizerCount(tokenizer, "base model")
    return Lengths(tuple(counter.count([*r.prompt, *r.completion]) for r in rows), cutoff)


@dataclass(frozen=True)
class TrainingResult:
    steps: int
    final_train_loss: float
    held_out_loss_before: float
    held_out_loss_after: float
    adapter_dir: Path
    loss_curve_csv: Path
    wall_time_s: float
    train_examples: int
    held_out_examples: int
    base_model: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["adapter_dir"] = str(self.adapter_dir)
        data["loss_curve_csv"] = str(self.loss_curve_csv)
        return data


@dataclass
class PreparedTraining:
    """A ready ``trl.SFTTrainer`` (datasets tokenized, labels masked) and the split it uses."""

    trainer: Any
    train_rows: list[PromptCompletion]
    held_out_rows: list[PromptCompletion]
    out_dir: Path


def require_train_extra() -> None:
    """Raise a one-line ``TrainExtraMissingError`` if any training package is missing."""
    for name in ("torch", "transformers", "trl", "peft", "datasets"):
        if importlib.util.find_spec(name) is None:
            raise TrainExtraMissingError(f"{name} is not installed; {TRAIN_EXTRA_HINT}")


def prepare_training(
    examples: Examples,
    recipe: Recipe,
    out_dir: Path | str,
    *,
    max_steps: int | None = None,
    progress: bool = True,
    allow_few_examples: bool = False,
) -> PreparedTraining:
    """Split off held-out examples, load the base model and build the trainer. ``examples``:
    an export folder (its supervised file is read) or the examples."""
    rows = _rows(examples)
    check_example_count(len(rows), recipe, allow_few_examples=allow_few_examples)
    require_train_extra()
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, PrinterCallback
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    train_rows, held_out_rows = split_held_out(rows, recipe.held_out_examples)
    if not held_out_rows:
        raise ExportError("one example cannot be split into training and held out; export two")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = resolve_base_model(recipe.base_model)
    bf16 = recipe.bf16 if recipe.bf16 is not None else _bf16_supported(torch)
    dtype = torch.bfloat16 if bf16 else torch.float32
    log.info("loading base model %s (%s)", base.name, dtype)
    tokenizer = load_tokenizer(base)
    model = AutoModelForCausalLM.from_pretrained(
        base.name, dtype=dtype, local_files_only=base.local_only,
        trust_remote_code=recipe.trust_remote_code,
    )  # fmt: skip
    config = SFTConfig(
        output_dir=str(out / "trainer"),
        per_device_train_batch_size=recipe.batch_size,
        per_device_eval_batch_size=recipe.batch_size,
        gradient_accumulation_steps=recipe.gradient_accumulation,
        learning_rate=recipe.learning_rate,
        num_train_epochs=recipe.epochs,
        max_steps=max_steps if max_steps is not None else -1,
        lr_scheduler_type=recipe.scheduler,
        warmup_steps=recipe.warmup_ratio,  # a float below 1 is a ratio of the total steps
        max_length=recipe.cutoff_len,
        completion_only_loss=True,
        assistant_only_loss=False,
        packing=False,
        bf16=bf16,
        activation_checkpointing=recipe.gradient_checkpointing,
        dataloader_pin_memory=torch.cuda.is_available(),
        logging_steps=1,
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        disable_tqdm=not progress,
        prediction_loss_only=True,
        seed=recipe.seed,
        data_seed=recipe.seed,
        dataloader_num_workers=0,
    )
    lora = LoraConfig(
        r=recipe.lora_rank,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=peft_target_modules(recipe),
        bias="none",
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list([r.as_trl() for r in train_rows]),
        eval_dataset=Dataset.from_list([r.as_trl() for r in held_out_rows]),
        processing_class=tokenizer,
        peft_config=lora,
    )
    trainer.remove_callback(PrinterCallback)  # it prints; progress goes through tqdm and logging
    trainer.add_callback(_logging_callback())
    return PreparedTraining(trainer, train_rows, held_out_rows, out)


def train_lora(
    examples: Examples,
    recipe: Recipe,
    out_dir: Path | str,
    *,
    max_steps: int | None = None,
    progress: bool = True,
    allow_few_examples: bool = False,
) -> TrainingResult:
    """Train a LoRA adapter on ``examples`` (an export folder, or its examples) with
    ``recipe``; write it and its curve to ``out_dir``. ``max_steps`` caps the optimizer steps
    (overrides ``epochs``)."""
    started = time.monotonic()
    rows = _rows(examples)
    # refuse a too-small export before paying for the imports and the model load
    check_example_count(len(rows), recipe, allow_few_examples=allow_few_examples)
    with _progress_bars(progress):
        return _train(rows, recipe, out_dir, max_steps, progress, allow_few_examples, started)


def _train(
    rows: list[PromptCompletion],
    recipe: Recipe,
    out_dir: Path | str,
    max_steps: int | None,
    progress: bool,
    allow_few_examples: bool,
    started: float,
) -> TrainingResult:
    prepared = prepare_training(
        rows,
        recipe,
        out_dir,
        max_steps=max_steps,
        progress=progress,
        allow_few_examples=allow_few_examples,
    )
    trainer, out = prepared.trainer, prepared.out_dir
    n_train, n_held = len(prepared.train_rows), len(prepared.held_out_rows)
    log.info("training on %d examples, %d held out", n_train, n_held)
    before = _held_out_loss(trainer)
    output = trainer.train()
    after = _held_out_loss(trainer)
    adapter_dir = out / ADAPTER_DIR
    trainer.save_model(str(adapter_dir))
    with contextlib.suppress(OSError):  # the trainer's own folder stays empty (no checkpoints)
        (out / "trainer").rmdir()
    # train() starts a fresh log history, so the loss measured before it is added back here
    points = [LossPoint(0, "held_out", before), *points_from_log_history(trainer.state.log_history)]
    curve = write_loss_curve(points, out)
    train_losses = [p.loss for p in points if p.split == "train"]
    result = TrainingResult(
        steps=int(output.global_step),
        final_train_loss=train_losses[-1] if train_losses else float(output.training_loss),
        held_out_loss_before=before,
        held_out_loss_after=after,
        adapter_dir=adapter_dir,
        loss_curve_csv=curve[0],
        wall_time_s=time.monotonic() - started,
        train_examples=len(prepared.train_rows),
        held_out_examples=len(prepared.held_out_rows),
        base_model=recipe.base_model,
    )
    (out / RESULT_FILE).write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    (out / "recipe.yaml").write_text(yaml.safe_dump(recipe.public_dict(), sort_keys=False), "utf-8")
    log.info(
        "trained %d steps in %.1f s; held-out loss %.4f -> %.4f; adapter at %s",
        result.steps,
        result.wall_time_s,
        before,
        after,
        adapter_dir,
    )
    return result


def _held_out_loss(trainer: Any) -> float:
    metrics = trainer.evaluate()
    if "eval_loss" not in metrics:
        raise TrainingError(
            "the held-out examples gave no loss (none was left after tokenizing); check that "
            "cutoff_len covers the examples (the export's card lists their lengths)"
        )
    return float(metrics["eval_loss"])


@contextlib.contextmanager
def _progress_bars(enabled: bool) -> Iterator[None]:
    """Turn the datasets and transformers progress bars on or off for the run, then restore."""
    require_train_extra()
    ds_utils: Any = importlib.import_module("datasets.utils")
    tf_logging: Any = importlib.import_module("transformers.utils.logging")

    was_ds, was_tf = ds_utils.is_progress_bar_enabled(), tf_logging.is_progress_bar_enabled()
    (ds_utils.enable_progress_bars if enabled else ds_utils.disable_progress_bars)()
    (tf_logging.enable_progress_bar if enabled else tf_logging.disable_progress_bar)()
    try:
        yield
    finally:
        (ds_utils.enable_progress_bars if was_ds else ds_utils.disable_progress_bars)()
        (tf_logging.enable_progress_bar if was_tf else tf_logging.disable_progress_bar)()


def _bf16_supported(torch: Any) -> bool:
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def _logging_callback() -> Any:
    from transformers import TrainerCallback

    class _LogToLogger(TrainerCallback):  # type: ignore[misc]
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs:
                shown = {k: round(v, 5) if isinstance(v, float) else v for k, v in logs.items()}
                log.info("step %d/%d %s", state.global_step, state.max_steps, shown)

    return _LogToLogger()
