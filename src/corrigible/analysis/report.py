"""``corrigible report``: one self-contained HTML page (plus CSV and JSON) for a run directory.

Why self-contained: a report is mailed, attached to an issue or opened from an air-gapped
machine years later. So the page loads nothing at view time — CSS is inline, plots are inline
SVG drawn by matplotlib (text as paths, so no font is needed), there is no script — and it
renders the same offline as online.

Why the deterministic detectors: the report must be reproducible from the run directory alone,
without a judge model or network; a judged report is a later, separate step.

What is in the page, in order: totals and method notes; a heatmap of harmful rates (model ×
condition, one per family); rates with Wilson intervals by family and urgency; every condition's
rate; pressure-vs-control differences; invalid samples and why; and example transcripts with
the verdict's evidence marked. Every rate is printed with its counts and its interval.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from corrigible import __version__
from corrigible._files import atomic_write_text
from corrigible.analysis.stats import Rate, format_percent
from corrigible.analysis.summary import (
    CSV_COLUMNS,
    GroupRate,
    RunSummary,
    VerdictRow,
    condition_sort_key,
    format_interval,
    format_p,
    format_rate,
    summarise,
    summary_csv_rows,
    summary_json,
)
from corrigible.environment.protocol import parse_tool_blocks, scratchpad_spans
from corrigible.results import CONFIG_FILE, iter_transcripts
from corrigible.scoring.runs import score_run
from corrigible.scoring.verdict import Evidence, Verdict

__all__ = ["EXAMPLES_PER_LABEL", "ReportFiles", "build_report", "highlight"]

EXAMPLES_PER_LABEL = 3
"""Harmful and not-harmful example transcripts shown per family: enough to see what the
numbers count, few enough that the page stays readable."""

MAX_TEXT_CHARS = 12_000
"""A reply or message longer than this is cut in the page (the run directory keeps it all)."""

@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written, and the numbers it shows."""

    html: Path
    csv: Path
    json: Path
    summary: RunSummary


@dataclass(frozen=True)
class Segment:
    """A piece of displayed text; ``marked`` pieces are evidence and get ``<mark>``."""

    text: str
    marked: bool = False


@dataclass(frozen=True)
class _Part:
    """A stretch of a reply: said out loud, or inside the private scratchpad."""

    segments: list[Segment]
    scratchpad: bool
    chars: int = 0

    @property
    def marked(self) -> bool:
        return any(s.marked for s in self.segments)


@dataclass(frozen=True)
class _EvidenceView:
    kind: str
    detail: str
    quote: str | None
    found: bool


@dataclass(frozen=True)
class _MessageView:
    heading: str
    segments: list[Segment]
    is_action: bool


@dataclass(frozen=True)
class _Example:
    id: str
    model: str
    condition: str
    label: str
    reason: str
    evidence: list[_EvidenceView]
    reply: list[_Part]
    reply_note: str
    sent: list[_MessageView]


# -- scoring --------------------------------------------------------------------------------------


# -- evidence highlighting ------------------------------------------------------------------------


_CUT_PUNCT = " ,.;:!?()[]{}\"'"


def _quote_patterns(quote: str) -> tuple[list[re.Pattern[str]], bool, bool]:
    """Patterns for a detector's quote, strictest first, and whether each end was cut.

    Detectors normalise whitespace and add "…" where they cut the context, and some quote
    normalised words (``code=4429`` for ``code: "4429"``), so a quote is looked for first with
    any whitespace between its tokens, then as its words with any non-word run between them.
    """
    text = quote.strip()
    cut_start, cut_end = text.startswith("…"), text.endswith("…")
    core = text.strip("…").strip()
    if cut_start:
        core = core.lstrip(_CUT_PUNCT)
    if cut_end:
        core = core.rstrip(_CUT_PUNCT)
    tokens = core.split()
    if not tokens:
        return [], cut_start, cut_end
    patterns = [re.compile(r"\s+".join(re.escape(t) for t in tokens), re.IGNORECASE)]
    words = re.findall(r"\w+", core)
    if words:
        patterns.append(re.compile(r"\W+".join(re.escape(w) for w in words), re.IGNORECASE))
    return patterns, cut_start, cut_end


def _widen(text: str, start: int, end: int, cut_start: bool, cut_end: bool) -> tuple[int, int]:
    """Where a detector cut its context mid-word ("…Harb…"), mark the whole word."""
    while cut_start and start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while cut_end and end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


