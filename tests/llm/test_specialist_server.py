from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch", reason="needs the train extra: pip install -e .[train]")
pytest.importorskip("peft", reason="needs the train extra: pip install -e .[train]")

import openai

from automem_core.llm.specialist_server import (
    SpecialistModel,
    SpecialistServerError,
    serve,
)
from tests.export.export_fixture import make_export
from tests.export.tiny_model import make_random_adapter, make_tiny_base_model

MESSAGES = [
    {"role": "system", "content": "You keep the memory files of a Crafter agent."},
    {"role": "user", "content": "[LOG phase] Step 3.\nPrevious action: Do\nYou face tree."},
]


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("specialist")
    export = make_export(root / "export", n=40)
    base = make_tiny_base_model(export, root / "base")
    return base, make_random_adapter(base, root / "adapter")


@pytest.fixture(scope="module")
def server(model_dirs: tuple[Path, Path]) -> Any:
    base, adapter = model_dirs
    handle = serve(base, adapter, port=0, block=False, model_id="memory-specialist")
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def client(server: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="not-needed", max_retries=0, timeout=60)


def _greedy_reference(base: Path, adapter: Path | None, max_tokens: int) -> str:
    model = SpecialistModel(base, adapter)
    return model.generate(MESSAGES, temperature=0.0, max_tokens=max_tokens).text


def test_chat_completion_through_openai_client_reports_usage(
    client: openai.OpenAI, model_dirs: tuple[Path, Path]
) -> None:
    from transformers import AutoTokenizer

    response = client.chat.completions.create(
        model="memory-specialist", messages=MESSAGES, temperature=0, max_tokens=12
    )
    prompt_ids = AutoTokenizer.from_pretrained(model_dirs[0]).apply_chat_template(
        MESSAGES, add_generation_prompt=True, tokenize=True
    )["input_ids"]
    assert response.model == "memory-specialist"
    assert isinstance(response.choices[0].message.content, str)
    assert response.choices[0].finish_reason in ("stop", "length")
    assert response.usage is not None
    assert response.usage.prompt_tokens == len(prompt_ids)
    assert 1 <= response.usage.completion_tokens <= 12
    assert response.usage.total_tokens == len(prompt_ids) + response.usage.completion_tokens


def test_greedy_completion_applies_the_adapter(
    client: openai.OpenAI, model_dirs: tuple[Path, Path]
) -> None:
    base, adapter = model_dirs
    served = client.chat.completions.create(
        model="memory-specialist", messages=MESSAGES, temperature=0, max_tokens=16
    )
    assert served.choices[0].message.content == _greedy_reference(base, adapter, 16)
    assert served.choices[0].message.content != _greedy_reference(base, None, 16)


def test_sampled_completion_with_seed_is_reproducible(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str | None:
        response = client.chat.completions.create(
            model="memory-specialist", messages=MESSAGES, temperature=1.0, max_tokens=16, seed=seed
        )
        return response.choices[0].message.content

    first = sample(7)
    assert first == sample(7)
    assert {first, sample(8), sample(9)} != {first}


def test_stop_string_cuts_the_completion(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(
        model="memory-specialist", messages=MESSAGES, temperature=0, max_tokens=24
    ).choices[0]
    text = full.message.content or ""
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    assert stop.strip(), f"greedy text too short to test stop strings: {text!r}"
    cut = client.chat.completions.create(
        model="memory-specialist", messages=MESSAGES, temperature=0, max_tokens=24, stop=[stop]
    ).choices[0]
    assert cut.message.content == text[: text.find(stop)]
    assert cut.finish_reason == "stop"


def test_models_lists_the_served_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["memory-specialist"]


def test_empty_messages_answered_with_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="memory-specialist", messages=[], max_tokens=4)


def test_unknown_route_answered_with_404(server: Any) -> None:
    import httpx2

    response = httpx2.post(f"{server.url}/completions", json={"prompt": "hi"})
    assert response.status_code == 404
    assert "no route" in response.json()["error"]["message"]


def test_missing_train_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(SpecialistServerError, match=r"pip install -e \.\[train\]"):
        SpecialistModel("unused")
