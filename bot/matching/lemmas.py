"""Word forms: which keys a word of a post carries, and which keys a word of a rule looks for.

A key is a lemma from pymorphy3's Ukrainian or Russian dictionary (every known parse, not only the
first: Києві is both кий and київ), an English lemma from lemminflect (every part of speech:
meeting is both meeting and meet), or, for names the dictionaries do not
know, a stem key "~<stem>" from suffix rules over a folded alphabet (є=е, і=и, ...) so that
Умєров, Умєрова and Умерову meet. Apostrophes are dropped inside keys so that every key is one
FTS5 token.
"""

from __future__ import annotations

import re
import sys
import threading
from functools import lru_cache
from typing import Any, Literal

from bot.matching.cache import ByteBoundedCache

Lang = Literal["uk", "ru", "both"]

STEM_MARK = "~"

_UK_ONLY = frozenset("ієїґ")
_RU_ONLY = frozenset("ыэёъ")
_CYR_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[a-z]")

# Parses that mark a word as a name: its case forms may also be spelled the other language's way
# (Умєров / Умеров), so a rule word like this also looks for the stem.
_PROPER = frozenset({"Surn", "Name", "Patr", "Geox", "Orgn", "Trad"})

_lock = threading.Lock()
_analyzers: dict[str, Any] = {}


def _analyzer(lang: str) -> Any:
    """pymorphy3 analysers, loaded on first use (about 0.2 s and 30 MB each)."""
    found = _analyzers.get(lang)
    if found is None:
        with _lock:
            found = _analyzers.get(lang)
            if found is None:
                import pymorphy3
                from pymorphy3 import units

                # Dictionary parses only: guesses for unknown words (by analogy, by prefix) are
                # never used as keys (names get stem keys instead), and skipping them makes a
                # cold word about 4x cheaper.
                found = pymorphy3.MorphAnalyzer(lang=lang, units=[units.DictionaryAnalyzer()])
                _analyzers[lang] = found
    return found


def text_lang(text: str) -> Lang:
    """The language a text is mostly written in, judged by letters only one of uk/ru has."""
    uk = sum(map(text.count, "ієїґІЄЇҐ"))
    ru = sum(map(text.count, "ыэёъЫЭЁЪ"))
    if uk > 2 * ru:
        return "uk"
    if ru > 2 * uk:
        return "ru"
    return "both"


def word_lang(form: str, default: Lang = "both") -> Lang:
    letters = set(form)
    if letters & _UK_ONLY:
        return "uk"
    if letters & _RU_ONLY:
        return "ru"
    return default


# Folding for stem keys only: the letters a name changes between Ukrainian and Russian spelling.
_STEM_FOLD = str.maketrans({"є": "е", "і": "и", "ї": "и", "ы": "и", "э": "е", "ё": "е",
                            "ґ": "г", "ь": "", "'": "", "ъ": ""})  # fmt: skip

