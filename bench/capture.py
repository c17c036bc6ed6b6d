"""Benchmark: reading officials' pictures (Tesseract, ukr+rus+eng) off the event loop.

    .venv/bin/python bench/capture.py            # 40 rendered pictures
    .venv/bin/python bench/capture.py --quick    # 12 pictures (`make bench`)

Pictures are rendered here (DejaVu Sans, black on white or white on a dark band, 26-40 px
type), with lines written for this benchmark in the style of a daily summary or a statement,
each with figures. For each picture it measures, in the same run:
- OCR: `OcrEngine.read` (Tesseract in a worker thread, one OpenMP thread), seconds per picture,
  and how many of the picture's words and numbers come back (normalised, as matching sees them);
- anchor: keeping the same file in the media folder (SHA-256 and copy), seconds per picture;
- the event loop while every picture is read in the worker thread: the longest a 10 ms timer
  fired late (a text post waiting behind OCR would wait that long), against the same timer on
  the idle loop just before (what the machine's load costs anyway).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageFont

from bench.common import percentile, table_row
from bot.ingest.ocr import OcrEngine
from bot.matching.normalize import normalize_word
from storage.media import MediaFolder
from storage.store import Store

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = [
    "Загальні бойові втрати противника станом на ранок",
    "особового складу близько {n} осіб",
    "танків {n}, артилерійських систем {m}",
    "Протягом ночі сили протиповітряної оборони знешкодили {n} дронів",
    "Енергетики відновили живлення для {n} родин у {m} громадах",
    "Уряд виділив {n} мільйонів гривень на ремонт шкіл",
    "До уваги мешканців: графік відключень на {n} березня",
    "Повернули додому {n} наших захисників",
    "Заява Міністерства закордонних справ щодо удару по порту",
    "Пункти незламності працюють у {n} населених пунктах",
]


def picture(path: Path, rng: random.Random) -> list[str]:
    size = rng.choice([26, 30, 34, 40])
    font = ImageFont.truetype(FONT, size)
    lines = [
        rng.choice(LINES).format(n=rng.randint(3, 1400), m=rng.randint(2, 90))
        for _ in range(rng.randint(2, 4))
    ]
    width = max(int(font.getlength(line)) for line in lines) + 100
    height = len(lines) * int(size * 1.7) + 80
    dark = rng.random() < 0.3
    img = Image.new("RGB", (width, height), (24, 40, 72) if dark else (250, 250, 246))
    draw = ImageDraw.Draw(img)
    for n, line in enumerate(lines):
        fill = (255, 255, 255) if dark else (20, 20, 20)
        draw.text((50, 40 + n * int(size * 1.7)), line, font=font, fill=fill)
    img.save(path, "JPEG", quality=88)
    return lines


def words(text: str) -> list[str]:
    return [normalize_word(w.strip(".,:;«»")) for w in text.split() if w.strip(".,:;«»")]


async def run(count: int) -> None:
    engine = OcrEngine()
    reason = engine.unavailable()
    if reason is not None:
        print(f"SKIPPED: {reason}")
        return
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pics = []
        for i in range(count):
            path = root / f"p{i}.jpg"
            pics.append((path, picture(path, rng)))
        store = await Store.open(root / "b.db")
        folder = MediaFolder(
            store.media, root / "media", cap_bytes=1 << 30, max_file_bytes=1 << 24
        )
        keep: list[float] = []
        for path, _ in pics:
            t = time.perf_counter()
            await folder.put_file(path, "photo")
            keep.append(time.perf_counter() - t)

        ocr: list[float] = []
        found = expected = nums_found = nums = 0
        stop = asyncio.Event()

        async def ticker() -> float:
            worst = 0.0
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                worst = max(worst, time.perf_counter() - t - 0.01)
            return worst

        # The same timer on an idle loop first: how late it runs on this machine anyway.
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(2.0)
        stop.set()
        idle = await tick
        stop.clear()
        tick = asyncio.create_task(ticker())
        for path, lines in pics:
            t = time.perf_counter()
            text = await asyncio.to_thread(engine.read, path)
            ocr.append(time.perf_counter() - t)
            got = set(words(text))
            for w in words(" ".join(lines)):
                expected += 1
                found += w in got
                if w.isdigit():
                    nums += 1
                    nums_found += w in got
        stop.set()
        lag = await tick
        await store.close()

    per_ocr = sum(ocr) / len(ocr)
    per_keep = sum(keep) / len(keep)
    recall = 100.0 * found / expected
    print(f"pictures: {count}")
    print(
        f"OCR: {per_ocr:.2f} s/picture (p95 {percentile(ocr, 0.95):.2f} s); words read back "
        f"{recall:.1f}% ({found}/{expected}), numbers {100.0 * nums_found / max(nums, 1):.1f}%"
    )
    print(f"anchor, keeping the file (SHA-256 + copy): {per_keep * 1000:.2f} ms/picture")
    print(
        f"event loop while reading: longest 10 ms timer late by {lag * 1000:.1f} ms "
        f"(idle loop, same run: {idle * 1000:.1f} ms)"
    )
    table_row(
        "capture.py: OCR per picture (words read back)",
        f"{per_ocr:.2f} s ({recall:.0f}% of words)",
        f"keep file {per_keep * 1000:.1f} ms",
        f"{per_ocr / per_keep:.0f}×",
        f"off the loop: timer late {lag * 1000:.0f} ms, < idle + 100 ms",
        lag < idle + 0.1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="12 pictures")
    args = parser.parse_args()
    asyncio.run(run(12 if args.quick else args.pictures))


if __name__ == "__main__":
    main()
