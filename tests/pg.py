"""A throwaway PostgreSQL server for the tests: initdb into a temp dir, start on a free port,
stop at the end of the session. One server per test session (per worker under pytest-xdist);
each test gets its own schema.

Found through `initdb` on PATH or the Debian layout (/usr/lib/postgresql/N/bin), which
`make test` installs. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` user the Debian package creates. Set TEST_POSTGRES_URL to use a server of your own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

OWN_SERVER_ENV = "TEST_POSTGRES_URL"


@dataclass
class PgServer:
    url: str | None  # the database to make test schemas in; None when none could start
    reason: str = ""
    _stop: list[str] = field(default_factory=list)
    _dir: str | None = None

    def stop(self) -> None:
        if self._stop:
            subprocess.run(self._stop, capture_output=True, timeout=60, check=False)
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# A session writes ~30,000 files (some 200 migrated schemas) and ~300 MB of WAL: removing them
# from a disk took 8-30 s at the end of a loaded run, from memory well under one. The server's
# files go to /dev/shm when it has room to spare (a container's default 64 MB has not).
_MEMORY_DIR = "/dev/shm"
_MEMORY_ROOM = 4 << 30


def _data_parent() -> str | None:
    """Where the server's temp dir goes: memory if it has room, else the usual temp dir."""
    try:
        st = os.statvfs(_MEMORY_DIR)
    except OSError:
        return None
    room = st.f_bavail * st.f_frsize
    return _MEMORY_DIR if room >= _MEMORY_ROOM and os.access(_MEMORY_DIR, os.W_OK) else None


def start() -> PgServer:
    own = os.environ.get(OWN_SERVER_ENV)
    if own:
        return PgServer(own)
    bindir = _bin_dir()
    if bindir is None:
        return PgServer(
            None,
            "no PostgreSQL server binaries (initdb) installed; `make test` "
            "installs the postgresql package when run as root",
        )
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            return PgServer(
                None,
                "running as root and there is no `postgres` user to run the "
                "server as (PostgreSQL refuses root)",
            )
        runuser = shutil.which("runuser")
        if runuser is None:
            return PgServer(None, "running as root without `runuser` to drop to `postgres`")
        as_user = [runuser, "-u", "postgres", "--"]
    top = tempfile.mkdtemp(prefix="wirewatch-pg-", dir=_data_parent())
    if owner is not None:
        os.chown(top, owner.pw_uid, owner.pw_gid)
    data = os.path.join(top, "data")
    port = _free_port()
    server = PgServer(None, _dir=top)

    def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*as_user, *cmd], capture_output=True, text=True, timeout=120, check=False, cwd=top
        )

    init = run(
        [str(bindir / "initdb"), "-D", data, "-U", "wirewatch", "--auth=trust",
         "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]
    )  # fmt: skip
    if init.returncode != 0:
        server.stop()
        server.reason = f"initdb failed: {(init.stderr or init.stdout).strip()[-400:]}"
        return server
    opts = (
        f"-p {port} -k {top} -c listen_addresses=127.0.0.1 -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        " -c shared_buffers=32MB -c max_wal_size=128MB -c min_wal_size=32MB"
    )
    started = run(
        [str(bindir / "pg_ctl"), "-D", data, "-o", opts, "-l", os.path.join(top, "log"),
         "-w", "-t", "90", "start"]
    )  # fmt: skip
    if started.returncode != 0:
        log = (
            Path(top, "log").read_text(errors="replace")[-400:]
            if Path(top, "log").exists()
            else ""
        )
        server.stop()
        server.reason = f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log}"
        return server
    server._stop = [*as_user, str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"]
    created = run(
        [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "wirewatch", "-d",
         "postgres", "-c", "CREATE DATABASE wirewatch_test"]
    )  # fmt: skip
    if created.returncode != 0:
        server.stop()
        server.reason = f"cannot create the test database: {created.stderr.strip()[-300:]}"
        return server
    server.url = f"postgresql://wirewatch@127.0.0.1:{port}/wirewatch_test"
    return server
