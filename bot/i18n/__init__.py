"""Message catalogues: every string a person sees, in Ukrainian, English and Russian.

gettext catalogues edited as Babel `.po` files (`bot/i18n/locales/<lang>/LC_MESSAGES/
wirewatch.po`), the only source of truth: they are compiled in memory the first time a language
is asked for, so no `.mo` file can go stale and a fresh clone needs no build step. msgids are the
English text in the code; placeholders are `str.format` names (`{n}`, `{channel}`).

    tr = translator("uk")
    tr.gettext("Quiet hours off.")
    tr.ngettext("{n} alert", "{n} alerts", 5)          # «5 сповіщень»: plural rules of uk
    raise DeskError("no source @{name}", name=name)    # translated where it is answered

Pure: imports nothing of the bot, so matching and drafting can use it. `python -m bot.i18n
check` (in `make lint`) fails on a message missing or untranslated in any language;
`python -m bot.i18n update` merges new messages from the code into the catalogues.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Self

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from storage.records import read_note

LANGS: tuple[str, ...] = ("uk", "en", "ru")
DOMAIN = "wirewatch"
LOCALES = Path(__file__).parent / "locales"

# What Babel extracts besides gettext/ngettext/N_: the first argument of these exceptions is
# a msgid, so an error is written once, in English, and answered in the reader's language.
ERROR_KEYWORDS = (
    "DeskError",
    "RuleSyntaxError",
    "QueryError",
    "SourceError",
    "ChannelError",
    "ChannelLimitError",
    "TelegramError",
    "FloodWaitTooLong",
    "GlossaryError",
    "TranslationError",
    "person_note",  # storage.records: a note stored for people to read later
)


def N_(msgid: str) -> str:
    """Marks a msgid for extraction where it is translated later (tables, defaults)."""
    return msgid


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _fill(text: str, params: Mapping[str, Any]) -> str:
    return text.format(**params) if params else text


def _message_of(value: object) -> Message | None:
    """The translatable message an object carries: a Message, or an error made with a msgid
    (LocalizedError, and storage's SourceError, which has `msgid` and `params` of its own
    because storage cannot import the bot)."""
    if isinstance(value, Message):
        return value
    msg = getattr(value, "msg", None)
    if isinstance(msg, Message):
        return msg
    msgid, params = getattr(value, "msgid", None), getattr(value, "params", None)
    if isinstance(msgid, str) and isinstance(params, Mapping):
        return Message(msgid, params)
    return None


class Translator:
    """One language's catalogue. Placeholders are filled after translation."""

    def __init__(self, lang: str, catalogue: gettext.NullTranslations) -> None:
        self.lang = lang
        self._cat = catalogue

    def gettext(self, msgid: str, /, **params: Any) -> str:
        return _fill(self._cat.gettext(msgid), self._params(params))

    def ngettext(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        text = self._cat.ngettext(singular, plural, n)
        return _fill(text, {"n": n, **self._params(params)})

    def pgettext(self, context: str, msgid: str, /, **params: Any) -> str:
        """`msgid` in a context: the same English word with different translations (a verb
        agreeing with a masculine or a feminine speaker)."""
        return _fill(self._cat.pgettext(context, msgid), self._params(params))

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # A parameter that is itself a message (an error's cause) is read in this language too.
        out: dict[str, Any] = {}
        for key, value in params.items():
            inner = _message_of(value)
            out[key] = self.message(inner) if inner is not None else value
        return out

    def message(self, msg: Message) -> str:
        if msg.plural is not None:
            return self.ngettext(msg.msgid, msg.plural, msg.n, **msg.params)
        return self.gettext(msg.msgid, **msg.params)

    def note(self, text: str | None) -> str:
        """A note stored for people (a source's error, the listener's last error), in this
        language; a note stored as plain text (from an older version) as it is."""
        found = read_note(text)
        if found is None:
            return text or ""
        msgid, params = found
        filled = {k: self.note(v) if isinstance(v, str) else v for k, v in params.items()}
        try:
            return self.gettext(msgid, **filled)
        except (KeyError, IndexError, ValueError):
            return msgid  # a note whose message changed since it was stored

    def error(self, exc: BaseException) -> str:
        """An exception's text for a person: translated when it was raised with a msgid."""
        msg = _message_of(exc)
        return self.message(msg) if msg is not None else str(exc)


class Message:
    """A text to be translated later, by whoever knows the reader (an error's message)."""

    __slots__ = ("msgid", "n", "params", "plural")

    def __init__(
        self,
        msgid: str,
        params: Mapping[str, Any] | None = None,
        *,
        plural: str | None = None,
        n: int = 1,
    ) -> None:
        self.msgid = msgid
        self.params = dict(params or {})
        self.plural = plural
        self.n = n

    def __str__(self) -> str:
        # The English source text: logs, the CLI and exceptions read this.
        text = self.msgid if self.plural is None or self.n == 1 else self.plural
        return _fill(text, {"n": self.n, **self.params} if self.plural else self.params)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, {self.params!r})"


class LocalizedError(ValueError):
    """An error whose text is a msgid: `str(exc)` is English, `tr.error(exc)` the reader's."""

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msg = Message(msgid, params)
        super().__init__(str(self.msg))

    @classmethod
    def wrap(cls, exc: BaseException) -> Self:
        """This kind of error, saying what `exc` says (translated if `exc` can be)."""
        msg = _message_of(exc)
        if msg is None:
            return cls("{reason}", reason=str(exc))
        return cls(msg.msgid, **msg.params)


@cache
def translator(lang: str) -> Translator:
    """The catalogue of `lang` (uk, en or ru); any other code gets English, untranslated."""
    if lang not in LANGS:
        return Translator("en", gettext.NullTranslations())
    with po_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translator(lang, gettext.GNUTranslations(buf))


def pick_lang(*candidates: str | None, default: str = "uk") -> str:
    """The first candidate that is one of ours: `pick_lang(chosen, "en-GB")` is "en"."""
    for code in candidates:
        if code:
            short = code.split("-")[0].split("_")[0].lower()
            if short in LANGS:
                return short
    return default
