"""Plotly figures, as pure functions of query results."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

LANES: tuple[tuple[str, str, str, str], ...] = (
    # (column, lane label, colour, marker symbol)
    ("reward", "reward", "#e0a100", "star"),
    ("invalid", "invalid action", "#d62728", "x"),
    ("stuck", "stuck", "#ff7f0e", "triangle-up"),
    ("oscillation", "oscillation", "#9467bd", "diamond"),
    ("write", "memory write", "#2ca02c", "square"),
    ("read", "memory read", "#1f77b4", "circle"),
)
OP_COLOURS = {
    "SEARCH": "#1f77b4",
    "READ": "#6baed6",
    "TAIL": "#9ecae1",
    "COUNT": "#c6dbef",
    "APPEND": "#2ca02c",
    "WRITE": "#98df8a",
    "UPSERT": "#17becf",
    "UPSERT_MAP": "#9edae5",
    "CREATE": "#bcbd22",
    "REPLACE": "#ff7f0e",
    "DELETE": "#d62728",
}


def progression_figure(df: pd.DataFrame, comparison: str = "") -> go.Figure:
    """Progression (×100) of clean episodes by game, one bar per scaffold version (``id@hash8``),
    with standard-error bars, all on one comparison group (seed set × step cap)."""
    fig = go.Figure()
    for version, part in df.groupby("scaffold", sort=True):
        fig.add_bar(
            x=part["game"],
            y=part["mean"],
            error_y={"type": "data", "array": part["se"], "visible": True},
            name=str(version),
            customdata=part[["scaffold", "episodes", "se", "degraded", "failed"]].to_numpy(),
            hovertemplate="%{customdata[0]}<br>progression %{y:.1f} ± %{customdata[2]:.1f}"
            "<br>%{customdata[1]} clean episodes (degraded %{customdata[3]}, "
            "failed %{customdata[4]} not counted)<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis_title="progression (%)",
        legend_title_text="scaffold version",
        title={
            "text": f"Progression by game × scaffold version (mean ± s.e.) · {comparison}",
            "font_size": 14,
        },
    )
    return fig


def ops_per_step_figure(stats: pd.DataFrame) -> go.Figure:
    """Memory ops per step by kind, one stacked horizontal bar per run."""
    fig = go.Figure()
    kinds = [c.removesuffix(" /step") for c in stats.columns if c.endswith(" /step")]
    order = [k for k in OP_COLOURS if k in kinds] + [k for k in kinds if k not in OP_COLOURS]
    for kind in order:
        fig.add_bar(
            y=stats["run"],
            x=stats[f"{kind} /step"],
            orientation="h",
            name=kind,
            marker_color=OP_COLOURS.get(kind),
            hovertemplate=f"%{{y}}<br>%{{x:.2f}} {kind} per step<extra></extra>",
        )
    fig.update_layout(
        barmode="stack",
        height=110 + 34 * len(stats),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.25},
        title={"text": "Memory ops per step by kind (helper writes excluded)", "font_size": 14},
    )
    return fig


# Fixed margins, so the current-step marker drawn under the chart (``replay/panels.py``) lines up
# with the x axis without the figure being sent again on every step.
TIMELINE_MARGIN_L, TIMELINE_MARGIN_R = 96, 10


COUNTED = ("write", "read")  # lanes whose markers grow with the count in their bin


def diagnostic_lane(tl: pd.DataFrame, steps: list[int]) -> pd.DataFrame:
    """The bins of the timeline holding any of ``steps``: per bin its step, how many, the first."""
    if not len(tl) or not steps:
        return pd.DataFrame(columns=["step", "count", "first"])
    starts = tl["step"].to_numpy()
    bins = np.searchsorted(starts, np.asarray(steps), side="right") - 1
    frame = pd.DataFrame({"bin": bins, "at": steps})
    grouped = frame.groupby("bin").agg(count=("at", "size"), first=("at", "min")).reset_index()
    grouped["step"] = starts[grouped["bin"].to_numpy()]
    return grouped[["step", "count", "first"]]


def timeline_figure(tl: pd.DataFrame, extra: tuple[str, pd.DataFrame] | None = None) -> go.Figure:
    """Progression on top; below, one lane of markers per event kind (memory writes and reads
    sized by how many fall in each bin), and ``extra``: a diagnostic's lane (label, the bins from
    :func:`diagnostic_lane`). Each point carries (as customdata) the step a click should jump
    to: the first step of its kind within the bin."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.38, 0.62], vertical_spacing=0.05
    )
    width = int(tl["width"].iloc[0]) if len(tl) else 1
    span = "" if width == 1 else f" (steps per point: {width})"
    fig.add_trace(
        go.Scatter(
            x=tl["step"],
            y=tl["progression"],
            mode="lines",
            line={"color": "#4c78a8", "width": 2, "shape": "hv"},
            name="progression",
            customdata=tl["step"],
            hovertemplate="step %{x}<br>progression %{y:.1f}%<extra></extra>",
        ),
        row=1,
        col=1,
    )
    lanes = list(LANES)
    for column, label, colour, symbol in LANES:
        hit = tl[tl[column] > 0]
        size: Any = 7
        if column in COUNTED and len(hit):
            size = (4 + 10 * hit[column] / hit[column].max()).round(1).tolist()
        fig.add_trace(
            go.Scatter(
                x=hit["step"],
                y=[label] * len(hit),
                mode="markers",
                marker={"color": colour, "symbol": symbol, "size": size, "opacity": 0.85},
                name=label,
                customdata=hit[f"first_{column}"],
                text=hit[column],
                hovertemplate=f"{label}: %{{text}} at step %{{customdata}}{span}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    if extra is not None:
        label, hit = extra
        fig.add_trace(
            go.Scatter(
                x=hit["step"], y=[label] * len(hit), mode="markers",
                marker={"color": "#8c564b", "symbol": "hexagon", "size": 8},
                name=label, customdata=hit["first"], text=hit["count"],
                hovertemplate=f"{label}: %{{text}} at step %{{customdata}}{span}<extra></extra>",
            ),
            row=2, col=1,
        )  # fmt: skip
        lanes.append(("", label, "", ""))
    fig.update_yaxes(range=[0, 100], title_text="prog. %", row=1, col=1, fixedrange=True)
    labels = [label for _c, label, _col, _s in lanes]
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=labels[::-1],
        row=2,
        col=1,
        fixedrange=True,
        range=[-0.5, len(labels) - 0.5],
    )
    last = int(tl["step"].iloc[-1] + tl["width"].iloc[-1] - 1) if len(tl) else 0
    first = int(tl["step"].iloc[0]) if len(tl) else 0  # a fork's steps start at its fork step
    fig.update_xaxes(range=[first - 0.5, last + 0.5], fixedrange=True)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_yaxes(automargin=False)
    fig.update_layout(
        height=260,
        margin={"l": TIMELINE_MARGIN_L, "r": TIMELINE_MARGIN_R, "t": 8, "b": 8},
        showlegend=False,
        hovermode="closest",
        clickmode="event+select",
        dragmode="zoom",
    )
    return fig


def mark_forks(fig: go.Figure, steps: tuple[int, ...]) -> go.Figure:
    """A dotted line at each step an episode's forks start from (labelled once per step)."""
    for step in sorted(set(steps)):
        fig.add_vline(x=step, line_dash="dot", line_color="#9467bd", line_width=1.5)
        fig.add_annotation(
            x=step, y=1.0, yref="paper", text="fork", showarrow=False, yanchor="bottom",
            font={"size": 9, "color": "#9467bd"},
        )  # fmt: skip
    return fig
