"""The project's text is BALROG's, on raw observations recorded from the real games.

The golden texts in ``fixtures/balrog_parity_*.npz`` were rendered by BALROG's own code (its
Crafter wrapper; ``AutoMore`` and ``NLELanguageWrapper`` over the ``balrog-nle`` wheel's
``nle_language_obsv``) from the same arrays, by
``benchmarks/observation_parity.py --write-fixtures tests/envs/fixtures``; that benchmark checks
the same over whole episodes.
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from automem_core.envs.crafter_text import render_crafter_text

FIXTURES = Path(__file__).parent / "fixtures"


def load(game: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / f"balrog_parity_{game}.npz") as stored:
        return {key: stored[key] for key in stored.files}


def crafter_texts(data: dict[str, np.ndarray]) -> Iterator[str]:
    names = [str(name) for name in data["inventory_names"]]
    for i in range(len(data["expected"])):
        yield render_crafter_text(
            data["semantic"][i],
            (int(data["pos"][i][0]), int(data["pos"][i][1])),
            (int(data["facing"][i][0]), int(data["facing"][i][1])),
            dict(zip(names, data["inventory"][i].tolist(), strict=True)),
            sleeping=bool(data["sleeping"][i]),
            dead=bool(data["dead"][i]),
        )


def nle_texts(data: dict[str, np.ndarray]) -> Iterator[str]:
    from automem_core.envs.nle_text import (
        describe_inventory,
        join_messages,
        read_message,
        render_nle_text,
    )

    first = 0
    for i, count in enumerate(data["page_count"].tolist()):
        pages = [read_message(data["page_tty"][first + k]) for k in range(count)]
        first += count
        row, col = (int(v) for v in data["tty_cursor"][i])
        yield render_nle_text(
            message=join_messages(pages),
            glyphs=data["glyphs"][i],
            player=(int(data["blstats"][i][0]), int(data["blstats"][i][1])),
            tty_chars=data["tty_chars"][i],
            tty_cursor=(row, col),
            inventory=describe_inventory(data["inv_letters"][i], data["inv_strs"][i]),
        )


def test_crafter_text_is_balrogs():
    data = load("crafter")
    texts = list(crafter_texts(data))
    assert len(texts) >= 8
    for mine, expected in zip(texts, data["expected"].tolist(), strict=True):
        assert mine == expected


@pytest.mark.parametrize("game", ["minihack", "nethack"])
def test_nle_text_is_balrogs(game):
    pytest.importorskip("nle.nethack")
    data = load(game)
    texts = list(nle_texts(data))
    assert len(texts) >= 8
    for mine, expected in zip(texts, data["expected"].tolist(), strict=True):
        assert mine == expected


def test_fixtures_cover_the_cases_that_used_to_differ():
    minihack, nethack = load("minihack")["expected"], load("nethack")["expected"]
    crafter = "\n".join(load("crafter")["expected"].tolist())
    nle = "\n".join([*minihack.tolist(), *nethack.tolist()])
    for words in ("wall", "dark area", "Yourself a ", "cursor:\n\n(x="):
        assert words in nle, words
    assert "Points" in "\n".join(minihack.tolist())  # a game-over screen as the message
    for words in ("- grass ", "You face grass at your front."):
        assert words in crafter, words
