"""Training: the ledger of memory specialists (Loop 2, part 2).

Every training with its export, base model, steps and held-out loss; for one, its loss curve,
what its export holds, and the runs that evaluated it beside the base model's runs on the same
seeds.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from automem_core.analysis.trainings import load_evaluation_runs
from automem_core.export.examples import ExportError, read_card
from automem_core.export.ledger import load_trainings
from dashboard import data
from dashboard.empty import show_empty_store

NUM = st.column_config.NumberColumn
TEXT = st.column_config.TextColumn
LEDGER_COLUMNS = ["training_id", "status", "backend", "base_model", "examples", "steps",
                  "heldout_loss_before", "heldout_loss_after", "wall_s", "created_at"]  # fmt: skip
LEDGER_CONFIG = {
    "training_id": TEXT("training", width="small"),
    "base_model": TEXT("base model"),
    "heldout_loss_before": NUM("held-out loss before", format="%.3f"),
    "heldout_loss_after": NUM("held-out loss after", format="%.3f"),
    "wall_s": NUM("wall (s)", format="%.0f", width="small"),
}


@st.cache_data(show_spinner=False)
def trainings(root: str, token: str) -> pd.DataFrame:
    return load_trainings(Path(root))


@st.cache_data(show_spinner=False)
def evaluations(root: str, training_id: str, token: str) -> pd.DataFrame:
    return load_evaluation_runs(Path(root), training_id)


def loss_curve(out_dir: str | None) -> pd.DataFrame:
    """The training's ``loss_curve.csv`` (step, split, loss), empty when there is none."""
    path = Path(out_dir or "") / "loss_curve.csv"
    if not out_dir or not path.is_file():
        return pd.DataFrame(columns=["step", "split", "loss"])
    with path.open(encoding="utf-8") as fh:
        return pd.DataFrame(list(csv.DictReader(fh))).astype({"step": int, "loss": float})


def loss_figure(curve: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for split, part in curve.groupby("split", sort=True):
        fig.add_scatter(x=part["step"], y=part["loss"], name=str(split), mode="lines+markers")
    fig.update_layout(
        height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis_title="step", yaxis_title="loss",
    )  # fmt: skip
    return fig


def export_facts(export_dir: str) -> None:
    try:
        card = read_card(export_dir)
    except ExportError as exc:
        st.warning(str(exc))
        return
    if not card:
        st.caption(f"`{export_dir}` has no dataset card (moved or deleted?).")
        return
    counts = card.get("counts", {})
    seeds = card.get("seeds", {})
    by_game = seeds.get("by_game") or {str(card.get("game", "?")): seeds.get("traces", [])}
    mined = "; ".join(f"{g}: {', '.join(map(str, found))}" for g, found in by_game.items())
    st.markdown(
        f"**Export** `{export_dir}`  \n{counts.get('examples', 0)} examples, "
        f"{counts.get('pairs', 0)} pairs · mined from seeds {mined}"
    )


def one_training(root: Path, row: pd.Series, token: str) -> None:
    st.subheader(f"{row.name} · {row['status']}")
    if row.get("error"):
        st.error(row["error"])
    left, right = st.columns([3, 2])
    with left:
        curve = loss_curve(row.get("out_dir"))
        if curve.empty:
            st.caption("No loss curve (an OpenAI job, or the training has not finished).")
        else:
            st.plotly_chart(loss_figure(curve), key="training.loss")
    with right:
        export_facts(str(row["export_dir"]))
        st.markdown(f"**Adapter / model** `{row.get('adapter_path') or '–'}`")
        if row.get("job_id"):
            st.markdown(f"**Job** `{row['job_id']}`")
    st.markdown("**Evaluation runs** (clean progression ×100; base: same game, version, seeds)")
    found = evaluations(str(root), str(row.name), token)
    if found.empty:
        st.caption(
            f"No run evaluates it yet: `automem run … --training {row.name} "
            "--memory-base-url SPECIALIST --action-base-url BASE` on seeds its export did not "
            "use."
        )
        return
    st.dataframe(
        found, key="training.runs", hide_index=True,
        column_config={"progression": NUM(format="%.1f"), "± se": NUM(format="%.1f")},
    )  # fmt: skip


root = data.data_root()
st.title("Training")
token = data.store_token(root)
if not token:
    show_empty_store(root, "training")
    st.stop()
ledger = trainings(str(root), data.records_token(root, "trainings"))
if ledger.empty:
    st.info(
        "No specialist trained yet. Export labelled decisions on the Export page, then "
        "`automem train EXPORT_DIR` (LoRA with the `train` extra, or `--openai`)."
    )
    st.stop()
st.dataframe(
    ledger, key="training.ledger", hide_index=True, column_order=LEDGER_COLUMNS,
    column_config=LEDGER_CONFIG,
)  # fmt: skip
ids = ledger["training_id"].tolist()[::-1]  # newest first
chosen = st.selectbox("Training", ids, key="training.pick")
picked = ledger.set_index("training_id").loc[chosen].rename(chosen)
one_training(root, picked.astype(object).where(picked.notna(), None), token)
st.caption("`automem trainings` prints the same ledger.")
