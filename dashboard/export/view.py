"""Export: write labelled decisions as a training set (Loop 2).

Choose decisions by run, game, scaffold version, phase and label source; pick the formats; see
how many decisions that is and a preview of what would be written; write the folder (with its
dataset card) and download it as a zip. Every export is recorded, so the Decisions page shows
which decisions went into which set.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from automem_core.analysis.label_policy import describe
from automem_core.export.dataset import Selection, export, preview
from automem_core.export.examples import ExportError
from automem_core.export.format_names import FORMAT_GROUPS, formats_of
from automem_core.store.record_rows import LABEL_POLICIES
from dashboard import data
from dashboard.decisions import data as decision_data
from dashboard.empty import show_empty_store
from dashboard.widgets import identity

FORMAT_HELP = {
    "openai": "OpenAI chat fine-tuning JSONL (per-message weight)",
    "sharegpt": "ShareGPT for LLaMA-Factory, with dataset_info.json",
    "trl": "TRL prompt–completion JSONL (loss on the memory turn only)",
    "preference": "preference pairs (TRL and OpenAI forms) from resampled answers",
    "all": "every format",
}


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{folder.name}/{path.name}")
    return buffer.getvalue()


def selection_form(table) -> tuple[Selection, list[str]]:  # type: ignore[no-untyped-def]
    cols = st.columns(4)
    runs = cols[0].multiselect("Runs", sorted(table["run_id"].unique()), key="export.runs")
    games = cols[1].multiselect("Games", sorted(table["game"].unique()), key="export.games")
    versions = cols[2].multiselect(
        "Scaffold versions", sorted(table["scaffold_version"].unique()), key="export.versions"
    )
    phases = cols[3].multiselect("Phases", ["log", "plan"], key="export.phases")
    row = st.columns(5)
    sources = row[0].multiselect(
        "Whose label counts", ["human", "judge"], default=["human", "judge"], key="export.sources"
    )
    min_score = row[1].number_input("Minimum score", value=None, key="export.min_score")
    min_causal = row[2].number_input(
        "Minimum causal value", value=None, key="export.min_causal",
        help="Progression points a decision was worth, measured by forks (`automem mine "
        "--causal`); decisions never measured are left out when set.",
    )  # fmt: skip
    unsure = row[3].toggle("Include unsure", key="export.unsure")
    groups = row[4].multiselect(
        "Formats", list(FORMAT_GROUPS), default=["openai", "trl"], key="export.formats",
        format_func=lambda g: FORMAT_HELP[g],
    )  # fmt: skip
    left, middle, right = st.columns([1, 2, 3])
    policy = left.selectbox("Labelling policy", LABEL_POLICIES, key="export.policy")
    adjudicators: tuple[str, ...] = ()
    if policy == "adjudicated":
        people = decision_data.people_table(data.data_root())
        names = sorted(people["author"].unique()) if not people.empty else []
        adjudicators = tuple(middle.multiselect("Adjudicators", names, key="export.adj"))
    right.caption(describe(policy, adjudicators))
    selection = Selection(
        policy=policy,
        adjudicators=adjudicators,
        runs=tuple(runs),
        games=tuple(games),
        scaffold_versions=tuple(versions),
        phases=tuple(phases),
        label_sources=tuple(sources),
        min_score=min_score,
        min_causal_value=min_causal,
        include_unsure=unsure,
        pairs="preference" in groups or "all" in groups,
    )
    return selection, list(formats_of(groups))


def write(root: Path, selection: Selection, formats: list[str]) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = st.text_input("Folder", str(root / "exports" / f"set-{stamp}"), key="export.out")
    who = identity.current()
    license_id = st.text_input("License of the data", "other", key="export.license")
    overwrite = st.toggle("Replace the folder if it exists", key="export.overwrite")
    ready = bool(formats) and bool(who)
    if not who:
        st.caption("Type your name in the sidebar (or sign in) to write the export.")
    if st.button("Write the export", type="primary", key="export.write", disabled=not ready):
        try:
            made = export(root, Path(name), selection, formats, who, overwrite=overwrite,
                          license=license_id.strip() or "other")  # fmt: skip
        except (ExportError, OSError, ValueError) as exc:
            st.error(str(exc).splitlines()[0], icon=":material/error:")
            return
        decision_data.clear_decisions()
        result = made.result
        st.success(
            f"Wrote {result.counts.get('examples', 0)} examples and "
            f"{result.counts.get('pairs', 0)} pairs to {result.out_dir}"
        )
        st.download_button(
            "Download it (zip)",
            zipped(Path(result.out_dir)),
            file_name=f"{Path(result.out_dir).name}.zip",
            mime="application/zip",
            key="export.download",
        )


root = data.data_root()
st.title("Export")
if not data.store_token(root):
    show_empty_store(root, "export")
    st.stop()
table = decision_data.decisions_table(root)
if table.empty:
    st.info(
        "Nothing to export yet: mine decisions with `automem mine --run RUN` and label them on "
        "the Decisions page (or with `automem judge`); then choose them here."
    )
    st.stop()
selection, formats = selection_form(table)
count, rows = preview(root, selection)
st.markdown(f"**{count:,} decisions** · {selection.describe()}")
with st.expander(f"Preview: the first {len(rows)} examples as they would be written"):
    for row in rows:
        st.code(json.dumps(row, indent=1, ensure_ascii=False)[:4000], language="json")
write(root, selection, formats)
st.subheader("Earlier exports")
exports = decision_data.exports_table(root)
if exports.empty:
    st.caption("No export yet.")
else:
    shown = exports[
        ["export_id", "created_at", "author", "out_dir", "formats", "examples", "pairs"]
    ]
    st.dataframe(shown.sort_values("created_at", ascending=False), hide_index=True,
                 key="export.history")  # fmt: skip
