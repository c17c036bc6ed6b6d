"""/export's CSV cells never start a formula in a spreadsheet (OWASP CSV injection), however the
post's text begins; the JSON file keeps the text as posted. Texts written for this test."""

from __future__ import annotations

import csv
import io
import json
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.export import export_files
from tests.drafting.test_compose import stored


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
    csv_bytes, json_bytes = export_files([stored(text)], ZoneInfo("Europe/Kyiv"))
    (row,) = csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"), newline=""))
    assert row["text"] == "'" + text
    assert json.loads(json_bytes)[0]["text"] == text


def test_ordinary_text_is_left_alone() -> None:
    text = "Відновили живлення для 3 тисяч родин = добра новина."
    csv_bytes, _ = export_files([stored(text)], ZoneInfo("Europe/Kyiv"))
    (row,) = csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"), newline=""))
    assert row["text"] == text


def test_an_export_says_which_picture_a_post_shows() -> None:
    # The export named no picture: two exports of a post whose photo the official swapped
    # under the same caption read the same, though the archive holds it as an edit.
    pictured = stored("Графік на фото.", media="photo", media_key="photo:2:5000002", version=2)
    plain = stored("Без фото.")
    csv_bytes, json_bytes = export_files([pictured, plain], ZoneInfo("Europe/Kyiv"))
    rows = json.loads(json_bytes)
    assert [(r["media"], r["media_key"]) for r in rows] == [
        ("photo", "photo:2:5000002"),
        ("", ""),
    ]
    first, _ = csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"), newline=""))
    assert first["media_key"] == "photo:2:5000002"
