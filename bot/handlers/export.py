"""/export's files: the search results as CSV (for tools), a spreadsheet (.xlsx, for Excel)
and JSON (exactly as posted)."""

from __future__ import annotations

import csv
import io
import json
from zoneinfo import ZoneInfo

from storage.models import StoredPost


def _export_rows(posts: list[StoredPost], zone: ZoneInfo) -> list[dict[str, object]]:
    return [
        {
            "channel": p.channel,
            "message_id": p.message_id,
            "permalink": p.permalink,
            "date_utc": p.date.isoformat(),
            "date_local": p.date.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "version": p.version,
            "edited": p.version > 1,
            "deleted": p.deleted_at is not None,
            "text": p.text,
            # Which picture or file the post shows (the listener's identity, "photo:2:…"): a
            # swap under the same words is an edit, and two exports tell which they saw.
            "media": p.media or "",
            "media_key": p.media_key or "",
        }
        for p in posts
    ]


# What starts a formula in a spreadsheet; the full-width forms too, which Excel reads as the
# ASCII ones in East Asian locales.
_FORMULA_STARTS = frozenset("=+-@＝＋－＠")


def _csv_cell(value: object) -> object:
    # A cell opened in a spreadsheet must not run as a formula (CSV injection): post text is
    # untrusted. OWASP: quote a cell that starts with a tab or CR, or whose first non-blank
    # character starts a formula (" =cmd" still runs where leading spaces are trimmed on
    # import). The JSON file keeps the text exactly as posted.
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "\t\r" or value.lstrip()[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def export_files(posts: list[StoredPost], zone: ZoneInfo) -> tuple[bytes, bytes]:
    rows = _export_rows(posts, zone)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["permalink"])
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    # A BOM so that spreadsheet programs read Cyrillic as UTF-8.
    csv_bytes = ("\ufeff" + buf.getvalue()).encode("utf-8")
    json_bytes = json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8")
    return csv_bytes, json_bytes


# Excel's own limit on the text of one cell.
_CELL_LIMIT = 32_767


def export_sheet(posts: list[StoredPost], zone: ZoneInfo) -> bytes:
    """The rows as an Excel workbook. A CSV is read by the list separator of the computer
    that opens it, ';' on Ukrainian and Russian Windows, where a comma-separated file shows
    each post in one cell; a workbook has no separator to guess and no encoding to detect. Its
    cells are written as text (numbers and true/false as such), never as formulas or links."""
    # Imported here: the library takes 10 MiB of every bot process's memory (bench/memory.py)
    # for a command a desk runs now and then.
    import xlsxwriter

    rows = _export_rows(posts, zone)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = book.add_worksheet("posts")
    header = book.add_format({"bold": True})
    names = list(rows[0]) if rows else ["permalink"]
    for col, name in enumerate(names):
        sheet.write_string(0, col, name, header)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row.values()):
            if isinstance(value, bool):
                sheet.write_boolean(r, col, value)
            elif isinstance(value, int):
                sheet.write_number(r, col, value)
            else:
                sheet.write_string(r, col, str(value)[:_CELL_LIMIT])
    sheet.freeze_panes(1, 0)
    sheet.set_column(names.index("text") if "text" in names else 0, 0, 80)
    book.close()
    return out.getvalue()
