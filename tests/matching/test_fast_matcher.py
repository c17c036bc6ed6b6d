"""The many-rules matcher (clauses decided by set operations, spans worked out when read) finds
exactly what evaluating each rule's tree on its own finds, and analysis gives the same words,
keys and columns as the plain word-by-word way."""

from __future__ import annotations

import random

import pytest

from bot.matching import (
    Matcher,
    RuleMatch,
    RuleSyntaxError,
    analyze,
    match_rule,
    normalize,
    parse_rule,
)
from bot.matching.clauses import to_clauses
from bot.matching.lemmas import text_keys, text_lang
from bot.matching.normalize import SENTENCE_BREAK_RE, normalize_word_uncached, token_re
from bot.matching.parts import compile_part

# Written for these tests: words in several forms, names, acronyms, numbers, look-alikes.
WORDS = str.split(
    "обмін обміну обміном полонені полоненими полонених переговори переговорів Умєров Умєрова "
    "Умерову Київ Києві рада ради радий мобілізація мобілізації мобільний дрон дрони дронів "
    "енергетика енергетики заявив заявила обмен пленные переговоры Москва Москве meeting meet "
    "met talks talk US us NATO nato Hamas F-16 f-16 F-15 84 2025 пам'ять памʼяті O'Brien "
    "Зeлeнський Зеленський Туреччина Туреччині трек гуманітарний гуманітарного"
)
ODD_WORDS = ["Умє\u00adров", "за\u0301мок", "обмі\u200bн", "и\u0306од"]
SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", "\n", " — ", "; ", ": ", " («", "») "]
TERMS = [
    "обмін", "полонені", "переговори", "Умєров", "Київ", "рада", "дрон", "енергетика",
    "заявити", "обмен", "Москва", "meeting", "talk", "Hamas", "84", "пам'ять", "Зеленський",
    "Туреччина", "=обміну", "=дрони", "мобіліз*", "пере*", "енерг*", '"обмін полоненими"',
    '"гуманітарний трек"', '"Умєров заявив"', "US", "NATO", "F-16", "/F-1[56]/", r"/\d{4}/",
    "from:@chan_a",
]  # fmt: skip
CHANNELS = ["chan_a", "chan_b", "@Chan_C"]


def _text(rng: random.Random, n: int) -> str:
    out: list[str] = []
    for _ in range(n):
        word = rng.choice(ODD_WORDS) if rng.random() < 0.03 else rng.choice(WORDS)
        out.append(word + rng.choice(SEPARATORS))
    return "".join(out)


