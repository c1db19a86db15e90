"""``automem mine --resample K --executor ray`` on a real two-node Ray cluster started here (one
CPU a node), into a store on S3 (moto's server), against a local OpenAI-compatible server:
every decision gets exactly K alternatives, read back from a fresh mirror; and a share run again
after a lost attempt returns what that attempt appended instead of asking the model again."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from automem_core.analysis.decision_table import load_decisions
from automem_core.cli import main
from automem_core.llm.config import ModelConfig
from automem_core.mining.resample_ray import resample_share
from automem_core.store.records import read_records
from automem_core.store.remote import open_root
from automem_core.store.remote_pull import pull
from automem_core.testing.local_server import LocalServer
from automem_core.testing.ray_cluster import local_cluster
from automem_core.testing.s3_server import in_environment, s3_server

ray = pytest.importorskip("ray")
pytest.importorskip("moto.server")

BUCKET = "automem-resample-ray"
ANSWERS = ["<|READ|>notes<|END|>", "<|SEARCH|>notes|wall<|END|>"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The S3 server first, so the nodes inherit its settings from the environment, then the
    cluster; yields its address."""
    cache = str(tmp_path_factory.mktemp("nodes"))
    with (
        s3_server(BUCKET) as env,
        in_environment({**env, "AUTOMEM_CACHE": cache}),
        local_cluster(2) as (c, _),
    ):
        yield c.address


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


def test_a_share_run_again_returns_what_its_lost_attempt_appended(tmp_path):
    data = str(tmp_path / "store")
    played(data)
    chosen = load_decisions(open_root(data)).head(3).to_dict("records")
    seen: list[str] = []
    with LocalServer(answers(seen)) as server:
        model = ModelConfig(base_url=server.start(), model="m", temperature=0.9, max_retries=0)
        first = resample_share(data, chosen, model, 2, "batch-1", (0.0, 0.0), 4)
        again = resample_share(data, chosen, model, 2, "batch-1", (0.0, 0.0), 4)
        other = resample_share(data, chosen[:1], model, 1, "batch-2", (0.0, 0.0), 4)
    assert len(first) == 6 and len(seen) == 6 + 1  # the retry asked the model nothing
    assert sorted(r.alternative_id for r in again) == sorted(r.alternative_id for r in first)
    assert {r.completion for r in again} == set(ANSWERS)
    assert len(other) == 1 and other[0].alternative_id not in {r.alternative_id for r in first}
    assert len(read_records(open_root(data), "alternatives")) == 7
