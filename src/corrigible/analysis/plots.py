"""The report's figures as inline SVG: the harmful-rate heatmap and the interval plot.

matplotlib draws them (Agg, no display); ids inside each SVG are made unique per page.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

from corrigible.analysis.stats import Rate, format_percent
from corrigible.analysis.summary import (
    GroupRate,
    RunSummary,
    format_interval,
    format_rate,
)

__all__ = ["heatmap_svg", "intervals_svg"]

# -- plots ----------------------------------------------------------------------------------------

_SVG_ID = re.compile(r'(\bid=")([^"]+)(")|(href="#)([^"]+)(")|(url\(#)([^)]+)(\))')


def _svg(fig: Any, prefix: str, label: str) -> Markup:
    """The figure as an inline ``<svg>`` element with ids made unique within the page.

    matplotlib writes a standalone document; the XML prolog, metadata and comments are
    dropped, and every id (glyphs, clip paths) gets ``prefix`` so that several plots in one
    page cannot resolve each other's references.
    """
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.1)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.DOTALL)

    def rename(m: re.Match[str]) -> str:
        for i in (1, 4, 7):
            if m.group(i):
                return f"{m.group(i)}{prefix}-{m.group(i + 1)}{m.group(i + 2)}"
        return m.group(0)  # pragma: no cover - one alternative always matches

    text = _SVG_ID.sub(rename, text)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return Markup(text.strip())


def _rc() -> Any:  # matplotlib types rc keys as a Literal of every name
    return {
        "svg.fonttype": "path",
        "svg.hashsalt": "corrigible-report",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _new_figure(width: float, height: float) -> Any:
    """A figure on the Agg canvas, made without pyplot: no global backend or state is touched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _short_model(model: str) -> str:
    return model.replace("/", "/\n", 1) if len(model) > 18 else model


def _pct_interval(r: Rate) -> str:
    return format_interval(r).replace("%", "")


def heatmap_svg(
    family: str,
    conditions: Sequence[str],
    models: Sequence[str],
    cells: dict[tuple[str, str], GroupRate],
    index: int,
) -> Markup:
    """Harmful rate per (condition, model): conditions down, models across, counts in cells.

    Conditions run down the page so that long ids stay horizontal and a family of 150
    conditions is a tall figure, not an unreadable wide one.
    """
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    cmap = matplotlib.colormaps["YlOrRd"]
    norm = Normalize(0.0, 1.0)
    with matplotlib.rc_context(_rc()):
        width = 2.6 + 1.9 * len(models) + 0.9
        height = 0.9 + 0.7 * len(conditions)
        fig = _new_figure(width, height)
        ax = fig.add_subplot()
        for y, condition in enumerate(conditions):
            for x, model in enumerate(models):
                cell = cells.get((model, condition))
                if cell is None:
                    ax.add_patch(Rectangle((x, y), 1, 1, facecolor="white", edgecolor="#bbbbbb"))
                    ax.text(
                        x + 0.5,
                        y + 0.5,
                        "not run",
                        ha="center",
                        va="center",
                        color="#777777",
                        fontsize=8,
                    )
                    continue
                r = cell.rate
                if r.rate is None:
                    ax.add_patch(
                        Rectangle(
                            (x, y),
                            1,
                            1,
                            facecolor="#e4e4e4",
                            edgecolor="white",
                            hatch="///",
                            linewidth=1.5,
                        )
                    )
                    text = f"{r.k}/{r.n}\nno valid samples\n{r.invalid} invalid"
                    ax.text(
                        x + 0.5,
                        y + 0.5,
                        text,
                        ha="center",
                        va="center",
                        fontsize=8.5,
                        color="#333333",
                    )
                    continue
                colour = cmap(norm(r.rate))
                ax.add_patch(
                    Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white", linewidth=1.5)
                )
                luminance = 0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2]
                ink = "black" if luminance > 0.5 else "white"
                lines = [f"{r.k}/{r.n}  {format_percent(r.rate or 0.0)}", _pct_interval(r)]
                if r.invalid:
                    lines.append(f"+{r.invalid} invalid")
                ax.text(
                    x + 0.5,
                    y + 0.5,
                    "\n".join(lines),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color=ink,
                )
        ax.set_xlim(0, len(models))
        ax.set_ylim(len(conditions), 0)
        ax.set_xticks([x + 0.5 for x in range(len(models))], [_short_model(m) for m in models])
        ax.xaxis.tick_top()
        labels = [
            (c[len(family) + 1 :] if c.startswith(family + "_") else c)
            + ("  (control)" if c == f"{family}_none_none" else "")
            for c in conditions
        ]
        ax.set_yticks([y + 0.5 for y in range(len(conditions))], labels)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(family, loc="left", fontweight="bold", fontsize=11, pad=28)
        bar = fig.colorbar(
            ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.25 / width * 2, pad=0.03
        )
        bar.set_label("harmful rate")
        bar.set_ticks([0, 0.25, 0.5, 0.75, 1.0], labels=["0%", "25%", "50%", "75%", "100%"])
        return _svg(fig, f"heat{index}", f"{family}: harmful rate by condition and model")


