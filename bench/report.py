"""Rebuild the README's figures table from the output of `make bench`.

    .venv/bin/python bench/report.py var/bench/bench.txt README.md

Takes every `TABLE|` line of the output (see bench/common.py) and replaces what stands between
the `<!-- bench-table -->` and `<!-- /bench-table -->` markers of the README.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BEGIN, END = "<!-- bench-table -->", "<!-- /bench-table -->"


def render(output: str) -> str:
    rows = [
        line[len("TABLE|") :].strip() for line in output.splitlines() if line.startswith("TABLE|")
    ]
    if not rows:
        raise SystemExit("no TABLE| lines in the benchmark output")
    head = re.search(r"^BENCH-RUN\| (.*)$", output, re.MULTILINE)
    lines = [
        f"Measured by `make bench` ({head.group(1) if head else 'one run'}):",
        "",
        "| path | wirewatch | anchor, same run | ratio | goal | |",
        "|---|---|---|---|---|---|",
        *(f"| {row} |" for row in rows),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    output, readme = Path(argv[0]), Path(argv[1])
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme}: markers {BEGIN} ... {END} not found")
    table = render(output.read_text(encoding="utf-8"))
    readme.write_text(text[: start + len(BEGIN)] + "\n" + table + "\n" + text[end:], "utf-8")
    print(f"{readme}: figures table rewritten ({table.count(chr(10)) - 3} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
