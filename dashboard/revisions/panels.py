"""The parts of the Revisions page: one proposal (what it changes, why, the evidence as links into
the replay, the reviewer's output, its history), the gate's verdict with the paired results, and
the version lineage. Reviewer-written text is shown as text or escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from automem_core.errors import AutoMemError
from automem_core.review.gate_job import GateJob, progress, read_job, start_gate
from automem_core.review.outcomes import cited_run, outcome_counts, paired_results
from automem_core.run.plan import episode_id
from dashboard.pages import PAGES
from dashboard.render import escape_block, escape_text, markdown_literal
from dashboard.revisions import data as revision_data
from dashboard.revisions.render import (
    STATUS_COLOURS,
    lineage_dot,
    pretty_json,
    render_side_by_side_html,
    status_chip_html,
)
from dashboard.widgets import identity

NUM = st.column_config.NumberColumn
SHOWN_CITATIONS = 50
RULES = {
    "strict": "kept only if the candidate's mean progression over the pairs is strictly higher",
    "bootstrap": "kept only if the 95 % lower bound of the paired-bootstrap interval of the "
    "mean improvement is above 0",
}
GATE_COLUMNS = [
    "seed_set", "rule", "pairs", "dropped_pairs", "mean", "parent_mean", "delta",
    "delta_stderr", "delta_low", "delta_high", "verdict", "reason",
]  # fmt: skip
GATE_CONFIG = {
    "seed_set": st.column_config.TextColumn("seeds"),
    "dropped_pairs": NUM("dropped", help="pairs where a side was not clean"),
    "mean": NUM("candidate", format="%.1f", help="clean progression ×100 over the pairs"),
    "parent_mean": NUM("parent", format="%.1f", help="clean progression ×100 over the pairs"),
    "delta": NUM("mean Δ", format="%+.2f", help="candidate − parent"),
    "delta_stderr": NUM("± s.e.", format="%.2f", help="standard error of the mean Δ"),
    "delta_low": NUM("low", format="%+.2f", help="the interval the rule used (95 %)"),
    "delta_high": NUM("high", format="%+.2f", help="the interval the rule used (95 %)"),
}
OUTCOME_COLOURS = {"fixed": "#bbf7d0", "improved": "#dcfce7", "regressed": "#fecaca"}
PAIR_CONFIG = {
    "parent": NUM("parent", format="%.1f", help="progression ×100"),
    "candidate": NUM("candidate", format="%.1f", help="progression ×100"),
    "delta": NUM("Δ", format="%+.1f"),
}
LINEAGE_COLUMNS = [
    "version", "parent", "status", "gating", "parent_gating", "heldout", "parent_heldout",
    "episodes", "tokens", "agent_cost", "reviewer_cost", "proposal_id", "summary",
]  # fmt: skip
LINEAGE_CONFIG = {
    "gating": NUM("gating", format="%.1f", help="clean progression ×100 on the gating seeds"),
    "parent_gating": NUM("parent (gating)", format="%.1f"),
    "heldout": NUM("held-out", format="%.1f", help="clean progression ×100, held-out seeds"),
    "parent_heldout": NUM("parent (held-out)", format="%.1f"),
    "episodes": NUM("episodes", help="episodes the version played"),
    "tokens": NUM("tokens", format="localized", help="the agent's tokens over those episodes"),
    "agent_cost": NUM("agent $", format="%.4f", help="the agent's tokens at its model's prices"),
    "reviewer_cost": NUM("reviewer $", format="%.4f"),
}


def prose(label: str, text: str) -> None:
    st.markdown(f"**{label}**")
    st.html(f'<div class="am-prose">{escape_block(text) or "—"}</div>')


def candidate_of(proposal: pd.Series) -> str | None:
    """The candidate version (None: validation refused the patch, so there is none)."""
    value = proposal["candidate_version"]
    return None if _missing(value) or not value else str(value)


def header(root: Path, proposal: pd.Series) -> None:
    """Status, versions, reviewer and what the review cost."""
    candidate = candidate_of(proposal) or "no candidate (refused by validation)"
    events = revision_data.history(root, str(proposal["proposal_id"]))
    proposed_at = events["created_at"].iloc[0] if not events.empty else proposal["created_at"]
    st.html(
        f"<div>{status_chip_html(str(proposal['event']))} "
        f"<b>{escape_text(str(proposal['proposal_id']))}</b> · "
        f"{escape_text(str(proposal['parent_version']))} → {escape_text(str(candidate))}</div>"
    )
    st.caption(
        f"proposed by {proposal['reviewer']} at {proposed_at} · reviewed runs "
        f"{', '.join(map(str, proposal['review_runs']))} · "
        f"{int(proposal['tokens_in']) + int(proposal['tokens_out']):,} reviewer tokens in "
        f"{int(proposal['calls'])} calls, ${float(proposal['cost_usd']):.4f}"
        + (" · seed sets overlap" if proposal["same_seeds"] else "")
    )
    prose("Summary", str(proposal["summary"]))


def decided(proposal: pd.Series) -> None:
    """The latest event's author and reason (a refusal's reason for an invalid proposal)."""
    event, reason = str(proposal["event"]), escape_text(str(proposal["reason"]))
    if event == "invalid":
        st.error(f"Refused by validation: {reason}", icon=":material/block:")
    elif event == "rejected":
        st.warning(f"Rejected by {escape_text(str(proposal['author']))}: {reason}")
    elif event in ("approved", "edited"):
        st.info(
            f"{'Approved with an edited patch' if event == 'edited' else 'Approved'} by "
            f"{escape_text(str(proposal['author']))}: {reason}. Ready for the gate: run it "
            "below (or let `automem optimize` do it).",
            icon=":material/hourglass_top:",
        )
    elif event in ("accepted", "declined"):
        st.info(f"The gate {event} it: {reason}", icon=":material/balance:")


def diff(root: Path, proposal: pd.Series) -> None:
    """Parent vs candidate per changed file, side by side; the patch itself below."""
    candidate = candidate_of(proposal)
    if candidate:
        files, error = revision_data.version_diff(
            root, str(proposal["parent_version"]), str(candidate)
        )
        if error:
            st.error(escape_text(error), icon=":material/error:")
        else:
            st.html(render_side_by_side_html(files, str(proposal["parent_version"]), candidate))
    else:
        st.caption("No candidate was made: validation refused the patch.")
    with st.expander("The patch (RFC 6902 JSON Patch)", expanded=not candidate):
        st.code(pretty_json(str(proposal["patch_json"])), language="json")


def evidence(proposal: pd.Series) -> None:
    """Rationale, expected effect and each citation as a link to the replay at its step."""
    prose("Rationale", str(proposal["rationale"]))
    prose("Predicted effect", str(proposal["expected_effect"]))
    st.markdown("**Cited steps**")
    try:
        citations = [c for c in json.loads(str(proposal["citations_json"])) if isinstance(c, dict)]
    except (ValueError, TypeError):
        citations = []
    if not citations:
        st.caption("No citations.")
    runs = [str(r) for r in proposal["review_runs"]]
    for index, c in enumerate(citations[:SHOWN_CITATIONS]):
        episode, step = str(c.get("episode_id", "")), int(c.get("step", 0))
        run = cited_run(episode, runs)
        if run is None:
            st.markdown(f"{escape_text(episode)} · step {step} (not in the reviewed runs)")
        else:
            st.page_link(
                PAGES["replay"], label=f"{_md(episode)} · step {step}", icon=":material/replay:",
                query_params=identity.keep_in_url({
                    "run": run, "episode": episode, "step": str(step),
                    "cite": f"{proposal['proposal_id']}:{index}",
                }),
            )  # fmt: skip
        why = f" ({escape_text(str(c['diagnostic']))})" if c.get("diagnostic") else ""
        st.caption(escape_text(str(c.get("shows", ""))) + why)
    if len(citations) > SHOWN_CITATIONS:
        st.caption(f"and {len(citations) - SHOWN_CITATIONS} more (see the raw output)")


def _md(text: str) -> str:
    """``text`` literal in a Markdown label."""
    return markdown_literal(text)


def reviewer_output(proposal: pd.Series) -> None:
    """What the reviewer returned, as text (open for a refused proposal)."""
    refused = proposal["event"] in ("invalid", "rejected")
    with st.expander("The reviewer's raw output", expanded=refused, icon=":material/description:"):
        st.code(str(proposal["raw_output"]) or "(empty)", language=None, wrap_lines=True)


def history(root: Path, proposal_id: str) -> None:
    """Every event of the proposal: who, when, why (nothing is overwritten)."""
    events = revision_data.history(root, proposal_id)
    st.dataframe(
        events[["created_at", "event", "author", "reason", "candidate_version"]],
        hide_index=True, key="revisions.history", width="stretch",
    )  # fmt: skip


SET_WORDS = {"gating": "gating", "heldout": "held-out", "review": "review"}
VERDICT_WORDS = {"rejected": "declined"}  # older gate rows said "rejected" for a declined one


def gate(root: Path, proposal: pd.Series) -> None:
    """The gate's row (Δ, its standard error and interval, pairs, rule, verdict and why) and
    the paired results per (task, seed); then any held-out report."""
    found = revision_data.evaluations(root, str(proposal["proposal_id"]))
    if proposal["event"] in ("approved", "edited"):
        gate_runner(root, str(proposal["proposal_id"]))
    if found.empty:
        if proposal["event"] == "proposed":
            st.caption("Not gated yet: approve it first; the gate then plays the candidate "
                       "beside its parent on the gating seeds.")  # fmt: skip
        elif proposal["event"] not in ("approved", "edited"):
            st.caption("This proposal was not gated.")
        return
    st.dataframe(
        found[GATE_COLUMNS], hide_index=True, key="revisions.gate", column_config=GATE_CONFIG
    )
    for i, row in enumerate(found.itertuples()):
        title = "Gate" if row.seed_set == "gating" else "Held-out report"
        words = SET_WORDS.get(str(row.seed_set), str(row.seed_set))
        verdict = VERDICT_WORDS.get(str(row.verdict), str(row.verdict))
        st.markdown(
            f"**{title}** on the {words} seeds: **{verdict}**, {escape_text(str(row.reason))}"
        )
        st.caption(
            f"Rule {row.rule}: {RULES.get(str(row.rule), str(row.rule))}. Mean Δ "
            f"{_signed(row.delta)} ± {_plain(row.delta_stderr)} (s.e.), interval "
            f"[{_signed(row.delta_low)}, {_signed(row.delta_high)}] over {row.pairs} pairs, "
            f"{row.dropped_pairs} dropped. Episodes not clean: candidate {row.degraded}, parent "
            f"{_count(row.parent_degraded)}. Runs {row.run_id} vs {row.parent_run_id or '—'}."
        )
        table = paired_results(str(row.pairs_json))
        pairs(table, key=f"revisions.pairs.{i}")
        if row.parent_run_id and not table.empty:
            side_by_side(table, str(row.run_id), str(row.parent_run_id), key=f"revisions.sbs.{i}")


def side_by_side(table: pd.DataFrame, run_id: str, parent_run_id: str, key: str) -> None:
    """Open one pair's two episodes (candidate and parent, same task and seed) in lockstep."""
    labels = [f"{r.task} seed {r.seed} · {r.outcome}" for r in table.itertuples()]
    chosen = st.selectbox("A pair to look at", range(len(labels)), key=key,
                          format_func=lambda i: labels[i])  # fmt: skip
    pair = table.iloc[int(chosen or 0)]
    ids = [episode_id(run_id, str(pair["task"]), int(pair["seed"])),
           episode_id(parent_run_id, str(pair["task"]), int(pair["seed"]))]  # fmt: skip
    st.page_link(
        PAGES["compare"], label="Open the pair side by side", icon=":material/compare:",
        query_params=identity.keep_in_url({"compare": ",".join(ids), "step": "0"}),
    )  # fmt: skip


