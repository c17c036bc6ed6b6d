"""`wirewatch restore BACKUP`: a backup put back in the database's place, the way an operator
needs it the day the disk or an upgrade went wrong. Copying the file by hand over a database
whose `-wal` was left by a crash did not restore it: SQLite replays that log into the copied
file (the "restored" archive still held the posts made after the backup)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _feed(path: Path, ids: range) -> Path:
    lines = [
        json.dumps(
            {
                "channel": "regional_head_test",
                "id": n,
                "date": "2025-11-18T08:00:00+02:00",
                "text": f"Повідомлення номер {n} про відновлення живлення.",
            },
            ensure_ascii=False,
        )
        for n in ids
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _posts(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def backed_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A database with 3 posts backed up, then 5 more posts stored after the backup."""
    db = tmp_path / "var" / "wirewatch.db"
    assert (
        run(capsys, "--db", str(db), "import", str(_feed(tmp_path / "a.jsonl", range(1, 4))))[0]
        == 0
    )
    backup = tmp_path / "b.db"
    assert run(capsys, "--db", str(db), "backup", str(backup))[0] == 0
    assert (
        run(capsys, "--db", str(db), "import", str(_feed(tmp_path / "b.jsonl", range(4, 9))))[0]
        == 0
    )
    return db, backup


def test_restore_puts_the_backup_back_and_keeps_what_it_replaced(
    backed_up: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, backup = backed_up
    # What a crash leaves: the newer posts still in the log beside the database.
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("UPDATE posts SET text = text || ' (змінено)' WHERE message_id = 4")
    conn.commit()
    wal = db.with_name(db.name + "-wal")
    assert wal.stat().st_size > 0
    stale = wal.read_bytes()
    conn.close()
    if not wal.exists():
        wal.write_bytes(stale)  # the crash: the log was never checkpointed away

    code, out, err = run(capsys, "--db", str(db), "restore", str(backup))
    assert code == 0, err
    assert _posts(db) == 3  # the backup's posts, not the log's
    assert "3 posts" in out
    # Nothing lost: the replaced database is kept beside it, whole.
    kept = [p for p in db.parent.iterdir() if p.name.startswith("wirewatch.db.replaced-")]
    main_copy = next(p for p in kept if not p.name.endswith(("-wal", "-shm")))
    assert _posts(main_copy) == 8
    assert str(main_copy) in out
    assert (db.stat().st_mode & 0o777) == 0o600
    code, out, _ = run(capsys, "--db", str(db), "doctor", "--json")
    rows = {r["check"]: r for r in json.loads(out)}
    assert rows["database"]["status"] == "ok"


def test_restore_refuses_while_the_service_has_the_database_open(
    backed_up: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, backup = backed_up
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT count(*) FROM posts').fetchone(); print('open', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        code, _, err = run(capsys, "--db", str(db), "restore", str(backup))
    finally:
        holder.communicate("")
    assert code == 2
    assert "in use" in err and "stop" in err
    assert _posts(db) == 8  # untouched


@pytest.mark.parametrize("kind", ["not sqlite", "newer", "missing"])
def test_restore_refuses_a_backup_it_cannot_use(
    backed_up: tuple[Path, Path], capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    db, backup = backed_up
    if kind == "not sqlite":
        backup.write_bytes(b"not a database at all" * 100)
    elif kind == "newer":
        conn = sqlite3.connect(backup)
        conn.execute("PRAGMA user_version = 999")
        conn.close()
    else:
        backup.unlink()
    code, _, err = run(capsys, "--db", str(db), "restore", str(backup))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and str(backup) in err
    assert _posts(db) == 8
    assert not [p for p in db.parent.iterdir() if ".replaced-" in p.name]