# Case endings of nouns, adjectives and surnames (uk and ru, folded). -ов/-ев are left alone: they
# belong to the nominative of surnames (Умєров, Лавров).
_ENDINGS = tuple(
    sorted(
        {
            "а", "я", "у", "ю", "и", "е", "о", "ом", "ем", "ам", "ям", "ах", "ях", "ами", "ями",
            "ою", "ею", "ой", "ей", "ий", "ая", "яя", "ое", "ее", "ую", "юю", "ого", "его", "ому",
            "ему", "им", "ими", "их", "ым", "ыми", "ых", "ои", "еи", "ови", "еви", "ова", "ову",
            "овим", "ові", "ин", "ина", "ину", "иним", "ини",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip

# Ukrainian consonant alternation before -і (нога -> нозі, рука -> руці, муха -> мусі).
_ALTERNATION = {"з": "г", "ц": "к", "с": "х"}
_MIN_STEM = 3


# What a name typed in a rule most likely ends with: the nominative (Сибіга, Умєрова, Шевченко,
# Зеленський). A rule word is stemmed only by these, so that "Умєрова" never looks for умер.
_NOMINATIVE = ("ий", "ой", "а", "я", "о")


# A possessive surname (-ов, -ев, -ин; folded) in another case, as an editor copies it from a
# post ("Умєрову", "Умєровим", "Умеровым"): it means the surname in every case, as the
# nominative does, so the rule word also looks for the stem before the ending (умеров). Only
# after such a suffix: "Умєрову" never looks for умер.
_SURNAME_SUFFIXES = ("ов", "ев", "ин")
_OBLIQUE = ("у", "ю", "ом", "ем", "им", "ою", "ои", "ого", "ому", "ой", "их", "ими")


def surname_stems(form: str) -> frozenset[str]:
    """The stem of a possessive surname in an oblique case (умєровим -> умеров); empty for any
    other word."""
    folded = form.translate(_STEM_FOLD)
    return frozenset(
        folded[: -len(e)]
        for e in _OBLIQUE
        if folded.endswith(e)
        and folded[: -len(e)].endswith(_SURNAME_SUFFIXES)
        and len(folded) - len(e) > _MIN_STEM
    )


# A name in another case, as an editor copies it from a post: a surname of the -а/-я declension
# (Сибігою, Сибігу, Сибізі, ru Сибиге, Сибигой; Гамалією), of a consonant (Фіданом, Умєрові) or
# an adjective's (Вербицького, ru Вербицкого, Зеленському, Гайової). Folded (і, ї -> и). The
# stem before the ending is the stem its nominative looks for (Сибіга: сибиг), so the word finds
# every case as the nominative does. Only the longest ending is taken, and never a suffix with
# it (-ову, -ові: "Умєрову" and "Умєрові" never look for умер).
_CASE_ENDINGS = (
    "ого", "его", "ому", "ему",
    "ою", "ею", "ой", "ей", "ои", "ом", "ем", "им", "ую",
    "у", "ю", "и", "е",
)  # fmt: skip


def oblique_stems(form: str) -> frozenset[str]:
    """The stem of a name in an oblique case (сибігою -> сибиг, сибізі -> сибиг), by the
    longest case ending it has; empty when the stem would be shorter than four letters."""
    folded = form.translate(_STEM_FOLD)
    for ending in _CASE_ENDINGS:  # the longest first
        if folded.endswith(ending):
            stem = folded[: -len(ending)]
            if len(stem) <= _MIN_STEM:
                return frozenset()
            if form.endswith("і") and stem[-1] in _ALTERNATION:
                # Сибізі is Сибіга's: г -> з before -і, as нога -> нозі.
                return frozenset({stem, stem[:-1] + _ALTERNATION[stem[-1]]})
            return frozenset({stem})
    return frozenset()


_ENDING_SETS = {_ENDINGS: frozenset(_ENDINGS), _NOMINATIVE: frozenset(_NOMINATIVE)}
_LONGEST = max(len(e) for e in _ENDINGS)


def stems(form: str, endings: tuple[str, ...] = _ENDINGS) -> frozenset[str]:
    """Every stem a Cyrillic name form may have: the folded word and each ending stripped."""
    folded = form.translate(_STEM_FOLD)
    out = {folded}
    wanted = _ENDING_SETS[endings] if endings in _ENDING_SETS else frozenset(endings)
    for n in range(1, min(_LONGEST, len(folded) - _MIN_STEM) + 1):
        if folded[-n:] in wanted:
            stem = folded[:-n]
            out.add(stem)
            if n == 1 and folded[-1] in "ие" and stem[-1] in _ALTERNATION:
                out.add(stem[:-1] + _ALTERNATION[stem[-1]])
    return frozenset(out)


def _english_form(form: str) -> str:
    """The word without a possessive and without apostrophes (O'Brien is one token)."""
    if form.endswith("'s"):
        form = form[:-2]
    return form.replace("'", "")


def english_lemmas(form: str) -> tuple[str, ...]:
    """Every lemma lemminflect's English dictionary gives a normalised word, for any part of
    speech (meeting: meeting and meet; met: meet; talks: talk); the word itself when the
    dictionary does not know it (Hamas stays hamas, never hama). Cached."""
    return _ENGLISH.get(form)


def _english_lemmas(form: str) -> tuple[str, ...]:
    word = _english_form(form).lower()
    if not word:
        return ()
    return _english().get(word) or (word,)


def _english() -> dict[str, tuple[str, ...]]:
    """lemminflect's English lemma dictionary, loaded on first use, keeping only the words
    whose lemmas are not just the word itself."""
    found = _analyzers.get("en")
    if found is None:
        with _lock:
            found = _analyzers.get("en")
            if found is None:
                found = _analyzers["en"] = english_lemma_table()
    return found


def english_lemma_table() -> dict[str, tuple[str, ...]]:
    """Word -> its lemmas for every part of speech (lower case, sorted), as lemminflect's
    `getAllLemmas` gives them, for the words where that is not just the word itself.

    Read from lemminflect's own files (`resources/lemma_lu.csv.gz`: word,category,lemma/lemma;
    `lemma_overrides.csv`: word,UPOS,lemma, replacing the category's lemmas) without importing
    lemminflect: its import brings numpy (19 MiB) and its dictionary is a dict of dicts of
    tuples for 70,000 words (36 MiB); this table of the 35,000 that matter is 10 MiB.
    tests/matching/test_english_table.py checks it against `getAllLemmas` word by word."""
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("lemminflect")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("lemminflect is not installed")
    resources = Path(next(iter(spec.submodule_search_locations))) / "resources"
    overrides: dict[str, dict[str, tuple[str, ...]]] = {}
    for line in (resources / "lemma_overrides.csv").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word_in, upos, word_out = line.split(",")
            overrides.setdefault(word_in, {})[upos] = (word_out,)
    table: dict[str, tuple[str, ...]] = {}
    intern = sys.intern
    pending = set(overrides)  # override words the dictionary lacks are added at the end

    def add(word: str, by_pos: dict[str, tuple[str, ...]]) -> None:
        pending.discard(word)
        if word != word.lower():
            return  # getAllLemmas looks words up in lower case: never reached
        merged = {**by_pos, **overrides.get(word, {})}
        lemmas = tuple(sorted({lemma.lower() for forms in merged.values() for lemma in forms}))
        if lemmas and lemmas != (word,):
            table[intern(word)] = tuple(intern(lemma) for lemma in lemmas)

    current: str | None = None
    by_pos: dict[str, tuple[str, ...]] = {}
    with gzip.open(resources / "lemma_lu.csv.gz", "rt", encoding="utf-8") as lines:
        # Sorted by word: a word's lines (one per category) are together.
        for line in lines:
            word, category, forms = line.strip().split(",")
            if word != current:
                if current is not None:
                    add(current, by_pos)
                current, by_pos = word, {}
            upos = "AUX" if category == "modal" else category.upper()
            by_pos[upos] = tuple(forms.split("/"))
    if current is not None:
        add(current, by_pos)
    for word in list(pending):
        add(word, {})
    return table


def english_rule_keys(form: str) -> frozenset[str]:
    """What an English rule word looks for: the word itself when it is a dictionary form (an
    editor who types "meeting" means the noun, not every form of "meet"), else its lemmas."""
    lemmas = english_lemmas(form)
    word = _english_form(form)
    return frozenset({word}) if word in lemmas else frozenset(lemmas)


def _parses(form: str, lang: Lang) -> list[Any]:
    if lang == "both":
        return [*_analyzer("uk").parse(form), *_analyzer("ru").parse(form)]
    return list(_analyzer(lang).parse(form))


def _lemma_key(normal_form: str) -> str:
    return normal_form.replace("'", "").replace("ё", "е")


def _cyrillic(form: str, lang: Lang) -> tuple[tuple[str, ...], bool]:
    """(lemma keys of the known parses, whether the word is unknown or a name)."""
    return _CYRILLIC.get((form, lang))


def _cyrillic_uncached(key: tuple[str, Lang]) -> tuple[tuple[str, ...], bool]:
    form, lang = key
    # The analysers have only the dictionary unit, so every parse is a known word.
    known = _parses(form, word_lang(form, lang))
    # Tuples, not sets, in the caches: a third of the memory per word.
    lemmas = tuple(sorted({_lemma_key(p.normal_form) for p in known}))
    namelike = not known or any(_is_proper(p.tag) for p in known)
    return lemmas, namelike


@lru_cache(maxsize=8192)
def _is_proper(tag: Any) -> bool:
    # A few thousand distinct tags exist; building their grammeme sets once is enough.
    return not _PROPER.isdisjoint(tag.grammemes)


def text_keys(form: str, lang: Lang, capitalised: bool) -> tuple[str, ...]:
    """Keys a word of a post carries. `form` is normalised; `capitalised` as written.

    Not cached here: its one caller in the hot path, analysis's token cache, caches it."""
    if not form:
        return ()
    if _CYR_RE.search(form):
        lemmas, namelike = _cyrillic(form, lang)
        if namelike or capitalised:
            return tuple(sorted({*lemmas, *(STEM_MARK + s for s in stems(form))}))
        return lemmas
    if _LATIN_RE.search(form):
        return english_lemmas(form)
    return (form.replace("'", ""),)


@lru_cache(maxsize=65_536)
def _own_lemma(form: str, lang: Lang) -> frozenset[str]:
    """The lemmas of `form` when `form` is itself a dictionary form, else all of its lemmas.

    An editor who types "рада" or "Лавров" means that word, not the short adjective радий or the
    plural genitive of лавр; one who types "Києві" gets every lemma it may have."""
    lemmas, _ = _cyrillic(form, lang)
    own = _lemma_key(form)
    return frozenset({own}) if own in lemmas else frozenset(lemmas)


@lru_cache(maxsize=65_536)
def rule_keys(form: str) -> frozenset[str]:
    """Keys a word of a rule looks for: any of them in a post's word is a match."""
    if _CYR_RE.search(form):
        lang = word_lang(form)
        _, namelike = _cyrillic(form, lang)
        lemmas = _own_lemma(form, lang)
        if namelike:
            found = stems(form, _NOMINATIVE) | surname_stems(form) | oblique_stems(form)
            return lemmas | {STEM_MARK + s for s in found}
        return lemmas
    if _LATIN_RE.search(form):
        return english_rule_keys(form)
    return frozenset({form.replace("'", "")})


def clear_caches() -> None:
    """For benchmarks that measure cold lemmatisation."""
    _CYRILLIC.clear()
    _own_lemma.cache_clear()
    _ENGLISH.clear()
    rule_keys.cache_clear()


# Bounded by bytes (bot/matching/cache.py); looked up only when analysis meets a word new to it.
_CYRILLIC: ByteBoundedCache[tuple[str, Lang], tuple[tuple[str, ...], bool]] = ByteBoundedCache(
    24 * 1024 * 1024, _cyrillic_uncached
)
_ENGLISH: ByteBoundedCache[str, tuple[str, ...]] = ByteBoundedCache(
    4 * 1024 * 1024, _english_lemmas
)


_GENDER_OF = {"masc": "m", "femn": "f", "neut": "n"}


def parts_of_speech(form: str) -> frozenset[str]:
    """Every part of speech (NOUN, ADVB, VERB, ...) the uk and ru dictionaries give the word
    `form`; empty when they do not know it."""
    return frozenset(str(p.tag.POS) for p in _parses(form.casefold(), "both") if p.tag.POS)


_PERSON = frozenset({"Name", "Surn", "Patr"})


def may_be_person(form: str) -> bool:
    """True if the capitalised Cyrillic word `form` may name a person: the dictionaries give it
    a first name, surname or patronymic and no thing or place (Києві is Kyiv, not Кий), or do
    not know it at all (Фіданом, Сибігою)."""
    parses = _parses(form.casefold(), "both")
    if not parses:
        return True
    grammemes = [p.tag.grammemes for p in parses]
    place = any("Geox" in g or ("inan" in g and not g & _PERSON) for g in grammemes)
    return any(g & _PERSON for g in grammemes) and not place


def person_noun(form: str) -> bool:
    """True if the uk/ru dictionaries give the word `form` an animate noun that is no first
    name, surname or patronymic (заступниця, речник, мама): a word that names a person by what
    they are, as a title does."""
    return any(
        p.tag.POS == "NOUN" and "anim" in p.tag.grammemes and not p.tag.grammemes & _PERSON
        for p in _parses(form.casefold(), "both")
    )


def known_word(form: str) -> bool:
    """True if a dictionary knows the word `form`: pymorphy3's uk/ru for a Cyrillic word (any
    case form), lemminflect's English word list for a Latin one."""
    word = form.casefold().replace("’", "'").replace("ʼ", "'")
    if _CYR_RE.search(word):
        return bool(_parses(word, word_lang(word, "both")))
    return word in _english_words()


def _english_words() -> frozenset[str]:
    """Every word of lemminflect's English dictionary (its lemma file lists each word with its
    lemmas, base forms included): 70,000 words, about 5 MiB, read on first use."""
    found = _analyzers.get("en-words")
    if found is None:
        with _lock:
            found = _analyzers.get("en-words")
            if found is None:
                import gzip
                import importlib.util
                from pathlib import Path

                spec = importlib.util.find_spec("lemminflect")
                if spec is None or not spec.submodule_search_locations:
                    raise ImportError("lemminflect is not installed")
                path = Path(next(iter(spec.submodule_search_locations))) / "resources"
                with gzip.open(path / "lemma_lu.csv.gz", "rt", encoding="utf-8") as lines:
                    found = frozenset(sys.intern(line.split(",", 1)[0]) for line in lines)
                _analyzers["en-words"] = found
    return found


def known_cases(form: str, lang: Lang) -> frozenset[str] | None:
    """The grammatical cases (nomn, datv, ...) the dictionaries give the word `form`; None when
    they do not know it (a surname, a foreign name) or give a parse no case, so that no case
    can be ruled out."""
    parses = _parses(form.casefold(), word_lang(form, lang))
    if not parses or any(not p.tag.case for p in parses):
        return None
    return frozenset(str(p.tag.case) for p in parses)


def grammatical_gender(person: str | None, role: str | None, lang: Lang) -> str | None:
    """The gender a past-tense verb agrees with ("m", "f", "n" or "pl") for a speaker named
    `person` (its given name: Олена -> f) or, without one, called `role` (its first noun or
    adjective in the nominative: речниця -> f, Генштаб -> m, Повітряні сили -> pl); None when
    the dictionaries do not tell. A role's masculine person noun (секретар) is not evidence of
    a person's gender, so a person's unknown name decides nothing by the role."""
    analyzer = _analyzer("ru" if lang == "ru" else "uk")
    if person:
        first = person.split()[0]
        for p in analyzer.parse(first):
            if "Name" in p.tag and "nomn" in p.tag and p.tag.gender in _GENDER_OF:
                return _GENDER_OF[p.tag.gender]
        return None
    for word in (role or "").split():
        parses = [
            p
            for p in analyzer.parse(word)
            if p.tag.POS in ("NOUN", "ADJF") and ("nomn" in p.tag or "Fixd" in p.tag)
        ]
        if not parses:
            continue
        first = parses[0]
        if first.tag.number == "plur":
            return "pl"
        return _GENDER_OF.get(str(first.tag.gender))
    return None
