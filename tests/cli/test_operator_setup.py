"""An operator's first hour, as the README walks it: `.env` copied from `.env.example`, `doctor`,
`login` and `run` without credentials. Each step must work or say, in one line, what to do."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fresh_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding `.env` copied from `.env.example`, untouched (README step 2)."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_env_copied_from_the_example_loads_as_the_defaults(fresh_env: Path) -> None:
    # The example leaves the credentials empty (`WIREWATCH_TELEGRAM__API_ID=`): empty means
    # "not set", not "the integer ''".
    assert Settings().model_dump(mode="json") == Settings(_env_file=None).model_dump(mode="json")


def test_doctor_runs_on_the_example_env(
    fresh_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "doctor")
    assert "bad setting" not in err
    assert "Traceback" not in err
    # Nothing exists yet: doctor reports, it does not create.
    assert "database" in out
    assert not (fresh_env / "var").exists()
    assert code in (0, 1)


@pytest.fixture
def hangs_up() -> Iterator[int]:
    """A port where something answers and closes (a captive portal, a proxy refusing the
    destination): what `login` meets on a network that does not reach Telegram."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                # Read what the client sent first: closing on unread data would be a reset,
                # which Telethon retries instead of reporting.
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def _credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, section: str, *, dc_port: int | None = None
) -> None:
    """An operator's settings in `tmp_path` (the working folder): an API id and hash for the
    settings section (TELEGRAM, or ACCOUNTS__<NAME>), and Telegram's address set to a local
    port when `dc_port` is given."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(f"WIREWATCH_{section}__API_ID", "12345")
    monkeypatch.setenv(f"WIREWATCH_{section}__API_HASH", "0123456789abcdef0123456789abcdef")
    if dc_port is not None:
        monkeypatch.setenv("WIREWATCH_TELEGRAM__DC_ADDRESS", "127.0.0.1")
        monkeypatch.setenv("WIREWATCH_TELEGRAM__DC_PORT", str(dc_port))


def test_login_without_a_way_to_telegram_says_so(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    hangs_up: int,
) -> None:
    _credentials(monkeypatch, tmp_path, "TELEGRAM", dc_port=hangs_up)
    code, out, err = run(capsys, "login", "--phone", "+380441234567")
    assert code == 1  # the network failed, not the operator's input
    assert "terminal" not in err  # it was run in one; the network is what failed
    assert f"127.0.0.1:{hangs_up}" in err and "closed the connection" in err
    assert "logged in" not in out


def test_a_login_that_cannot_reach_telegram_prints_what_to_check_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hangs_up: int
) -> None:
    """As the operator sees it in a terminal: a line before the wait, then the reason; not
    Telethon's own log lines of each attempt ("Server closed the connection: 95 bytes read on
    a total of 1347703872 expected bytes", or ten "Attempt N at connecting failed")."""
    _credentials(monkeypatch, tmp_path, "TELEGRAM", dc_port=hangs_up)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "login", "--phone", "+380441234567"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith(f"connecting to 127.0.0.1:{hangs_up}")
    assert lines[1].startswith("wirewatch: login failed:") and "closed the connection" in lines[1]


def test_doctor_does_not_pass_the_session_a_failed_login_left(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    hangs_up: int,
) -> None:
    """The login above fails, yet leaves its session file behind (Telethon creates it on
    connect): doctor said "OK session file", and `run` then waited on a listener that could
    never sign in."""
    _credentials(monkeypatch, tmp_path, "TELEGRAM", dc_port=hangs_up)
    assert run(capsys, "login", "--phone", "+380441234567")[0] == 1
    assert (tmp_path / "var" / "wirewatch.session").exists()
    _, out, _ = run(capsys, "doctor", "--json")
    row = next(r for r in json.loads(out) if r["check"] == "session file")
    assert row["status"] == "missing"
    assert "wirewatch login" in row["detail"]


def test_doctor_passes_a_session_holding_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from telethon.crypto import AuthKey
    from telethon.sessions import SQLiteSession

    _credentials(monkeypatch, tmp_path, "TELEGRAM")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__SESSION", str(tmp_path / "acct"))
    session = SQLiteSession(str(tmp_path / "acct.session"))
    session.set_dc(2, "127.0.0.1", 443)
    session.auth_key = AuthKey(bytes(range(256)))
    session.save()
    session.close()
    (tmp_path / "acct.session").chmod(0o600)
    _, out, _ = run(capsys, "doctor", "--json")
    row = next(r for r in json.loads(out) if r["check"] == "session file")
    assert row["status"] == "ok", row
    assert row["detail"].startswith(str(tmp_path / "acct.session"))


def test_import_takes_the_export_folder_as_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Telegram Desktop writes a folder (ChatExport_…) holding result.json and the photos;
    the README says wirewatch reads "the result.json (or the folder holding it)"."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "ChatExport_2025-11-20"
    shutil.copytree(ROOT / "tests" / "data" / "export_channel", folder)
    code, out, err = run(
        capsys, "--db", "w.db", "import", str(folder), "--source", "@good_channel"
    )
    assert code == 0, err
    assert "new posts" in out


