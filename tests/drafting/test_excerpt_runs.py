"""A search excerpt as formatted runs: matches bold, whatever the post holds."""

from __future__ import annotations

from bot.drafting.excerpts import snippet_runs
from bot.drafting.html import to_html
from bot.matching import Span


def test_matches_are_bold_and_the_posts_own_text_is_escaped() -> None:
    text = "Черги на кордоні: <b>увага</b> & [черги] \ue000знову\ue001."
    runs = snippet_runs(text, [Span(0, 5, "черги")], width=200)
    # The post's own markup and brackets are text; characters it used as marks are dropped.
    assert to_html(runs) == (
        "<b>Черги</b> на кордоні: &lt;b&gt;увага&lt;/b&gt; &amp; [черги] знову."
    )
