"""Whose words a quote's own tail names: the lead's speaker, or somebody else.

Pure functions. A post often ends a quotation with its speaker ("«…», — заявив Зеленський.",
"…, сообщил министр.", "…, the minister said."). The draft cuts that tail and lends its verb to
the lead only when it names the speaker the lead names: an official's channel quoting the
President must not read as the official's own words ("Гайова заявив: «…»"), and a noun after
the verb that is not in the nominative ("…, розповіли Президенту.") says whom they told, not
who spoke.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.drafting.abbreviations import FUNCTION_WORDS
from bot.matching.lemmas import known_cases, known_word, may_be_person, person_noun, stems

_WORD = re.compile(r"[^\W\d_][\w'’ʼ-]*")
# Initials before a surname ("В. Зеленський"): "В" is no preposition.
_INITIALS = re.compile(r"(?<![\w.])[^\W\d_]\.")

# Third-person pronouns a tail names its speaker by, and the gender each agrees with.
_PRONOUNS = {
    "він": "m",
    "он": "m",
    "he": "m",
    "вона": "f",
    "она": "f",
    "she": "f",
    "воно": "n",
    "оно": "n",
    "вони": "pl",
    "они": "pl",
    "they": "pl",
}
# Words a speaker's description may hold besides names ("the minister of defence said").
_ARTICLES = frozenset(["the", "a", "an", "of"])


@dataclass(frozen=True, slots=True)
class Speaker:
    """Whom the lead names: every name, role and title the source is known by, in any
    language, and the gender a verb agrees with ("m", "f", "n", "pl"; None when unknown)."""

    names: tuple[str, ...]
    gender: str | None

    @classmethod
    def of(cls, names: Iterable[str | None], gender: str | None) -> Speaker:
        return cls(tuple(n for n in names if n and n.strip()), gender)

    def disagrees(self, verb: str) -> bool:
        """True if the past-tense `verb` cannot agree with this speaker (a plural verb beside
        "Генштаб")."""
        said_by = verb_gender(verb)
        return said_by is not None and self.gender is not None and said_by != self.gender

    def stems(self) -> frozenset[str]:
        return frozenset(s for name in self.names for w in _words(name) for s in stems(w))


def verb_gender(verb: str) -> str | None:
    """The gender and number a uk/ru past-tense verb agrees with (заявив, заявил -> m;
    заявила -> f; заявило -> n; заявили -> pl); None for any other form."""
    v = verb.casefold()
    for ending, gender in (("ли", "pl"), ("ла", "f"), ("ло", "n"), ("в", "m"), ("л", "m")):
        if v.endswith(ending):
            return gender
    return None


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _named(words: list[str]) -> list[str]:
    """The words that name the speaker: up to the first preposition after them ("міністр на
    брифінгу" is the minister, at a briefing), articles and "of" left out."""
    out: list[str] = []
    for w in words:
        if w in _ARTICLES:
            continue
        if w in FUNCTION_WORDS:
            if out:
                break
            continue
        out.append(w)
    return out


# A capitalised Cyrillic word inside a sentence (after a lowercase word or a comma).
_MID_SENTENCE_NAME = re.compile(r"(?<=[\w,] )[А-ЯІЇЄҐЁ][а-яіїєґёʼ'’-]+")


def _names_someone_else(before: str, speaker: Speaker) -> bool:
    """True if `before` (the post's words before the quote) names a person who is not the
    speaker ("Зустрівся з Фіданом. «…», — сказав він."): a pronoun tail then may be theirs."""
    own = speaker.stems()
    for m in _MID_SENTENCE_NAME.finditer(before):
        word = m.group().casefold()
        if not stems(word) & own and may_be_person(word):
            return True
    return False


def tail_is_speakers(speaker: Speaker | None, verb: str, who: str, before: str = "") -> bool:
    """True if a tail with `verb` naming `who` ("" when it names nobody) gives the words to
    `speaker`; `before` is the post's text before the quote. With no speaker (a caller that
    names nobody) any tail whose noun can be the subject is taken as the speaker's, as a plain
    quote styling always did."""
    words = _words(_INITIALS.sub(" ", who))
    impersonal = bool(words) and words[0] in FUNCTION_WORDS and words[0] not in _PRONOUNS
    named = _named(words[1:] if impersonal else words)
    if named and not impersonal and re.search("[а-яіїєґё]", named[0]):
        cases = known_cases(named[0], "both")
        if cases is not None and "nomn" not in cases:
            return False  # "розповіли Президенту": whom they told
    if speaker is None:
        return True
    said_by = verb_gender(verb)
    if not impersonal and said_by and speaker.gender and said_by != speaker.gender:
        return False  # "сказав він" in her channel is somebody else
    if not named:
        return True
    pronoun = _PRONOUNS.get(named[0])
    if pronoun is not None and len(named) == 1:
        # Only a gender that agrees tells it is the speaker: a channel known by its title is no
        # "він"; the pronoun is whoever the post named before.
        return pronoun == speaker.gender and not _names_someone_else(before, speaker)
    own = speaker.stems()
    return bool(own) and all(stems(w) & own for w in named)


# Who a quote opens with, before its quotation: "Марта Кінг: «…»", "Martha King: “…”".
_HEAD = re.compile(r"\s*(?P<who>[^\W\d_][\w'’ʼ. -]{0,80}?)\s*:\s*[«„“\"]")

# English words that name a person by office ("Deputy Minister: “…”"); a Cyrillic one is told
# by the dictionaries (an animate noun: заступниця, речник, посол).
_EN_TITLES = frozenset(
    {
        "minister",
        "deputy",
        "secretary",
        "spokesperson",
        "spokesman",
        "spokeswoman",
        "president",
        "vice",
        "director",
        "head",
        "chief",
        "ambassador",
        "governor",
        "mayor",
        "commander",
        "adviser",
        "advisor",
        "chairman",
        "chairwoman",
        "chair",
        "prosecutor",
        "ombudsman",
        "ombudsperson",
        "envoy",
        "speaker",
        "premier",
        "chancellor",
        "official",
        "officer",
        "representative",
        "general",
        "colonel",
        "commissioner",
    }
)


def _is_title(word: str) -> bool:
    """True if `word` (the first of a quote's head, after an article) names a person by what
    they are: "Заступниця", "Речник", "Deputy", "minister"."""
    if re.search("[а-яіїєґё]", word.casefold()):
        return person_noun(word)
    return word.casefold() in _EN_TITLES


def head_is_someone_elses(speaker: Speaker | None, quote: str) -> bool:
    """True if `quote` opens by naming a person other than `speaker` before a quotation
    ("Марта Кінг: «…»", "Заступниця міністра: «…»"): the channel relays those words. A name
    counts when every word of it is capitalised ("Головне: «…»" is a label, "Він заявив: «…»"
    no name); a title counts in any case ("the deputy minister"). The speaker's own name or
    role is theirs: a name ending in the speaker's own ("Міністерка Гайова"), or a head whose
    every word the speaker is known by ("Міністерка: «…»" in her own channel)."""
    m = _HEAD.match(quote)
    if m is None or speaker is None:
        return False
    raw = _WORD.findall(_INITIALS.sub(" ", m.group("who")))
    if raw and raw[0].casefold() in _ARTICLES:
        raw = raw[1:]
    if not 1 <= len(raw) <= 6:
        return False
    words = [w.casefold() for w in raw]
    own = speaker.stems()
    named = _named(words)
    if own and named and all(stems(w) & own for w in named):
        return False  # the speaker's own name or title, whole
    if _is_title(raw[0]):
        # "Міністерка Гайова: «…»": a title, then her own name.
        last = raw[-1]
        return not (len(raw) > 1 and last[:1].isupper() and _names_speaker(last, own))
    if len(raw) > 4 or not all(w[:1].isupper() for w in raw):
        return False
    if len(words) == 1 and not _may_be_name(raw[0]):
        return False
    return not (own and stems(words[-1]) & own)


def _names_speaker(word: str, own: frozenset[str]) -> bool:
    """True if `word` is one of the speaker's names rather than a word of a title."""
    return bool(own and stems(word.casefold()) & own) and not _is_title(word)


def _may_be_name(word: str) -> bool:
    """True if the capitalised `word`, alone before a quotation, may be a person's name: a
    Cyrillic one the dictionaries do not know as anything else, a Latin one no English word
    ("Important: “…”" is a label)."""
    if re.search("[а-яіїєґё]", word.casefold()):
        return may_be_person(word.casefold())
    return not known_word(word)
