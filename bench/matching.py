"""Benchmark: wirewatch's matcher against the regex loop other monitors use.

    .venv/bin/python bench/matching.py            # 10,000 posts of ~150 words
    .venv/bin/python bench/matching.py --posts 1000
    .venv/bin/python bench/matching.py --quick    # 1,000 posts, 5 s regex loop (`make bench`)

Posts are generated from a small vocabulary written here, expanded to every grammatical form
by pymorphy3, drawn with a Zipf-like skew and salted with made-up surnames (a long tail the
lemma cache has not seen). Rules are 1-3 words, phrases, OR and NOT, in the rule language.

For each rule count (1,000 and 10,000) it measures, in the same run:
- wirewatch: analyze(text) (normalisation and lemmatisation, caches cleared first) and
  Matcher.match over all rules, reading the spans of the first match of each post (what an
  alert shows; the other matches' spans are never worked out); then again with the caches warm;
- baseline: for each rule, a case-insensitive re.search per word (all must be found), in a loop.
The regex loop is slow (~50-100 posts/s at 1,000 rules here), so it runs on the posts in order
for --baseline-seconds (20 by default) and its rate is the posts it finished over the time taken.

Correctness first: outside the timings, every post's analysis is compared with a word-by-word
reference (words, keys, the norm and lemma columns search reads), and every post's matches with
evaluating each rule's tree on its own (no index), spans included for every match; any
difference prints FAILED and exits 1.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import resource
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fail, table_row
from bot.matching import Matcher, RuleNode, analyze, match_rule, normalize, parse_rule
from bot.matching.analysis import clear_caches
from bot.matching.lemmas import _analyzer, text_keys, text_lang
from bot.matching.normalize import SENTENCE_BREAK_RE, normalize_word_uncached, token_re
from bot.matching.parts import compile_part

UK = """
обмін полонений переговори делегація міністр посол ракета дрон удар область місто село
енергетика підстанція електрика уряд президент закон указ санкція партнер допомога зброя
снаряд фронт бригада оборона безпека територія кордон заява зустріч візит саміт угода
гарантія бюджет кредит банк економіка експорт зерно порт корабель флот море небо тривога
укриття евакуація лікарня школа дитина родина волонтер громада рада депутат комітет
розслідування суд вирок прокурор корупція реформа мобілізація призов армія командир солдат
наступ контрнаступ позиція штурм окупант загарбник втрата поранений загиблий рятувальник
пожежа вибух руйнування відбудова інфраструктура газ нафта тариф ціна зарплата пенсія
виплата програма проєкт рішення питання відповідь підтримка співпраця союзник нато
європа україна росія туреччина польща америка німеччина франція британія київ харків
одеса дніпро львів запоріжжя херсон суми чернігів миколаїв полтава вінниця
великий новий важливий міжнародний державний український європейський військовий
гуманітарний енергетичний цивільний офіційний спільний наступний останній перший
заявити повідомити зустрітися обговорити підписати передати отримати відновити
атакувати збити знищити евакуювати допомогти підтримати посилити продовжити
"""
RU = """
обмен пленный переговоры делегация министр посол ракета удар область город село
энергетика подстанция правительство президент закон указ санкция партнер помощь оружие
фронт оборона безопасность граница заявление встреча визит саммит соглашение бюджет
экономика экспорт зерно порт корабль тревога эвакуация больница школа ребенок семья
суд приговор коррупция реформа мобилизация армия наступление потеря пожар взрыв
заявить сообщить обсудить подписать передать получить восстановить поддержать
новый важный международный государственный военный гуманитарный официальный
"""
EN = """
exchange prisoner talks delegation minister ambassador missile drone strike region city
village energy substation government president law decree sanction partner aid weapon
front defense security border statement meeting visit summit agreement guarantee budget
loan bank economy export grain port ship alarm shelter evacuation hospital school child
family volunteer court verdict corruption reform mobilization army offensive loss fire
explosion reconstruction infrastructure gas oil price salary pension program decision
announce report discuss sign deliver receive restore support new important international
"""
FILLER = "і та в у на з до що як але про за від для по не це також вже ще й"

SYLLABLES = tuple(
    [
        "ко",
        "ва",
        "лен",
        "ше",
        "рен",
        "ди",
        "мит",
        "ро",
        "бо",
        "гу",
        "сла",
        "вен",
        "ки",
        "ра",
        "пе",
        "то",
        "ми",
        "ха",
        "ну",
        "жу",
        "чер",
        "бін",
    ]
)


def forms_of(words: Sequence[str], lang: str) -> list[str]:
    out: list[str] = []
    for w in words:
        if lang == "en":
            out += [w, w + "s"] if not w.endswith("s") else [w]
            continue
        parse = _analyzer(lang).parse(w)[0]
        out += sorted({f.word for f in parse.lexeme})
    return out


def dictionary_tail(lang: str, rng: random.Random) -> list[tuple[str, str]]:
    """(form, lemma) pairs sampled from pymorphy3's dictionary: the long tail of a news feed."""
    import itertools

    consonants = "бвгдзклмнпрстфхчш"
    vowels = "аеиоуі" if lang == "uk" else "аеиоуы"
    out: list[tuple[str, str]] = []
    d = _analyzer(lang).dictionary
    for c in consonants:
        for v in vowels:
            for word, _tag, normal, _para, _idx in itertools.islice(
                d.iter_known_words(c + v), 0, 3000, 10
            ):
                out.append((word, normal))
    rng.shuffle(out)
    return out


