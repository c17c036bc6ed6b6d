"""Whether a post that arrives again is a new version or a state we already hold: feeds and
exports are re-read, and a replayed old text must never reach a journalist as an edit."""

from __future__ import annotations

from collections.abc import Sequence

from storage.models import PostVersion
from storage.records import Post

# A version stamped with the time we recorded it (its source gave no edit date) carries no date
# of the source's; the stamp must not make a feed's later, historical edit date look stale.
_STAMP_SLACK = 2


def is_replay(post: Post, versions: Sequence[PostVersion]) -> bool:
    """Whether `post` (with a text other than the stored current one) is a state of the post we
    already hold or one superseded by it, rather than a new edit.

    An edit date no newer than the newest the source gave us is an old state; without an edit
    date (some feeds omit it) only the text can tell, and a text we stored before is old. A
    dated text equal to an older version but newer than everything stored is the official
    changing it back: an edit."""
    if post.edit_date is None:
        return any(v.text == post.text for v in versions)
    dated = [
        v.edit_date
        for v in versions
        if v.edit_date is not None
        and abs((v.edit_date - v.recorded_at).total_seconds()) > _STAMP_SLACK
    ]
    return bool(dated) and post.edit_date <= max(dated)
