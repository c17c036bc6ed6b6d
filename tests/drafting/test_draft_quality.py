"""The draft-quality benchmark's checker catches what sub-editors fix, and the drafts of the
demo feed plus the benchmark's own posts pass it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "drafts.py"
    spec = importlib.util.spec_from_file_location("bench_drafts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_drafts"] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()
META_UK = "\n18:08, 5 січня · https://t.me/x/1"
META_EN = "\n6:08 p.m., Jan. 5 · https://t.me/x/1"


@pytest.mark.parametrize(
    ("plain", "lang", "problem"),
    [
        ("Умєров повідомив у Telegram: «Процес триває.»" + META_UK, "uk", "full stop inside"),
        ("Умєров повідомив у Telegram: «Процес триває»" + META_UK, "uk", "no full stop after"),
        ("Умєров повідомив у Telegram: ««Процес»»." + META_UK, "uk", "same-kind"),
        ("Умєров повідомив у Telegram: «Так 🇺🇦»." + META_UK, "uk", "emoji"),
        (
            "Умєров повідомив у Telegram: «Процес триває», — наголосив він»." + META_UK,
            "uk",
            "tail",
        ),
        ("Umerov said on Telegram: “Процес.”\n18:08, 5 January · x", "en", "time not in en"),
        ("Umerov said on Telegram: “Процес «триває».”" + META_EN, "en", "guillemets"),
        ("Генштаб повідомив у Telegram." + META_UK, "uk", "nothing said"),
        ("Умєров повідомив у Telegram: «Так»." + "\n18:08, 5 січня 2024 · x", "uk", "року"),
    ],
)
def test_the_checker_finds_what_a_sub_editor_fixes(plain: str, lang: str, problem: str) -> None:
    assert any(problem in e for e in bench.check_draft(plain, lang)), bench.check_draft(
        plain, lang
    )


def test_good_drafts_pass_the_checker() -> None:
    assert bench.check_draft("Умєров повідомив у Telegram: «Процес триває»." + META_UK, "uk") == []
    assert bench.check_draft("Umerov said on Telegram: “Процес ‘триває’.”" + META_EN, "en") == []
    abbreviation = "Умєров повідомив у Telegram: «Обмін відбувся 1 груд. 2025 р.»."
    assert bench.check_draft(abbreviation + META_UK, "uk") == []


def test_the_benchmark_drafts_have_no_typography_errors_and_beat_the_anchor() -> None:
    table = bench.measure()
    for lang, row in table.items():
        assert row["errors"] == 0, lang
        assert row["newsworthy"] > row["anchor"], lang
        assert row["drafts"] >= 80
