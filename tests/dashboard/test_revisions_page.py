"""The Revisions page: proposals by status, one proposal's diff and evidence with links into the
replay, approve / reject / edit-then-approve recorded as events (and refused with the reason),
an invalid proposal's raw output, the gate's row with its fixed and regressed pairs, and the
version lineage."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
from urllib.parse import parse_qs

import pandas as pd
import pytest

from automem_core.review.evaluate import evaluation_row
from automem_core.review.gate import paired_gate
from automem_core.review.proposals import history, load_proposals
from automem_core.review.review import review
from automem_core.scaffold import load_scaffold
from automem_core.store.records import append_records
from automem_core.testing.fake_game import SCAFFOLD_DIR
from automem_core.testing.reviewers import CitingReviewer
from automem_core.testing.sample_store import play_fake_run
from tests.dashboard.apptest import open_app

RUN = "rev"
BREAKS_READS = [{"op": "replace", "path": "/ops", "value": ["READ", "APPEND"]}]


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A reviewed run, a waiting proposal and one refused by validation."""
    root = tmp_path_factory.mktemp("revisions") / "data"
    play_fake_run(root, seeds=(0, 1), steps=12, run_id=RUN, seed_set="review")
    parent = load_scaffold(SCAFFOLD_DIR)
    asyncio.run(review(root, CitingReviewer(), parent, [RUN]))
    invalid = CitingReviewer(patch=BREAKS_READS, summary="fewer ops")
    asyncio.run(review(root, invalid, parent, [RUN], retries=0))
    return root