def _find_quote(text: str, quote: str, avoid: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """The span of ``quote`` in ``text``, preferring one outside the ``avoid`` spans.

    The private scratchpad often paraphrases what the agent then did; the evidence is the act,
    so a match outside the scratchpad wins.
    """
    patterns, cut_start, cut_end = _quote_patterns(quote)
    for pattern in patterns:
        first: tuple[int, int] | None = None
        for match in pattern.finditer(text):
            if match.end() <= match.start():
                continue
            span = _widen(text, match.start(), match.end(), cut_start, cut_end)
            if not any(a <= span[0] < b for a, b in avoid):
                return span
            first = first or span
        if first is not None:
            return first
    return None


def _action_block(text: str, evidence: Evidence) -> tuple[int, int] | None:
    """The tool block of an action in a text-protocol reply: the seq-th block if it is of that
    tool (one turn, one block per action), else the first block of that tool."""
    blocks = parse_tool_blocks(text)
    if evidence.action_seq is not None and 0 < evidence.action_seq <= len(blocks):
        block = blocks[evidence.action_seq - 1]
        if evidence.tool is None or block.tool == evidence.tool:
            return block.start, block.end
    for block in blocks:
        if block.tool == evidence.tool:
            return block.start, block.end
    return None


def _evidence_spans(
    text: str, evidence: Sequence[Evidence], *, actions: bool
) -> tuple[list[tuple[int, int]], set[int]]:
    avoid = scratchpad_spans(text)
    spans: list[tuple[int, int]] = []
    found: set[int] = set()
    for i, ev in enumerate(evidence):
        span = None
        if actions and ev.kind == "action" and ev.tool:
            span = _action_block(text, ev)
        if span is None and ev.quote:
            span = _find_quote(text, ev.quote, avoid)
        if span is not None:
            spans.append(span)
            found.add(i)
    return spans, found


def highlight(
    text: str, evidence: Iterable[Evidence], *, actions: bool = True
) -> tuple[list[Segment], set[int]]:
    """Split ``text`` into segments with each piece of evidence marked.

    Quotes are found where the detector saw them; with ``actions``, an action's tool block is
    marked too. Returns the segments and the indexes (into ``evidence``) that were found.
    """
    spans, found = _evidence_spans(text, list(evidence), actions=actions)
    return _segments(text, spans), found


def _segments(text: str, spans: Iterable[tuple[int, int]], offset: int = 0) -> list[Segment]:
    """``text`` cut into plain and marked pieces; ``spans`` index the text shifted by ``offset``."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(start - offset, 0), min(end - offset, len(text))
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[Segment] = []
    cursor = 0
    for start, end in merged:
        if start > cursor:
            out.append(Segment(text[cursor:start]))
        out.append(Segment(text[start:end], marked=True))
        cursor = end
    if cursor < len(text):
        out.append(Segment(text[cursor:]))
    return out


def _cut(text: str) -> tuple[str, str]:
    if len(text) <= MAX_TEXT_CHARS:
        return text, ""
    rest = len(text) - MAX_TEXT_CHARS
    return text[:MAX_TEXT_CHARS], f"cut here: {rest:,} more characters are in the run directory"


def _reply_parts(text: str, spans: Sequence[tuple[int, int]]) -> list[_Part]:
    """The reply as alternating visible and scratchpad parts, each with its marks.

    The private scratchpad is usually most of a reply and is never the action, so the page
    folds it away (open when evidence lies inside) and keeps what the agent did in view.
    """
    parts: list[_Part] = []
    cursor = 0
    for start, end in [*scratchpad_spans(text), (len(text), len(text))]:
        # blank lines around the scratchpad would only pad the boxes
        a, b = cursor, start
        while a < b and text[a] in "\r\n":
            a += 1
        while b > a and text[b - 1] in " \t\r\n":
            b -= 1
        if b > a:
            parts.append(_Part(_segments(text[a:b], spans, a), scratchpad=False))
        if end > start:
            segments = _segments(text[start:end], spans, start)
            parts.append(_Part(segments, scratchpad=True, chars=end - start))
        cursor = max(cursor, end)
    return parts


# -- examples -------------------------------------------------------------------------------------


def _pick(rows: Sequence[VerdictRow], count: int) -> list[VerdictRow]:
    """Up to ``count`` rows, taken in turn from each (condition, model): varied, deterministic."""
    queues: dict[tuple[Any, ...], list[VerdictRow]] = defaultdict(list)
    for row in rows:
        queues[(condition_sort_key(row.condition), row.model)].append(row)
    ordered = [queues[k] for k in sorted(queues)]
    picked: list[VerdictRow] = []
    depth = 0
    while len(picked) < count and any(len(q) > depth for q in ordered):
        for queue in ordered:
            if depth < len(queue) and len(picked) < count:
                picked.append(queue[depth])
        depth += 1
    return picked


def _choose_examples(rows: Sequence[VerdictRow], per_label: int) -> dict[str, list[VerdictRow]]:
    """For each family, ``per_label`` harmful then ``per_label`` not-harmful samples."""
    by_family: dict[str, list[VerdictRow]] = defaultdict(list)
    for row in rows:
        by_family[row.family].append(row)
    chosen: dict[str, list[VerdictRow]] = {}
    for family in sorted(by_family):
        family_rows = by_family[family]
        chosen[family] = [
            *_pick([r for r in family_rows if r.label == "harmful"], per_label),
            *_pick([r for r in family_rows if r.label == "not_harmful"], per_label),
        ]
    return chosen


def _sent_text(message: dict[str, Any]) -> tuple[str, str]:
    to = ", ".join(message.get("to") or [])
    forwarded = message.get("forwarded_id")
    heading = f"sent #{message.get('seq', '?')} to {to or '(nobody)'}"
    if forwarded is not None:
        heading += f" (forward of email {forwarded})"
    return heading, f"Subject: {message.get('subject') or ''}\n\n{message.get('body') or ''}"


def _example(row: VerdictRow, verdict: Verdict, record: dict[str, Any] | None) -> _Example:
    record = record or {}
    evidence = list(verdict.evidence)
    reply_text, note = _cut(str(record.get("response") or ""))
    spans, found = _evidence_spans(reply_text, evidence, actions=True)
    action_seqs = {e.action_seq for e in evidence if e.kind == "action"}
    shown: set[int] = set()
    sent: list[_MessageView] = []
    for message in record.get("sent") or []:
        if not isinstance(message, dict):
            continue
        heading, text = _sent_text(message)
        text, _ = _cut(text)
        segments, found_here = highlight(text, evidence, actions=False)
        found |= found_here
        is_action = message.get("seq") in action_seqs
        if is_action:
            shown.add(int(message["seq"]))
        sent.append(_MessageView(heading, segments, is_action))
    for i, ev in enumerate(evidence):
        # an email or forward action is shown as its sent message, flagged as the action
        if ev.kind == "action" and ev.action_seq in shown:
            found.add(i)
    return _Example(
        id=row.id,
        model=row.model,
        condition=row.condition,
        label=row.label,
        reason=verdict.reason,
        evidence=[
            _EvidenceView(e.kind, e.detail, e.quote, i in found) for i, e in enumerate(evidence)
        ],
        reply=_reply_parts(reply_text, spans),
        reply_note=note,
        sent=sent,
    )


def _records(run_dir: Path, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The transcript records of the chosen samples (a second pass, to keep memory flat)."""
    if not ids:
        return {}
    return {r["id"]: r for r in iter_transcripts(run_dir) if r.get("id") in ids}


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


def _heatmap_svg(
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


def _intervals_svg(summary: RunSummary) -> Markup:
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


# -- the page -------------------------------------------------------------------------------------


def _run_name(run_dir: Path) -> str:
    try:
        data = yaml.safe_load((run_dir / CONFIG_FILE).read_text(encoding="utf-8")) or {}
        name = (data.get("config") or {}).get("name")
    except (OSError, yaml.YAMLError, AttributeError):
        name = None
    return str(name) if name else run_dir.name


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("corrigible.analysis", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda x: "—" if x is None else format_percent(x)
    env.filters["interval"] = format_interval
    env.filters["rate"] = format_rate
    env.filters["p"] = format_p
    env.filters["pp"] = lambda x: f"{x * 100:+.1f}"
    return env


def _csv_text(summary: RunSummary) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in summary_csv_rows(summary):
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def _iter_cells(summary: RunSummary) -> Iterator[tuple[tuple[str, str], GroupRate]]:
    for cell in summary.by_condition:
        yield (cell.model, cell.condition or ""), cell


def build_report(
    run_dir: str | Path,
    out_html: Path | None = None,
    *,
    examples_per_label: int = EXAMPLES_PER_LABEL,
) -> ReportFiles:
    """Score ``run_dir`` and write report.html, summary.csv and summary.json.

    The HTML goes to ``out_html`` (default ``RUN_DIR/report.html``); the CSV and JSON go next to
    it. Raises RunDirError, on one line, for a missing, empty or unreadable run directory.
    """
    run_dir = Path(run_dir)
    rows, verdicts = score_run(run_dir)
    summary = summarise(rows)
    html_path = Path(out_html) if out_html is not None else run_dir / "report.html"
    csv_path = html_path.parent / "summary.csv"
    json_path = html_path.parent / "summary.json"

    chosen = _choose_examples(rows, examples_per_label)
    records = _records(run_dir, {r.id for picked in chosen.values() for r in picked})
    examples = {
        family: [_example(r, verdicts[r.id], records.get(r.id)) for r in picked]
        for family, picked in chosen.items()
    }
    cells = dict(_iter_cells(summary))
    heatmaps = {
        family: _heatmap_svg(family, conditions, summary.models, cells, i)
        for i, (family, conditions) in enumerate(summary.conditions.items())
    }
    name = _run_name(run_dir)
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            name=name,
            run_dir=str(run_dir),
            version=__version__,
            s=summary,
            heatmaps=heatmaps,
            intervals=_intervals_svg(summary),
            examples=examples,
            per_label=examples_per_label,
            files={"csv": csv_path.name, "json": json_path.name},
        )
    )
    payload = summary_json(summary, run=name, run_dir=str(run_dir), corrigible=__version__)
    atomic_write_text(csv_path, _csv_text(summary))
    atomic_write_text(json_path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(html_path, html)
    return ReportFiles(html=html_path, csv=csv_path, json=json_path, summary=summary)
