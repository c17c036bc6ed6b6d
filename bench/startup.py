"""Benchmark: how long `wirewatch run` takes from spawn until /healthz answers (ready), with a
bot token (the local fake Bot API of tests/fakebot.py), a feed and a desk rule; no Telegram
credentials, so no listener. Besides the wall-clock time it prints the CPU time the process had
used when it became ready (user + system, from /proc), which a loaded machine inflates much less
than the wall clock. The anchor, measured in the same run, is a bare interpreter (`python -c
pass`): the ratio says how many interpreter start-ups the service costs.

    .venv/bin/python bench/startup.py            # 5 starts
    .venv/bin/python bench/startup.py --runs 9
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import table_row  # noqa: E402
from tests.fakebot import FakeBotAPI  # noqa: E402
from tests.service.support import free_port, post_line, provision, service_env  # noqa: E402


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _ready_after(
    env: dict[str, str], feed: Path, port: int, log: Path
) -> tuple[float, float]:
    started = time.perf_counter()
    with log.open("w") as out:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("wirewatch")), "run", "--feed", str(feed),
            env=env, cwd=ROOT, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"service exited:\n{log.read_text()[-2000:]}")
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        await resp.read()
                        return time.perf_counter() - started, _cpu_seconds(proc.pid)
                except (aiohttp.ClientError, TimeoutError):
                    await asyncio.sleep(0.01)
    finally:
        proc.terminate()
        await proc.wait()


async def _bare_interpreter() -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()
    return time.perf_counter() - started


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        db = tmp_path / "wirewatch.db"
        await provision(db)
        feed = tmp_path / "feed.jsonl"
        feed.write_text("".join(post_line(n) + "\n" for n in range(1, 21)), encoding="utf-8")
        ready: list[float] = []
        cpu: list[float] = []
        anchor: list[float] = []
        async with FakeBotAPI() as fakebot:
            for run in range(runs):
                port = free_port()
                env = service_env(db, bot_url=fakebot.url, health_port=port)
                anchor.append(await _bare_interpreter())
                wall, used = await _ready_after(env, feed, port, tmp_path / f"run{run}.log")
                ready.append(wall)
                cpu.append(used)
    ready_s, anchor_s = statistics.median(ready), statistics.median(anchor)
    print(f"wirewatch run, spawn to /healthz: median {ready_s:.2f} s over {runs} starts "
          f"(min {min(ready):.2f}, max {max(ready):.2f})")  # fmt: skip
    print(f"CPU time used until ready: median {statistics.median(cpu):.2f} s")
    print(f"anchor, bare interpreter start: median {anchor_s * 1000:.0f} ms")
    print(f"ratio: {ready_s / anchor_s:.1f}x a bare interpreter")
    table_row(
        "start-up, `wirewatch run` spawned until /healthz answers",
        f"median {ready_s:.2f} s",
        f"bare interpreter start {anchor_s * 1000:.0f} ms",
        f"{ready_s / anchor_s:.0f}×",
        "(no goal in issue 14)",
        None,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 starts (for `make bench`)")
    args = parser.parse_args()
    asyncio.run(main(min(args.runs, 3) if args.quick else args.runs))
