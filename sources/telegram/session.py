"""The account's session file: where it lives, owner-only, locked to one process.

A Telethon session holds the account's auth key, and one session used by two processes at once is
revoked by Telegram (AUTH_KEY_DUPLICATED): the lock file says who holds it, at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sources.telegram.config import TelegramSettings
from sources.telegram.errors import SessionInUseError, TelegramError

__all__ = [
    "SessionInUseError",
    "lock_session",
    "session_has_key",
    "session_path",
    "unlock_session",
]


_LOCKS: dict[str, int] = {}  # session path -> lock file descriptor, held for the process lifetime


def session_path(settings: TelegramSettings) -> Path:
    """The file Telethon's SQLiteSession writes (it appends `.session` when missing)."""
    path = Path(settings.session).expanduser()
    if path.suffix != ".session":
        path = path.with_name(path.name + ".session")
    return path


def lock_session(path: Path) -> None:
    """Take the session's lock file (`<session>.lock`) for the life of this process.

    SQLite would only say "database is locked" at the first write, long after start; the lock
    file says who holds the session, at once.
    """
    key = str(path.resolve())
    if key in _LOCKS:
        return
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise SessionInUseError(
            f"session file {path} in use by another wirewatch process (pid {holder})"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode("ascii"))
    _LOCKS[key] = fd


def unlock_session(path: Path) -> None:
    fd = _LOCKS.pop(str(path.resolve()), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


def prepare_session_file(path: Path) -> None:
    """Create the session file owner-only before Telethon opens it: it holds the auth key,
    which is as good as the account. SQLite gives its journal the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def session_has_key(path: Path) -> bool:
    """Whether the session file holds an authorisation key: a `login` that never reached
    Telegram leaves the file without one, and a listener on it can never sign in. Read with
    Telethon's own session class (imported here: callers such as `doctor` stay light)."""
    import sqlite3

    from telethon.sessions import SQLiteSession

    if path.stat().st_size == 0:
        return False  # created for Telethon (prepare_session_file), never written: opening it
        # here would write Telethon's tables into it
    try:
        session = SQLiteSession(str(path))
    except sqlite3.DatabaseError as exc:
        raise TelegramError(f"{path} is not a Telegram session file ({exc})") from None
    try:
        key = session.auth_key
        return key is not None and key.key is not None
    finally:
        session.close()
