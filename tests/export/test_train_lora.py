"""LoRA SFT through TRL on CPU: a tiny random Llama learns an export's memory turns.

The training tests share one run (module fixture) of a few dozen steps on ~80 examples.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from automem_core.export.recipe import TooFewExamplesError, default_recipe
from automem_core.export.train_lora import (
    TrainExtraMissingError,
    prepare_training,
    require_train_extra,
    train_lora,
)
from tests.export.export_fixture import make_export
from tests.export.tiny_model import check_label_mask

STEPS = 30


def _tiny_recipe(base: Path) -> Any:
    return default_recipe("minihack").replace(
        base_model=str(base),
        lora_rank=8,
        lora_alpha=64,
        learning_rate=5e-3,
        batch_size=4,
        gradient_accumulation=1,
        cutoff_len=1024,
        warmup_ratio=0.1,
        gradient_checkpointing=False,
        held_out_examples=8,
    )


def test_too_few_examples_refused_before_loading(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export", n=12)
    recipe = default_recipe("crafter").replace(base_model=str(tmp_path / "no-such-model"))
    with pytest.raises(TooFewExamplesError, match="at least 600"):
        train_lora(export, recipe, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_missing_train_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trl", None)
    with pytest.raises(TrainExtraMissingError, match=r"^trl is not installed; .*pip install -e"):
        require_train_extra()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("trl", reason="needs the train extra: pip install -e .[train]")
    from tests.export.tiny_model import make_tiny_base_model

    root = tmp_path_factory.mktemp("train")
    export = make_export(root / "export", n=80)
    base = make_tiny_base_model(export, root / "base")
    recipe = _tiny_recipe(base)
    result = train_lora(
        export, recipe, root / "out", max_steps=STEPS, progress=False, allow_few_examples=True
    )
    return {"root": root, "export": export, "base": base, "recipe": recipe, "result": result}


@pytest.mark.slow
def test_train_lora_lowers_held_out_loss(trained: dict[str, Any]) -> None:
    result = trained["result"]
    assert result.steps == STEPS
    assert result.held_out_examples == 8 and result.train_examples == 72
    assert result.held_out_loss_after < result.held_out_loss_before - 0.3
    assert result.final_train_loss < result.held_out_loss_before


@pytest.mark.slow
def test_train_lora_writes_curve_result_and_adapter(trained: dict[str, Any]) -> None:
    out, result = trained["root"] / "out", trained["result"]
    with result.loss_curve_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    train_steps = [int(r["step"]) for r in rows if r["split"] == "train"]
    held = [(int(r["step"]), float(r["loss"])) for r in rows if r["split"] == "held_out"]
    assert train_steps == list(range(1, STEPS + 1))
    assert [step for step, _ in held] == [0, STEPS]
    assert held[-1][1] == pytest.approx(result.held_out_loss_after, rel=1e-4)
    assert (out / "loss_curve.png").stat().st_size > 0
    assert json.loads((out / "training_result.json").read_text())["steps"] == STEPS
    assert (result.adapter_dir / "adapter_config.json").is_file()
    assert (result.adapter_dir / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_saved_adapter_loads_and_keeps_the_lower_loss(trained: dict[str, Any]) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from automem_core.export.examples import read_prompt_completion, split_held_out

    base_dir, result = trained["base"], trained["result"]
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    _, held = split_held_out(read_prompt_completion(trained["export"]), 8)

    def completion_loss(model: Any) -> float:
        losses = []
        for row in held:
            prompt = tokenizer.apply_chat_template(
                list(row.prompt), add_generation_prompt=True, tokenize=True
            )["input_ids"]
            full = tokenizer.apply_chat_template(list(row.prompt + row.completion), tokenize=True)[
                "input_ids"
            ]
            labels = [-100] * len(prompt) + full[len(prompt) :]
            with torch.no_grad():
                out = model(input_ids=torch.tensor([full]), labels=torch.tensor([labels]))
            losses.append(float(out.loss))
        return sum(losses) / len(losses)

    base_loss = completion_loss(AutoModelForCausalLM.from_pretrained(base_dir).eval())
    base_again = AutoModelForCausalLM.from_pretrained(base_dir)
    tuned = PeftModel.from_pretrained(base_again, result.adapter_dir)
    tuned_loss = completion_loss(tuned.eval())
    assert base_loss == pytest.approx(result.held_out_loss_before, abs=0.1)
    assert tuned_loss == pytest.approx(result.held_out_loss_after, abs=0.1)
    assert tuned_loss < base_loss - 0.3


@pytest.mark.slow
def test_label_mask_covers_every_prompt_token_and_no_completion_token(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    prepared = prepare_training(
        trained["export"],
        trained["recipe"],
        tmp_path / "out",
        max_steps=1,
        progress=False,
        allow_few_examples=True,
    )
    check_label_mask(prepared)


@pytest.mark.slow
def test_trained_adapter_served_through_openai_client(trained: dict[str, Any]) -> None:
    import openai

    from automem_core.llm.specialist_server import serve

    export_row = json.loads(
        (trained["export"] / "trl_prompt_completion.jsonl").read_text().splitlines()[0]
    )
    with serve(trained["base"], trained["result"].adapter_dir, port=0, block=False) as server:
        client = openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=60)
        response = client.chat.completions.create(
            model=server.model_id, messages=export_row["prompt"], temperature=0, max_tokens=24
        )
    assert response.model == "adapter"
    assert response.usage is not None and response.usage.completion_tokens >= 1
    assert isinstance(response.choices[0].message.content, str)