class Vocabulary:
    def __init__(self, rng: random.Random) -> None:
        self.topical = {"uk": forms_of(UK.split(), "uk"), "ru": forms_of(RU.split(), "ru"),
                        "en": forms_of(EN.split(), "en")}  # fmt: skip
        self.tail = {"uk": dictionary_tail("uk", rng), "ru": dictionary_tail("ru", rng)}
        # Zipf weights over the tail: a few words are common, most are rare.
        self.tail_weights = {
            lang: list(itertools_accumulate(1.0 / (i + 1) for i in range(len(words))))
            for lang, words in self.tail.items()
        }
        self.lemmas = {"uk": UK.split(), "ru": RU.split(), "en": EN.split()}


def itertools_accumulate(values: Iterable[float]) -> Iterable[float]:
    import itertools

    return itertools.accumulate(values)


def make_posts(n: int, words_per_post: int, vocab: Vocabulary, rng: random.Random) -> list[str]:
    fillers = FILLER.split()
    posts: list[str] = []
    for _ in range(n):
        lang = rng.choices(("uk", "ru", "en"), weights=(6, 3, 1))[0]
        topical = vocab.topical[lang]
        words: list[str] = []
        start = True
        for _ in range(words_per_post):
            r = rng.random()
            if r < 0.03:  # a made-up surname, often unseen before
                w = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) + rng.choice(
                    ("", "а", "у", "ом", "ові", "ою")
                )
                w = w.capitalize()
            elif r < 0.25 and lang != "en":
                w = rng.choice(fillers)
            elif r < 0.55 or lang == "en":
                w = rng.choice(topical)
            else:
                tail = vocab.tail[lang]
                w = rng.choices(tail, cum_weights=vocab.tail_weights[lang])[0][0]
            if start:
                w = w.capitalize()
            start = False
            if rng.random() < 0.08:
                w += rng.choice((".", ",", ":", "!"))
                start = w.endswith((".", "!"))
            words.append(w)
        posts.append(" ".join(words))
    return posts


def make_rules(n: int, vocab: Vocabulary, rng: random.Random) -> list[str]:
    rules: list[str] = []
    for _ in range(n):
        lang = rng.choices(("uk", "ru", "en"), weights=(6, 3, 1))[0]
        if lang == "en":
            pool = vocab.lemmas["en"]
        else:
            # Editors watch topical words, and names and terms from the long tail.
            pool = vocab.lemmas[lang] + [lemma for _, lemma in vocab.tail[lang][:3000]]
        ws = rng.sample(pool, 4)
        shape = rng.random()
        if shape < 0.35:
            rules.append(ws[0])
        elif shape < 0.65:
            rules.append(f"{ws[0]} {ws[1]}")
        elif shape < 0.8:
            rules.append(f'"{ws[0]} {ws[1]}"')
        elif shape < 0.9:
            rules.append(f"{ws[0]} OR {ws[1]} {ws[2]}")
        else:
            rules.append(f"{ws[0]} {ws[1]} -{ws[2]}")
    return rules


def baseline_patterns(rules: Sequence[str]) -> list[list[re.Pattern[str]]]:
    """What a substring/regex monitor keeps per rule: one case-insensitive pattern per word."""
    out = []
    for rule in rules:
        words = [w for w in re.findall(r"\w+", rule) if w != "OR"]
        out.append([re.compile(re.escape(w), re.IGNORECASE) for w in words[:2]])
    return out


def run_baseline(
    posts: Sequence[str], patterns: Sequence[list[re.Pattern[str]]], budget: float
) -> tuple[int, int, float]:
    """(posts done, matches, seconds): stops after the post that crosses `budget` seconds."""
    hits = 0
    done = 0
    t0 = time.perf_counter()
    for text in posts:
        for pats in patterns:
            if all(p.search(text) for p in pats):
                hits += 1
        done += 1
        if time.perf_counter() - t0 >= budget:
            break
    return done, hits, time.perf_counter() - t0


