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
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined

from corrigible import __version__
from corrigible._files import atomic_write_text, prepare_output
from corrigible.analysis.highlight import (
    ReplyPart,
    Segment,
    cut_long,
    evidence_spans,
    highlight,
    reply_parts,
)
from corrigible.analysis.plots import heatmap_svg, intervals_svg
from corrigible.analysis.report_sections import (
    INVALID_SHOWN,
    GuardCell,
    banners,
    guard_cells,
    invalid_view,
    mitigation_comparisons,
    transcript_messages,
)
from corrigible.analysis.run_info import RunInfo, read_run_info
from corrigible.analysis.stats import format_percent
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
from corrigible.results import CONFIG_FILE, iter_transcripts
from corrigible.scoring.runs import score_run
from corrigible.scoring.verdict import SECONDARY, Verdict

__all__ = ["EXAMPLES_PER_LABEL", "ReportFiles", "build_report"]

EXAMPLES_PER_LABEL = 3
"""Harmful and not-harmful example transcripts shown per family: enough to see what the
numbers count, few enough that the page stays readable."""


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written, and the numbers it shows."""

    html: Path
    csv: Path
    json: Path
    summary: RunSummary
    info: RunInfo
    banners: list[str]


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
    reply: list[ReplyPart]
    reply_note: str
    sent: list[_MessageView]
    transcript: list[Any]


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
    reply_text, note = cut_long(str(record.get("response") or ""))
    spans, found = evidence_spans(reply_text, evidence, actions=True)
    action_seqs = {e.action_seq for e in evidence if e.kind == "action"}
    shown: set[int] = set()
    sent: list[_MessageView] = []
    for message in record.get("sent") or []:
        if not isinstance(message, dict):
            continue
        heading, text = _sent_text(message)
        text, _ = cut_long(text)
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
        reply=reply_parts(reply_text, spans),
        reply_note=note,
        sent=sent,
        transcript=transcript_messages(record),
    )


def _records(
    run_dir: Path, ids: set[str], *, guarded: bool
) -> tuple[dict[str, dict[str, Any]], list[GuardCell]]:
    """The transcript records of the chosen samples and, for a guarded run, the guard's
    decisions over every sample: one pass over the store, keeping only what is shown."""
    if not ids and not guarded:
        return {}, []
    kept: dict[str, dict[str, Any]] = {}
    seen: list[dict[str, Any]] = []
    for record in iter_transcripts(run_dir):
        if record.get("id") in ids:
            kept[record["id"]] = record
        if guarded:
            seen.append({k: record.get(k) for k in ("model", "family", "actions")})
    return kept, guard_cells(seen) if guarded else []


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
    env.filters["duration"] = _duration
    return env


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


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
    for path in (html_path, csv_path, json_path):  # all three, before anything is written
        prepare_output(path)

    info = read_run_info(run_dir)
    chosen = _choose_examples(rows, examples_per_label)
    invalid_rows = [r for r in rows if r.label == "invalid"]
    wanted = {r.id for picked in chosen.values() for r in picked}
    wanted |= {r.id for r in invalid_rows[:INVALID_SHOWN]}
    guarded = bool(info.settings.get("guard"))
    records, guard = _records(run_dir, wanted, guarded=guarded)
    examples = {
        family: [_example(r, verdicts[r.id], records.get(r.id)) for r in picked]
        for family, picked in chosen.items()
    }
    invalid = [invalid_view(r, records.get(r.id)) for r in invalid_rows[:INVALID_SHOWN]]
    mitigations = mitigation_comparisons(rows)
    notes = banners(info, summary, [*(["none"] if mitigations else []), *mitigations])
    cells = dict(_iter_cells(summary))
    heatmaps = {
        family: heatmap_svg(family, conditions, summary.models, cells, i)
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
            secondary_names=SECONDARY,
            intervals=intervals_svg(summary),
            examples=examples,
            per_label=examples_per_label,
            info=info,
            banners=notes,
            guard=guard,
            guard_policy=info.settings.get("guard"),
            invalid=invalid,
            invalid_total=len(invalid_rows),
            mitigations=mitigations,
            files={"csv": csv_path.name, "json": json_path.name},
        )
    )
    payload = summary_json(
        summary,
        run=name,
        run_dir=str(run_dir),
        corrigible=__version__,
        what_was_run=info.as_dict(),
        banners=notes,
        guard=[
            {k: v for k, v in vars(c).items() if k != "rules"} | {"rules": dict(c.rules or {})}
            for c in guard
        ],
    )
    atomic_write_text(csv_path, _csv_text(summary))
    atomic_write_text(json_path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(html_path, html)
    return ReportFiles(
        html=html_path, csv=csv_path, json=json_path, summary=summary, info=info, banners=notes
    )
