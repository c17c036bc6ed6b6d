"""Commands that only read never write the database, and work for anyone who can read it: root
reading the service's file, a copy on a read-only disk, another account. Whoever cannot read it
is told why. As root the "other account" is `nobody` (a forked child that drops to it); as
another user the file and its folder are made read-only instead."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from storage.db import migrations

DATA = Path(__file__).parents[1] / "data"
CHANNEL = "verbytskyi_test"
LINK = f"https://t.me/{CHANNEL}/3"
NOBODY = 65534
ROOT = os.geteuid() == 0

# Every command in bot/cli/main.py that only reads, with arguments that find something.
READERS: list[list[str]] = [
    ["search", "енергетики"],
    ["search", "енергетики", "--json"],
    ["sources", "list"],
    ["rules", "list"],
    ["rules", "test", "енергетика"],
    ["people", "list"],
    ["accounts", "list"],
    ["accounts", "list", "--json"],
    ["match", "енергетика"],
    ["draft", LINK],
    ["evidence", LINK],
    ["doctor"],
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive as the service leaves it: posts of a channel, a rule, a journalist."""
    folder = tmp_path_factory.mktemp("archive")
    db = folder / "w.db"
    for argv in (
        ["import", str(DATA / "export_channel"), "--source", f"@{CHANNEL}"],
        ["rules", "add", "енергетика"],
        ["people", "add", "5001", "journalist"],
    ):
        assert main(["--db", str(db), *argv]) == 0
    return db


def snapshot(db: Path) -> tuple[bytes, int, list[str]]:
    files = sorted(p.name for p in db.parent.iterdir())
    return db.read_bytes(), db.stat().st_mtime_ns, files