_MODEL_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#17becf",
    "#7f7f7f",
)


def intervals_svg(summary: RunSummary) -> Markup:
    """Rates with Wilson interval bars: one panel per family, a row per urgency (and "all"),
    a line per model, each labelled with its counts and interval."""
    import matplotlib
    from matplotlib.lines import Line2D

    models = summary.models
    groups: dict[str, list[tuple[str, dict[str, GroupRate]]]] = {}
    for family in summary.families:
        rows: list[tuple[str, dict[str, GroupRate]]] = [
            ("all", {c.model: c for c in summary.by_family if c.family == family})
        ]
        urgencies: dict[str, dict[str, GroupRate]] = defaultdict(dict)
        for c in summary.by_family_urgency:
            if c.family == family:
                urgencies[c.urgency or "unknown"][c.model] = c
        rows += [(u, urgencies[u]) for u in urgencies]
        groups[family] = rows
    line = 0.26
    heights = [len(rows) * (len(models) * line + 0.25) + 0.45 for rows in groups.values()]
    with matplotlib.rc_context(_rc()):
        fig = _new_figure(9.5, sum(heights) + 0.3)
        axes = fig.subplots(len(groups), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
        for ax, (family, rows) in zip(axes[:, 0], groups.items(), strict=True):
            ticks, tick_labels = [], []
            y = 0.0
            for urgency, cells in rows:
                start = y
                for m, model in enumerate(models):
                    cell = cells.get(model)
                    colour = _MODEL_COLOURS[m % len(_MODEL_COLOURS)]
                    ink = colour if len(models) > 1 else "#333333"
                    r = cell.rate if cell is not None else None
                    if r is not None and r.rate is not None and r.interval is not None:
                        ax.errorbar(
                            r.rate,
                            y,
                            xerr=[[r.rate - r.interval.low], [r.interval.high - r.rate]],
                            fmt="o",
                            color=colour,
                            capsize=3,
                            markersize=5,
                        )
                        text = format_rate(r) + (f", +{r.invalid} invalid" if r.invalid else "")
                    elif cell is not None:
                        text = f"no valid samples ({cell.invalid} invalid)"
                    else:
                        text = "not run"
                    ax.text(
                        1.03,
                        y,
                        text,
                        transform=ax.get_yaxis_transform(),
                        va="center",
                        fontsize=8,
                        color=ink,
                    )
                    y += 1
                ticks.append((start + y - 1) / 2)
                tick_labels.append(urgency if urgency != "all" else "all urgencies")
                y += 0.6
            ax.set_yticks(ticks, tick_labels)
            ax.set_ylim(y - 0.6 + 0.2, -0.8)
            ax.set_xlim(-0.02, 1.02)
            ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.set_title(f"{family}", loc="left", fontweight="bold")
        axes[-1, 0].set_xlabel("harmful rate (harmful / valid), 95% Wilson interval")
        if len(models) > 1:
            handles = [
                Line2D(
                    [], [], marker="o", color=_MODEL_COLOURS[m % len(_MODEL_COLOURS)], label=model
                )
                for m, model in enumerate(models)
            ]
            axes[0, 0].legend(
                handles=handles,
                loc="lower left",
                bbox_to_anchor=(0.0, 1.0 + 0.45 / heights[0]),
                ncol=min(3, len(models)),
                frameon=False,
                fontsize=8,
            )
        fig.subplots_adjust(left=0.16, right=0.58, hspace=0.4)
        return _svg(fig, "rates", "harmful rates with Wilson intervals by family and urgency")