def _rule(rng: random.Random, depth: int = 0) -> str:
    """A random rule in the rule language: terms, AND, OR, NOT, parentheses."""
    shape = rng.random()
    if depth >= 2 or shape < 0.4:
        return rng.choice(TERMS)
    parts = [_rule(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    if shape < 0.7:
        return " ".join(p if rng.random() < 0.8 else "-" + _group(p) for p in parts)
    return " OR ".join(_group(p) for p in parts)


def _group(rule: str) -> str:
    return f"({rule})" if " " in rule else rule


def _reference_ids(trees: dict[int, tuple[object, str | None]], text: str, chan: str) -> list[int]:
    a = analyze(text)  # its own analysis: nothing shared with the matcher's
    ch = chan.lower().lstrip("@")
    return sorted(
        rid
        for rid, (tree, only) in trees.items()
        if (only is None or only == ch) and tree.test(a, ch)  # type: ignore[attr-defined]
    )


def test_the_matcher_agrees_with_each_rules_tree_on_random_rules_and_posts() -> None:
    rng = random.Random(20261130)
    m = Matcher()
    trees: dict[int, tuple[object, str | None]] = {}
    nodes = {}
    rid = 0
    while len(trees) < 400:
        try:
            node = parse_rule(_rule(rng))
        except RuleSyntaxError:
            continue
        rid += 1
        only = rng.choice(["chan_b", None, None, None])
        m.add(rid, node, channel=only)
        trees[rid] = (compile_part(node), only)
        nodes[rid] = node
    posts = [(_text(rng, rng.randint(3, 40)), rng.choice(CHANNELS)) for _ in range(150)]
    matched = 0
    for round_ in range(2):
        for text, chan in posts:
            got = m.match(analyze(text), chan)
            assert [g.rule_id for g in got] == _reference_ids(trees, text, chan), text
            for g in got:
                want = match_rule(nodes[g.rule_id], text, chan)
                assert want is not None and g.spans == want.spans
            matched += len(got)
        # Remove a third of the rules and replace some: the index forgets them entirely.
        for gone in rng.sample(sorted(trees), len(trees) // 3):
            m.remove(gone)
            del trees[gone]
        for _ in range(50):
            try:
                node = parse_rule(_rule(rng))
            except RuleSyntaxError:
                continue
            rid += 1
            m.add(rid, node)
            trees[rid], nodes[rid] = (compile_part(node), None), node
        assert round_ >= 0
    assert matched > 500  # the rules do match: the comparison is not of empty lists
    m.clear()
    assert len(m) == 0 and not m._atoms and not any(m._found.values()) and not m._by_size


def test_a_rule_of_too_many_clauses_is_decided_by_its_tree() -> None:
    query = " ".join(f"({a} OR {b})" for a, b in zip(WORDS[0:14:2], WORDS[1:14:2], strict=True))
    node = parse_rule(query)
    assert to_clauses(node) is None  # 2**7 clauses: past the limit
    m = Matcher()
    m.add(1, node)
    m.add(2, parse_rule("обмін"))
    yes = "обмін полоненими, переговори Умєров у Києві, рада і дрони."
    # Nothing of (Києві OR рада); Умєров is (Умерову OR Київ), a surname in any case.
    no = "обмін полоненими, переговори Умєров і дрони."
    assert [r.rule_id for r in m.match(yes, "x")] == [1, 2]
    assert match_rule(node, yes, "x") is not None and match_rule(node, no, "x") is None
    assert [r.rule_id for r in m.match(no, "x")] == [2]


def test_spans_are_worked_out_when_read_and_equal_match_rules() -> None:
    m = Matcher()
    queries = ["обмін", '"обмін полоненими"', "мобіліз* -Туреччина", "NATO OR /F-1[56]/"]
    for n, q in enumerate(queries):
        m.add(n, parse_rule(q))
    text = "Обмін полоненими і мобілізація: NATO передає F-16. Обмін триває."
    got = m.match(text, "x")
    assert [g.rule_id for g in got] == [0, 1, 2, 3]
    assert not any(g.spans_found for g in got)
    for g in got:
        want = match_rule(parse_rule(queries[g.rule_id]), text, "x")
        assert want is not None
        assert g.spans == want.spans and g.spans_found
        assert g == RuleMatch(g.rule_id, want.spans)
    assert [text[s.start : s.end] for s in got[1].spans] == ["Обмін полоненими"]


# ----------------------------------------------------------------------------- analysis


def _reference(text: str) -> tuple[list[tuple[int, int, str, tuple[str, ...]]], str, str]:
    """Words, norm and lemma columns the plain way: word by word, no cache."""
    lang = text_lang(text)
    words = []
    for m in token_re(text).finditer(text):
        form = normalize_word_uncached(m.group())
        keys = tuple(sorted(set(text_keys(form, lang, m.group()[:1].isupper()))))
        words.append((m.start(), m.end(), form, keys))
    return words, normalize(text), _lemma_column(text, words)


def _lemma_column(text: str, words: list[tuple[int, int, str, tuple[str, ...]]]) -> str:
    """Each word's keys joined by "|" ("-" for none), "." where a sentence break parts two."""
    breaks = [m.start() for m in SENTENCE_BREAK_RE.finditer(text)]
    out: list[str] = []
    for i, (start, _, _, keys) in enumerate(words):
        if i and any(words[i - 1][1] <= b < start for b in breaks):
            out.append(".")
        out.append("|".join(sorted(set(keys))) if keys else "-")
    return " ".join(out)


@pytest.mark.parametrize("seed", range(4))
def test_analysis_equals_the_word_by_word_reference(seed: int) -> None:
    rng = random.Random(seed)
    texts = [_text(rng, rng.randint(0, 60)) for _ in range(60)]
    texts += ["", "   ", "...", "84", "«Умєров»", "a\u0301", "\u00ad", "слово\u200b", "ʼслово'"]
    for text in texts:
        a = analyze(text)
        words, norm, lemmas = _reference(text)
        assert [(t.start, t.end, t.form, tuple(sorted(t.keys))) for t in a.tokens] == words
        assert a.spans == [(s, e) for s, e, *_ in words]
        assert (a.norm, a.lemma_text) == (norm, lemmas)
        assert a.keyset == frozenset(k for *_, keys in words for k in keys)
        assert a.formset == frozenset(f for _, _, f, _ in words)
        assert len(a) == len(words) and len(a.gaps) == len(words) + 1
