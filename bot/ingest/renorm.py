"""Re-normalising stored posts: the searchable columns (`norm`, `lemmas` and their OCR twins) as
this version's normalisation writes them.

A post's columns are written once, when it is stored. When the normalisation changes (here:
symbols such as № and ™ stay a break between words instead of becoming letters glued to the
next word, "№12" -> "no12"; a word's form is its own, "пʼʼять" is п'ять), posts stored
before keep the old columns, and search misses them where the matcher finds them.
`wirewatch reindex` rewrites them; the search index follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.matching import analyze, normalize
from storage.store import Store


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
