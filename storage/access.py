"""Who may open the SQLite file, and how a command that only reads opens it.

The service's database belongs to its user and is private (mode 0600, in a folder of mode 0700
under systemd). Commands that only read (search, the lists, doctor, ...) open it read-only:
they never change its permissions, never migrate it and never write, so anyone who can read
the file (root, the service's user) can run them, and a copy on a read-only disk works too.
Whoever cannot read it is told why and what to do instead. Commands that write must run as the
file's owner (or root, whose writes SQLite gives to the file's owner): the write-ahead log and
shared-memory files another user would create beside it could not be opened by the service.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import sqlite3
import stat
from pathlib import Path


class ServedElsewhere(Exception):
    """Another `wirewatch run` serves this SQLite database; the message is for a person."""


_AS_OWNER = (
    "run wirewatch as {owner} (on a server set up from deploy/: sudo wirewatch-admin COMMAND ...)"
)


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def me() -> str:
    """The account this process runs as."""
    return user_name(os.geteuid())


def _blocked_folder(path: Path) -> Path | None:
    """The first folder on the way to `path` this process may not enter, if any."""
    for folder in reversed(path.absolute().parents):
        if folder.is_dir() and not os.access(folder, os.X_OK):
            return folder
    return None


def _owned(path: Path) -> str:
    info = path.stat()
    return f"it belongs to {user_name(info.st_uid)}, mode {stat.S_IMODE(info.st_mode):04o}"


def unreachable(path: Path) -> str | None:
    """Why this process cannot read the file at `path` (None when it can, or when there is no
    file there at all)."""
    folder = _blocked_folder(path)
    if folder is not None:
        owner = user_name(folder.stat().st_uid)
        return (
            f"cannot reach {path}: the folder {folder} is closed to {me()} ({_owned(folder)}); "
            + _AS_OWNER.format(owner=owner)
        )
    if path.exists() and not os.access(path, os.R_OK):
        owner = user_name(path.stat().st_uid)
        return (
            f"cannot read {path}: {_owned(path)}, and this command runs as {me()}; "
            + _AS_OWNER.format(owner=owner)
        )
    return None


def not_writer(path: Path) -> str | None:
    """Why this process must not write the existing database at `path` (None when it may)."""
    if os.geteuid() == 0 or not path.exists():
        return None
    owner = path.stat().st_uid
    if owner == os.geteuid():
        return None
    name = user_name(owner)
    return (
        f"{path} belongs to {name} and this command writes it as {me()}: the files SQLite "
        f"keeps beside it (-wal, -shm) would be {me()}'s, which {name} could not open; "
        + _AS_OWNER.format(owner=name)
        + " (commands that only read, such as search and the lists, work for anyone who "
        "can read the file)"
    )


def has_log(path: Path) -> bool:
    """Whether a write-ahead log or its index lies beside the database (a writer has it open,
    or one stopped without cleaning up): then the file alone is not the whole database."""
    return any(path.with_name(path.name + suffix).exists() for suffix in ("-wal", "-shm"))


def read_only_uri(path: Path, *, immutable: bool = False) -> str:
    """The URI SQLite opens `path` with for reading only. `immutable`: the file alone is the
    whole database (no write-ahead log beside it) and nobody writes it meanwhile; SQLite then
    needs no shared-memory file, which a reader may not be allowed to create."""
    uri = f"{path.absolute().as_uri()}?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def read_only_failure(path: Path, exc: sqlite3.Error) -> tuple[bool, str]:
    """A read-only open that failed: (retry as immutable, the reason for a person).

    SQLite reads a database in WAL mode through its shared-memory file (-shm), which it must be
    able to create when it is missing (the service closed and removed it) and to read when it
    exists (the service runs: its newest writes are in the -wal)."""
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    code = getattr(exc, "sqlite_errorcode", None)
    codes = {getattr(sqlite3, n, -1) for n in ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN")}
    if code in codes and not wal.exists() and not shm.exists():
        return True, ""
    for companion in (wal, shm):
        if companion.exists() and not os.access(companion, os.R_OK):
            owner = user_name(companion.stat().st_uid)
            return False, (
                f"cannot read {companion}, which holds the running service's newest writes "
                f"({_owned(companion)}); " + _AS_OWNER.format(owner=owner)
            )
    return False, f"cannot read {path}: {exc}"


def holder(path: Path) -> int | None:
    """Another process that has the SQLite database at `path` open, if any (its pid; 0 when
    the kernel does not say which). SQLite keeps a shared lock on the file, and in WAL mode on
    its -shm, for as long as a connection is open; Linux lists every process's locks in
    /proc/locks, which is read rather than probed: closing a descriptor of the file this
    process opened itself would drop the locks SQLite holds on it here. None when nobody else
    holds it, or where /proc/locks cannot be read (not Linux)."""
    files = set()
    for name in (path, path.with_name(path.name + "-shm")):
        try:
            info = name.stat()
        except OSError:
            continue
        files.add((os.major(info.st_dev), os.minor(info.st_dev), info.st_ino))
    if not files:
        return None
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        # "1: POSIX  ADVISORY  READ 1234 fe:00:2146556 128 128"; "1: -> ..." waits for a lock.
        fields = line.split()
        if len(fields) < 6 or fields[1] == "->" or fields[1] not in ("POSIX", "OFDLCK"):
            continue
        try:
            major, minor, inode = fields[5].split(":")
            where = (int(major, 16), int(minor, 16), int(inode))
            pid = int(fields[4])
        except ValueError:
            continue
        if where in files and pid != os.getpid():
            return max(pid, 0)
    return None


def process_name(pid: int) -> str:
    """`pid` with its command line, for a person ("pid 1234: wirewatch run")."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"pid {pid}" if pid else "a process this one cannot see"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    shown = " ".join(" ".join((Path(words[0]).name, *words[1:])).split())
    return f"pid {pid}: {shown[:120]}" if shown else f"pid {pid}"


def service_lock(path: Path) -> int | None:
    """Take the lock one SQLite database's service holds while it runs (`<db>.run.lock`, an
    flock the kernel lets go however the process ends) and write this process's pid in it.
    One SQLite file serves one `wirewatch run`: two would each poll the bot (Telegram refuses
    the second, in a loop) and each deliver the outbox, sending alerts twice. Returns the lock's
    descriptor, to keep open while the service runs; None where no lock file can be made (the
    open that follows says why the folder is unusable). Raises ServedElsewhere naming the
    process that holds it."""
    lock = path.with_name(path.name + ".run.lock")
    try:
        if path.parent.parent.is_dir():
            path.parent.mkdir(exist_ok=True)  # as Database.open makes var/ on a fresh clone
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except PermissionError:
        try:  # made by root, say: a lock needs no write access
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            return None
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        said = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        who = process_name(int(said)) if said.isdigit() else "another process"
        raise ServedElsewhere(
            f"{path} is served by another `wirewatch run` ({who}): one SQLite database serves "
            "one service, and a second would poll the bot against the first and send alerts "
            "twice; stop that one first (on a server set up from deploy/: sudo systemctl stop "
            "wirewatch), or split the service over PostgreSQL (`run --role`)"
        ) from None
    with contextlib.suppress(OSError):  # a read-only descriptor: the lock holds all the same
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
    return fd
