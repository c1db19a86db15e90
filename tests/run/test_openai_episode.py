"""The OpenAI path end to end: the real `openai` client over HTTP against a scripted server."""

import re
import threading
from pathlib import Path

import pytest

from automem_core.llm.config import ModelConfig
from automem_core.run.config import RunConfig
from automem_core.run.runner import run
from automem_core.store.reader import connect
from automem_core.testing.local_server import LocalServer, Reply

SECRET = "sk-test-UNIQUE-7f3a9c1e"
MALFORMED_STEP = 3


class ScriptedPlayer:
    """Good ops most of the time, with a 429, a hang, a 500 and one malformed PLAN answer."""

    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self, messages: list[dict[str, str]]) -> Reply:
        with self.lock:
            self.n += 1
            n = self.n
        if n == 2:
            return Reply(status=429, text="slow down", retry_after_s=0.01)
        if n == 5:
            return Reply(hang_s=3.0)
        if n == 8:
            return Reply(status=500, text="boom")
        first = messages[1]["content"]
        step = int(re.search(r"Step (\d+)\.", first).group(1))
        if first.startswith("[LOG phase]"):
            return Reply(f"<|APPEND|>actions_log|step {step}: moved<|END|>\n<|DONE|>")
        if step == MALFORMED_STEP:
            return Reply("<|APPEND|>actions_log<|END|> hmm, let me <|ACT")
        if len(messages) == 2:
            return Reply("<|SEARCH|>actions_log|moved<|END|>")
        return Reply("Going east.\n<|ACTION|>east<|END|>")


@pytest.mark.slow
def test_openai_episode_with_faults_completes_and_keeps_no_secret(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with LocalServer(ScriptedPlayer()) as server:
        url = server.start()
        model = ModelConfig(
            base_url=url,
            model="scripted",
            timeout_s=0.5,
            max_retries=3,
            backoff_base_s=0.01,
            backoff_max_s=0.05,
        )
        cfg = RunConfig(
            game="minihack",
            tasks=["MazeWalk-15x15"],
            seeds=[0],
            data=tmp_path,
            model=model,
            max_steps=8,
            concurrency=1,
        )
        import asyncio

        result = asyncio.run(run(cfg, progress=False))
        assert any(SECRET in h for h in server.seen_authorization)
        assert server.by_status[429] == 1 and server.by_status[500] == 1

    (episode,) = result.episodes
    assert episode.status == "ok" and episode.steps == 8
    assert episode.memory_client.startswith("openai:scripted@http://127.0.0.1")
    con = connect(tmp_path)
    assert con.execute("SELECT sum(retries) FROM turns").fetchone()[0] >= 3
    action, valid, raw = con.execute(
        "SELECT action, action_valid, raw_action FROM steps WHERE step = ?", [MALFORMED_STEP]
    ).fetchone()
    assert (action, valid, raw) == ("north", False, None)  # MiniHack's default action
    errors = con.execute(
        "SELECT parse_errors FROM turns WHERE step = ? AND phase = 'plan'", [MALFORMED_STEP]
    ).fetchone()[0]
    assert any("APPEND" in e for e in errors)
    notice = con.execute(
        "SELECT observation FROM steps WHERE step = ?", [MALFORMED_STEP + 1]
    ).fetchone()[0]
    assert notice.startswith("[Notice: no action was given")
    appended = con.execute(
        "SELECT count(*) FROM memory_ops WHERE kind = 'APPEND' AND ok"
    ).fetchone()[0]
    assert appended >= 6  # the LOG phase really wrote through the memory ops

    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
