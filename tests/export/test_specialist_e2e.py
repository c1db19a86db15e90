"""Loop 2 end to end: play, mine, label, export, train a tiny specialist with `automem train`,
serve it with `automem serve`, and evaluate it in a two-client run whose memory turns hit the
specialist and whose actions hit a base model (the local scripted server)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from automem_core.analysis.decision_table import load_decisions
from automem_core.cli import main
from automem_core.export.ledger import load_trainings
from automem_core.export.recipe import default_recipe
from automem_core.export.train_lora import prepare_training
from automem_core.mining.labels import add_labels, new_label
from automem_core.store.reader import connect
from automem_core.testing.local_server import LocalServer
from automem_core.testing.served import free_port
from tests.export.tiny_model import check_label_mask

pytestmark = pytest.mark.slow
TRAIN_SEEDS = "0-2"


def _recipe(base: Path) -> Any:
    return default_recipe("crafter").replace(
        base_model=str(base), lora_rank=8, lora_alpha=64, learning_rate=5e-3, batch_size=2,
        gradient_accumulation=1, cutoff_len=2048, warmup_ratio=0.1,
        gradient_checkpointing=False, held_out_examples=8, target_modules="all-linear",
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("trl", reason="needs the train extra: pip install -e .[train]")
    from tests.export.tiny_model import make_tiny_base_model

    tmp = tmp_path_factory.mktemp("specialist")
    data = tmp / "data"
    assert main(["run", "--game", "crafter", "--seeds", TRAIN_SEEDS, "--max-steps", "25",
                 "--run-id", "traces", "--data", str(data), "--quiet"]) == 0  # fmt: skip
    assert main(["mine", "--run", "traces", "--data", str(data)]) == 0
    decisions = load_decisions(data)
    add_labels(data, [new_label(d, "good", "tester") for d in decisions["decision_id"]])
    export = tmp / "export"
    assert main(["export", "--format", "trl", "--format", "sharegpt", "--out", str(export),
                 "--author", "tester",
                 "--data", str(data)]) == 0  # fmt: skip
    base = make_tiny_base_model(export, tmp / "base", max_positions=4096)
    recipe_file = tmp / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(_recipe(base).public_dict()), encoding="utf-8")
    code = main(["train", str(export), "--recipe", str(recipe_file), "--max-steps", "20",
                 "--allow-few", "--data", str(data), "--quiet"])  # fmt: skip
    assert code == 0
    return {"data": data, "export": export, "base": base, "recipe": _recipe(base), "tmp": tmp}


def test_training_from_a_loop2_export_lowers_held_out_loss_and_is_in_the_ledger(trained):
    rows = load_trainings(trained["data"])
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["status"] == "finished" and row["backend"] == "trl"
    assert row["steps"] == 20 and row["examples"] > 40
    assert row["heldout_loss_after"] < row["heldout_loss_before"] - 0.3
    assert (Path(row["adapter_path"]) / "adapter_config.json").is_file()
    assert (Path(row["out_dir"]) / "loss_curve.csv").is_file()
    assert row["export_id"], "the training names the recorded export it used"
    assert (trained["export"] / "llamafactory_sft_lora.yaml").is_file()


def test_label_mask_on_the_real_export(trained, tmp_path):
    prepared = prepare_training(trained["export"], trained["recipe"], tmp_path / "out",
                                max_steps=1, progress=False, allow_few_examples=True)  # fmt: skip
    check_label_mask(prepared)


@pytest.fixture(scope="module")
def specialist(trained) -> Iterator[str]:
    adapter = load_trainings(trained["data"]).iloc[0]["adapter_path"]
    port = free_port()
    log = (trained["tmp"] / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "automem_core.cli", "serve", "--model", str(trained["base"]),
         "--adapter", adapter, "--port", str(port), "--model-id", "specialist"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/v1"
        _wait_until_up(f"{url}/models", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"automem serve exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def test_evaluating_on_seeds_the_export_came_from_is_refused(trained, capsys):
    training_id = load_trainings(trained["data"]).iloc[0]["training_id"]
    code = main(["run", "--game", "crafter", "--seeds", "1", "--training", training_id,
                 "--data", str(trained["data"]), "--quiet"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: training") and "learned from crafter seeds 1" in err


def test_two_client_run_sends_memory_turns_to_the_specialist_and_actions_to_the_base(
    trained, specialist, tmp_path
):
    data = trained["data"]
    training_id = load_trainings(data).iloc[0]["training_id"]
    config = tmp_path / "memory.yaml"
    config.write_text(yaml.safe_dump({"base_url": specialist, "model": "specialist",
                                      "max_tokens": 48, "temperature": 0.0}))  # fmt: skip
    with LocalServer(lambda messages: "ACTION: Noop") as base:
        code = main(["run", "--game", "crafter", "--seeds", "7", "--max-steps", "3",
                     "--config", str(config), "--action-base-url", base.base_url,
                     "--action-model", "base", "--training", training_id, "--run-id", "eval",
                     "--data", str(data), "--quiet"])  # fmt: skip
        assert code == 0
        assert base.requests >= 3  # one action turn per step
    con = connect(data, duckdb.connect(), tables=("runs", "turns"), run_ids=["eval"])
    clients = dict(con.execute("SELECT phase, list(DISTINCT client) FROM turns GROUP BY phase")
                   .fetchall())  # fmt: skip
    assert clients["action"] == [f"openai:base@{base.base_url}"]
    memory = f"openai:specialist@{specialist}"
    assert clients["log"] == [memory] and clients["plan"] == [memory]
    run = con.execute("SELECT training_id, model_config_json FROM runs").fetchone()
    assert run[0] == training_id
    assert json.loads(run[1])["memory"]["base_url"] == specialist
