"""Loop 2, part 2 commands: ``train`` (LoRA with TRL + PEFT, or an OpenAI fine-tuning job),
``serve`` (a trained specialist as an OpenAI-compatible endpoint) and ``trainings`` (the ledger).

``automem train`` takes any export folder that holds a supervised format: it writes what else
it needs beside it (the ShareGPT file and the LLaMA-Factory config), checks the base model and
the examples' lengths before anything heavy starts, and records every training, failed ones
with their error, in the ledger."""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from automem_core.errors import AutoMemError, UsageError

if TYPE_CHECKING:
    from automem_core.export.examples import PromptCompletion
    from automem_core.export.recipe import Recipe
    from automem_core.store.record_rows import TrainingRow


def _recipe(args: argparse.Namespace, export_dir: Path) -> Recipe:
    from automem_core.export.examples import read_card
    from automem_core.export.recipe import load_recipe, recipe_for_games

    card = read_card(export_dir)
    if args.recipe:
        recipe = load_recipe(args.recipe)
    else:
        recipe = recipe_for_games([str(g) for g in card.get("games") or [card.get("game", "")]])
    changes: dict[str, object] = {}
    if args.base_model:
        changes["base_model"] = args.base_model
    if args.bf16 is not None:
        changes["bf16"] = args.bf16
    return recipe.replace(**changes) if changes else recipe


def _say_progress() -> None:
    """Training logs its progress (loss, steps) at INFO; show each line once on the terminal."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("automem_core.export")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False  # the root handler would print every line a second time


def _error_line(exc: BaseException) -> str:
    """What the ledger keeps of a failure: the message of an expected error, else its type too."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = (str(exc).strip().splitlines() or [""])[0]
    return text if isinstance(exc, AutoMemError) else f"{type(exc).__name__}: {text}".rstrip(": ")


def _fit_lengths(
    args: argparse.Namespace, rows: list[PromptCompletion], recipe: Recipe
) -> list[PromptCompletion]:
    """The examples that fit the recipe's cutoff; refuses (one line) when some do not and
    ``--drop-long`` was not given."""
    from automem_core.export.base_model import resolve_base_model
    from automem_core.export.train_lora import load_tokenizer, measure

    lengths = measure(rows, load_tokenizer(resolve_base_model(recipe.base_model)),
                      recipe.cutoff_len)  # fmt: skip
    long = set(lengths.too_long)
    if not long:
        return rows
    longest = max(lengths.lengths)
    if not args.drop_long:
        raise UsageError(
            f"{len(long)} of {len(rows)} examples are longer than cutoff_len {recipe.cutoff_len} "
            f"tokens (the longest has {longest}); pass --drop-long to train without them, or "
            f"use a recipe with cutoff_len >= {longest} (--recipe FILE)"
        )
    print(f"leaving out {len(long)} examples longer than cutoff_len {recipe.cutoff_len} tokens")
    return [row for i, row in enumerate(rows) if i not in long]


def cmd_train(args: argparse.Namespace) -> int:
    from automem_core.export.examples import read_sft_examples

    export_dir = Path(args.export)
    recipe = _recipe(args, export_dir)
    if not args.quiet:
        _say_progress()
    if args.openai:
        return _train_openai(args, export_dir, recipe)
    from automem_core.export.llamafactory import write_llamafactory_config
    from automem_core.export.recipe import check_example_count
    from automem_core.export.train_lora import require_train_extra

    rows = read_sft_examples(export_dir)
    check_example_count(len(rows), recipe, allow_few_examples=args.allow_few)
    files = write_llamafactory_config(
        export_dir, recipe, allow_few_examples=args.allow_few, bf16=args.bf16, rows=rows
    )
    print(f"LLaMA-Factory config: {files.config_path} (run `llamafactory-cli train "
          f"{files.config_path.name}` in that folder)")  # fmt: skip
    require_train_extra()
    rows = _fit_lengths(args, rows, recipe)
    return _train_lora(args, export_dir, recipe, rows)


def _train_lora(
    args: argparse.Namespace, export_dir: Path, recipe: Recipe, rows: list[PromptCompletion]
) -> int:
    from automem_core.export import ledger
    from automem_core.export.train_lora import train_lora

    row = ledger.start_training(args.data, export_dir, recipe, "trl", len(rows))
    out_dir = Path(args.out or export_dir / "trainings" / row.training_id)
    print(f"training {row.training_id}: LoRA on {recipe.base_model}, {len(rows)} examples "
          f"→ {out_dir}")  # fmt: skip
    started = time.monotonic()
    with _ledgered(args, row, started):
        result = train_lora(
            rows, recipe, out_dir, max_steps=args.max_steps, progress=not args.quiet,
            allow_few_examples=args.allow_few,
        )  # fmt: skip
    done = ledger.finish_lora(args.data, row, result, out_dir)
    print(
        f"{done.training_id}: {done.steps} steps in {done.wall_s:.0f} s; held-out loss "
        f"{result.held_out_loss_before:.4f} → {result.held_out_loss_after:.4f}; "
        f"adapter {done.adapter_path}"
    )
    print(
        f"serve it: automem serve --model {recipe.base_model} --adapter {done.adapter_path}\n"
        f"evaluate: automem run --game GAME --seeds … --training {done.training_id} "
        "--memory-base-url http://127.0.0.1:PORT/v1 --action-base-url BASE_URL"
    )
    return 0


