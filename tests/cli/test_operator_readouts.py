"""What an operator reads while setting wirewatch up as the README walks it (a fresh `.env`, a
sources file, `doctor`, `sources list`, `accounts list`, a database server that is down): each
line must be true and say what to do, and bad input must stop nothing silently."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import pytest

from bot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    '[[source]]\nusername = "city_water_test"\ngender = "f"\n'
    'person = { uk = "Ірина Тестова" }\nrole = { uk = "директорка водоканалу" }\n\n'
    '[[source]]\nusername = "city_transport_test"\nrole = { uk = "департамент транспорту" }\n'
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with `.env` copied from `.env.example` and a sources file set in it."""
    env = (ROOT / ".env.example").read_text(encoding="utf-8")
    env = env.replace(
        "WIREWATCH_TELEGRAM__SOURCES_FILE=\n", "WIREWATCH_TELEGRAM__SOURCES_FILE=sources.toml\n"
    )
    assert "SOURCES_FILE=sources.toml" in env
    (tmp_path / ".env").write_text(env, encoding="utf-8")
    (tmp_path / "sources.toml").write_text(SOURCES, encoding="utf-8")
    for name in [k for k in os.environ if k.startswith("WIREWATCH_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_line_of_env_that_cannot_be_read_stops_the_command_with_its_number(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unclosed quote on the token's line: python-dotenv skipped the line with a warning
    that named no file, and the service ran without its bot (or with an older line's token)."""
    env = workdir / ".env"
    lines = env.read_text(encoding="utf-8").splitlines()
    at = next(n for n, line in enumerate(lines, 1) if line.startswith("WIREWATCH_BOT__TOKEN="))
    lines[at - 1] = 'WIREWATCH_BOT__TOKEN="123456:secret-part'
    env.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for argv in (["sources", "list"], ["doctor"]):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, out, err)
        said = err.strip()
        assert "\n" not in said
        assert f"line {at} (WIREWATCH_BOT__TOKEN)" in said and ".env" in said
        assert "secret-part" not in said  # a value may be a secret: never repeated
        assert "quote" in said
    assert not (workdir / "var").exists()


def test_doctor_counts_in_words_and_says_when_the_sources_file_is_applied(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "rules", "add", "водопостачання")[0] == 0
    assert run(capsys, "people", "add", "5001", "journalist")[0] == 0
    _, out, _ = run(capsys, "doctor")
    # "OK       rules            1 rule": the status, the check in 16 columns, the detail.
    lines = {line[9:26].strip(): line for line in out.splitlines()}
    assert "1 rule" in lines["rules"] and "1 rules" not in lines["rules"]
    assert "1 person" in lines["people"]
    assert "sources.toml: 2 channels" in out
    # Nothing followed yet, but the file lists two: `run` adds them, nothing is missing.
    assert "MISSING  sources" not in out
    assert "the sources file sources.toml lists 2 channels" in lines["sources"]
    assert "wirewatch run" in lines["sources"]
    assert run(capsys, "sources", "add", "@city_water_test")[0] == 0
    _, out, _ = run(capsys, "doctor")
    assert "1 channel followed" in out and "1 channels" not in out


def test_sources_list_of_nothing_yet_points_at_the_sources_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "rules", "add", "водопостачання")[0] == 0  # makes the database
    code, out, _ = run(capsys, "sources", "list")
    assert code == 0
    assert "no sources yet" in out
    assert "the sources file sources.toml lists 2 channels" in out and "wirewatch run" in out


def test_accounts_list_of_the_one_account_without_credentials_says_so(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said 'starting', for ever: one account keeps no lease, and without the API id and
    hash no listener runs at all."""
    assert run(capsys, "rules", "add", "водопостачання")[0] == 0
    code, out, _ = run(capsys, "accounts", "list")
    assert code == 0
    assert "starting" not in out
    assert "WIREWATCH_TELEGRAM__API_ID" in out and "the listener does not run" in out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_postgresql_server_that_is_down_is_named_with_what_to_do(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listens where the server should be (stopped, or not started yet)."""
    monkeypatch.setenv("WIREWATCH_DB", f"postgresql://wirewatch@127.0.0.1:{free_port()}/news")
    for argv in (["sources", "list"], ["rules", "add", "каналізація"]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        said = err.strip()
        assert "\n" not in said and "Traceback" not in said
        assert "cannot reach PostgreSQL at postgresql://wirewatch@127.0.0.1:" in said
        assert "is the server running" in said and "nothing was changed" in said


def test_run_against_a_postgresql_server_that_is_down_says_what_to_do(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIREWATCH_DB", f"postgresql://wirewatch@127.0.0.1:{free_port()}/news")
    monkeypatch.setenv("WIREWATCH_HEALTH_PORT", "0")
    # `run` sets the root logger up to write to this test's captured stderr: put it back,
    # or the next test that logs writes to a closed file (a "Logging error" per record).
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    code, _, err = run(capsys, "run")
    assert code == 2
    said = err.strip().splitlines()[-1]
    assert "cannot reach PostgreSQL at postgresql://wirewatch@127.0.0.1:" in said
    assert "is the server running" in said and "start wirewatch again once it is" in said
