"""Plain-text tables, for the log and the terminal."""

from __future__ import annotations


def aligned(rows: list[list[str]], left: set[int]) -> list[str]:
    """``rows`` (the first is the header) as lines of columns: the columns in ``left``
    aligned left (text), the others right (numbers)."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(width) if column in left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
