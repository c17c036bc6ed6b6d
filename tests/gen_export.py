"""A synthetic but plausible Telegram Desktop export of one channel, for tests and benchmarks.

    .venv/bin/python -m tests.gen_export /tmp/result.json --posts 100000

Posts are built from phrase lists written for this project: varied Ukrainian official-channel
sentences (air defence, exchanges, sanctions, energy, reconstruction), some edited, some with
photos, files or videos, some forwarded or replies, some with bold and text_link parts, plus the
odd service message, with dates a few minutes to a few hours apart. Same seed, same file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from datetime import datetime, timedelta, timezone
from typing import Any

_KYIV = timezone(timedelta(hours=2))
_START = datetime(2025, 1, 6, 7, 30, tzinfo=_KYIV)
_NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"

_OPENERS = [
    "Сьогодні провів зустріч",
    "Відбулася телефонна розмова",
    "Обговорили з партнерами",
    "Провели робочу нараду",
    "Маємо важливий результат",
    "Продовжуємо роботу",
    "Інформую про підсумки дня",
    "Коротко про головне",
]
_TOPICS = [
    "щодо посилення протиповітряної оборони",
    "щодо нового пакету санкцій проти Росії",
    "про повернення наших полонених додому",
    "щодо обміну полоненими та звільнення цивільних",
    "про відновлення енергосистеми після масованих ударів",
    "щодо ремонту підстанцій і захисту енергетичних об'єктів",
    "про відбудову зруйнованих шкіл і лікарень",
    "щодо гуманітарних коридорів для евакуації",
    "про постачання далекобійної зброї",
    "щодо мобілізації та ротації підрозділів",
    "про роботу над мирним планом",
    "щодо арешту російських активів",
]
_PARTNERS = [
    "з міністром оборони Польщі",
    "з колегами з Європейської комісії",
    "з державним секретарем США",
    "з прем'єр-міністром Канади",
    "з делегацією Конгресу США",
    "з послами країн G7",
    "з міністром закордонних справ Туреччини",
    "з генеральним секретарем НАТО",
    "з очільником МАГАТЕ",
    "з представниками Червоного Хреста",
]
_DETAILS = [
    "Домовилися про наступні кроки й графік поставок.",
    "Дякую за незмінну підтримку українського народу.",
    "Партнери підтвердили готовність діяти швидко.",
    "Окрема увага — захисту критичної інфраструктури взимку.",
    "Наступна зустріч у цьому форматі — за два тижні.",
    "Усі рішення погоджено з Президентом.",
    "Деталі оприлюднимо після завершення процедур.",
    "Розраховуємо на результат ще до кінця місяця.",
    "Працюємо над тим, щоб повернути всіх.",
]
_PLACES = [
    "у Києві",
    "у Варшаві",
    "в Анкарі",
    "у Брюсселі",
    "у Женеві",
    "в Одесі",
    "у Харкові",
    "у Львові",
    "у Дніпрі",
    "онлайн",
]
_BRIEFS = [
    "За ніч сили ППО знешкодили {n} ударних дронів.",
    "Додому повернулися {n} захисників.",
    "Через обстріли знеструмлено {n} тисяч абонентів.",
    "На відбудову спрямовано {n} мільйонів гривень.",
    "Евакуйовано {n} мешканців прифронтових громад.",
    "Зафіксовано {n} бойових зіткнень за добу.",
]
_CASUAL = [
    "Доброго ранку! Гарного всім дня.",
    "Вітаю з Днем Соборності України!",
    "Дякую всім, хто сьогодні на зв'язку.",
    "Сонячний ранок у Києві, +2.",
]
_FORWARDED = ["Генштаб: зведення (демо)", "Розвідка: повідомлення (демо)", "МЗС України (демо)"]


def _sentence(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(_CASUAL)
    if roll < 0.35:
        return rng.choice(_BRIEFS).format(n=rng.randint(3, 180))
    return (
        f"{rng.choice(_OPENERS)} {rng.choice(_PARTNERS)} {rng.choice(_PLACES)} "
        f"{rng.choice(_TOPICS)}. {rng.choice(_DETAILS)}"
    )


def _stamp(prefix: str, when: datetime) -> dict[str, str]:
    local = when.astimezone(_KYIV).replace(tzinfo=None)
    return {prefix: local.isoformat(), f"{prefix}_unixtime": str(int(when.timestamp()))}


def _entities(text: str | list[Any]) -> list[dict[str, Any]]:
    if isinstance(text, str):
        return [{"type": "plain", "text": text}] if text else []
    return [{"type": "plain", "text": p} if isinstance(p, str) else dict(p) for p in text]


def _messages(n_posts: int, channel_id: int, name: str, rng: random.Random) -> list[Any]:
    messages: list[Any] = [
        {
            "id": 1,
            "type": "service",
            **_stamp("date", _START),
            "actor": name,
            "actor_id": f"channel{channel_id}",
            "action": "create_channel",
            "title": name,
            "text": "",
            "text_entities": [],
        }
    ]
    when = _START
    msg_id = 1
    made = 0
    while made < n_posts:
        msg_id += 1
        when += timedelta(minutes=rng.randint(4, 240))
        if rng.random() < 0.004:  # now and then a pin: not a post, skipped by the importer
            messages.append(
                {
                    "id": msg_id,
                    "type": "service",
                    **_stamp("date", when),
                    "actor": name,
                    "actor_id": f"channel{channel_id}",
                    "action": "pin_message",
                    "message_id": msg_id - 1,
                    "text": "",
                    "text_entities": [],
                }
            )
            continue
        made += 1
        body = " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
        text: str | list[Any] = body
        if rng.random() < 0.1:
            head, _, tail = body.partition(" ")
            text = [
                {"type": "bold", "text": head},
                " " + tail + " Деталі ",
                {
                    "type": "text_link",
                    "text": "за посиланням",
                    "href": f"https://example.org/n/{msg_id}",
                },
                ".",
            ]
        msg: dict[str, Any] = {
            "id": msg_id,
            "type": "message",
            **_stamp("date", when),
            "from": name,
            "from_id": f"channel{channel_id}",
        }
        roll = rng.random()
        if roll < 0.05:
            msg.update(_stamp("edited", when + timedelta(minutes=rng.randint(1, 90))))
        media = rng.random()
        if media < 0.15:
            msg.update(photo=_NOT_INCLUDED, width=1280, height=853)
        elif media < 0.18:
            msg.update(
                file=_NOT_INCLUDED,
                thumbnail=_NOT_INCLUDED,
                media_type="video_file",
                mime_type="video/mp4",
                duration_seconds=rng.randint(10, 300),
            )
        elif media < 0.19:
            msg.update(file=_NOT_INCLUDED, file_name="statement.pdf", mime_type="application/pdf")
        if rng.random() < 0.03:
            msg["forwarded_from"] = rng.choice(_FORWARDED)
        elif rng.random() < 0.03 and msg_id > 2:
            msg["reply_to_message_id"] = rng.randint(2, msg_id - 1)
        msg["text"] = text
        msg["text_entities"] = _entities(text)
        messages.append(msg)
    return messages


def generate_export(
    path: str | os.PathLike[str], n_posts: int, *, channel_id: int, name: str, seed: int
) -> None:
    """Write a single-channel result.json with exactly `n_posts` posts (plus service messages)."""
    rng = random.Random(seed)
    doc = {
        "name": name,
        "type": "public_channel",
        "id": channel_id,
        "messages": _messages(n_posts, channel_id, name, rng),
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", help="where to write result.json")
    parser.add_argument("--posts", type=int, default=10_000, help="number of posts")
    parser.add_argument("--channel-id", type=int, default=1700000001, help="bare channel id")
    parser.add_argument("--name", default="Синтетичний канал (демо)", help="channel title")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    args = parser.parse_args(argv)
    generate_export(
        args.path, args.posts, channel_id=args.channel_id, name=args.name, seed=args.seed
    )
    print(f"wrote {args.posts} posts to {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
