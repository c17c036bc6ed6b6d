"""The analysis worker process of an import (`python -m bot.ingest.analysis_worker`; the parent's
side is bot/ingest/analyst.py). Imports nothing but the matching package.

Frames both ways: a 4-byte big-endian length, then a pickle. In: a list of texts. Out: first
("ready", None, peak RSS in MiB) once the dictionaries are loaded, then for each list
("ok", [(norm, lemma_text), ...], peak RSS), or ("error", traceback, peak RSS) and the worker
exits. It exits when its input closes: the parent ended, however it ended.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import traceback
from typing import Any, BinaryIO

HEADER = struct.Struct("!I")
# Loaded before the worker says it is ready: the dictionaries of every language a post may be in.
_WARM_TEXT = "Міністр заявив про санкції. Министр сообщил о санкциях. The minister said so."


def peak_rss_mib() -> float:
    """This process's peak resident memory since it started running this program. On Linux
    from VmHWM: getrusage's maxrss there keeps the high-water mark of the image this process
    was forked from before its exec (the parent's, with a whole export read in)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux counts kibibytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _send(out: BinaryIO, message: tuple[str, Any, float]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(HEADER.pack(len(data)) + data)
    out.flush()


def _read_exactly(inp: BinaryIO, size: int) -> bytes | None:
    data = inp.read(size)
    return data if data is not None and len(data) == size else None


def main() -> None:
    # The parent decides when an import stops (it kills this process); the terminal's Ctrl-C
    # is the parent's alone (this process runs in a session of its own, and ignores it anyway).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Frames go to the original stdout; anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    from bot.matching import analyze

    warm = analyze(_WARM_TEXT)
    _ = warm.norm, warm.lemma_text
    try:
        _send(out, ("ready", None, peak_rss_mib()))
        while (head := _read_exactly(inp, HEADER.size)) is not None:
            data = _read_exactly(inp, HEADER.unpack(head)[0])
            if data is None:
                break
            try:
                columns = []
                for text in pickle.loads(data):
                    analysis = analyze(text)
                    columns.append((analysis.norm, analysis.lemma_text))
            except Exception:
                _send(out, ("error", traceback.format_exc(), peak_rss_mib()))
                break
            _send(out, ("ok", columns, peak_rss_mib()))
    except BrokenPipeError:
        # The parent is gone (killed): nobody is left to answer, and a traceback would land on
        # the terminal it shared. What is still buffered goes nowhere instead of failing again
        # when `out` is closed at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())


if __name__ == "__main__":
    main()
