"""A priced model config gives every run (and version) its agent cost: the episodes' tokens at
the config's prices. Prices never change what is played: a run's id stays the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from automem_core.analysis.runs import load_run_costs
from automem_core.cli import main
from automem_core.store.reader import query_store
from automem_core.testing.local_server import LocalServer, Reply

PRICE_IN, PRICE_OUT = 3.0, 15.0


def answer(messages: list[dict[str, str]]) -> Reply:
    if messages[1]["content"].startswith("[LOG phase]"):
        return Reply("<|APPEND|>actions_log|moved<|END|>\n<|DONE|>")
    return Reply("<|ACTION|>Noop<|END|>")


@pytest.mark.slow
def test_a_priced_run_costs_its_tokens_at_its_prices(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with LocalServer(answer) as server:
        config = tmp_path / "model.yaml"
        config.write_text(yaml.safe_dump({
            "backend": "openai", "base_url": server.start(), "model": "priced",
            "price_in_per_1m": PRICE_IN, "price_out_per_1m": PRICE_OUT,
        }))  # fmt: skip
        assert main(["run", "--game", "crafter", "--seeds", "0", "--max-steps", "5",
                     "--config", str(config), "--run-id", "priced", "--data", str(data),
                     "--quiet"]) == 0  # fmt: skip
    tokens_in, tokens_out = query_store(data, lambda con: con.execute(
        "SELECT sum(tokens_in), sum(tokens_out) FROM episodes").fetchone(),
        tables=("episodes",))  # fmt: skip
    assert tokens_in > 0 and tokens_out > 0
    expected = (tokens_in * PRICE_IN + tokens_out * PRICE_OUT) / 1e6
    assert load_run_costs(data)["priced"] == pytest.approx(expected)
