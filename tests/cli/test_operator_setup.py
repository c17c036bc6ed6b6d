"""An operator's first hour, as the README walks it: `.env` copied from `.env.example`, `doctor`,
`login` and `run` without credentials. Each step must work or say, in one line, what to do."""

from __future__ import annotations

import shutil
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
