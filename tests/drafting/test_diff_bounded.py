"""An edit's diff costs bounded work whatever the text repeats (bot/drafting/diff.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.drafting import diff as diff_mod
from bot.drafting.diff import diff_plain, opcodes, word_diff
from tests.drafting.test_compose import check_contract, edit_alert


# The old diff took 80 s for word_diff and 61 s more for changed_spans on this machine; the new
# one takes milliseconds. The limit only stops a run that would otherwise hang for minutes.
@pytest.mark.timeout(60)
def test_an_edit_of_a_post_that_repeats_one_word_is_drafted_at_once() -> None:
    # A channel's "+ + + …" row (or a line of flags, a table of zeros) as long as Telegram
    # allows, then every fifth mark replaced: difflib's longest-run search walked every pair
    # of equal words once per shared run.
    old = " ".join(["+"] * 2048)[:4096]
    marks = old.split(" ")
    marks[::5] = ["ж"] * len(marks[::5])
    new = " ".join(marks)
    payload = edit_alert(old, new)
    check_contract(payload)
    changes = payload["plain"].split("Що змінилося:\n")[1].split("\n\n")[0]
    assert changes.startswith("[-+-] {+ж+} + + + +"), changes[:80]
    assert "…і ще змін:" in changes


def _apply(a: list[str], b: list[str], codes: list[diff_mod.Opcode]) -> list[str]:
    """`b` rebuilt from `a` and the opcodes, each of `a`'s words consumed once, in order."""
    out: list[str] = []
    at_a = at_b = 0
    for tag, i1, i2, j1, j2 in codes:
        assert (i1, j1) == (at_a, at_b), codes
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
            out += a[i1:i2]
        else:
            out += b[j1:j2]
        at_a, at_b = i2, j2
    assert (at_a, at_b) == (len(a), len(b))
    return out


_words = st.lists(st.sampled_from(["а", "б", "в", ",", "Київ", "1000"]), max_size=60)


@settings(max_examples=200, deadline=None)
@given(a=_words, b=_words)
def test_either_aligner_turns_the_old_words_into_the_new(a: list[str], b: list[str]) -> None:
    assert _apply(a, b, opcodes(a, b)) == b
    saved = diff_mod.DIFFLIB_PAIRS
    diff_mod.DIFFLIB_PAIRS = -1  # rapidfuzz's alignment for every pair of texts
    try:
        assert _apply(a, b, opcodes(a, b)) == b
    finally:
        diff_mod.DIFFLIB_PAIRS = saved


def test_a_few_changed_words_read_the_same_with_either_aligner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = "Сьогодні вночі ворог атакував Харків: пошкоджено два будинки, поранено трьох людей."
    new = "Сьогодні вночі ворог атакував Харків: пошкоджено три будинки, поранено п'ятьох людей."
    shown = diff_mod.diff_plain(diff_mod.word_diff(old, new), "uk")
    monkeypatch.setattr(diff_mod, "DIFFLIB_PAIRS", -1)
    assert diff_mod.diff_plain(diff_mod.word_diff(old, new), "uk") == shown
    assert "[-два-] {+три+}" in shown and "[-трьох-] {+п'ятьох+}" in shown


def test_an_edits_context_starts_and_ends_at_whole_words() -> None:
    # An official corrected one figure: the context before it began inside "10:00"
    # (it read "…:00. Повернуться [-40-] {+50+} людей."), a clock a journalist cannot use.
    old = "Обмін полоненими відбудеться завтра о 10:00. Повернуться 40 людей, серед них 3 жінки."
    new = old.replace("40", "50")
    shown = diff_plain(word_diff(old, new))
    assert shown == "…завтра о 10:00. Повернуться [-40-] {+50+} людей, серед них 3…"
    # Nor does it end inside a figure or a web address.
    old = "Усього 40 людей повернулися. Реєстрація: https://gov.example/ua/list.html сьогодні."
    shown = diff_plain(word_diff(old, old.replace("40", "45")))
    assert (
        shown
        == "Усього [-40-] {+45+} людей повернулися. Реєстрація: https://gov.example/ua/list.html…"
    )


def test_a_changed_clock_figure_or_address_is_shown_whole() -> None:
    # "[-10-] {+11+}:[-00-] {+30+}" and "1.[-5-] {+7+} млн": the change cut inside a clock
    # and a figure; a sub-editor had to piece the old and new values together.
    old = "Обмін відбудеться завтра о 10:00. Повернуться 40 людей."
    assert diff_plain(word_diff(old, old.replace("10:00", "11:30"))) == (
        "Обмін відбудеться завтра о [-10:00-] {+11:30+}. Повернуться 40 людей."
    )
    assert diff_plain(word_diff("Ціна 1.5 млн грн.", "Ціна 1,75 млн грн.")) == (
        "Ціна [-1.5-] {+1,75+} млн грн."
    )
    assert (
        diff_plain(
            word_diff("Деталі: https://gov.example/a/1.", "Деталі: https://gov.example/a/2.")
        )
        == "Деталі: [-https://gov.example/a/1-] {+https://gov.example/a/2+}."
    )