@contextlib.contextmanager
def _ledgered(args: argparse.Namespace, row: TrainingRow, started: float) -> Iterator[None]:
    """Record a training that fails (or is interrupted) in the ledger with its real error, then
    let the error go on to the CLI."""
    from automem_core.export import ledger

    try:
        yield
    except BaseException as exc:
        ledger.fail_training(args.data, row, _error_line(exc), started)
        raise


def _train_openai(args: argparse.Namespace, export_dir: Path, recipe: Recipe) -> int:
    from automem_core.export import ledger
    from automem_core.export.examples import read_sft_examples
    from automem_core.export.format_names import OPENAI_FILE
    from automem_core.export.openai_finetune import submit_openai_finetune

    if not args.base_model:
        raise UsageError("--openai needs --base-model, e.g. --base-model gpt-4.1-mini-2025-04-14")
    if not (export_dir / OPENAI_FILE).is_file():
        raise UsageError(f"{export_dir}: --openai trains from {OPENAI_FILE}, which it lacks; "
                         "export it with `automem export --format openai` (or all)")  # fmt: skip
    n = len(read_sft_examples(export_dir))
    recipe = recipe.model_copy(update={"base_model": args.base_model})
    row = ledger.start_training(args.data, export_dir, recipe, "openai", n)
    started = time.monotonic()
    with _ledgered(args, row, started):
        result = submit_openai_finetune(
            export_dir, args.base_model, base_url=args.base_url, api_key_env=args.api_key_env,
            poll_s=args.poll_s, max_wait_s=args.max_wait_s, progress=not args.quiet,
        )  # fmt: skip
    done = ledger.finish_openai(args.data, row, result)
    model = f"; model {done.adapter_path}" if done.adapter_path else ""
    print(f"{done.training_id}: OpenAI job {done.job_id} {done.status}{model}")
    return 0 if done.status in ("succeeded", "running", "queued", "validating_files") else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from automem_core.llm.specialist_server import serve

    print(
        f"serving {args.adapter or args.model} at http://{args.host}:{args.port}/v1 (Ctrl-C stops)"
    )
    serve(args.model, args.adapter, args.host, args.port, model_id=args.model_id)
    return 0


def cmd_trainings(args: argparse.Namespace) -> int:
    import pandas as pd

    from automem_core.export.ledger import load_trainings

    found = load_trainings(args.data)
    if found.empty:
        print("no trainings yet; train one with `automem train EXPORT_DIR`")
        return 0
    columns = [
        "training_id", "backend", "status", "base_model", "examples", "steps",
        "heldout_loss_before", "heldout_loss_after", "wall_s", "adapter_path", "error",
    ]  # fmt: skip
    with pd.option_context("display.max_colwidth", 60, "display.width", 220):
        print(found[columns].to_string(index=False, na_rep="–"))
    return 0


def register(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    t = sub.add_parser("train", help="train a memory specialist on an export (LoRA or OpenAI)")
    t.add_argument("export", help="an export folder (from `automem export`)")
    t.add_argument("--recipe", help="recipe YAML (default: the paper's for the export's game; "
                   "several games: the combined `mixed` recipe)")  # fmt: skip
    t.add_argument("--base-model", help="override the recipe's base model (folder or hub id)")
    t.add_argument("--out", help="where the adapter goes (default: EXPORT/trainings/ID)")
    t.add_argument("--max-steps", type=int, help="cap the optimizer steps (overrides epochs)")
    t.add_argument(
        "--allow-few", action="store_true", help="train below the recipe's minimum examples"
    )
    t.add_argument("--drop-long", action="store_true",
                   help="leave out examples longer than the recipe's cutoff_len")  # fmt: skip
    bf16 = t.add_mutually_exclusive_group()
    bf16.add_argument(
        "--bf16", dest="bf16", action="store_true", default=None,
        help="train in bf16 (default: the recipe's, else where supported)",
    )  # fmt: skip
    bf16.add_argument("--no-bf16", dest="bf16", action="store_false", help="train in fp32")
    t.add_argument("--openai", action="store_true", help="submit an OpenAI fine-tuning job")
    t.add_argument("--base-url", help="OpenAI-compatible API for --openai (default: OpenAI)")
    t.add_argument("--api-key-env", default="OPENAI_API_KEY", help="the key's variable")
    t.add_argument("--poll-s", type=float, default=15.0, help="seconds between job polls")
    t.add_argument("--max-wait-s", type=float, help="stop waiting (the job goes on)")
    t.set_defaults(func=cmd_train, writes=True)

    s = sub.add_parser("serve", help="serve a model (+ LoRA adapter) as an OpenAI-compatible API")
    s.add_argument("--model", required=True, help="base model folder or hub id")
    s.add_argument("--adapter", help="LoRA adapter folder from `automem train`")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8001)
    s.add_argument("--model-id", help="the name the endpoint reports (default: the folder's)")
    s.set_defaults(func=cmd_serve, data=None)

    g = sub.add_parser("trainings", help="the training ledger")
    g.set_defaults(func=cmd_trainings)
    return [t, s, g]
