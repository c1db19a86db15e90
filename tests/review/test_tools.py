"""The reviewer's tools answer what the store holds, only for the reviewed runs, within their
character budget, and turn every mistake into an error text instead of an exception."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from automem_core.analysis.episode import (
    memory_at_step,
    open_episode,
    step_detail,
    steps_in_range,
)
from automem_core.review.sql_render import render_cell
from automem_core.review.tools import REVIEWED_SOURCES, TOOLS, StoreTools
from automem_core.search import SearchFilters, search
from automem_core.search.report import where
from automem_core.store.layout import StoreError
from automem_core.store.reader import connect
from automem_core.testing.sample_store import play_fake_run
from tests.review.two_runs import CANARY

EPISODE = "rev.grid.s1"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("tools") / "data"
    play_fake_run(data, seeds=(0, 1), steps=70, run_id="rev")
    play_fake_run(data, seeds=(0,), steps=10, run_id="other")
    return data


@pytest.fixture(scope="module")
def tools(root):
    with StoreTools(root, ["rev"]) as store_tools:
        yield store_tools


def test_sql_answers_the_rows_of_the_reviewed_runs(root, tools):
    query = "SELECT episode_id, step, action FROM steps WHERE step < 3 ORDER BY 1, 2"
    rows = connect(root, run_ids=["rev"]).execute(query).fetchall()
    answer = tools.call("sql", json.dumps({"query": query}))
    lines = answer.splitlines()
    assert lines[0] == "episode_id | step | action"
    assert [tuple(line.split(" | ")) for line in lines[1:-1]] == [
        (e, str(s), a) for e, s, a in rows
    ]
    assert {e for e, _, _ in rows} == {"rev.grid.s0", "rev.grid.s1"}


def test_steps_show_each_row_of_the_range(root, tools):
    ep = open_episode(root, EPISODE)
    answer = tools.call("steps", {"episode_id": EPISODE, "start": 10, "end": 19})
    lines = answer.splitlines()
    assert lines[0] == f"episode {EPISODE} (rev, steps 0–69): steps 10–19"
    rows = steps_in_range(ep, 10, 19)
    assert len(lines) == 1 + 2 * len(rows)
    for i, row in enumerate(rows):
        summary, observation = lines[1 + 2 * i], lines[2 + 2 * i]
        assert summary.startswith(f"step {row['step']} | action: {row['action']}")
        assert f"| reward: {row['reward']:g} |" in summary
        assert summary.endswith(f"warnings: {'; '.join(row['warnings']) or '-'}")
        assert observation == f"  obs: {render_cell(row['observation'], 240)}"


def test_steps_are_capped_per_call_and_say_where_to_go_on(root):
    with StoreTools(root, ["rev"], budget_chars=100_000) as roomy:
        answer = roomy.steps(EPISODE, 5, 200)
        steps = [int(m) for m in re.findall(r"^step (\d+) \|", answer, flags=re.M)]
        assert steps == list(range(5, 55))
        assert answer.splitlines()[-1] == "[50 steps per call: continue with start=55]"
        tail = roomy.steps(EPISODE, 55, 200)
        assert re.findall(r"^step (\d+) \|", tail, flags=re.M)[-1] == "69"
        assert "continue with" not in tail


def test_steps_stop_at_a_whole_row_when_the_budget_is_full(root):
    with StoreTools(root, ["rev"], budget_chars=2_000) as small:
        answer = small.steps(EPISODE, 0, 49)
    steps = [int(m) for m in re.findall(r"^step (\d+) \|", answer, flags=re.M)]
    assert len(answer) <= 2_000 and "[cut:" not in answer
    assert steps == list(range(len(steps))) and 2 <= len(steps) < 50
    assert answer.splitlines()[0].endswith(f"steps 0–{steps[-1]}")
    assert answer.splitlines()[-1] == f"[budget: continue with start={steps[-1] + 1}]"


def test_step_shows_the_observation_turns_and_ops_in_full(root, tools):
    ep = open_episode(root, EPISODE)
    step = next(s for s in range(ep.n_steps) if len(step_detail(ep, s)["turns"]) >= 2)
    detail = step_detail(ep, step)
    answer = tools.step(EPISODE, step)
    assert detail["step"]["observation"] in answer
    for turn in detail["turns"]:
        assert f"── {turn['phase'].upper()} turn {turn['turn']} (" in answer
        assert turn["completion"] in answer
        for message in json.loads(turn["messages_json"]):
            if message["role"] == "system":
                assert message["content"] not in answer  # long and the same in every turn
            else:
                assert message["content"] in answer
    for op in detail["ops"]:
        assert f"#{op['seq']} {op['phase']} {op['kind']} " in answer
        assert "\n    ".join(op["result"].splitlines()) in answer
    system = json.loads(detail["turns"][0]["messages_json"])[0]["content"]
    with StoreTools(root, ["rev"], budget_chars=100_000) as roomy:
        full = roomy.call("step", {"episode_id": EPISODE, "step": step, "full_prompts": True})
    assert system in full


def test_memory_is_every_file_as_it_was_at_the_end_of_the_step(root, tools):
    ep = open_episode(root, EPISODE)
    for step in (-1, 0, 33, 69):
        expected = memory_at_step(ep, step)
        answer = tools.memory(EPISODE, step)
        files: dict[str, list[str]] = {}
        current = ""
        for line in answer.splitlines()[1:]:
            header = re.match(r"── (.+) \((\d+) lines\) ──$", line)
            if header:
                current = header.group(1)
                files[current] = []
            else:
                files[current].append(line)
        assert list(files) == list(expected)
        for name, (lines, origins) in expected.items():
            assert files[name] == [
                f"{i} [{'init' if o < 0 else f's{o}'}] {text}"
                for i, (text, o) in enumerate(zip(lines, origins, strict=True), 1)
            ]


def test_search_answers_from_the_index_over_the_reviewed_runs_only(root, tools):
    con = connect(root, run_ids=["rev"])
    observations = [
        (e, s) for e, s, seen, done in con.execute(
            "SELECT episode_id, step, observation, action FROM steps").fetchall()
        if re.search(r"\bpick up\b", seen.lower()) or done == "pick up"
    ]  # fmt: skip
    reviewed = SearchFilters(runs=("rev",), sources=REVIEWED_SOURCES)
    expected = search(root, '"pick up"', reviewed, limit=50)
    answer = tools.search('"PICK UP"', limit=50)
    lines = answer.splitlines()
    assert lines[0].startswith(f"{expected.total} hits for '\"PICK UP\"', first 50 shown")
    assert expected.total > len(observations) > 0  # completions, ops and memory lines too
    hits = lines[1:]
    assert len(hits) == 50
    assert all(line.startswith("rev.grid.s") for line in hits)
    assert all("[pick up]" in line.lower() for line in hits)
    first = expected.hits[0]
    assert hits[0].startswith(f"{first.episode_id} {where(first)}: ")
    only = search(root, '"pick up"', SearchFilters(runs=("rev",), sources=("observation",)),
                  limit=1000)  # fmt: skip
    assert sorted((h.episode_id, h.step) for h in only.hits) == sorted(observations)
    assert tools.search("no such text anywhere") == (
        "no text of the reviewed runs matches 'no such text anywhere'"
    )
    assert tools.search("memory:/(/").startswith("error: memory:/(/ is not a regular expression")


def test_search_reads_peoples_notes_of_the_reviewed_runs_but_never_proposals(two_runs):
    with StoreTools(two_runs.root, ["rev"]) as reviewed:
        notes = reviewed.search("note:person", limit=50).splitlines()
        assert notes[0] == "3 hits for 'note:person'"
        mine = ": note: a [person]'s note on the reviewed run"
        assert all(n.startswith("label ") and n.endswith(mine) for n in notes[1:])
        assert reviewed.search(CANARY, limit=50).startswith("no text of the reviewed runs")
    with StoreTools(two_runs.root, ["other"]) as other:
        answer = other.search(CANARY, limit=50)
        assert answer.startswith("4 hits") and "proposal" not in answer  # 3 labels, 1 of an
        assert answer.count("label ") == 4  # alternative answer; never the proposal


def test_every_answer_is_cut_to_the_budget_and_says_so(root):
    with StoreTools(root, ["rev"], budget_chars=600) as small:
        answers = [
            small.sql("SELECT observation FROM steps"),
            small.step(EPISODE, 5),
            small.memory(EPISODE, 60),
            small.search("gold", limit=50),
        ]
    for answer in answers:
        assert len(answer) <= 600
        assert re.search(r"\[cut: the answer was \d+ chars, over the 600-char budget; .+]$", answer)


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("drop_all", "{}", "error: no tool named 'drop_all'; the tools are sql, steps, step"),
        ("steps", "{not json", "error: the arguments of steps are not JSON ("),
        ("steps", "[1, 2]", "error: the arguments of steps must be a JSON object, got list"),
        ("steps", '{"episode_id": "rev.grid.s1"}', "error: bad arguments for steps: `start`: "),
        ("step", '{"episode_id": "rev.grid.s1", "step": "x"}', "error: bad arguments for step"),
        ("sql", '{"query": "SELECT 1", "extra": 1}', "error: bad arguments for sql: `extra`"),
        ("search", '{"text": ""}', "error: bad arguments for search: `text`"),
        ("memory", '{"episode_id": "other.grid.s0", "step": 1}', "error: episode 'other.grid.s0'"),
        ("step", '{"episode_id": "nope", "step": 1}', "error: episode 'nope' is not in the rev"),
        ("step", '{"episode_id": "rev.grid.s1", "step": 70}', "error: episode rev.grid.s1 has"),
        ("steps", '{"episode_id": "rev.grid.s1", "start": 9, "end": 3}', "error: end (3) is"),
        ("steps", '{"episode_id": "rev.grid.s1", "start": 80, "end": 90}', "error: episode rev"),
        ("sql", '{"query": "DELETE FROM steps"}', "refused: only a read-only query"),
        ("sql", None, "error: bad arguments for sql: `query`: Field required"),
    ],
)
def test_mistakes_come_back_as_error_text(tools, name, arguments, expected):
    answer = tools.call(name, arguments)
    assert answer.startswith(expected.replace("not in the rev", "not in the reviewed runs (rev)"))


def test_episodes_of_runs_not_reviewed_are_out_of_reach(tools):
    assert "not in the reviewed runs (rev)" in tools.step("other.grid.s0", 0)
    assert "other.grid" not in tools.sql("SELECT DISTINCT episode_id FROM steps")
    assert "other" not in tools.search("gold", limit=50)


def test_reviewing_a_run_that_is_not_in_the_store_is_a_misconfiguration(root):
    with pytest.raises(StoreError, match=r"run nope is not in .*; list them with `automem runs`"):
        StoreTools(root, ["rev", "nope"])
    with pytest.raises(StoreError, match="invalid run id"):
        StoreTools(root, ["../rev"])


def test_schemas_are_openai_function_tools_matching_the_dispatch(tools):
    schemas = tools.schemas()
    json.dumps(schemas)  # plain JSON
    assert (
        [s["function"]["name"] for s in schemas]
        == list(TOOLS)
        == [
            "sql",
            "steps",
            "step",
            "memory",
            "search",
        ]
    )
    for schema in schemas:
        assert schema["type"] == "function"
        function = schema["function"]
        params = function["parameters"]
        assert function["description"] and params["type"] == "object"
        assert params["additionalProperties"] is False
        assert set(params["required"]) <= set(params["properties"])
        assert "title" not in json.dumps(params)
        assert all(p.get("description") for p in params["properties"].values())
    steps = next(s for s in schemas if s["function"]["name"] == "steps")["function"]
    assert steps["parameters"]["required"] == ["episode_id", "start", "end"]


def test_a_compaction_during_a_review_moves_no_answer(tmp_path):
    """The run compacts while its review goes on (a run compacts as it plays): the SQL, step
    and memory tools answer from the rows' new files, never a refusal or an error."""
    from automem_core.store.compact import compact_run
    from automem_core.testing.sample_store import clone_episodes

    root = tmp_path / "data"
    play_fake_run(root, seeds=(0,), steps=6, run_id="r")
    copies = clone_episodes(root, "r.grid.s0", "r", 3)  # loose: the next compaction moves them
    tools = StoreTools(root, ["r"])
    count = '{"query": "SELECT count(*) AS n, count(DISTINCT episode_id) AS e FROM steps"}'
    before = tools.call("sql", count)
    assert compact_run(root, "r") == 4
    assert not any((root / "runs" / "r" / "episodes" / e).exists() for e in copies)
    assert tools.call("sql", count) == before
    assert "24" in before
    step = tools.call("step", json.dumps({"episode_id": copies[1], "step": 3}))
    assert step.startswith(f"episode {copies[1]} step 3") and "observation" in step
    memory = tools.call("memory", json.dumps({"episode_id": copies[2], "step": 3}))
    assert memory.startswith(f"memory of episode {copies[2]} at the end of step 3")
