"""Reading a phase's messages back: observation, index, result blocks, actions; never raising."""

import asyncio

import pytest

from automem_core.llm.base import LLMConfigError, TurnRequest
from automem_core.llm.embedded import EmbeddedClient
from automem_core.llm.embedded.prompt_view import parse_prompt, parse_results

SYSTEM = """You are an agent playing Crafter. Survive.

Memory files:
- map_notes: where things were (format: <thing>: near (x,y) at step N; keyed)

Game actions:
- Noop: do nothing
- Move West: move west on flat ground
- Do: interact with what you face
"""

LOG_PROMPT = """[LOG phase] Step 7.
Previous action: Move West

Observation:
[Notice: 'jump' is not a valid action; 'Noop' was played instead.]
You see:
- water 2 steps to your south

Your status:
- drink: 3/9

Memory files:
- map_notes (2 lines)
- status (5 lines)
WARNING: your observation has not changed for 5 steps; what you are doing has no effect.

Record what is worth remembering about what just happened, then write <|DONE|>."""

RESULTS = """── SEARCH map_notes for 'water' ──
water: near (3,4) at step 2

── READ status ──
step: 7
position: (5,5)

── READ nothing_here ──
[ERROR: file 'nothing_here' does not exist]

── TAIL actions_log (last 3) ──
[FILE IS EMPTY]

Continue recording, or write <|DONE|> when finished."""


def messages(*users: str) -> list[dict[str, str]]:
    out = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": users[0]}]
    for text in users[1:]:
        out += [{"role": "assistant", "content": "<|READ|>status<|END|>"}]
        out += [{"role": "user", "content": text}]
    return out


def test_prompt_view_finds_observation_notice_index_and_previous_action():
    view = parse_prompt(messages(LOG_PROMPT))
    assert view.step == 7
    assert view.previous_action == "Move West"
    assert view.notice is not None and "not a valid action" in view.notice
    assert view.observation.startswith("You see:")
    assert "Memory files" not in view.observation
    assert view.files == {"map_notes": 2, "status": 5}
    assert view.has_file("status") and not view.has_file("survival_log")
    assert view.stuck
    assert view.actions == ("Noop", "Move West", "Do")
    assert not view.consulted


def test_prompt_view_reads_result_blocks_of_later_turns():
    view = parse_prompt(messages(LOG_PROMPT, RESULTS))
    assert view.consulted
    search = view.find("SEARCH", "map_notes", "water")
    assert search is not None and search.content == ("water: near (3,4) at step 2",)
    status = view.find("READ", "status")
    assert status is not None and status.content == ("step: 7", "position: (5,5)")
    missing = view.find("READ", "nothing_here")
    assert missing is not None and missing.error is not None and not missing.content
    tail = view.find("TAIL", "actions_log")
    assert tail is not None and tail.detail == "(last 3)" and tail.content == ()
    assert view.find("SEARCH", "map_notes", "cow") is None


def test_parse_results_drops_the_continue_line():
    (block,) = parse_results("── READ status ──\nstep: 1\n\nConsult more if needed, then act.")
    assert block.lines == ("step: 1",)


def test_prompt_view_degrades_on_an_unrecognised_prompt():
    view = parse_prompt([{"role": "user", "content": "hello there"}])
    assert view.observation == "hello there"
    assert view.files is None and view.has_file("anything")
    assert view.step is None and view.previous_action is None and view.actions == ()


@pytest.mark.parametrize("game", ["crafter", "minihack", "nethack"])
def test_client_answers_garbage_with_a_valid_action_and_is_labelled(game):
    client = EmbeddedClient(game)
    assert client.label == f"embedded:{game}"
    request = TurnRequest([{"role": "user", "content": "???"}], game, "plan", 3, 1)
    completion = asyncio.run(client.complete(request))
    assert completion.error is None
    assert completion.text.startswith("<|ACTION|>")
    assert completion.tokens_in == len("???") // 4 and completion.tokens_out > 0
    assert completion.latency_ms >= 0


def test_client_is_a_pure_function_of_the_request():
    client = EmbeddedClient("crafter")
    request = TurnRequest(messages(LOG_PROMPT, RESULTS), "crafter", "log", 7, 1)
    first = asyncio.run(client.complete(request)).text
    second = asyncio.run(EmbeddedClient("crafter").complete(request)).text
    assert first == second and "<|DONE|>" in first


def test_client_refuses_an_unknown_game():
    with pytest.raises(LLMConfigError, match="no embedded player"):
        EmbeddedClient("chess")
