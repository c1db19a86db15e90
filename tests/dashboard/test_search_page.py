"""The Search page headless (AppTest) and the Replay's marks for a search hit."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

from automem_core.search import SearchFilters, search
from automem_core.testing.scripted import BOLD_STEP, SCRIPT_LINE
from dashboard.render import escape_text
from tests.dashboard.apptest import open_app
from tests.dashboard.test_pages import TTY_EP, all_html


def open_search(root, monkeypatch, **params: str):  # type: ignore[no-untyped-def]
    at = open_app(root, monkeypatch, **params)
    at.switch_page("search/view.py").run()
    assert not at.exception
    return at


def links(at) -> list[dict[str, list[str]]]:  # type: ignore[no-untyped-def]
    hrefs = re.findall(r'href="([^"]+)"', all_html(at))
    return [parse_qs(urlparse(html.unescape(h)).query) for h in hrefs if "replay?" in h]


def test_a_link_reproduces_the_search_and_its_filters(sample_store, monkeypatch):
    at = open_search(sample_store, monkeypatch, q="memory:bold", run="fake-v0", task="grid",
                     who="ana")  # fmt: skip
    want = search(sample_store, "memory:bold", SearchFilters(runs=("fake-v0",), tasks=("grid",)))
    assert want.total > 0
    assert at.markdown[0].value.startswith(f"**{want.total} hit")
    version = escape_text(str(want.hits[0].version))
    row = f'<td>{escape_text("fake-v0")}</td><td>fake</td><td>{version}</td><td class="am-n">'
    assert f"<tr>{row}{want.total}</td></tr>" in all_html(at)  # hits per run
    found = links(at)
    assert len(found) == want.total
    for params in found:
        assert params["run"] == ["fake-v0"] and params["episode"][0].startswith("fake-v0.grid.")
        assert params["highlight"] == ["bold"] and params["who"] == ["ana"]
        assert params["step"] == [str(BOLD_STEP)]
    assert dict(at.query_params) == {"q": "memory:bold", "run": "fake-v0", "task": "grid",
                                     "who": "ana"}  # fmt: skip


def test_agent_written_text_is_shown_as_text(sample_store, monkeypatch):
    at = open_search(sample_store, monkeypatch, q="memory:script")
    shown = all_html(at)
    assert '<mark class="am-hit">script</mark>' in shown
    assert "<script>" not in shown and "&#60;" in shown
    text = html.unescape(re.sub(r"<[^>]+>", "", shown))
    assert SCRIPT_LINE in text


def test_a_sequence_and_a_query_that_cannot_be_read(sample_store, monkeypatch):
    at = open_search(sample_store, monkeypatch, q="source:op access:write op:walls",
                     then="access:read result:walls", within="3", never="1")  # fmt: skip
    assert re.match(r"\*\*\d+ times?\*\* the first query and no the second within 3 steps",
                    at.markdown[0].value)  # fmt: skip
    bad = open_search(sample_store, monkeypatch, q="(walls")
    assert [e.value for e in bad.error] == ["a parenthesis is not closed in the query"]


def test_the_replay_marks_the_words_of_the_hit(sample_store, monkeypatch):
    at = open_app(sample_store, monkeypatch, run="fake-v0", episode=TTY_EP, step=str(BOLD_STEP),
                  highlight="bold")  # fmt: skip
    shown = all_html(at)
    assert shown.count('<mark class="am-hit">bold</mark>') >= 2  # the completion and the diff
    assert 'class="am-hit"' not in re.sub(r"<mark class=\"am-hit\">bold</mark>", "", shown)
    assert at.query_params["highlight"] == "bold"
    at.button(key="replay.clear_marks").click().run()
    assert "<mark" not in all_html(at) and "highlight" not in at.query_params
