"""`wirewatch people|sources|rules`: an operator sets up a whole desk before opening the bot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_provision_a_desk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.sqlite")
    assert run(capsys, "people", "add", "@desk_chief", "editor", "--db", db)[0] == 0
    code, out, _ = run(capsys, "people", "add", "5550001", "journalist", "--db", db, "--json")
    assert code == 0 and json.loads(out)["role"] == "journalist"
    code, out, _ = run(
        capsys,
        "sources",
        "add",
        "https://t.me/Grid_Ministry_Demo",
        "--person",
        "Ivanna Kovalenko",
        "--role",
        "Minister of Energy",
        "--lang",
        "en",
        "--gender",
        "f",
        "--db",
        db,
        "--json",
    )
    assert code == 0
    assert json.loads(out)["person"] == {"en": "Ivanna Kovalenko"}
    code, out, _ = run(capsys, "rules", "add", "енергетика -кордон", "--db", db, "--json")
    assert json.loads(out) == {
        "id": 1,
        "query": "енергетика -кордон",
        "owner": "desk",
        "active": True,
        "created": True,
    }
    code, out, _ = run(capsys, "rules", "add", "графік", "--owner", "5550001", "--db", db)
    assert out.strip() == "rule #2 added: графік"
    code, out, _ = run(capsys, "rules", "list", "--db", db, "--json")
    assert [(r["id"], r["owner"]) for r in json.loads(out)] == [(1, "desk"), (2, "5550001")]
    code, out, _ = run(capsys, "rules", "test", "енергетика", "--db", db, "--json")
    assert json.loads(out)["tried"] == 0
    code, out, _ = run(capsys, "people", "list", "--db", db, "--json")
    assert [p["username"] for p in json.loads(out)] == ["desk_chief", None]
    code, out, _ = run(capsys, "sources", "remove", "@grid_ministry_demo", "--db", db)
    assert code == 0 and "no longer followed" in out
    code, out, _ = run(capsys, "sources", "list", "--db", db, "--json")
    assert json.loads(out)[0]["active"] is False


def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "w.sqlite")
    code, _, err = run(capsys, "rules", "add", "(обмін", "--db", db)
    assert code == 2
    assert err.strip() == "wirewatch: bad rule: unbalanced parenthesis at character 0"
    code, _, err = run(capsys, "people", "add", "not a user", "editor", "--db", db)
    assert code == 2 and "not a user id or @username" in err
    code, _, err = run(capsys, "sources", "add", "@x", "--db", db)
    assert code == 2 and "not a channel username" in err
    code, _, err = run(capsys, "rules", "remove", "7", "--db", db)
    assert code == 2 and err.strip() == "wirewatch: there is no rule #7"
    code, _, err = run(capsys, "people", "list", "--db", str(tmp_path / "typo.sqlite"))
    assert code == 2 and "no database at" in err


def test_undecodable_argument_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A terminal in another encoding: Python keeps the bytes as lone surrogates, and the rule
    # used to reach the database and end in a UnicodeEncodeError traceback.
    db = str(tmp_path / "w.sqlite")
    code, _, err = run(
        capsys, "rules", "add", b"\xff\xfe".decode("utf-8", "surrogateescape"), "--db", db
    )
    assert code == 2
    assert err.strip() == (
        "wirewatch: argument 3 is not valid UTF-8 text (check the terminal's encoding)"
    )


def test_doctor_counts_admins_added_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An operator who provisions from the CLI only was told "nobody can run the bot".
    monkeypatch.setenv("WIREWATCH_HEALTH_PORT", "0")
    monkeypatch.delenv("WIREWATCH_BOT__ADMINS", raising=False)
    db = str(tmp_path / "w.sqlite")
    assert run(capsys, "people", "add", "7001", "journalist", "--db", db)[0] == 0
    _, out, _ = run(capsys, "doctor", "--json", "--db", db)
    (admins,) = [c for c in json.loads(out) if c["check"] == "admins"]
    assert admins["status"] == "missing"
    assert run(capsys, "people", "add", "@desk_chief", "admin", "--db", db)[0] == 0
    _, out, _ = run(capsys, "doctor", "--json", "--db", db)
    (admins,) = [c for c in json.loads(out) if c["check"] == "admins"]
    assert admins == {
        "check": "admins",
        "status": "ok",
        "detail": "@desk_chief (from the database)",
    }


def test_glossary_refuses_names_and_notes_too_long_for_a_draft(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    glossary = tmp_path / "glossary.toml"
    monkeypatch.setenv("WIREWATCH_DRAFTS__GLOSSARY", str(glossary))
    base = ["glossary", "add", "--kind", "place", "--uk", "Київ", "--en", "Kyiv"]
    code, _, err = run(capsys, *base, "--note-en", "x" * 5000)
    assert code == 2 and "note" in err and "5000" in err and len(err.splitlines()) == 1
    code, _, err = run(capsys, "glossary", "add", "--uk", "Київ" * 100)
    assert code == 2 and "name" in err
    code, _, err = run(capsys, *base, "--alias", "y" * 500)
    assert code == 2 and "alias" in err
    assert not glossary.exists()  # nothing was saved
    code, _, err = run(capsys, *base, "--note-en", "capital of Ukraine")
    assert code == 0, err


def test_db_may_come_before_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "desk.db"
    assert main(["--db", str(db), "rules", "add", "обмін полоненими"]) == 0
    capsys.readouterr()
    assert main(["rules", "list", "--db", str(db), "--json"]) == 0
    assert "обмін полоненими" in capsys.readouterr().out