GATE_REFRESH_S = 2


def gate_progress(root: Path, job: GateJob) -> None:
    """The running gate's progress, redrawn every few seconds; the whole page once it ends."""
    status = progress(root, job)
    if not status.running:
        st.rerun(scope="app")
    st.progress(
        status.done / status.planned if status.planned else 0.0,
        text=f"The gate runs: {status.done} of {status.planned} gating episodes played "
        f"(started by {job.author} at {job.started_at})",
    )


def gate_runner(root: Path, proposal_id: str) -> None:
    """Start the gate from the page, and its progress while it runs (a reload finds it)."""
    job = read_job(root, proposal_id)
    status = progress(root, job) if job is not None else None
    who = identity.current()
    if job is not None and status is not None and status.running:
        st.fragment(run_every=GATE_REFRESH_S)(gate_progress)(root, job)
        return
    if status is not None and status.last_line:
        st.caption(f"The last gate run said: {escape_text(status.last_line)}")
    if st.button("Run the gate", key="revisions.run_gate", type="primary", disabled=not who,
                 icon=":material/play_arrow:",
                 help="Plays the candidate beside its parent on the loop's gating seeds, with "
                 "its step cap (as `automem evaluate` would), in the background"):  # fmt: skip
        try:
            start_gate(root, proposal_id, who)
        except AutoMemError as exc:
            st.error(escape_text(str(exc)))
            return
        st.rerun()


