"""Tables that stay readable at any width: a grid when it fits, one block per row when not.

Why not a plain Rich table: when a table is wider than the terminal (80 columns, or any pipe,
where Rich assumes 80) Rich squeezes every column, so numbers are cut (``10…``) or split over
lines (a p-value as ``0.03`` / ``3``) and headers break mid-word. Numbers must never be cut; a
narrow terminal gets the same cells as ``header: value`` lines under a heading naming the row,
the way ``psql``'s expanded display does. The choice is made from the table's natural width,
so a wide terminal still gets the grid.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["Column", "Grid", "print_json", "show"]


@dataclass(frozen=True)
class Column:
    """One column. Cells are never cut or broken inside a word: ``number`` right-aligns them;
    only a ``prose`` column wraps, between words. ``styles``: a style per cell value
    (``{"fail": "red"}``), for terminals that show colour."""

    header: str
    number: bool = False
    prose: bool = False
    styles: dict[str, str] = field(default_factory=dict)


@dataclass
class Grid:
    """A titled table of plain-text cells. The first ``keys`` columns name a row: in the
    narrow layout they form its heading."""

    title: str
    columns: list[Column]
    keys: int = 1
    rows: list[list[str]] = field(default_factory=list)

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(list(cells))

    def records(self) -> list[dict[str, str]]:
        """The rows as ``{header: cell}`` mappings (what ``--json`` prints for a table)."""
        headers = [c.header for c in self.columns]
        return [dict(zip(headers, row, strict=True)) for row in self.rows]

    def table(self) -> Table:
        table = Table(title=self.title)
        for column in self.columns:
            if column.prose:
                table.add_column(column.header, min_width=16)
            else:
                table.add_column(
                    column.header, justify="right" if column.number else "left", no_wrap=True
                )
        for row in self.rows:
            table.add_row(*(self._cell(c, v) for c, v in zip(self.columns, row, strict=True)))
        return table

    @staticmethod
    def _cell(column: Column, value: str) -> Text:
        return Text(value, style=column.styles.get(value, ""))


def fits(console: Console, table: Table) -> bool:
    """Whether TABLE fits the console with every number and every word whole (prose may wrap
    between words; Rich's minimum width of a table is exactly that)."""
    measured = Measurement.get(console, console.options.update(width=10_000), table)
    return measured.minimum <= console.width


def show(console: Console, grid: Grid) -> None:
    """Print GRID as a table if it fits the console's width, else one block per row."""
    table = grid.table()
    if fits(console, table):
        console.print(table)
        return
    console.print(Text(grid.title, style="italic"), soft_wrap=False)  # wraps between words
    width = max(console.width, 40)
    for row in grid.rows:
        heading = " · ".join(v for v in row[: grid.keys] if v) or "—"
        console.print(Text(heading, style="bold"), soft_wrap=True)
        pairs = [
            (column, value)
            for column, value in zip(grid.columns[grid.keys :], row[grid.keys :], strict=True)
        ]
        for line in _pack(pairs, width):
            console.print(line, soft_wrap=True)


def _pack(pairs: Sequence[tuple[Column, str]], width: int) -> list[Text]:
    """``header: value`` pairs, several to a line while they fit, each value whole."""
    lines: list[Text] = []
    current = Text("  ")
    for column, value in pairs:
        pair = Text.assemble((f"{column.header}: ", "dim"), (value, column.styles.get(value, "")))
        if current.cell_len > 2 and current.cell_len + 3 + pair.cell_len > width:
            lines.append(current)
            current = Text("  ")
        if current.cell_len > 2:
            current.append("   ")
        if 2 + pair.cell_len > width:  # a long value (a detail): wrap it under its header
            wrapped = textwrap.wrap(
                f"{column.header}: {value}", width=width - 2, subsequent_indent="    "
            )
            lines.extend(Text("  " + part) for part in wrapped)
            continue
        current.append_text(pair)
    if current.cell_len > 2:
        lines.append(current)
    return lines


def print_json(console: Console, data: Any) -> None:
    """DATA as indented JSON on stdout, never wrapped or highlighted (for ``--json``)."""
    console.print(
        json.dumps(data, indent=2, ensure_ascii=False, default=str),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