@pytest.mark.parametrize("argv", READERS, ids=" ".join)
def test_a_command_that_only_reads_writes_nothing(
    archive: Path, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(archive.parent)
    before = snapshot(archive)
    assert main(["--db", str(archive), *argv]) == 0
    assert snapshot(archive) == before
    # Nor could it have: the file holds no write it made (the log is empty or gone).
    wal = archive.with_name(archive.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def as_someone_else(tmp_path: Path, action: Callable[[], int]) -> tuple[int, str, str]:
    """Run `action` as another account: as root, a forked child as nobody; otherwise this
    process, with the files it must not write made read-only first. (exit code, out, err)"""
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    # Its own working folder, one it may enter: it reads `.env` from there, and the checkout's
    # (a clone in a private temp folder, as CI makes) may be closed to it.
    home = Path(tempfile.mkdtemp(prefix="wirewatch-home-"))
    home.chmod(0o755)
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.chdir(home)
            # pytest holds sys.stdout and sys.stderr: the command's lines go to files.
            sys.stdout = open(out_path, "w")  # noqa: SIM115
            sys.stderr = open(err_path, "w")  # noqa: SIM115
            if ROOT:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            code = action()
        except BaseException:
            import traceback

            with open(err_path, "a") as err:
                traceback.print_exc(file=err)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(home)
    return os.waitstatus_to_exitcode(status), out_path.read_text(), err_path.read_text()


@contextlib.contextmanager
def service_files(db: Path, *, file_mode: int, folder_mode: int) -> Iterator[None]:
    """The service's database and folder with these modes; as another user, none of it ours
    to write."""
    old = (db.stat().st_mode, db.parent.stat().st_mode)
    if not ROOT:  # we own them: take our own write access away instead
        file_mode &= 0o555
        folder_mode &= 0o555
    db.chmod(file_mode)
    db.parent.chmod(folder_mode)
    try:
        yield
    finally:
        db.parent.chmod(old[1])
        db.chmod(old[0])


@pytest.fixture
def outside() -> Iterator[Path]:
    """A folder other accounts may enter (pytest's own is its user's only)."""
    folder = Path(tempfile.mkdtemp(prefix="wirewatch-ro-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def copy_of(archive: Path, outside: Path) -> Path:
    folder = outside / "state"
    folder.mkdir()
    (folder / "w.db").write_bytes(archive.read_bytes())
    return folder / "w.db"


@pytest.mark.parametrize(
    "argv", [["search", "енергетики"], ["sources", "list"], ["accounts", "list"], ["doctor"]]
)
def test_another_account_that_can_read_the_file_reads_it(
    archive: Path, tmp_path: Path, outside: Path, argv: list[str]
) -> None:
    db = copy_of(archive, outside)
    before = snapshot(db)
    with service_files(db, file_mode=0o644, folder_mode=0o755):
        code, out, err = as_someone_else(tmp_path, lambda: main(["--db", str(db), *argv]))
    assert code == 0, err
    assert "Traceback" not in err
    if argv[0] in ("search", "sources"):
        assert CHANNEL in out
    assert snapshot(db) == before


@pytest.mark.skipif(not ROOT, reason="another account's private file needs a second account")
def test_another_account_is_told_why_the_private_file_is_closed_to_it(
    archive: Path, tmp_path: Path, outside: Path
) -> None:
    db = copy_of(archive, outside)
    with service_files(db, file_mode=0o600, folder_mode=0o755):
        code, _, err = as_someone_else(tmp_path, lambda: main(["--db", str(db), "search", "x"]))
    assert code == 2, err
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"cannot read {db}" in line and "belongs to root, mode 0600" in line
    assert "runs as nobody" in line and "wirewatch-admin" in line


@pytest.mark.skipif(not ROOT, reason="another account's private folder needs a second account")
def test_another_account_is_told_the_state_folder_is_closed_not_that_nothing_is_there(
    archive: Path, tmp_path: Path, outside: Path
) -> None:
    db = copy_of(archive, outside)
    with service_files(db, file_mode=0o600, folder_mode=0o700):
        code, _, err = as_someone_else(
            tmp_path, lambda: main(["--db", str(db), "sources", "list"])
        )
    assert code == 2, err
    assert "no database" not in err
    assert f"the folder {db.parent} is closed to nobody" in err


@pytest.mark.skipif(not ROOT, reason="writing as another account needs a second account")
def test_a_command_that_writes_as_another_account_is_refused_with_the_reason(
    archive: Path, tmp_path: Path, outside: Path
) -> None:
    db = copy_of(archive, outside)
    before = snapshot(db)
    with service_files(db, file_mode=0o666, folder_mode=0o777):
        code, _, err = as_someone_else(
            tmp_path, lambda: main(["--db", str(db), "rules", "add", "вугілля"])
        )
    assert code == 2, err
    assert f"{db} belongs to root and this command writes it as nobody" in err
    assert snapshot(db) == before


def test_a_copy_on_a_read_only_disk_is_searched_in_place(
    archive: Path, tmp_path: Path, outside: Path
) -> None:
    """No -wal nor -shm beside it, and none may be made: SQLite reads the file alone."""
    db = copy_of(archive, outside)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with service_files(db, file_mode=0o444, folder_mode=0o555):
        code, out, err = as_someone_else(
            tmp_path, lambda: main(["--db", str(db), "search", "енергетики"])
        )
    assert code == 0, err
    assert LINK in out


def test_another_account_backs_up_the_database_it_can_read(
    archive: Path, tmp_path: Path, outside: Path
) -> None:
    """A backup only reads the database: root or the service's account take one while it is
    someone else's, and it stays byte for byte as it was."""
    db = copy_of(archive, outside)
    backups = outside / "backups"
    backups.mkdir(mode=0o777)
    backups.chmod(0o777)
    before = snapshot(db)
    with service_files(db, file_mode=0o644, folder_mode=0o755):
        code, out, err = as_someone_else(
            tmp_path, lambda: main(["--db", str(db), "backup", str(backups / "b.db")])
        )
    assert code == 0, err
    assert "integrity ok" in out
    assert snapshot(db) == before
    with sqlite3.connect(backups / "b.db") as copy:
        assert copy.execute("SELECT count(*) FROM posts").fetchone()[0] == 15


def _one_version_behind(db: Path) -> int:
    """An archive as the previous version of wirewatch left it: every migration but the last.
    Returns the version this one reads."""
    known = migrations()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        for number, _, sql in known[:-1]:
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
    return known[-1][0]


def test_after_an_upgrade_the_owners_first_reading_command_brings_the_schema_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    latest = _one_version_behind(db)
    assert main(["--db", str(db), "sources", "list"]) == 0
    assert "brought up to this wirewatch's schema" in capsys.readouterr().err
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest
    before = snapshot(db)
    assert main(["--db", str(db), "sources", "list"]) == 0  # and then writes nothing
    assert snapshot(db) == before


@pytest.mark.skipif(not ROOT, reason="another account's archive needs a second account")
def test_after_an_upgrade_another_account_is_told_the_owner_brings_the_schema_up(
    outside: Path, tmp_path: Path
) -> None:
    db = outside / "state" / "w.db"
    db.parent.mkdir()
    _one_version_behind(db)
    before = snapshot(db)
    with service_files(db, file_mode=0o644, folder_mode=0o755):
        code, _, err = as_someone_else(tmp_path, lambda: main(["--db", str(db), "search", "x"]))
    assert code == 2
    assert "brought up to date when its owner next runs wirewatch" in err
    assert snapshot(db) == before
