"""Text read from images with Tesseract (the distribution's binary and language data).

`OcrEngine.read` blocks (Tesseract is a separate process, through pytesseract): callers run it
in a worker thread, never on the event loop.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType

from bot.drafting.hyphens import rejoin

DEFAULT_LANGS = "ukr+rus+eng"
# Tesseract reads small text poorly: an image narrower than this is scaled up first.
_MIN_WIDTH = 1000
_MAX_PIXELS = 40_000_000  # a decompression bomb is refused, not read


class OcrError(RuntimeError):
    """An image that could not be read; the message is for a person."""


class OcrEngine:
    def __init__(self, langs: str = DEFAULT_LANGS, *, timeout: float = 120.0) -> None:
        self.langs = langs
        self.timeout = timeout
        # Tesseract starts one OpenMP thread per core for each image; on a small shared
        # machine that makes every read slower, not faster.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    def unavailable(self) -> str | None:
        """Why OCR cannot run here (binary, language data or Python package missing), or None."""
        try:
            pytesseract = _pytesseract()
        except OcrError as exc:
            return str(exc)
        if shutil.which("tesseract") is None:
            return "tesseract is not installed (Debian: apt-get install tesseract-ocr)"
        try:
            have = set(pytesseract.get_languages(config=""))
        except (pytesseract.TesseractError, OSError) as exc:
            return f"tesseract does not run: {exc}"
        missing = [lang for lang in self.langs.split("+") if lang not in have]
        if missing:
            pkgs = " ".join(f"tesseract-ocr-{m}" for m in missing)
            return (
                f"tesseract has no language data for {', '.join(missing)} (apt-get install {pkgs})"
            )
        return None

    def read(self, path: Path) -> str:
        """The text of the image at `path` ('' when there is none)."""
        pytesseract = _pytesseract()
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                if img.width * img.height > _MAX_PIXELS:
                    raise OcrError(f"{path.name}: {img.width}x{img.height} is too large to read")
                gray = img.convert("L")
        except (UnidentifiedImageError, OSError) as exc:
            raise OcrError(f"{path.name}: not an image ({exc})") from exc
        if gray.width < _MIN_WIDTH:
            scale = _MIN_WIDTH / gray.width
            gray = gray.resize(
                (_MIN_WIDTH, max(1, round(gray.height * scale))), Image.Resampling.LANCZOS
            )
        try:
            text = pytesseract.image_to_string(gray, lang=self.langs, timeout=self.timeout)
        except pytesseract.TesseractError as exc:
            raise OcrError(f"{path.name}: tesseract failed: {exc}") from exc
        except RuntimeError as exc:  # pytesseract's timeout
            raise OcrError(f"{path.name}: {exc}") from exc
        return tidy(text)


def _pytesseract() -> ModuleType:
    """Imported when an image is read, not when the module is: every command imports this
    module, and an install made before OCR (or with it turned off) need not have the package."""
    try:
        return importlib.import_module("pytesseract")
    except ImportError as exc:
        raise OcrError(
            "the Python package pytesseract is not installed (run `make install`)"
        ) from exc


def tidy(text: str) -> str:
    """Tesseract's output as paragraphs: the lines of a block joined by spaces (a sentence
    wrapped in the picture is one sentence), blocks one per line, form feeds gone. A word the
    page broke at a line's end is whole again ("госпі-" / "талів": "госпіталів"; a compound
    keeps its hyphen, bot.drafting.hyphens), even across the empty line Tesseract often puts
    between a page's lines: a word does not go on into another paragraph."""
    blocks: list[str] = []
    current: list[str] = []
    gap = False
    for line in text.replace("\f", "\n").splitlines():
        line = " ".join(line.split())
        if not line:
            gap = bool(current)
            continue
        joined = rejoin(current[-1], line) if current else None
        if joined is not None:
            current[-1] = joined
        elif gap:
            blocks.append(" ".join(current))
            current = [line]
        else:
            current.append(line)
        gap = False
    if current:
        blocks.append(" ".join(current))
    return "\n".join(blocks)
