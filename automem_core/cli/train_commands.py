"""Loop 2, part 2 commands: ``train`` (LoRA with TRL + PEFT, or an OpenAI fine-tuning job),
``serve`` (a trained specialist as an OpenAI-compatible endpoint) and ``trainings`` (the ledger)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import pandas as pd

from automem_core.export.examples import read_card, read_prompt_completion
from automem_core.export.recipe import Recipe, default_recipe, load_recipe


def _recipe(args: argparse.Namespace, export_dir: Path) -> Recipe:
    game = str(read_card(export_dir).get("game") or "")
    if args.recipe:
        recipe = load_recipe(args.recipe)
    elif game:
        recipe = default_recipe(game)
    else:
        raise ValueError(f"{export_dir} has no card naming its game; pass --recipe FILE")
    if args.base_model:
        recipe = recipe.model_copy(update={"base_model": args.base_model})
    return recipe


def _say_progress() -> None:
    """Training logs its progress (loss, steps) at INFO; show it on the terminal."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("automem_core.export", "automem_core.export.train_lora"):
        logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger("automem_core.export").addHandler(handler)


def cmd_train(args: argparse.Namespace) -> int:
    from automem_core.export import ledger
    from automem_core.export.llamafactory import write_llamafactory_config

    export_dir = Path(args.export)
    examples = len(read_prompt_completion(export_dir))
    recipe = _recipe(args, export_dir)
    if not args.quiet:
        _say_progress()
    if args.openai:
        return _train_openai(args, export_dir, recipe, examples)
    files = write_llamafactory_config(export_dir, recipe, allow_few_examples=args.allow_few)
    print(f"LLaMA-Factory config: {files.config_path} (llamafactory-cli train {files.config_path})")
    from automem_core.export.train_lora import require_train_extra, train_lora

    require_train_extra()
    row = ledger.start_training(args.data, export_dir, recipe, "trl", examples)
    out_dir = Path(args.out or export_dir / "trainings" / row.training_id)
    print(
        f"training {row.training_id}: LoRA on {recipe.base_model}, {examples} examples → {out_dir}"
    )
    started = time.monotonic()
    try:
        result = train_lora(
            export_dir, recipe, out_dir, max_steps=args.max_steps, progress=not args.quiet,
            allow_few_examples=args.allow_few,
        )  # fmt: skip
    except (KeyboardInterrupt, Exception) as exc:
        ledger.fail_training(args.data, row, str(exc) or type(exc).__name__, started)
        raise
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


def _train_openai(args: argparse.Namespace, export_dir: Path, recipe: Recipe, n: int) -> int:
    from automem_core.export import ledger
    from automem_core.export.openai_finetune import submit_openai_finetune

    if not args.base_model:
        raise ValueError("--openai needs --base-model, e.g. --base-model gpt-4.1-mini-2025-04-14")
    base_model = args.base_model
    recipe = recipe.model_copy(update={"base_model": base_model})
    row = ledger.start_training(args.data, export_dir, recipe, "openai", n)
    started = time.monotonic()
    try:
        result = submit_openai_finetune(
            export_dir, base_model, base_url=args.base_url, api_key_env=args.api_key_env,
            poll_s=args.poll_s, max_wait_s=args.max_wait_s, progress=not args.quiet,
        )  # fmt: skip
    except (KeyboardInterrupt, Exception) as exc:
        ledger.fail_training(args.data, row, str(exc) or type(exc).__name__, started)
        raise
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
    t.add_argument("--recipe", help="recipe YAML (default: the paper's for the export's game)")
    t.add_argument("--base-model", help="override the recipe's base model")
    t.add_argument("--out", help="where the adapter goes (default: EXPORT/trainings/ID)")
    t.add_argument("--max-steps", type=int, help="cap the optimizer steps (overrides epochs)")
    t.add_argument(
        "--allow-few", action="store_true", help="train below the recipe's minimum examples"
    )
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
