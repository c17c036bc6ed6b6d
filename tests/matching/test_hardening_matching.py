"""Matching hardening: user regexes cannot stall the service, invisible characters do not hide a
word, English rules are lemmatised by a dictionary and acronyms are case-sensitive.

Every text here is made up for these tests.
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest

from bot.matching import analyze, match_rule, parse_rule, rule_from_json, rule_to_json
from bot.matching.normalize import normalize
from bot.matching.rules import Exact, RuleSyntaxError

# Patterns the old guard (which inspected Python's regex tree) accepted, and texts on which
# Python's backtracking engine runs for minutes or more: each is exponential in the run of letters.
CATASTROPHIC = [
    ("(a+){1,100}!", "a" * 40),
    ("(.|..){1,100}!", "Заява міністра. " * 18 + "x" * 7),  # 295 characters
    ("(\\w+){2,100}!", "abcdefghijklmnopqrstuvwxyzabcdefghijklmn"),
]

_PROBE = """
import sys
from bot.matching import analyze, match_rule, parse_rule
pattern, text = sys.argv[1], sys.argv[2]
node = parse_rule("/" + pattern + "/")
print(match_rule(node, analyze(text), "ch") is not None)
"""


@pytest.mark.parametrize(("pattern", "text"), CATASTROPHIC)
def test_bounded_repeats_cannot_stall_matching(pattern: str, text: str) -> None:
    """In a child process, so that a backtracking engine that never returns fails this test
    (after a generous limit) instead of hanging the suite; RE2 answers at once."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, pattern, text],
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"matching /{pattern}/ against {len(text)} characters did not finish")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_regexes_run_on_re2() -> None:
    # RE2 has no look-around; Python's re accepted it, and with it its backtracking.
    with pytest.raises(RuleSyntaxError, match="look-around"):
        parse_rule("/(?<=x)y/")
    with pytest.raises(RuleSyntaxError, match="too complex"):
        parse_rule("/(.|..){1,1000}!/")
    # Nested repeats are harmless in linear time, so they are no longer refused.
    node = parse_rule("/(a+)+b/")
    assert match_rule(node, "caaab", "") is not None


def test_unicode_word_classes_and_edges_keep_their_meaning() -> None:
    node = parse_rule(r"/\bукра\w+/")
    text = "Мукран. Україна і українці."
    found = match_rule(node, text, "")
    assert found is not None
    assert [text[s.start : s.end] for s in found.spans] == ["Україна", "українці"]
    assert match_rule(node, "Мукран", "") is None


def test_format_characters_list_is_unicode_cf() -> None:
    from bot.matching.normalize import strip_format

    listed = {ch for ch in map(chr, range(0x110000)) if strip_format(ch) == ""}
    cf = {ch for ch in map(chr, range(0x110000)) if unicodedata.category(ch) == "Cf"}
    assert listed == cf


@pytest.mark.parametrize("mark", ["\u00ad", "\u200b", "\u200c", "\u2060", "\ufeff", "\u200e"])
def test_invisible_characters_do_not_split_a_word(mark: str) -> None:
    text = f"Міністр Умє{mark}ров прибув. Говорив Умє{mark}рову."
    node = parse_rule("Умєров")
    found = match_rule(node, text, "")
    assert found is not None and len(found.spans) == 2
    # Highlights cover the word as written, invisible character included.
    assert text[found.spans[0].start : found.spans[0].end] == f"Умє{mark}ров"
    a = analyze(text)
    assert mark not in a.norm and "умєров" in a.norm.split()
    assert normalize(f"Умє{mark}ров") == "умєров"
    assert "~умеров" in a.lemma_text.split()  # the stem key, spelling folded, mark kept


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("US", "The US envoy arrived.", True),
        ("US", "He told us the news.", False),
        ("US", "US-backed talks resumed.", True),
        ("NATO", "NATO allies met.", True),
        ("NATO", "Nato allies met.", False),
        ("us", "He told us the news.", True),
        ("Hamas", "Fighting near Hama went on.", False),
        ("Hamas", "Hamas said it had received the plan.", True),
        ("news", "A new plan.", False),
        ("negotiate", "They negotiated for hours.", True),
        ("negotiate", "Negotiating teams arrived.", True),
        ("meet", "The ministers met in Ankara.", True),
        ("attack", "Drones attacked the port.", True),
        ("attacks", "They attacked at night.", True),
        ('"US sanctions"', "New US sanctions were announced.", True),
    ],
)
def test_english_rules(rule: str, text: str, expected: bool) -> None:
    assert (match_rule(parse_rule(rule), text, "") is not None) is expected


def test_acronym_is_stored_and_shown_as_written() -> None:
    node = parse_rule("US -Canada")
    assert rule_from_json(rule_to_json(node)) == node
    assert Exact("us", cased="US") in node.parts  # type: ignore[union-attr]
    found = match_rule(node, "The US and the EU.", "")
    assert found is not None and found.spans[0].term == "US"
