"""Loop 2 from the command line alone, as a new user runs it: a demo store, `automem mine` with
resampled alternatives (from the local OpenAI-compatible server), `automem decisions`, `automem
judge`, `automem label` on decisions and alternatives, `automem export --format all`, `automem
train` on a tiny model (refused first for examples longer than the cutoff), the ledger; and the
OpenAI path against the local fine-tuning API. Every step is a subprocess of the `automem`
command; nothing here calls the library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from automem_core.testing.finetune_api import FakeFineTuneAPI
from automem_core.testing.local_server import LocalServer

pytestmark = pytest.mark.slow
KEY_ENV = "AUTOMEM_TEST_FT_KEY"


def automem(*args: str, data: Path, ok: bool = True, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "automem_core.cli", *args, "--data", str(data)],
        capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )  # fmt: skip
    if ok:
        assert done.returncode == 0, f"automem {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    else:
        assert done.returncode == 2, done.stdout + done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert "Traceback" not in done.stderr and len(errors) == 1, done.stderr
    return done.stdout + done.stderr


def responder(messages: list[dict[str, Any]]) -> str:
    """The judge calls everything good; a resampled answer is a memory op on a file the
    scaffold has, different from what the embedded player wrote."""
    if "You judge one memory decision" in messages[0]["content"]:
        return '{"verdict": "good", "reason": "kept what matters"}'
    if "[PLAN" in messages[-1]["content"] or "PLAN phase" in messages[-1]["content"]:
        return "<|SEARCH|>strategy|zzz-nothing<|END|>"
    return "<|APPEND|>strategy|resampled note<|END|><|DONE|>"


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("trl", reason="needs the train extra: pip install -e .[train]")
    tmp = tmp_path_factory.mktemp("cli-loop2")
    data = tmp / "data"
    automem("demo", "--max-steps", "12", "--no-loops", "--quiet", data=data)
    crafter = sorted(p.name for p in (data / "runs").iterdir() if p.name.startswith("crafter"))
    assert crafter, "the demo plays Crafter"
    run = crafter[0]
    with LocalServer(responder) as server:
        url = server.start()
        out = automem("mine", "--run", run, "--resample", "1", "--limit", "8",
                      "--base-url", url, "--model", "sampler", data=data)  # fmt: skip
        assert "sampled 8 alternatives for 8 decisions" in out
        again = automem("mine", "--run", run, data=data)  # mining twice: nothing doubles
        judged = automem("judge", "--run", run, "--limit", "4", "--base-url", url,
                         "--model", "judge", data=data)  # fmt: skip
    listed = [
        json.loads(line)
        for line in automem(
            "decisions", "--run", run, "--alternatives", "--limit", "0", "--json", data=data
        ).splitlines()
    ]
    return {"data": data, "run": run, "tmp": tmp, "mined": out, "again": again,
            "judged": judged, "decisions": listed}  # fmt: skip


def test_decisions_are_listed_once_with_their_alternatives(loop: dict[str, Any]) -> None:
    decisions = loop["decisions"]
    ids = [d["decision_id"] for d in decisions]
    assert len(ids) == len(set(ids)) > 20  # mined twice, listed once
    with_alts = [d for d in decisions if d["alternatives"]]
    assert len(with_alts) == 8 and all(len(d["alternatives"]) == 1 for d in with_alts)
    assert "judged 4 decisions and" in loop["judged"]
    table = automem("decisions", "--run", loop["run"], "--alternatives", "--limit", "3",
                    data=loop["data"])  # fmt: skip
    assert "└ " in table or "more (--limit 0" in table


def test_label_takes_decisions_and_alternatives_once_each_and_names_unknown_ids(
    loop: dict[str, Any],
) -> None:
    data, decisions = loop["data"], loop["decisions"]
    with_alts = [d for d in decisions if d["alternatives"]]
    plain = [d["decision_id"] for d in decisions if not d["alternatives"]][:30]
    out = automem("label", *plain, plain[0], "--verdict", "good", "--author", "ana", data=data)
    assert out.strip() == "labelled 30 decisions good as ana"  # the repeated id counted once
    originals = [d["decision_id"] for d in with_alts]
    alternatives = [d["alternatives"][0]["alternative_id"] for d in with_alts]
    automem("label", *originals, "--verdict", "good", "--author", "ana", data=data)
    out = automem("label", *alternatives, "--verdict", "bad", "--author", "ana", data=data)
    assert out.strip() == "labelled 8 alternatives bad as ana"
    err = automem("label", "ep-x:4:log:0", "--verdict", "good", "--author", "ana", data=data,
                  ok=False)  # fmt: skip
    assert "no decision or alternative 'ep-x:4:log:0'" in err and "a decision id" in err
    err = automem("label", plain[0], "--verdict", "good", data=data, ok=False,
                  env={"AUTOMEM_AUTHOR": ""})  # fmt: skip
    assert "--author" in err
    listed = {
        d["decision_id"]: d
        for d in map(json.loads, automem("decisions", "--run", loop["run"], "--alternatives",
                                         "--limit", "0", "--json", data=data).splitlines())
    }  # fmt: skip
    assert all(listed[d]["human"] == "good" for d in plain)
    assert {a["label"] for d in with_alts for a in listed[d["decision_id"]]["alternatives"]} == {
        "bad"
    }


@pytest.fixture(scope="module")
def exported(loop: dict[str, Any]) -> Path:
    test_label_takes_decisions_and_alternatives_once_each_and_names_unknown_ids(loop)
    out = loop["tmp"] / "set"
    said = automem("export", "--format", "all", "--out", str(out), "--author", "ana",
                   "--license", "cc-by-4.0", data=loop["data"])  # fmt: skip
    assert "pairs" in said
    return out


def test_export_all_writes_every_format_with_pairs(exported: Path) -> None:
    card = json.loads((exported / "card.json").read_text())
    assert set(card["formats"]) == {"openai_chat", "sharegpt", "trl_prompt_completion",
                                    "trl_preference", "openai_preference"}  # fmt: skip
    assert card["counts"]["pairs"] >= 1 and card["counts"]["examples"] >= 10
    assert card["license"] == "cc-by-4.0"
    assert set(card["clients"]["examples"]) == {"embedded:crafter"}
    assert set(card["clients"]["rejected"]) == {"openai:sampler"} or all(
        c.startswith("openai:sampler") for c in card["clients"]["rejected"]
    )
    lengths = card["lengths"]["by_format"]["trl_prompt_completion"]
    assert 0 < lengths["min"] <= lengths["median"] <= lengths["p99"] <= lengths["max"]


def _recipe(tmp: Path, base: Path, cutoff: int) -> Path:
    path = tmp / f"recipe-{cutoff}.yaml"
    path.write_text(yaml.safe_dump({
        "base_model": str(base), "lora_rank": 8, "lora_alpha": 16, "target_modules": "all-linear",
        "learning_rate": 1e-3, "epochs": 1, "batch_size": 2, "cutoff_len": cutoff,
        "held_out_examples": 2, "gradient_checkpointing": False,
    }))  # fmt: skip
    return path


def test_train_refuses_long_examples_then_trains_and_records_it(
    loop: dict[str, Any], exported: Path
) -> None:
    from tests.export.tiny_model import make_tiny_base_model

    base = make_tiny_base_model(exported, loop["tmp"] / "tiny", max_positions=8192)
    short = _recipe(loop["tmp"], base, 64)
    err = automem("train", str(exported), "--recipe", str(short), "--allow-few",
                  data=loop["data"], ok=False)  # fmt: skip
    assert "longer than cutoff_len 64 tokens" in err and "--drop-long" in err
    fits = _recipe(loop["tmp"], base, 8192)
    out = automem("train", str(exported), "--recipe", str(fits), "--max-steps", "2",
                  "--allow-few", "--quiet", data=loop["data"])  # fmt: skip
    assert "2 steps" in out and "held-out loss" in out
    ledger = automem("trainings", data=loop["data"])
    assert "finished" in ledger and "trl" in ledger
    config = yaml.safe_load((exported / "llamafactory_sft_lora.yaml").read_text())
    assert config["dataset_dir"] == "." and config["cutoff_len"] == 8192


def test_train_openai_needs_only_the_openai_file(loop: dict[str, Any], exported: Path) -> None:
    only = loop["tmp"] / "openai-only"
    only.mkdir()
    for name in ("openai_chat.jsonl", "card.json", "README.md"):
        (only / name).write_bytes((exported / name).read_bytes())
    env = {KEY_ENV: "sk-test-0123456789abcdef"}
    with FakeFineTuneAPI(api_key=env[KEY_ENV], polls_per_status=1) as api:
        out = automem("train", str(only), "--openai", "--base-model", "gpt-4o-mini-2024-07-18",
                      "--base-url", api.base_url, "--api-key-env", KEY_ENV, "--poll-s", "0.01",
                      "--quiet", data=loop["data"], env=env)  # fmt: skip
    assert "OpenAI job" in out and "succeeded" in out
    assert "openai" in automem("trainings", data=loop["data"])


def test_train_with_an_absent_base_model_fails_in_one_line(
    loop: dict[str, Any], exported: Path
) -> None:
    err = automem("train", str(exported), "--base-model", "nobody/absent-model-1b", "--allow-few",
                  data=loop["data"], ok=False, env={"HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert "'nobody/absent-model-1b' is not on this machine" in err and "--base-model" in err