@pytest.fixture
def store(reviewed, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(reviewed, root)
    return root


def ids(root) -> dict[str, str]:
    """event → proposal id (one proposal per event here)."""
    found = load_proposals(root)
    return dict(zip(found["event"], found["proposal_id"], strict=True))


def revisions_page(root, monkeypatch, **params):
    at = open_app(root, monkeypatch, who="tester")  # decisions are signed
    at.query_params.update(params)
    at.switch_page("revisions/view.py").run()
    assert not at.exception, at.exception[0].value if at.exception else ""
    return at


def table(at, column: str) -> pd.DataFrame:
    """The first table shown with ``column`` (the list: cost_usd; lineage: gating; pairs:
    outcome)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def visible(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def events(root, proposal_id) -> list[tuple[str, str, str]]:
    rows = history(root, proposal_id)
    return list(zip(rows["event"], rows["author"], rows["reason"], strict=True))


def test_the_list_shows_every_proposal_and_filters_by_status(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    listed = table(at, "cost_usd")
    assert sorted(listed["event"]) == ["invalid", "proposed"]
    assert at.selectbox(key="revisions.proposal").value == ids(store)["proposed"]
    at.multiselect(key="revisions.status").set_value(["invalid"]).run()
    assert list(table(at, "cost_usd")["event"]) == ["invalid"]
    assert at.selectbox(key="revisions.proposal").value == ids(store)["invalid"]


def test_the_diff_shows_the_changed_limit_side_by_side(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    diff = next(h.value for h in at.html if 'class="am-sbs-diff"' in h.value)
    changed = re.findall(r'<tr class="am-sbs-changed">(.*?)</tr>', diff)
    sides = [[visible(c) for c in re.findall(r'am-txt[^"]*">(.*?)</td>', row)] for row in changed]
    assert ["search_cap: 20", "search_cap: 10"] in [[a.strip(), b.strip()] for a, b in sides]


def test_citations_link_into_the_replay_at_their_step(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    proposal = load_proposals(store).set_index("event").loc["proposed"]
    cited = json.loads(proposal["citations_json"])
    links = [parse_qs(link.proto.query_string) for link in at.get("page_link")]
    assert [(q["run"], q["episode"], q["step"]) for q in links] == [
        ([RUN], [c["episode_id"]], [str(c["step"])]) for c in cited
    ]
    assert {link.proto.page for link in at.get("page_link")} == {"replay"}
    shown = " ".join(c.value for c in at.caption)
    assert all(html.unescape(c["shows"]) in html.unescape(shown) for c in cited)


def test_approving_with_a_reason_records_the_author_and_the_reason(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    pid = ids(store)["proposed"]
    at.sidebar.text_input(key="people.field").set_value("ana").run()
    at.text_area(key="revisions.reason").input("smaller results look right").run()
    at.button(key="revisions.approve").click().run()
    assert not at.exception
    assert events(store, pid)[-1] == ("approved", "ana", "smaller results look right")
    assert any("approved by ana" in s.value for s in at.success)
    assert table(at, "cost_usd").set_index("proposal_id").loc[pid, "event"] == ("approved")


def test_no_decision_without_a_name(store, monkeypatch):
    at = open_app(store, monkeypatch)
    at.switch_page("revisions/view.py").run()
    assert at.button(key="revisions.approve").disabled
    assert at.button(key="revisions.reject").disabled


def test_rejecting_records_a_rejected_event(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    pid = ids(store)["proposed"]
    at.text_area(key="revisions.reason").input("the cap is not the problem").run()
    at.button(key="revisions.reject").click().run()
    assert [e for e, _, _ in events(store, pid)] == ["proposed", "rejected"]
    assert any("Rejected by" in w.value for w in at.warning)


def test_approving_without_a_reason_is_refused_and_nothing_is_recorded(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    pid = ids(store)["proposed"]
    at.button(key="revisions.approve").click().run()
    assert any("give a reason" in e.value for e in at.error)
    assert [e for e, _, _ in events(store, pid)] == ["proposed"]


def test_an_edited_patch_that_breaks_an_invariant_is_refused_with_the_reason(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    pid = ids(store)["proposed"]
    at.text_area(key="revisions.reason").input("reads are enough").run()
    at.text_area(key=f"revisions.patch.{pid}").input(json.dumps(BREAKS_READS)).run()
    at.button(key="revisions.approve_edited").click().run()
    refused = [html.unescape(e.value) for e in at.error]
    assert any("keep SEARCH" in e and "\n" not in e for e in refused), refused
    assert [e for e, _, _ in events(store, pid)] == ["proposed"]


def test_an_edited_patch_is_validated_again_then_approved(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    pid = ids(store)["proposed"]
    edit = [{"op": "replace", "path": "/limits/search_cap", "value": 5}]
    at.text_area(key="revisions.reason").input("halving is too little").run()
    at.text_area(key=f"revisions.patch.{pid}").input(json.dumps(edit)).run()
    at.button(key="revisions.approve_edited").click().run()
    latest = history(store, pid).iloc[-1]
    assert latest["event"] == "edited" and json.loads(latest["patch_json"]) == edit
    diff = next(h.value for h in at.html if 'class="am-sbs-diff"' in h.value)
    assert "search_cap: 5" in visible(diff)  # the diff now shows the edited candidate


def test_a_patch_that_is_not_json_is_refused_in_one_line(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    pid = ids(store)["proposed"]
    at.text_area(key="revisions.reason").input("x").run()
    at.text_area(key=f"revisions.patch.{pid}").input("[{").run()
    at.button(key="revisions.approve_edited").click().run()
    assert any("the patch is not JSON" in e.value for e in at.error)
    assert [e for e, _, _ in events(store, pid)] == ["proposed"]


def test_an_invalid_proposal_shows_the_raw_output_and_the_reason(store, monkeypatch):
    pid = ids(store)["invalid"]
    at = revisions_page(store, monkeypatch, proposal=pid)
    assert at.selectbox(key="revisions.proposal").value == pid
    assert any("Refused by validation" in e.value and "keep SEARCH" in e.value for e in at.error)
    assert any('"path": "/ops"' in c.value for c in at.code)  # the reviewer's raw output
    assert not any(b.key == "revisions.approve" for b in at.button)  # nothing to decide


def test_the_gate_row_and_the_fixed_and_regressed_pairs(store, monkeypatch):
    proposal = load_proposals(store).set_index("event").loc["proposed"]
    cand = pd.DataFrame({"task": "grid", "seed": [1, 2, 3], "status": "ok",
                         "progression": [0.3, 0.1, 0.5]})  # fmt: skip
    parent = pd.DataFrame({"task": "grid", "seed": [1, 2, 3, 4], "status": "ok",
                           "progression": [0.0, 0.2, 0.4, 0.1]})  # fmt: skip
    gate = paired_gate(cand, parent)
    row = evaluation_row(
        gate, proposal_id=proposal["proposal_id"], version=proposal["candidate_version"],
        parent_version=proposal["parent_version"], seed_set="gating", run_id="cand",
        parent_run_id="par", verdict="accepted",
    )  # fmt: skip
    append_records(store, "evaluations", [row])
    at = revisions_page(store, monkeypatch)
    (shown,) = table(at, "delta_stderr").to_dict("records")
    assert (shown["pairs"], shown["dropped_pairs"], shown["rule"]) == (3, 1, "strict")
    assert shown["delta"] == pytest.approx(gate.delta)
    assert shown["delta_stderr"] == pytest.approx(gate.stderr)
    assert (shown["delta_low"], shown["delta_high"]) == pytest.approx((gate.low, gate.high))
    assert (shown["verdict"], shown["reason"]) == ("accepted", gate.reason)
    said = html.unescape(" ".join(m.value for m in at.markdown))
    assert f"on the gating seeds: **accepted**, {gate.reason}" in said
    pairs = table(at, "outcome")
    assert dict(zip(pairs["seed"], pairs["outcome"], strict=True)) == {
        1: "fixed", 2: "regressed", 3: "improved"
    }  # fmt: skip


def test_the_lineage_shows_every_version_coloured_by_status(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    lineage = table(at, "gating")
    found = load_proposals(store).set_index("event")
    assert list(lineage["status"]) == ["base", "proposed", "invalid"]
    assert list(lineage["version"]) == [
        found.loc["proposed", "parent_version"], found.loc["proposed", "candidate_version"],
        found.loc["invalid", "proposal_id"],
    ]  # fmt: skip
    (chart,) = at.get("graphviz_chart")
    dot = chart.proto.spec
    assert f'"{found.loc["proposed", "parent_version"]}" -> ' in dot and "#fde68a" in dot


def test_no_proposals_names_the_commands_that_make_them(tmp_path, monkeypatch):
    at = revisions_page(tmp_path, monkeypatch)
    said = " ".join(i.value for i in at.info)
    assert "automem optimize --game crafter" in said and "automem review --run RUN" in said
    play_fake_run(tmp_path, seeds=(0,), steps=3, run_id="r")
    at = revisions_page(tmp_path, monkeypatch)
    assert any("automem review --run RUN" in i.value for i in at.info)


def test_a_citation_opens_the_replay_with_the_claim_and_its_diagnostic_lane(store, monkeypatch):
    at = revisions_page(store, monkeypatch)
    link = at.get("page_link")[0]
    query = {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
    assert query["cite"].endswith(":0") and query["who"] == "tester"
    replay = open_app(store, monkeypatch, **query)
    replay.switch_page("replay/view.py").run()
    assert not replay.exception
    proposal = load_proposals(store).set_index("event").loc["proposed"]
    claim = json.loads(proposal["citations_json"])[0]
    (banner,) = [i.value for i in replay.info if "cites" in i.value]
    assert html.unescape(claim["shows"]) in html.unescape(banner)
    assert "step check" in banner
    assert replay.selectbox(key="replay.lane").value == claim["diagnostic"]
