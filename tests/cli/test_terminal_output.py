"""Every command that prints what came from outside (post text, channel titles, people's and
chats' names, rules typed in the bot) writes its control characters out as escapes: a post
could otherwise clear the operator's screen, set the terminal's title, or turn a line around
(U+202E). Drafts keep their line breaks. The post and names are invented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main

# Clears the screen, sets the window title (OSC ... BEL), a carriage return that would let the
# rest overwrite the line, a C1 CSI, then right-to-left.
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\rнарада\x9b31m\u202eтекст"
CONTROL = ("\x1b", "\x07", "\r", "\x9b", "\u202e")
CHANNEL = "energy_ministry_test"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def clean(text: str) -> None:
    for ch in CONTROL:
        assert ch not in text, (ch, text)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.chdir(tmp_path)
    feed = tmp_path / "feed.jsonl"
    line = {
        "channel": CHANNEL,
        "id": 7,
        "date": "2025-11-18T08:00:31+02:00",
        "text": f"Сьогодні нарада щодо енергетики. {HOSTILE} Друге речення про енергетику.",
        "title": f"Міністерство {HOSTILE}",
    }
    feed.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    path = str(tmp_path / "w.db")
    assert run(capsys, "--db", path, "import", str(feed))[0] == 0
    code, _, err = run(
        capsys,
        "--db",
        path,
        "sources",
        "add",
        f"@{CHANNEL}",
        "--person",
        f"Петро {HOSTILE}",
        "--role",
        f"міністр {HOSTILE}",
    )
    assert code == 0, err
    assert run(capsys, "--db", path, "rules", "add", f'нарада OR "{HOSTILE}"')[0] == 0
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ("search", "нарада"),
        ("rules", "test", "нарада"),
        ("rules", "list"),
        ("match", "нарада"),
        ("sources", "list"),
        ("draft", f"https://t.me/{CHANNEL}/7"),
        ("evidence", f"https://t.me/{CHANNEL}/7"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_untrusted_text_reaches_the_terminal_escaped(
    db: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, "--db", db, *argv)
    assert code == 0, err
    clean(out + err)
    # Still there, written out: the operator sees what the post held.
    assert "\\x1b" in out or "\\u202e" in out, out


def test_a_draft_keeps_its_line_breaks(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--db", db, "draft", f"https://t.me/{CHANNEL}/7")
    assert len(out.strip().splitlines()) > 1


def test_json_keeps_the_text_as_it_is(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--db", db, "search", "нарада", "--json")
    assert HOSTILE in json.loads(out)[0]["text"]


def test_an_exports_skipped_chat_name_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    export = {
        "chats": {
            "list": [
                {"name": f"Група {HOSTILE}", "type": "private_group", "id": 55, "messages": []},
            ]
        }
    }
    (tmp_path / "result.json").write_text(json.dumps(export), encoding="utf-8")
    code, out, err = run(capsys, "--db", str(tmp_path / "w.db"), "import", "result.json")
    assert "Група" in err, (code, out, err)
    clean(out + err)


def test_an_error_quoting_the_file_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refusals quote what was wrong ("'date' is not a date: …"): that is the file's text."""
    monkeypatch.chdir(tmp_path)
    export = {
        "name": "Міністерство",
        "type": "public_channel",
        "id": 777,
        "messages": [{"id": 1, "type": "message", "date": "\u202eвчора\x9b", "text": "x"}],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    code, out, err = run(
        capsys, "--db", str(tmp_path / "w.db"), "import", str(path), "--source", f"@{CHANNEL}"
    )
    assert code == 2
    assert "вчора" in err, err
    clean(out + err)
    assert len(err.strip().splitlines()) == 1
