"""A disk that fills up under `wirewatch import`, simulated safely: the command runs with a
file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored, so a write past it fails as on a full disk).
The operator gets one line saying what failed, the archive keeps everything committed before,
and the same import run again with room finishes it."""

from __future__ import annotations

import json
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

WIREWATCH = Path(sys.executable).with_name("wirewatch")
DEMO = Path(__file__).resolve().parents[2] / "bot" / "data" / "demo_feed.jsonl"


def _wirewatch(
    cwd: Path, *argv: str, limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    def cap() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [str(WIREWATCH), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=cap,
        timeout=300,
    )


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="no RLIMIT_FSIZE")
def test_import_onto_a_full_disk_says_so_in_one_line_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    assert _wirewatch(tmp_path, "--db", str(db), "import", str(DEMO)).returncode == 0
    conn = sqlite3.connect(db)
    demo_posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    conn.close()
    feed = tmp_path / "bulk.jsonl"
    lines = [
        json.dumps(
            {
                "channel": "bulk_energy_test",
                "id": n,
                "date": "2025-11-18T08:00:00+02:00",
                "text": f"Повідомлення {n} про відновлення енергетики в області. " * 5,
            },
            ensure_ascii=False,
        )
        for n in range(1, 3001)
    ]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    size = db.stat().st_size
    full = _wirewatch(tmp_path, "--db", str(db), "import", str(feed), limit=size + 200_000)
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr
    line = full.stderr.strip()
    assert len(line.splitlines()) == 1, full.stderr
    assert "disk" in line and "again" in line
    # Nothing lost: the archive is whole, what it held before still there.
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] >= demo_posts
    finally:
        conn.close()
    again = _wirewatch(tmp_path, "--db", str(db), "import", str(feed))
    assert again.returncode == 0, again.stderr
    conn = sqlite3.connect(db)
    try:
        bulk = conn.execute(
            "SELECT count(*) FROM posts JOIN sources ON sources.id = posts.source_id"
            " WHERE sources.username = 'bulk_energy_test'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert bulk == 3000
