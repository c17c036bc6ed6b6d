"""Pictures made in the tests: rendered text on a plain background, as officials post them.

OCR tests need Tesseract with Ukrainian, Russian and English data and a font with Cyrillic
(`make test` installs tesseract-ocr-{ukr,rus,eng} and fonts-dejavu-core); when something is
missing they skip and pytest's summary says why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.ingest.ocr import OcrEngine

FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


def font_path() -> str | None:
    return next((p for p in FONT_PATHS if Path(p).is_file()), None)


def ocr_missing() -> str | None:
    """Why OCR tests cannot run here, or None."""
    reason = OcrEngine().unavailable()
    if reason is not None:
        return reason
    if font_path() is None:
        return "no DejaVu font to render Cyrillic test images (apt-get install fonts-dejavu-core)"
    return None


needs_ocr = pytest.mark.skipif(ocr_missing() is not None, reason=f"OCR: {ocr_missing()}")


def text_image(path: Path, lines: list[str], *, size: int = 34, fmt: str = "PNG") -> Path:
    """Black text on white, one line each, as an infographic's caption block."""
    fp = font_path()
    assert fp is not None
    font = ImageFont.truetype(fp, size)
    width = max(int(font.getlength(line)) for line in lines) + 80
    height = len(lines) * int(size * 1.8) + 60
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    for n, line in enumerate(lines):
        draw.text((40, 30 + n * int(size * 1.8)), line, font=font, fill="black")
    img.save(path, fmt)
    return path