def run_wirewatch(posts: Sequence[str], matcher: Matcher) -> int:
    """Match every post, and find where the first matching rule matched: what an alert shows
    (the pipeline reads the spans of the one rule each alert is drafted for)."""
    hits = 0
    for text in posts:
        found = matcher.match(analyze(text), CHANNEL)
        if found:
            found[0].spans  # noqa: B018  (read: the alert's spans are worked out here)
        hits += len(found)
    return hits


CHANNEL = "bench_channel"


def reference_words(text: str) -> tuple[list[tuple[int, int, str, tuple[str, ...]]], str, str]:
    """A post's words, norm and lemma columns the plain way, word by word with no cache: what
    analysis must still give (search reads the stored columns)."""
    lang = text_lang(text)
    words = []
    for m in token_re(text).finditer(text):
        form = normalize_word_uncached(m.group())
        keys = text_keys(form, lang, m.group()[:1].isupper())
        words.append((m.start(), m.end(), form, tuple(sorted(set(keys)))))
    breaks = [m.start() for m in SENTENCE_BREAK_RE.finditer(text)]
    lemmas: list[str] = []
    for i, (start, _, _, keys) in enumerate(words):
        if i and any(words[i - 1][1] <= b < start for b in breaks):
            lemmas.append(".")  # a sentence break parts the two words
        lemmas.append("|".join(keys) if keys else "-")
    return words, normalize(text), " ".join(lemmas)


def check_analysis(posts: Sequence[str]) -> None:
    """Exit 1 unless analysis gives every post the same words, keys and columns."""
    for n, text in enumerate(posts):
        a = analyze(text)
        got = [(t.start, t.end, t.form, tuple(sorted(t.keys))) for t in a.tokens]
        words, norm, lemmas = reference_words(text)
        if got != words or a.norm != norm or a.lemma_text != lemmas:
            fail(f"post {n}: analysis differs from the word-by-word reference")


def check_matches(posts: Sequence[str], matcher: Matcher, parsed: Sequence[RuleNode]) -> int:
    """Exit 1 unless the matcher finds, for every post, the rules that evaluating each rule's
    tree on its own finds (no index, no clauses), and the same spans for each of them.
    Returns the matches compared."""
    trees = [compile_part(node) for node in parsed]
    compared = 0
    for n, text in enumerate(posts):
        got = matcher.match(analyze(text), CHANNEL)
        ref = analyze(text)  # a fresh analysis: nothing shared with the matcher's
        want = [i for i, tree in enumerate(trees) if tree.test(ref, CHANNEL)]
        if [m.rule_id for m in got] != want:
            missing = sorted(set(want) - {m.rule_id for m in got})
            extra = sorted({m.rule_id for m in got} - set(want))
            fail(f"post {n}: rules differ (missing {missing[:10]}, extra {extra[:10]})")
        for m in got:
            want_spans = match_rule(parsed[m.rule_id], ref, CHANNEL)
            if want_spans is None or m.spans != want_spans.spans:
                fail(f"post {n}, rule {m.rule_id}: spans differ")
        compared += len(got)
    return compared


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    t0 = time.perf_counter()
    hits = fn()
    return time.perf_counter() - t0, hits


