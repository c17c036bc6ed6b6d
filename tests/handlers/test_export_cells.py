"""/export's CSV cells never start a formula in a spreadsheet (OWASP CSV injection), however the
post's text begins; the JSON file keeps the text as posted. Texts written for this test."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.archive import export_files
from storage.models import StoredPost


def _post(text: str) -> StoredPost:
    return StoredPost(
        id=1,
        source_id=1,
        channel="grid_ministry_demo",
        message_id=7,
        date=datetime(2025, 12, 3, 9, 0, tzinfo=UTC),
        text=text,
        media=None,
        grouped_id=None,
        forward_from=None,
        forward_link=None,
        reply_to=None,
        links=(),
        edit_date=None,
        deleted_at=None,
        version=1,
    )


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://example.invalid","дивіться")',
        " =1+2",
        "  +380 44 000 00 00",
        "\u00a0-5 градусів",
        " @all збираємось",
        "\n=cmd|' /C calc'!A0",
        "\tвідступ",
        "\rрядок",
        "＝1+2",
    ],
)
def test_a_cell_that_could_start_a_formula_is_quoted(text: str) -> None:
    csv_bytes, json_bytes = export_files([_post(text)], ZoneInfo("Europe/Kyiv"))
    (row,) = csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"), newline=""))
    assert row["text"] == "'" + text
    assert json.loads(json_bytes)[0]["text"] == text


def test_ordinary_text_is_left_alone() -> None:
    text = "Відновили живлення для 3 тисяч родин = добра новина."
    csv_bytes, _ = export_files([_post(text)], ZoneInfo("Europe/Kyiv"))
    (row,) = csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"), newline=""))
    assert row["text"] == text
