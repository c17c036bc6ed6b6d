"""deploy/ as an operator meets it: the systemd unit parses, commands run through
wirewatch-admin land where the service looks, and the compose files do not let the operator's
.env undo what the container needs. (No Docker engine here: the compose files are read, not
run.)"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
WIREWATCH = Path(sys.executable).with_name("wirewatch")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_unit_parses_without_a_warning(tmp_path: Path) -> None:
    unit = (DEPLOY / "wirewatch.service").read_text(encoding="utf-8")
    # verify checks that the commands exist: point them at this checkout's.
    unit = unit.replace("/opt/wirewatch/bin/wirewatch", str(WIREWATCH))
    (tmp_path / "wirewatch.service").write_text(unit, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "wirewatch.service")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def _admin(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        WW_USER=pwd.getpwuid(os.getuid()).pw_name,
        WW_STATE=str(tmp_path / "state"),
        WW_ENV_FILE=str(tmp_path / "etc" / "wirewatch.env"),
        WW_BIN=str(WIREWATCH),
    )
    return subprocess.run(
        [str(DEPLOY / "wirewatch-admin"), *argv],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path / "elsewhere",  # the admin's own folder is not the service's
        timeout=120,
    )


@pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("runuser") is None, reason="wirewatch-admin runs as root"
)
def test_commands_through_wirewatch_admin_use_the_services_folder_and_settings(
    tmp_path: Path,
) -> None:
    """The unit's install steps used to log in with `sudo -u wirewatch env $(grep ...) wirewatch
    login` from the admin's folder: the session landed there, not where the service reads it."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(ROOT / ".env.example", tmp_path / "etc" / "wirewatch.env")
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"channel": "regional_head_test", "id": 1, "date": "2025-11-18T08:00:00+02:00", '
        '"text": "Відновили живлення в області."}\n',
        encoding="utf-8",
    )
    imported = _admin(tmp_path, "import", str(feed))
    assert imported.returncode == 0, imported.stderr
    state = tmp_path / "state"
    assert (state / "var" / "wirewatch.db").is_file()
    assert not (tmp_path / "elsewhere" / "var").exists()
    assert (state.stat().st_mode & 0o777) == 0o700
    doctor = _admin(tmp_path, "doctor", "--json")
    rows = {r["check"]: r for r in json.loads(doctor.stdout)}
    assert rows["database"]["status"] == "ok", rows["database"]
    assert rows["archive"]["detail"].startswith("1 posts")


def _compose(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))
    return doc


def _wirewatch_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in doc["services"].items()
        if svc.get("image", "").startswith("wirewatch")
    }


@pytest.mark.parametrize("name", ["compose.yaml", "compose.postgres.yaml"])
def test_compose_keeps_the_health_port_reachable_whatever_env_says(name: str) -> None:
    """Compose gives `environment:` precedence over `env_file:`, and both over the image's
    ENV: the .env made from .env.example says WIREWATCH_HEALTH_HOST=127.0.0.1, which inside a
    container is unreachable through the published port."""
    for svc_name, svc in _wirewatch_services(_compose(name)).items():
        env = svc.get("environment", {})
        assert env.get("WIREWATCH_HEALTH_HOST") == "0.0.0.0", svc_name


def test_split_roles_share_the_media_and_the_glossary() -> None:
    """Notifiers send the photo a listener kept, and drafts use the glossary the bot edits:
    each container with its own /data saw neither."""
    services = _wirewatch_services(_compose("compose.postgres.yaml"))
    places = set()
    for svc_name, svc in services.items():
        env = svc.get("environment", {})
        media = env.get("WIREWATCH_CAPTURE__MEDIA_DIR")
        glossary = env.get("WIREWATCH_DRAFTS__GLOSSARY")
        assert media and glossary, svc_name
        mounts = {v.split(":")[1]: v.split(":")[0] for v in svc.get("volumes", [])}
        for path in (media, glossary):
            mount = next((m for m in mounts if path.startswith(m + "/")), None)
            assert mount is not None, (svc_name, path)
            places.add((mounts[mount], path))
    assert len({volume for volume, _ in places}) == 1, places