def pairs(table: pd.DataFrame, key: str) -> None:
    """Per (task, seed): parent, candidate, Δ, and fixed / improved / same / regressed."""
    counts = outcome_counts(table)
    st.caption(" · ".join(f"{n} {o}" for o, n in counts.items()) + " (fixed: the parent made "
               "no progress on the pair, the candidate did)")  # fmt: skip
    styled = table.style.map(
        lambda o: f"background-color: {OUTCOME_COLOURS[o]}" if o in OUTCOME_COLOURS else "",
        subset=["outcome"],
    )
    st.dataframe(styled, hide_index=True, key=key, column_config=PAIR_CONFIG)


def _signed(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):+.2f}"  # type: ignore[arg-type]


def _plain(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):.2f}"  # type: ignore[arg-type]


def _count(value: object) -> str:
    return "–" if _missing(value) else str(int(value))  # type: ignore[call-overload]


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))  # type: ignore[arg-type]


def lineage(root: Path) -> None:
    """Every version as a tree coloured by status, its numbers, and the budget spent."""
    found = revision_data.lineage(root)
    if found.empty:
        st.caption("No versions yet.")
        return
    shown = found.reindex(columns=LINEAGE_COLUMNS)
    cols = st.columns(5)
    cols[0].metric("versions", len(shown))
    cols[1].metric("accepted", int((shown["status"] == "accepted").sum()))
    cols[2].metric("episodes played", f"{int(shown['episodes'].fillna(0).sum()):,}")
    cols[3].metric("agent tokens", f"{int(shown['tokens'].fillna(0).sum()):,}")
    cols[4].metric("reviewer cost", f"${float(shown['reviewer_cost'].fillna(0).sum()):.4f}")
    st.graphviz_chart(lineage_dot(shown))
    st.html(" ".join(status_chip_html(s) for s in STATUS_COLOURS))
    st.dataframe(shown, hide_index=True, key="revisions.lineage", column_config=LINEAGE_CONFIG)
    st.caption(
        "gating and held-out: clean progression ×100 on those seed sets, the parent's beside "
        "it; a base version's numbers are those it scored as a parent. Episodes and tokens are "
        "those the candidate versions played; the reviewer's cost is per proposal."
    )
