"""``automem mine --resample K --executor ray`` on a real two-node Ray cluster started here (one
CPU a node), into a store on S3 (moto's server), against a local OpenAI-compatible server:
every decision gets exactly K alternatives, read back from a fresh mirror; a share run again
after a lost attempt, or the same command again, asks only for the samples not in the store."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.cli import main
from automem_core.llm.config import ModelConfig
from automem_core.mining.resample import resample
from automem_core.mining.resample_ray import resample_share
from automem_core.store.records import read_records
from automem_core.store.remote import open_root
from automem_core.store.remote_pull import pull
from automem_core.testing.local_server import LocalServer

ray = pytest.importorskip("ray")
pytest.importorskip("moto.server")

BUCKET = "automem-resample-ray"
ANSWERS = ["<|READ|>notes<|END|>", "<|SEARCH|>notes|wall<|END|>"]


def answers(seen: list[str]):
    def respond(messages):
        seen.append(json.dumps(messages))
        return ANSWERS[len(seen) % 2]

    return respond


def played(data: str) -> int:
    args = ["run", "--game", "minihack", "--tasks", "MazeWalk-9x9", "--episodes", "2",
            "--max-steps", "8", "--run-id", "r", "--quiet", "--data", data]  # fmt: skip
    assert main(args) == 0
    assert main(["mine", "--run", "r", "--data", data]) == 0
    return len(load_decisions(open_root(data)))


@pytest.mark.slow
def test_every_decision_gets_k_alternatives_on_ray_into_s3(cluster, tmp_path, monkeypatch, capsys):
    url = f"s3://{BUCKET}/resample"
    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "driver"))
    decisions = played(url)
    assert decisions >= 4
    seen: list[str] = []
    with LocalServer(answers(seen)) as server:
        ray_flags = ["--executor", "ray", "--ray-address", cluster]
        model = ["--base-url", server.start(), "--model", "m"]
        args = ["mine", "--run", "r", "--resample", "2", *ray_flags, *model, "--quiet", "--data",
                url]  # fmt: skip
        capsys.readouterr()
        assert main(args) == 0
    out = capsys.readouterr().out
    assert f"sampled {2 * decisions} alternatives for {decisions} decisions from m on Ray" in out
    assert len(seen) == 2 * decisions  # each sample asked once
    monkeypatch.setenv("AUTOMEM_CACHE", str(tmp_path / "reader"))
    pull(open_root(url))
    rows = read_records(open_root(url), "alternatives").to_pylist()
    per = Counter((r["decision_id"], r["sample"]) for r in rows)
    assert len(per) == 2 * decisions and set(per.values()) == {1}
    table = load_decisions(open_root(url)).set_index("decision_id")
    assert set(table["alternatives"]) == {2}


def test_a_share_run_again_asks_only_for_what_its_lost_attempt_did_not_append(tmp_path):
    data = str(tmp_path / "store")
    played(data)
    chosen = load_decisions(open_root(data)).head(3).to_dict("records")
    seen: list[str] = []
    with LocalServer(answers(seen)) as server:
        model = ModelConfig(base_url=server.start(), model="m", temperature=0.9, max_retries=0)
        first = resample_share(data, chosen[:2], model, 2, (0.0, 0.0), 4)  # then lost
        again = resample_share(data, chosen, model, 2, (0.0, 0.0), 4)  # Ray runs it again
        more = resample_share(data, chosen[:1], model, 3, (0.0, 0.0), 4)  # K = 3 later
    assert (len(first.made), first.there) == (4, 0)
    assert (len(again.made), again.there) == (2, 4)  # only the third decision asked
    assert [r.sample for r in more.made] == [2] and more.there == 2
    assert len(seen) == 4 + 2 + 1
    rows = read_records(open_root(data), "alternatives").to_pylist()
    per = Counter((r["decision_id"], r["sample"]) for r in rows)
    assert len(rows) == 7 and set(per.values()) == {1}
    assert len({r["alternative_id"] for r in rows}) == 7


def test_the_same_command_again_fills_in_only_what_is_missing(tmp_path, capsys):
    data = str(tmp_path / "store")
    decisions = played(data)
    seen: list[str] = []
    with LocalServer(answers(seen)) as server:
        args = ["mine", "--run", "r", "--resample", "1", "--base-url", server.start(), "--model",
                "m", "--quiet", "--data", data]  # fmt: skip
        capsys.readouterr()
        assert main(args) == 0 and main(args) == 0
    out = capsys.readouterr().out
    assert f"sampled {decisions} alternatives for {decisions} decisions from m" in out
    assert "sampled 0 alternatives for 0 decisions from m" in out
    assert f"{decisions} samples were there already" in out
    assert len(seen) == decisions
    assert main([*args[:4], "0", *args[5:]]) == 2
    assert "--resample K asks for K alternatives per decision: give 1 or more" in (
        capsys.readouterr().err
    )


def test_limit_counts_the_decisions_still_lacking_samples_so_a_rerun_moves_on(tmp_path, capsys):
    data = str(tmp_path / "store")
    played(data)
    seen: list[str] = []
    with LocalServer(answers(seen)) as server:
        args = ["mine", "--run", "r", "--resample", "1", "--limit", "2", "--base-url",
                server.start(), "--model", "m", "--quiet", "--data", data]  # fmt: skip
        assert main(args) == 0 and main(args) == 0
    out = capsys.readouterr().out
    assert out.count("sampled 2 alternatives for 2 decisions from m") == 2
    rows = read_records(open_root(data), "alternatives").to_pylist()
    assert len({r["decision_id"] for r in rows}) == 4 and len(seen) == 4


def test_a_decision_whose_prompt_cannot_be_read_is_skipped_and_the_others_go_on(tmp_path):
    data = str(tmp_path / "store")
    played(data)
    chosen = load_decisions(open_root(data)).head(3).to_dict("records")
    lost = {**chosen[1], "decision_id": "gone", "episode_id": "r.MazeWalk-9x9.s99"}
    seen: list[str] = []
    with LocalServer(answers(seen)) as server:
        model = ModelConfig(base_url=server.start(), model="m", temperature=0.9, max_retries=0)
        done = asyncio.run(resample(open_root(data), [chosen[0], lost, chosen[2]], model, 2))
    assert len(done.made) == 4 and list(done.skipped) == ["gone"]
    assert "r.MazeWalk-9x9.s99" in done.skipped["gone"]
    assert len(read_records(open_root(data), "alternatives")) == 4


def test_a_larger_k_asks_for_the_next_sample_and_counts_those_there_once(tmp_path, capsys):
    data = str(tmp_path / "store")
    decisions = played(data)
    with LocalServer(answers([])) as server:
        args = ["mine", "--run", "r", "--resample", "1", "--base-url", server.start(), "--model",
                "m", "--quiet", "--data", data]  # fmt: skip
        assert main(args) == 0
        capsys.readouterr()
        assert main([*args[:4], "2", *args[5:]]) == 0
    out = capsys.readouterr().out
    assert f"sampled {decisions} alternatives for {decisions} decisions from m" in out
    assert f"  {decisions} samples were there already" in out
