"""The fine-tuning submitter, driven through the real ``openai`` client against a local fake API."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx2
import pytest

from automem_core.export.openai_finetune import FineTuneError, submit_openai_finetune
from automem_core.testing.finetune_api import FakeFineTuneAPI
from tests.export.export_fixture import make_export

KEY_ENV = "AUTOMEM_TEST_FINETUNE_KEY"
KEY = "sk-test-secret-0123456789"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return make_export(tmp_path / "export", n=20)


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


def test_submit_follows_job_to_success_and_reports_model_and_tokens(
    export: Path, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeFineTuneAPI(api_key=api_key, polls_per_status=2) as api:
        result = submit_openai_finetune(
            export / "openai_chat.jsonl",
            "gpt-4o-mini-2024-07-18",
            base_url=api.base_url,
            api_key_env=KEY_ENV,
            poll_s=0.01,
            suffix="crafter-memory",
            n_epochs=2,
        )
        job = api.jobs[result.job_id]
        upload = api.files[result.training_file_id]
    assert result.status == "succeeded" and result.finished
    expected = f"ft:gpt-4o-mini-2024-07-18:automem:crafter-memory:{job.id[-8:]}"
    assert result.fine_tuned_model == expected
    assert result.trained_tokens == len(upload.content) // 4 * 2
    assert job.history == ["validating_files", "running", "succeeded"]
    assert result.polls == 4  # two reads per status
    assert upload.purpose == "fine-tune"
    assert upload.content == (export / "openai_chat.jsonl").read_bytes()
    assert set(api.seen_authorization) == {f"Bearer {KEY}"}
    progress = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("validating_files -> running" in line for line in progress)
    assert any("running -> succeeded" in line for line in progress)
    assert KEY not in caplog.text and KEY not in repr(result)


def test_submit_accepts_the_export_folder(export: Path, api_key: str) -> None:
    with FakeFineTuneAPI(api_key=api_key) as api:
        result = submit_openai_finetune(
            export, "gpt-4o-mini", base_url=api.base_url, api_key_env=KEY_ENV, poll_s=0.0
        )
        assert api.files[result.training_file_id].filename == "openai_chat.jsonl"
    assert result.status == "succeeded"


def test_submit_without_key_refuses_before_any_request(
    export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with FakeFineTuneAPI() as api:
        with pytest.raises(FineTuneError, match=f"set {KEY_ENV} to your API key"):
            submit_openai_finetune(
                export, "gpt-4o-mini", base_url=api.base_url, api_key_env=KEY_ENV
            )
        assert api.requests == []


def test_submit_key_given_as_env_name_is_refused(export: Path) -> None:
    with pytest.raises(FineTuneError, match="NAME of an environment variable"):
        submit_openai_finetune(export, "gpt-4o-mini", api_key_env="sk-abc123-def")


def test_submit_wrong_key_fails_in_one_line_without_the_key(export: Path, api_key: str) -> None:
    with FakeFineTuneAPI(api_key="another-key") as api, pytest.raises(FineTuneError) as info:
        submit_openai_finetune(
            export, "gpt-4o-mini", base_url=api.base_url, api_key_env=KEY_ENV, max_retries=0
        )
    message = str(info.value)
    assert message.startswith("the API answered 401") and "\n" not in message
    assert KEY not in message


def test_submit_invalid_jsonl_is_rejected_naming_the_line(tmp_path: Path, api_key: str) -> None:
    bad = tmp_path / "openai_chat.jsonl"
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}]}
    bad.write_text(json.dumps(good) + "\n" + json.dumps({"prompt": "no messages"}) + "\n")
    with FakeFineTuneAPI(api_key=api_key) as api:
        with pytest.raises(FineTuneError, match=r"400: .*line 2: missing a non-empty `messages`"):
            submit_openai_finetune(bad, "gpt-4o-mini", base_url=api.base_url, api_key_env=KEY_ENV)
        assert api.jobs == {}


def test_submit_failed_job_returns_status_and_reason(export: Path, api_key: str) -> None:
    with FakeFineTuneAPI(api_key=api_key, fail_jobs=True) as api:
        result = submit_openai_finetune(
            export, "gpt-4o-mini", base_url=api.base_url, api_key_env=KEY_ENV, poll_s=0.0
        )
    assert result.status == "failed" and result.fine_tuned_model is None
    assert result.trained_tokens is None
    assert result.error == "the fake was told to fail"


def test_submit_stops_waiting_after_max_wait(export: Path, api_key: str) -> None:
    with FakeFineTuneAPI(api_key=api_key, polls_per_status=1000) as api:
        result = submit_openai_finetune(
            export,
            "gpt-4o-mini",
            base_url=api.base_url,
            api_key_env=KEY_ENV,
            poll_s=0.01,
            max_wait_s=0.2,
            progress=False,
        )
    assert result.status == "validating_files" and not result.finished
    assert result.polls >= 1


def test_fake_api_refuses_requests_without_a_bearer_key() -> None:
    with FakeFineTuneAPI() as api:
        response = httpx2.post(f"{api.base_url}/fine_tuning/jobs", json={"model": "m"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_train_openai_command_records_the_job_in_the_ledger(
    export: Path, api_key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from automem_core.cli import main
    from automem_core.export.ledger import load_trainings

    data = tmp_path / "data"
    with FakeFineTuneAPI(api_key=api_key, polls_per_status=1) as api:
        code = main(["train", str(export), "--openai", "--base-model", "gpt-4o-mini-2024-07-18",
                     "--base-url", api.base_url, "--api-key-env", KEY_ENV, "--poll-s", "0.01",
                     "--data", str(data), "--quiet"])  # fmt: skip
    assert code == 0
    rows = load_trainings(data)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["backend"] == "openai" and row["status"] == "succeeded"
    assert row["job_id"] in api.jobs
    assert str(row["adapter_path"]).startswith("ft:gpt-4o-mini-2024-07-18:automem")
    assert row["examples"] == 20
    assert row["job_id"] in capsys.readouterr().out


def test_train_openai_without_a_key_fails_in_one_line_and_records_the_failure(
    export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from automem_core.cli import main
    from automem_core.export.ledger import load_trainings

    monkeypatch.delenv(KEY_ENV, raising=False)
    data = tmp_path / "data"
    dead = "http://127.0.0.1:9/v1"
    code = main(["train", str(export), "--openai", "--base-model", "m", "--base-url", dead,
                 "--api-key-env", KEY_ENV, "--data", str(data)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and KEY_ENV in err[0]
    assert load_trainings(data).iloc[0]["status"] == "failed"
