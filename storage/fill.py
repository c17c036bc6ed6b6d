"""For benchmarks only: grow an archive to a size by copying its own posts.

Ingesting a million posts through the pipeline takes hours on a loaded two-core machine, almost
all of it lemmatising text. bench/postgres.py instead ingests a seed through the pipeline,
copies the seed's analysed posts (text, norm, lemmas; the search index follows by its triggers
on both back ends) with new message ids and older dates, then ingests more through the
pipeline into the grown archive. Nothing in the service calls this; it lives here because all
SQL lives in storage/.
"""

from __future__ import annotations

from storage.db import Database

COPY_IDS = 100_000_000  # a copy's message id: the seed's plus this times the copy's number


async def copy_posts(
    db: Database, *, copies: int, rows: int, fts: bool, chunk: int = 20_000
) -> None:
    """Append `copies` copies of posts 1..`rows`, copy k dated k seed-spans earlier; one
    transaction per `chunk` rows, so a large fill does not hold one enormous transaction.
    `fts`: SQLite, whose repositories write the FTS5 row next to the post (PostgreSQL's
    search vectors follow `posts` by trigger)."""
    span_row = await db.fetchone(
        "SELECT MAX(date) - MIN(date) + 1 FROM posts WHERE id <= ?", (rows,)
    )
    span = int(span_row[0]) if span_row and span_row[0] is not None else 1
    for k in range(1, copies + 1):
        for lo in range(1, rows + 1, chunk):
            async with db.transaction() as conn:
                top = await (
                    await conn.execute("SELECT COALESCE(MAX(id), 0) FROM posts")
                ).fetchone()
                await conn.executemany(
                    "INSERT INTO posts (source_id, message_id, date, text, norm, lemmas,"
                    " version, stored_at) SELECT source_id, message_id + ?, date - ?, text, norm,"
                    " lemmas, 1, stored_at FROM posts WHERE id BETWEEN ? AND ? ORDER BY id",
                    [(k * COPY_IDS, k * span, lo, min(rows, lo + chunk - 1))],
                )
                if fts:
                    await conn.execute(
                        "INSERT INTO posts_fts (rowid, norm, lemmas, ocr_norm, ocr_lemmas)"
                        " SELECT id, norm, lemmas, ocr_norm, ocr_lemmas FROM posts WHERE id > ?",
                        (int(top[0]) if top else 0,),
                    )
