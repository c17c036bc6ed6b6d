"""Re-normalising stored posts: the `norm` columns (what exact forms and prefixes are searched
in) as this version's normalisation writes them.

A post's `norm` is written once, when it is stored. When the normalisation changes (here:
symbols such as № and ™ stay a break between words instead of becoming letters glued to the
next word, "№12" -> "no12"), posts stored before keep the old columns, and search misses them
where the matcher finds them. `wirewatch reindex` rewrites them; the search index follows.
The words' keys (`lemmas`) are not touched: they never held those letters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.matching import normalize
from storage.store import Store


@dataclass
class Renormalised:
    read: int = 0  # posts looked at
    changed: int = 0  # posts whose columns were rewritten


async def renormalise(
    store: Store, *, batch: int = 1000, progress: Callable[[Renormalised], None] | None = None
) -> Renormalised:
    """Rewrite the `norm` and `ocr_norm` of every stored post whose columns differ from what
    `normalize` now gives, in batches of `batch` posts (one transaction each). Safe while the
    service runs: a post edited meanwhile keeps the columns its edit wrote."""
    done = Renormalised()
    after = 0
    while rows := await store.posts.norm_rows(after, batch):
        after = rows[-1][0]
        stale = []
        for post_id, text, norm, ocr_text, ocr_norm in rows:
            new, new_ocr = normalize(text), normalize(ocr_text)
            if new != norm or new_ocr != ocr_norm:
                stale.append((post_id, text, new, ocr_text, new_ocr))
        done.read += len(rows)
        if stale:
            done.changed += await store.posts.set_norms(stale)
        if progress is not None:
            progress(done)
    return done
