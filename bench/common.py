"""What every benchmark shares: percentiles, and the table rows `bench/report.py` copies into
the README (one `TABLE|` line per figure, so the README table is always one run's output)."""

from __future__ import annotations

import sys


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def table_row(path: str, ours: str, anchor: str, ratio: str, goal: str, met: bool | None) -> None:
    """One line of the README's figures table: what was measured, the anchor measured in the
    same run, the ratio between them, and the issue's goal with whether this run met it
    (`met` None: a figure without a goal)."""
    status = "—" if met is None else "met" if met else "NOT MET"
    cells = [path, ours, anchor, ratio, goal, status]
    print("TABLE| " + " | ".join(c.replace("|", "/") for c in cells), flush=True)


def fail(message: str) -> None:
    """A faster path that answers differently is a bug, whatever its speed."""
    print(f"FAILED: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)
