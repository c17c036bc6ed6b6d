"""Re-normalising stored posts: the searchable columns (`norm`, `lemmas` and their OCR twins) as
this version's normalisation writes them.

A post's columns are written once, when it is stored. When the normalisation changes (here:
symbols such as № and ™ stay a break between words instead of becoming letters glued to the
next word, "№12" -> "no12"; a word's form is its own, "пʼʼять" is п'ять), posts stored
before keep the old columns, and search misses them where the matcher finds them.
`wirewatch reindex` rewrites them; the search index follows. `wirewatch run` does it once per
NORM_VERSION by itself (`renormalise_once`), so an upgraded archive is searched as the matcher
reads it without anyone having to know the command.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.matching import analyze, normalize
from storage.store import Store

log = logging.getLogger(__name__)

# Raised whenever `normalize` writes a stored post's columns differently: 2, symbols such as №
# stay a break between words. The state table remembers which version a database's posts were
# re-normalised for (`renormalise_once`).
NORM_VERSION = "2"
_STATE_KEY = "norm_version"
_LOG_EVERY = 100_000  # posts read between two progress lines of a start-up pass


@dataclass
class Renormalised:
    read: int = 0  # posts looked at
    changed: int = 0  # posts whose columns were rewritten


async def renormalise(
    store: Store, *, batch: int = 1000, progress: Callable[[Renormalised], None] | None = None
) -> Renormalised:
    """Rewrite the columns of every stored post whose normalised text differs from what
    `normalize` now gives (its words' keys are written anew with it), in batches of `batch`
    posts, one transaction each. Safe while the service runs: a post edited meanwhile keeps
    the columns its edit wrote."""
    done = Renormalised()
    after = 0
    while rows := await store.posts.norm_rows(after, batch):
        after = rows[-1][0]
        stale = []
        for post_id, text, norm, ocr_text, ocr_norm in rows:
            if normalize(text) == norm and normalize(ocr_text) == ocr_norm:
                continue  # nearly every post: one cheap pass, no lemmatising
            a, o = analyze(text), analyze(ocr_text)
            stale.append((post_id, text, a.norm, a.lemma_text, ocr_text, o.norm, o.lemma_text))
        done.read += len(rows)
        if stale:
            done.changed += await store.posts.set_norms(stale)
        if progress is not None:
            progress(done)
    return done


async def mark_current(store: Store) -> None:
    """This database's posts are normalised as this version writes them."""
    await store.state.set(_STATE_KEY, NORM_VERSION)


async def renormalise_once(store: Store) -> Renormalised | None:
    """`renormalise`, unless this database's posts were re-normalised for NORM_VERSION already
    (None then): `wirewatch run` calls it at start-up, before it listens. It reads every post
    once (about 9,000 a second when nothing differs), so the first start after an upgrade takes
    that long more, logged as it goes; a fresh database costs nothing."""
    held = await store.state.get(_STATE_KEY)
    if held is not None and held[0] == NORM_VERSION:
        return None
    began = time.monotonic()
    logged = 0

    def progress(done: Renormalised) -> None:
        nonlocal logged
        if done.read - logged >= _LOG_EVERY:
            logged = done.read
            log.info("re-normalising stored posts: %d read, %d rewritten", done.read, done.changed)

    done = await renormalise(store, progress=progress)
    await mark_current(store)
    if done.read:
        log.info(
            "stored posts re-normalised for this version: %d read, %d rewritten in %.1f s",
            done.read,
            done.changed,
            time.monotonic() - began,
        )
    return done
