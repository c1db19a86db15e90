"""Known answers on a built store: every field, every form of query and every filter finds
exactly the texts that hold what it asks for (``oracle.py`` computes those another way)."""

from __future__ import annotations

import pytest

from automem_core.search import QueryError, SearchFilters, search
from tests.search.oracle import expected, found, holds, words


def _field(t, name: str, phrase: list[str], prefix: bool = False) -> bool:  # type: ignore[no-untyped-def]
    return holds(t.fields.get(name, ""), phrase, prefix)


def _any(t, phrase: list[str], prefix: bool = False) -> bool:  # type: ignore[no-untyped-def]
    return any(holds(text, phrase, prefix) for text in t.fields.values())


@pytest.mark.parametrize(
    ("field", "word"),
    [
        ("observation", "vault"),
        ("action", "pick"),
        ("completion", "treasure"),
        ("op", "walls"),
        ("result", "matching"),
        ("memory", "circles"),
    ],
)
def test_each_field_holds_exactly_the_texts_with_the_word(store, pool, field, word):
    want = expected(pool, lambda t: _field(t, field, [word]))
    assert want, "the store holds the word in that field"
    assert found(store, f"{field}:{word}") == want


def test_a_word_without_a_field_is_looked_for_in_every_text(store, pool):
    want = expected(pool, lambda t: _any(t, ["gold"]))
    assert {k[0] for k in want} == {"observation", "turn", "op", "memory"}
    assert found(store, "GOLD") == want


def test_a_phrase_needs_its_words_in_order(store, pool):
    phrase = found(store, '"stop you"')
    assert phrase == expected(pool, lambda t: _any(t, ["stop", "you"]))
    assert found(store, '"you stop"') == expected(pool, lambda t: _any(t, ["you", "stop"]))
    assert phrase and sum(found(store, '"you stop"').values()) < sum(phrase.values())


def test_boolean_operators(store, pool):
    walls, turn = (lambda t: _any(t, ["walls"])), (lambda t: _any(t, ["turn"]))
    circles = lambda t: _any(t, ["circles"])  # noqa: E731
    assert found(store, "walls AND turn") == expected(pool, lambda t: walls(t) and turn(t))
    assert found(store, "walls turn") == found(store, "walls AND turn")
    assert found(store, "walls OR circles") == expected(pool, lambda t: walls(t) or circles(t))
    assert found(store, "walls NOT turn") == expected(pool, lambda t: walls(t) and not turn(t))
    assert found(store, "walls -turn") == found(store, "walls NOT turn")
    both = expected(pool, lambda t: (walls(t) or circles(t)) and not turn(t))
    assert found(store, "(walls OR circles) -turn") == both


def test_a_prefix_matches_words_that_start_so(store, pool):
    want = expected(pool, lambda t: _any(t, ["circ"], prefix=True))
    assert found(store, "circ*") == want == expected(pool, lambda t: _any(t, ["circles"]))
    phrase = expected(pool, lambda t: _any(t, ["walls", "st"], prefix=True))
    assert found(store, '"walls st"*') == phrase and phrase


def test_a_regular_expression_matches_whole_words_of_one_field(store, pool):
    want = expected(pool, lambda t: any(w in ("wall", "walls") for w in words(t.fields.get(
        "memory", ""))))  # fmt: skip
    assert found(store, "memory:/walls?/") == want and want
    assert found(store, "memory:/all/") == {}  # the whole word must match


def test_a_regular_expression_needs_a_field_and_must_be_one():
    with pytest.raises(QueryError, match=r"needs a field, e\.g\. memory:/gold/"):
        search(__import__("pathlib").Path("."), "/gold/")
    with pytest.raises(QueryError, match=r"memory:/\(/ is not a regular expression"):
        search(__import__("pathlib").Path("."), "memory:/(/")


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        (SearchFilters(games=("fake",)), lambda t: True),
        (SearchFilters(games=("nethack",)), lambda t: False),
        (SearchFilters(tasks=("crash",)), lambda t: t.props["task"] == "crash"),
        (SearchFilters(runs=("beta",)), lambda t: t.props["run_id"] == "beta"),
        (SearchFilters(seed_sets=("review",)), lambda t: t.props["seed_set"] == "review"),
        (SearchFilters(statuses=("error",)), lambda t: t.props["status"] == "error"),
        (SearchFilters(phases=("plan",)), lambda t: t.props["phase"] == "plan"),
        (SearchFilters(kinds=("append",)), lambda t: t.props.get("kind") == "APPEND"),
        (SearchFilters(sources=("memory",)), lambda t: t.key[0] == "memory"),
    ],
    ids=["game", "other-game", "task", "run", "seed-set", "status", "phase", "kind", "source"],
)
def test_each_filter_keeps_exactly_its_texts(store, pool, filters, keep):
    gold = lambda t: _any(t, ["gold"])  # noqa: E731
    want = expected(pool, lambda t: gold(t) and keep(t))
    assert found(store, "gold", filters) == want


def test_the_version_filter_tells_two_versions_of_one_scaffold_apart(store, pool):
    versions = {t.props["version"] for t in pool}
    assert len(versions) == 2
    for version in versions:
        want = expected(pool, lambda t, v=version: _any(t, ["gold"]) and t.props["version"] == v)
        assert found(store, "gold", SearchFilters(versions=(version,))) == want


def test_a_step_range_keeps_texts_of_those_steps_and_lines_that_existed_then(store, pool):
    def keep(t) -> bool:  # type: ignore[no-untyped-def]
        if t.key[0] == "memory":
            return t.props["step"] <= 12 and t.props["until"] >= 10
        return 10 <= t.props["step"] <= 12

    want = expected(pool, lambda t: _any(t, ["gold"]) and keep(t))
    assert found(store, "gold", SearchFilters(step_min=10, step_max=12)) == want
    old_lines = [k for k in want if k[0] == "memory" and k[2] < 10]
    assert old_lines, "lines written before the range and still there are in it"


def test_properties_in_the_query_are_filters_too(store, pool):
    want = expected(pool, lambda t: _any(t, ["gold"]) and t.props.get("kind") == "UPSERT")
    assert found(store, "gold kind:upsert") == want
    assert found(store, "gold game:fake") == found(store, "gold")
    assert found(store, "gold game:crafter") == {}
    run = expected(pool, lambda t: _any(t, ["gold"]) and t.props["run_id"] == "beta")
    assert found(store, "gold run_id:beta") == run