@pytest.mark.parametrize("kind", ["missing", "folder without result.json"])
def test_import_of_nothing_says_what_and_creates_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "in"
    if kind != "missing":
        target.mkdir()
        (target / "notes.txt").write_text("x", encoding="utf-8")
    code, _, err = run(capsys, "import", str(target))
    assert code == 2
    line = err.strip()
    assert len(line.splitlines()) == 1 and str(target) in line
    if kind == "missing":
        assert "no such file" in line
    else:
        assert "result.json" in line and "no such file" not in line
    # A mistyped path made an empty archive in the working folder.
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("WIREWATCH_TELEGRAM__API_ID=abc", "WIREWATCH_TELEGRAM__API_ID"),
        ("WIREWATCH_TZ=Kyiv", "WIREWATCH_TZ"),
        ("WIREWATCH_BOT__ADMINS=123, abc", "WIREWATCH_BOT__ADMINS"),
        (
            "WIREWATCH_ACCOUNTS__ALPHA__MAX_CHANNELS=5000",
            "WIREWATCH_ACCOUNTS__ALPHA__MAX_CHANNELS",
        ),
    ],
)
def test_a_bad_setting_is_named_as_the_operator_wrote_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    line: str,
    name: str,
) -> None:
    """ "bad setting telegram.api_id" sent the operator looking for a key that is in no file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(line + "\n", encoding="utf-8")
    code, _, err = run(capsys, "doctor")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert f"bad setting {name}:" in err, err


def test_doctor_does_not_pass_an_accounts_session_a_failed_login_left(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    hangs_up: int,
) -> None:
    _credentials(monkeypatch, tmp_path, "ACCOUNTS__ALPHA", dc_port=hangs_up)
    assert run(capsys, "login", "--account", "alpha", "--phone", "+380441234567")[0] == 1
    assert (tmp_path / "var" / "alpha.session").exists()
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"channel": "regional_head_test", "id": 1, "date": "2025-11-18T08:00:00+02:00", '
        '"text": "Відновили живлення."}\n',
        encoding="utf-8",
    )
    assert run(capsys, "import", str(feed))[0] == 0
    _, out, _ = run(capsys, "doctor", "--json")
    row = next(r for r in json.loads(out) if r["check"] == "account alpha")
    assert row["status"] == "missing", row
    assert "wirewatch login --account alpha" in row["detail"]


def test_accounts_list_with_one_account_does_not_call_channels_homeless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One account reads every channel; the assignment table is the pool's (several accounts),
    so its being empty said "2 channels have no account with room" on a desk of one."""
    monkeypatch.chdir(tmp_path)
    for channel in ("regional_head_test", "energy_ministry_test"):
        assert run(capsys, "sources", "add", f"@{channel}")[0] == 0
    code, out, _ = run(capsys, "accounts", "list")
    assert code == 0
    assert "no account with room" not in out
    assert "2" in out.splitlines()[0]  # the one account's share: every channel


@pytest.mark.parametrize("given", ["folder", "file"])
def test_an_html_export_is_told_to_be_exported_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    """Telegram Desktop exports HTML unless told otherwise: the likeliest first export."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "ChatExport_2025-11-20"
    folder.mkdir()
    (folder / "messages.html").write_text("<!DOCTYPE html><html></html>", encoding="utf-8")
    target = folder if given == "folder" else folder / "messages.html"
    code, _, err = run(capsys, "import", str(target))
    assert code == 2
    assert "HTML" in err and "JSON" in err, err
    assert not (tmp_path / "var").exists()


def test_run_refuses_a_feed_that_is_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--feed var/` (a folder, a typo): the feed part failed and restarted forever, with a
    traceback a minute, while the service looked up."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feeds").mkdir()
    code, _, err = run(capsys, "run", "--health-port", "0", "--feed", "feeds")
    assert code == 2
    assert "feeds" in err and "folder" in err
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # A typo in the table name: nothing was followed, and doctor said "0 channels" OK.
        ('[[sources]]\nusername = "regional_head_test"\n', "[[sources]]"),
        # A typo in a key: the person was silently left out of every draft.
        (
            '[[source]]\nusername = "regional_head_test"\npersn = { uk = "Іван Петренко" }\n',
            "'persn'",
        ),
        # A bad name: say which entry of which file.
        ('[[source]]\nusername = "ab"\n', "source #1"),
    ],
)
def test_doctor_names_a_mistake_in_the_sources_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    said: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sources.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__SOURCES_FILE", "sources.toml")
    code, out, _ = run(capsys, "doctor", "--json")
    row = next(r for r in json.loads(out) if r["check"] == "sources file")
    assert row["status"] == "fail", row
    assert said in row["detail"] and "sources.toml" in row["detail"], row
    assert code == 1
