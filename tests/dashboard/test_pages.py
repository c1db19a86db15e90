"""Every page rendered headless with AppTest over a store the real runner played (fake game)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from automem_core.store.reader import connect
from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.scripted import BOLD_LINE, BOLD_STEP, SCRIPT_LINE, SCRIPT_STEP
from dashboard.render import escape_text
from tests.dashboard.apptest import open_app

RUN = "fake-v0"
PNG_EP = f"{RUN}.pixels.s0"  # frames as PNG images
TTY_EP = f"{RUN}.grid.s0"  # frames as a 24×80 terminal


def open_step(root: Path, monkeypatch: pytest.MonkeyPatch, step: int, ep: str = PNG_EP):
    return open_app(root, monkeypatch, run=ep.rsplit(".", 2)[0], episode=ep, step=str(step))


def open_tab(at: AppTest, label: str) -> AppTest:
    """Open a tab of the memory panel (only the open one is drawn)."""
    at.session_state["replay.memory_tab"] = label
    return at.run()


def all_html(at: AppTest) -> str:
    return "\n".join(h.value for h in at.html)


def visible(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def one(root: Path, sql: str, *args: object) -> tuple:
    return connect(root).execute(sql, list(args)).fetchone()


def test_overview_lists_every_run_with_progression(sample_store, monkeypatch):
    at = open_app(sample_store, monkeypatch)
    runs = at.dataframe[0].value
    assert set(runs["run"]) == {RUN, "fake-variant", "fake-crash"}
    crash = runs[runs["run"] == "fake-crash"].iloc[0]
    assert (crash["failed"], crash["clean"], crash["episodes"]) == (2, 2, "4 / 4")
    expected = (
        100 * one(sample_store, "SELECT avg(progression) FROM episodes WHERE run_id = ?", RUN)[0]
    )
    assert runs[runs["run"] == RUN].iloc[0]["progression"] == pytest.approx(expected)
    clean_only = (
        100
        * one(
            sample_store,
            "SELECT avg(progression) FROM episodes WHERE run_id = 'fake-crash' AND status = 'ok'",
        )[0]
    )
    assert crash["progression"] == pytest.approx(clean_only)
    versions = runs.set_index("run")["scaffold"]
    assert versions[RUN].split("@")[0] == versions["fake-variant"].split("@")[0] == "fake-v0"
    assert versions[RUN] != versions["fake-variant"]  # same id, other content: two versions
    assert len(at.get("plotly_chart")) == 2  # progression by version, ops per step


def test_overview_op_statistics_count_empty_searches(sample_store, monkeypatch):
    at = open_app(sample_store, monkeypatch)
    quality = next(d.value for d in at.dataframe if "empty_searches" in d.value.columns)
    empty = one(
        sample_store,
        "SELECT count(*) FROM memory_ops o JOIN episodes e USING (episode_id) "
        "WHERE e.run_id = ? AND o.kind = 'SEARCH' AND o.hits = 0 AND o.ok",
        RUN,
    )[0]
    assert quality.set_index("run").loc[RUN, "empty_searches"] == empty > 0


def test_overview_opens_the_chosen_episode_in_the_replay(sample_store, monkeypatch):
    at = open_app(sample_store, monkeypatch)
    at.selectbox(key="overview.run").select("fake-crash").run()
    episode = "fake-crash.crash.s0"
    assert at.selectbox(key="overview.episode").value == episode
    at.button(key="overview.open").click().run()
    assert next(s.value for s in at.subheader) == episode
    assert at.query_params["episode"] in (episode, [episode])


def test_replay_shows_the_steps_action_frame_and_observation(sample_store, monkeypatch):
    at = open_step(sample_store, monkeypatch, 5)
    action, observation = one(
        sample_store,
        "SELECT action, observation FROM steps WHERE episode_id = ? AND step = 5",
        PNG_EP,
    )
    step_card = next(h.value for h in at.html if 'class="am-step"' in h.value)
    assert f'<span class="am-action">{escape_text(action)}</span>' in step_card
    assert "data:image/png;base64," in all_html(at)
    shown = re.search(r'<pre class="am-obs[^"]*">(.*?)</pre>', all_html(at), re.S)
    assert shown and html.unescape(shown.group(1)) == observation


def test_replay_diff_shows_the_line_appended_at_the_step(sample_store, monkeypatch):
    step = 9
    args = one(
        sample_store,
        "SELECT args FROM memory_ops WHERE episode_id = ? AND step = ? AND kind = 'APPEND' "
        "AND file = 'actions_log'",
        PNG_EP,
        step,
    )[0]
    at = open_step(sample_store, monkeypatch, step)
    diff = next(h.value for h in at.html if 'class="am-diffs"' in h.value)
    added = re.findall(r'<tr class="am-add">.*?<td class="am-txt">(.*?)</td>', diff)
    assert args[1].startswith(f"Step {step} ")  # the outcome of the previous action
    assert args[1] in [html.unescape(a) for a in added]


def test_agent_written_lines_appear_literally(sample_store, monkeypatch):
    for step, line in ((SCRIPT_STEP, SCRIPT_LINE), (BOLD_STEP, BOLD_LINE)):
        at = open_step(sample_store, monkeypatch, step)
        markup = all_html(at) + "".join(m.value for m in at.markdown)
        assert escape_text(line) in markup
        assert "<script" not in markup and "<strong>" not in markup
        diff = next(h.value for h in at.html if 'class="am-diffs"' in h.value)
        assert line in visible(diff)
        completion = next(
            h.value for h in at.html if "am-completion" in h.value and "notes" in h.value
        )
        assert line in visible(completion)


def test_memory_files_show_who_wrote_and_who_read_each_line(sample_store, monkeypatch):
    read_step = one(
        sample_store,
        "SELECT min(step) FROM memory_ops WHERE episode_id = ? AND kind = 'READ' "
        "AND file = 'notes'",
        PNG_EP,
    )[0]
    at = open_step(sample_store, monkeypatch, read_step)
    assert not any('class="am-files"' in h.value for h in at.html)  # not the open tab
    open_tab(at, "Files at this step")
    assert not any('class="am-diff-prev"' in h.value for h in at.html)
    files = next(h.value for h in at.html if 'class="am-files"' in h.value)
    row = next(r for r in files.split("<tr") if escape_text(SCRIPT_LINE) in r)
    assert f"@{SCRIPT_STEP}" in row and f'read <span class="">{read_step}</span>' in row


def test_deep_link_opens_that_step_and_the_url_follows(sample_store, monkeypatch):
    at = open_step(sample_store, monkeypatch, 7)
    assert at.number_input(key="replay.w_goto").value == 7
    assert at.query_params["step"] in ("7", ["7"])
    at.button(key="replay.next").click().run()
    assert at.number_input(key="replay.w_goto").value == 8
    assert at.query_params["step"] in ("8", ["8"])


def test_root_deep_link_redirects_to_the_replay(sample_store, monkeypatch):
    at = open_app(sample_store, monkeypatch, episode=PNG_EP, run=RUN, step="4")
    assert next(s.value for s in at.subheader) == PNG_EP
    assert at.number_input(key="replay.w_goto").value == 4


def test_jump_to_next_invalid_action(sample_store, monkeypatch):
    target = one(
        sample_store,
        "SELECT min(step) FROM steps WHERE episode_id = ? AND NOT action_valid AND step > 0",
        PNG_EP,
    )[0]
    assert target is not None
    at = open_step(sample_store, monkeypatch, 0)
    at.button(key="replay.next_invalid").click().run()
    assert at.number_input(key="replay.w_goto").value == target


def test_a_jump_with_nothing_ahead_stays_and_says_so(sample_store, monkeypatch):
    last = one(sample_store, "SELECT max(step) FROM steps WHERE episode_id = ?", PNG_EP)[0]
    at = open_step(sample_store, monkeypatch, last)
    at.button(key="replay.next_reward").click().run()
    assert at.number_input(key="replay.w_goto").value == last
    assert any(f"No reward after step {last}" in t.value for t in at.toast)


def test_compare_with_another_step_diffs_from_that_step(sample_store, monkeypatch):
    at = open_tab(open_step(sample_store, monkeypatch, 12), "Diff vs another step")
    diffs = [h.value for h in at.html if 'class="am-diffs"' in h.value]
    assert escape_text(BOLD_LINE) in diffs[-1] and escape_text(SCRIPT_LINE) in diffs[-1]
    at.number_input(key="replay.w_compare").set_value(SCRIPT_STEP).run()
    assert at.query_params["compare"] in (str(SCRIPT_STEP), [str(SCRIPT_STEP)])
    diff = [h.value for h in at.html if 'class="am-diffs"' in h.value][-1]
    added = [html.unescape(t) for t in re.findall(r'am-add">.*?am-txt">(.*?)</td>', diff)]
    assert BOLD_LINE in added and SCRIPT_LINE not in added  # already there at the compared step


def test_a_link_with_a_compared_step_opens_the_comparison(sample_store, monkeypatch):
    at = open_app(sample_store, monkeypatch, run=RUN, episode=PNG_EP, step="12",
                  compare=str(SCRIPT_STEP))  # fmt: skip
    assert at.number_input(key="replay.w_compare").value == SCRIPT_STEP
    assert at.session_state["replay.memory_tab"] == "Diff vs another step"


def test_tty_frame_is_a_coloured_terminal(sample_store, monkeypatch):
    at = open_step(sample_store, monkeypatch, 3, TTY_EP)
    terminal = next(h.value for h in at.html if 'class="am-tty"' in h.value)
    assert "&#64;" in terminal and 'style="color:' in terminal
    assert "Gold:" in visible(terminal)


def test_turns_show_prompt_completion_and_op_results(sample_store, monkeypatch):
    at = open_step(sample_store, monkeypatch, 6)
    messages = json.loads(
        one(
            sample_store,
            "SELECT messages_json FROM turns WHERE episode_id = ? AND step = 6 AND phase = 'log'",
            PNG_EP,
        )[0]
    )
    prompts = [visible(h.value) for h in at.html if "am-prompt-box" in h.value]
    assert any(messages[1]["content"] in p for p in prompts)
    assert any("am-tag-read" in h.value and "hits" in h.value for h in at.html)


def test_filters_narrow_the_episode_list(sample_store, monkeypatch):
    at = open_app(sample_store, monkeypatch)
    at.switch_page("replay/view.py").run()
    at.multiselect(key="replay.f_task").select("crash").run()
    assert at.selectbox(key="replay.w_run").value == "fake-crash"
    assert all("crash" in o for o in at.selectbox(key="replay.w_episode").options)


def test_new_episodes_appear_without_a_restart(tmp_path, monkeypatch):
    play_fake_run(tmp_path, steps=5, run_id="first")
    at = open_app(tmp_path, monkeypatch)
    assert list(at.dataframe[0].value["run"]) == ["first"]
    play_fake_run(tmp_path, tasks=("pixels",), steps=5, run_id="second")
    at.run()
    assert set(at.dataframe[0].value["run"]) == {"first", "second"}


@pytest.mark.parametrize("page", ["overview/view.py", "replay/view.py"])
def test_empty_store_says_what_to_run(tmp_path, monkeypatch, page):
    at = open_app(tmp_path, monkeypatch)
    at.switch_page(page).run()
    assert any("automem demo" in i.value for i in at.info)
    assert at.button(key=f"{page.split('/')[0]}.seed_demo").label == "Seed the demo now"


def test_error_episode_shows_its_error(sample_store, monkeypatch):
    at = open_step(sample_store, monkeypatch, 2, "fake-crash.crash.s1")
    assert any("the fake game crashed at step 15" in c.value for c in at.code)
    assert at.number_input(key="replay.w_goto").max == 13  # steps 0–13 were played


def test_seed_button_runs_the_demo_and_shows_its_runs(tmp_path, monkeypatch):
    from dashboard import data

    def fake_demo(root: Path) -> tuple[bool, str]:
        play_fake_run(root, steps=4, run_id="demo")
        return True, "done"

    monkeypatch.setattr(data, "seed_demo", fake_demo)
    at = open_app(tmp_path, monkeypatch)
    at.button(key="overview.seed_demo").click().run()
    assert list(at.dataframe[0].value["run"]) == ["demo"]


def test_a_deep_link_to_a_missing_episode_says_so_instead_of_opening_another(
    sample_store, monkeypatch
):
    at = open_app(sample_store, monkeypatch, run=RUN, episode="nope", step="3")
    said = html.unescape(at.error[0].value)
    assert "The link asks for episode 'nope', which is not in run fake-v0." in said
    assert not at.main.subheader  # no other episode was opened in its place
    at = open_app(sample_store, monkeypatch, run="no-run", episode="nope")
    assert "run 'no-run', which is not in this store" in html.unescape(at.error[0].value)


def test_a_deep_link_with_a_bad_step_opens_step_zero_and_says_so(sample_store, monkeypatch):
    at = open_step(sample_store, monkeypatch, "abc")  # type: ignore[arg-type]
    assert at.number_input(key="replay.w_goto").value == 0
    assert "'abc' is not a step number" in html.unescape(at.warning[0].value)


def test_steps_are_counted_the_same_way_everywhere(sample_store, monkeypatch):
    at = open_step(sample_store, monkeypatch, 10)
    steps = one(sample_store, "SELECT steps FROM episodes WHERE episode_id = ?", PNG_EP)[0]
    card = next(h.value for h in at.html if 'class="am-step"' in h.value)
    assert f'<b>10</b> <span class="am-dim">of {steps}</span>' in card
    assert at.number_input(key="replay.w_goto").max == steps - 1
    caption = next(c.value for c in at.caption if "steps ·" in c.value)
    assert f"{steps} steps" in caption


def test_runs_and_episodes_tables_show_progression_in_the_same_unit(sample_store, monkeypatch):
    at = open_app(sample_store, monkeypatch)
    runs, episodes = (
        at.dataframe[0].value,
        next(d.value for d in at.dataframe if "episode_id" in d.value.columns),
    )
    run = runs[runs["run"] == at.selectbox(key="overview.run").value].iloc[0]
    assert episodes["progression"].mean() == pytest.approx(run["progression"])  # both ×100
    assert episodes["progression"].max() > 1


def test_a_step_change_reruns_only_the_step_panels(sample_store, monkeypatch):
    at = open_step(sample_store, monkeypatch, 4)
    charts_before = len(at.get("plotly_chart"))
    at.button(key="replay.next").click().run()
    assert at.number_input(key="replay.w_goto").value == 5
    assert len(at.get("plotly_chart")) == charts_before == 1  # the timeline, drawn once
    marker = next(h.value for h in at.html if 'class="am-track"' in h.value)
    assert "step 5" in marker
