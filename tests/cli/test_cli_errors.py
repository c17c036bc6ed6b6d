"""Ordinary mistakes around the command line (a broken .env, a file in the way, an empty query)
get one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from storage.store import Store

DATA = Path(__file__).parents[1] / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", ["doctor", "run"])
def test_env_file_that_is_not_utf8_is_one_line(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    (in_tmp / ".env").write_bytes(b"WIREWATCH_TZ=Europe/Kyiv\n\xff\xfe\n")
    code, _, err = run(capsys, command)
    assert code == 2
    line = one_line(err)
    assert ".env" in line and "UTF-8" in line


@pytest.mark.parametrize("command", ["doctor", "run"])
def test_unparsable_nested_setting_is_one_line(
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    monkeypatch.setenv("WIREWATCH_BOT", "{bad")
    code, _, err = run(capsys, command)
    assert code == 2
    line = one_line(err)
    assert "WIREWATCH_BOT" in line


def test_env_path_that_is_a_folder_is_one_line(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_tmp / ".env").mkdir()
    (in_tmp / ".env" / "x").write_text("")
    code, _, err = run(capsys, "search", "x", "--db", str(in_tmp / "none.db"))
    assert code == 2
    one_line(err)


async def _feed_db(db: Path, feed: Path) -> None:
    from bot.ingest.pipeline import Pipeline
    from sources.jsonl import read_feed

    store = await Store.open(db)
    try:
        await Pipeline(store).handle_batch(list(read_feed(feed)))
    finally:
        await store.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    feed = tmp_path / "f.jsonl"
    line = {
        "channel": "sec_council_demo",
        "id": 5,
        "date": "2025-12-01T10:00:00+02:00",
        "text": "Засідання ради сьогодні.",
    }
    feed.write_text(json.dumps(line, ensure_ascii=False) + "\n")
    path = tmp_path / "w.db"
    asyncio.run(_feed_db(path, feed))
    return path


def test_evidence_export_onto_a_file_is_one_line_exit_2(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "taken"
    existing.write_text("not a folder")
    link = "https://t.me/sec_council_demo/5"
    code, _, err = run(capsys, "evidence", link, "--export", str(existing), "--db", str(db))
    assert code == 2
    assert "taken" in one_line(err)
    assert existing.read_text() == "not a folder"
    # Where it can write, the same command verifies and exits 0.
    out_dir = str(tmp_path / "out")
    code, _, err = run(capsys, "evidence", link, "--export", out_dir, "--db", str(db))
    assert code == 0, err


def test_backup_into_an_unwritable_place_is_one_line_exit_2(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "backup", "/proc/x.db", "--db", str(db))
    assert code == 2
    assert "/proc/x.db" in one_line(err)


def test_empty_search_query_is_refused(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for query in ("", "   "):
        code, out, err = run(capsys, "search", query, "--db", str(db))
        assert code == 2 and out == ""
        assert "empty" in one_line(err)


def test_skipped_chats_are_told_in_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = {
        "about": "",
        "chats": {
            "list": [
                {
                    "name": "Канал без імені",
                    "type": "public_channel",
                    "id": 1700000099,
                    "messages": [
                        {
                            "id": 1,
                            "type": "message",
                            "date": "2025-12-01T10:00:00",
                            "date_unixtime": "1764576000",
                            "text": "Текст.",
                        }
                    ],
                }
            ]
        },
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False))
    _, _, err = run(capsys, "import", str(path), "--db", str(tmp_path / "w.db"))
    assert "SkippedChat(" not in err
    assert "Канал без імені" in err and "1700000099" in err


def test_the_cli_runs_without_the_ocr_package_and_says_ocr_is_off(tmp_path: Path) -> None:
    """An install made before OCR lacks pytesseract: every command still works, and OCR says
    why it is off instead of the import failing at start."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pytesseract'] = None\n"
        "from bot.cli.main import main\n"
        "from bot.ingest.ocr import OcrEngine\n"
        "print(OcrEngine().unavailable())\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    sys.exit(e.code)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "pytesseract is not installed" in done.stdout.splitlines()[0]
