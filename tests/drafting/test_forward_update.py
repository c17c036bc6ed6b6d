"""A follow-up that is a forward of another official's post: the thread is the forwarding
channel's story, and the words are the other official's. Every text here is written for these
tests; the people are invented."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.drafting.alert import compose_alert
from bot.drafting.draft import DraftOptions
from tests.drafting.test_compose import source, stored

THREAD = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
TEXT = "Уряд виділив 500 млн грн на оснащення мобільних госпіталів."
PREMIER = source(
    id=9,
    username="premier_demo",
    title="Андрій Савчук",
    person={"uk": "Андрій Савчук", "en": "Andrii Savchuk", "ru": "Андрей Савчук"},
    role={"uk": "Прем'єр-міністр України", "en": "Prime Minister of Ukraine", "ru": None},
    gender="m",
)


def update_of(post_source: dict[str, object], lang: str, *, origin: bool = True) -> str:
    post = stored(
        TEXT,
        forward_from="@premier_demo",
        forward_link="https://t.me/premier_demo/3412",
        **post_source,
    )
    options = DraftOptions(lang=lang, tz="Europe/Kyiv", origin_source=PREMIER if origin else None)
    payload = compose_alert("new", post, source(), options, update=True, thread_date=THREAD)
    return str(payload["plain"]).split("\n\n")[0]


@pytest.mark.parametrize(
    ("lang", "paragraph"),
    [
        (
            "uk",
            "Оновлено о 18:08. Гайова переслала допис. Савчук заявив: «Уряд виділив 500 млн грн "
            "на оснащення мобільних госпіталів».",
        ),
        (
            "en",
            "Updated at 6:08 p.m. Haiova forwarded a post. Savchuk said: “Уряд виділив 500 млн "
            "грн на оснащення мобільних госпіталів.”",
        ),
        (
            "ru",
            "Обновлено в 18:08. Гайова переслала пост. Савчук заявил: «Уряд виділив 500 млн грн "
            "на оснащення мобільних госпіталів».",
        ),
    ],
)
def test_a_forward_in_a_thread_says_who_forwarded_it_and_never_also(
    lang: str, paragraph: str
) -> None:
    # The minister's thread went on "Updated at 9:20 a.m. Savchuk also said: …": the Prime
    # Minister had said nothing in it before; the minister had forwarded his post.
    assert update_of({}, lang) == paragraph


def test_a_forward_of_an_origin_we_do_not_follow_names_it_as_the_lead_does() -> None:
    line = update_of({}, "uk", origin=False)
    assert line.startswith("Оновлено о 18:08. Гайова переслала допис. ")
    assert "також" not in line


def test_an_official_forwarding_their_own_post_also_said_it() -> None:
    own = stored(TEXT, forward_from="@haiova_demo", forward_link="https://t.me/haiova_demo/700")
    options = DraftOptions(lang="uk", tz="Europe/Kyiv", origin_source=source())
    payload = compose_alert("new", own, source(), options, update=True, thread_date=THREAD)
    assert str(payload["plain"]).startswith("Оновлено о 18:08. Гайова також заявила: «Уряд")
