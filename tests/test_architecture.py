"""The layout holds: import contracts kept (and able to fail), files of a readable size."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "sources", "storage")
MAX_LINES = 600  # a production module longer than this holds more than one concern
LINT = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", LINT, "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_tree(target: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(
            REPO / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "data")
        )
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


def test_import_contracts_are_kept() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("bot/drafting/html.py", "import storage.store", "matching and drafting are pure"),
        ("storage/models.py", "import bot.settings", "storage neither"),
        ("bot/desk/desk.py", "import aiogram", "aiogram only in bot.delivery"),
        ("bot/ingest/pipeline.py", "import telethon", "telethon only in sources.telegram"),
        ("bot/matching/rules.py", "import bot.handlers", "bot packages import down the flow"),
    ],
)
def test_a_wrong_import_breaks_the_lint(
    tmp_path: Path, module: str, bad_import: str, contract: str
) -> None:
    root = copy_tree(tmp_path)
    with (root / module).open("a", encoding="utf-8") as f:
        f.write(f"\n{bad_import}  # noqa\n")
    result = lint_imports(root)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout


def test_production_modules_stay_readable() -> None:
    sizes = {
        str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
        for name in PACKAGES
        for path in (REPO / name).rglob("*.py")
    }
    too_long = {path: n for path, n in sizes.items() if n >= MAX_LINES}
    assert not too_long, f"split these by concern: {too_long}"


def test_bot_top_level_is_packages() -> None:
    modules = sorted(p.name for p in (REPO / "bot").glob("*.py") if p.name != "__init__.py")
    assert modules == ["settings.py"]
