"""wirewatch's own options (`--db`, `-v`) before the command, as `wirewatch --help` shows them
(`wirewatch [-h] [-v] [--db PATH] COMMAND`), and after it, as every command's help does:
through the installed `wirewatch` script."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import load_settings, parse_args

WIREWATCH = Path(sys.executable).with_name("wirewatch")


def _wirewatch(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WIREWATCH), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _posts(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


def test_demo_keeps_its_archive_in_the_db_named_before_the_command(tmp_path: Path) -> None:
    """`wirewatch --db x.db demo` ran on a temporary database and left x.db uncreated: demo
    looked only at its own --db; `wirewatch demo --db x.db` kept it."""
    db = tmp_path / "before.db"
    done = _wirewatch(tmp_path, "--db", str(db), "demo", "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert db.exists() and _posts(db) > 50
    # The archive it left is searched by the next command, the option given as --db=.
    found = _wirewatch(tmp_path, f"--db={db}", "search", "обмін полоненими", "--limit", "3")
    assert found.returncode == 0, found.stderr
    assert found.stdout.count("https://t.me/") == 3


def test_verbose_after_the_command(tmp_path: Path) -> None:
    """`wirewatch search обмін -v`: search took -v for its own and argparse refused it
    ("unrecognized arguments: -v"); -v before the command worked."""
    db = tmp_path / "w.db"
    made = _wirewatch(tmp_path, "--db", str(db), "rules", "add", "обмін полоненими")
    assert made.returncode == 0, made.stderr
    for argv in (["rules", "list", "-v"], ["search", "обмін", "-v"]):
        done = _wirewatch(tmp_path, *argv, "--db", str(db))
        assert done.returncode == 0, (argv, done.stderr)
        assert " DEBUG " in done.stderr, argv
    assert " DEBUG " not in made.stderr


@pytest.mark.parametrize(
    "command",
    [["demo"], ["search", "обмін"], ["rules", "list"], ["doctor"], ["import", "x.jsonl"]],
)
def test_the_db_before_the_command_is_the_commands(command: list[str], tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    args = parse_args(["--db", db, *command])
    assert args.db == db and str(load_settings(args).db) == db
    # After the command, its own wins.
    own = str(tmp_path / "own.db")
    args = parse_args(["--db", db, *command, "--db", own])
    assert args.db == own and str(load_settings(args).db) == own