def cpu_timed(fn: Callable[[], int]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): on a machine other work shares, the CPU
    time is what the run itself cost."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--posts", type=int, default=10_000, help="posts to generate (10,000)")
    ap.add_argument("--words", type=int, default=150, help="words per post (150)")
    ap.add_argument("--rules", default="1000,10000", help="rule counts (1000,10000)")
    ap.add_argument(
        "--baseline-seconds",
        type=float,
        default=20.0,
        help="time the regex loop gets per rule count; it stops after that post (20)",
    )

    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="1,000 posts, 5 s for the regex loop")
    ap.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave the generated data to the garbage collector (see the gc note in the output)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.posts = min(args.posts, 1000)
        args.baseline_seconds = min(args.baseline_seconds, 5.0)
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    vocab = Vocabulary(rng)
    posts = make_posts(args.posts, args.words, vocab, rng)
    warmup = make_posts(args.posts, args.words, vocab, random.Random(args.seed + 1))
    n_words = sum(len(p.split()) for p in posts)
    print(f"generated {len(posts):,} posts, {n_words / len(posts):.0f} words each on average,"
          f" in {time.perf_counter() - t0:.1f}s")  # fmt: skip

    if not args.no_freeze:
        # A long-running service loads its dictionaries and rules once; gc.freeze() then keeps
        # the collector from re-scanning that static heap (here also the generated posts) on
        # every full collection. Both contenders are measured after it.
        gc.collect()
        gc.freeze()
        print(f"gc.freeze(): {gc.get_freeze_count():,} startup objects left out of collections")
    clear_caches()
    t, _ = timed(lambda: sum(len(analyze(p)) for p in posts))
    print(f"analyze, caches cleared first: {len(posts) / t:,.0f} posts/s"
          f" ({n_words / t:,.0f} words/s)")  # fmt: skip
    t, _ = timed(lambda: sum(len(analyze(p)) for p in posts))
    print(f"analyze, caches warm:          {len(posts) / t:,.0f} posts/s"
          f" ({n_words / t:,.0f} words/s)")  # fmt: skip

    t0 = time.perf_counter()
    check_analysis(posts)
    print(f"analysis checked against the word-by-word reference on every post: the same words,"
          f" keys, norm and lemma columns ({time.perf_counter() - t0:.1f}s)")  # fmt: skip

    checks: list[tuple[str, bool]] = []
    for count in (int(x) for x in args.rules.split(",")):
        rules = make_rules(count, vocab, rng)
        t0 = time.perf_counter()
        parsed = [parse_rule(r) for r in rules]
        matcher = Matcher()
        for i, node in enumerate(parsed):
            matcher.add(i, node)
        t_build = time.perf_counter() - t0
        # Start cold again: the rules' own words warmed the lemma cache.
        clear_caches()
        matcher = Matcher()
        for i, node in enumerate(parsed):
            matcher.add(i, node)
        t_ww, hits_ww = timed(partial(run_wirewatch, posts, matcher))
        # Steady state: a service that has been running has seen the feed's vocabulary. Warm
        # the caches on other posts (same generator, other seed), then time the same posts.
        run_wirewatch(warmup, matcher)
        t_warm, cpu_warm = cpu_timed(partial(run_wirewatch, posts, matcher))
        t0 = time.perf_counter()
        compared = check_matches(posts, matcher, parsed)
        took = time.perf_counter() - t0
        print(f"  checked: on every post the same rules as each rule's tree alone, and the same"
              f" spans for all {compared:,} matches ({took:.1f}s)")  # fmt: skip
        patterns = baseline_patterns(rules)
        c0 = time.process_time()
        done, hits_re, t_re = run_baseline(posts, patterns, args.baseline_seconds)
        cpu_base = done / (time.process_time() - c0)
        ww = len(posts) / t_ww
        ww_warm = len(posts) / t_warm
        base = done / t_re
        ratio = ww / base
        ratio_warm = ww_warm / base
        print(f"\n{count:,} rules (parsed and indexed in {t_build:.2f}s):")
        print(f"  wirewatch, cold caches (lemmatisation included): {ww:8,.0f} posts/s"
              f" over {len(posts):,} posts, {hits_ww:,} matches")  # fmt: skip
        cpu_ww = len(posts) / cpu_warm
        print(f"  wirewatch, steady state (caches warmed on other posts): {ww_warm:,.0f} posts/s"
              f" ({cpu_ww:,.0f} per CPU second)")  # fmt: skip
        print(f"  regex loop (re.search per rule, IGNORECASE):     {base:8,.0f} posts/s"
              f" over {done:,} posts, {hits_re:,} matches"
              f" ({cpu_base:,.1f} per CPU second)")  # fmt: skip
        print(f"  ratio: {ratio:.1f}x cold, {ratio_warm:.1f}x steady"
              f" ({cpu_ww / cpu_base:.1f}x steady in CPU time)")  # fmt: skip
        want = 3000 if count <= 1000 else 1000
        checks.append((f"{count:,} rules: >= {want:,} posts/s, steady state", ww_warm >= want))
        if count == 1000:
            checks.append(("1,000 rules: >= 20x the regex loop, steady state", ratio_warm >= 20))
        table_row(
            f"matching, {count:,} rules, {args.words}-word posts, warm",
            f"{ww_warm:,.0f} posts/s ({ww:,.0f} cold; {cpu_ww:,.0f} per CPU second)",
            f"per-rule re.search loop {base:,.1f} posts/s",
            f"{ratio_warm:.0f}×",
            f"≥ {want:,} posts/s" + (", ≥ 20× the loop" if count == 1000 else ""),
            ww_warm >= want and (count != 1000 or ratio_warm >= 20),
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process: {rss:,.0f} MB")
    for what, met in checks:
        print(f"  {'met    ' if met else 'NOT MET'}  {what}")
    # Speed goals are reported (NOT MET above), not failed on: a loaded machine is slow.
    return 0


if __name__ == "__main__":
    sys.exit(main())
