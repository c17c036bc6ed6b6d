"""/export's files: the search results as CSV (for a spreadsheet) and JSON (exactly as
posted)."""

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
