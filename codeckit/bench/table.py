"""Plain-text and markdown tables of already formatted cells, for the bench scripts in benches/.

Every bench prints its results the same way: columns padded to their widest cell, two spaces apart. A row
may run past the columns (a trailing note) or stop short of them (an error message in place of the numbers):
such a row's last cell is printed as it is and does not widen its column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Row = Sequence[str]


def _widths(header: Row, rows: Sequence[Row]) -> list[int]:
    """Each column's width: its widest header or cell, leaving out the free last cell of a short or long row."""
    n = len(header)
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row[:n] if len(row) >= n else row[:-1]):
            widths[i] = max(widths[i], len(cell))
    return widths


def _line(cells: Row, widths: list[int], align: str) -> str:
    """One line: the cells within `widths` padded (`align[i]` '>' pads on the left), the rest as they are; no
    trailing blanks."""
    free = len(cells) - 1 if len(cells) < len(widths) else len(widths)  # the first cell printed as it is
    out = []
    for i, cell in enumerate(cells):
        if i >= free:
            out.append(cell)
        else:
            out.append(cell.rjust(widths[i]) if align[i : i + 1] == ">" else cell.ljust(widths[i]))
    return "  ".join(out).rstrip()


def format_table(header: Row, rows: Sequence[Row], align: str = "") -> str:
    """`header` and `rows` as aligned text; `align` holds one '<' or '>' per column (missing: '<')."""
    widths = _widths(header, rows)
    return "\n".join(_line(cells, widths, align) for cells in [header, *rows])


def print_table(header: Row, rows: Sequence[Row], align: str = "") -> None:
    """Print `format_table(header, rows, align)`: how every bench script shows its results."""
    print(format_table(header, rows, align))


def print_records(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Print `records` (one dict a row) under their keys `columns`, each value as `str` shows it ("" if absent)."""
    print_table(columns, [[str(r.get(c, "")) for c in columns] for r in records])


def markdown_table(header: Row, rows: Sequence[Row]) -> str:
    """`header` and `rows` as a markdown table (one line each, a `---` rule under the header), newline-terminated."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
