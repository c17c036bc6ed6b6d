"""The operator's view of a running service: `/healthz` (JSON) and `/metrics` (Prometheus).

Both listen on `health_host:health_port` (localhost by default; port 0 turns them off). The
registry belongs to the running app, never to the module, so tests can run several apps in one
process and nothing is built at import time.

Metrics (all prefixed `wirewatch_`):
- `posts_ingested_total{result}`: new, edited, deleted, duplicate events through the pipeline;
- `alerts_enqueued_total`, `alerts_sent_total`, `alerts_failed_total`, `alerts_retried_total`,
  `alerts_throttled_total` (sent/failed/... count since the process started);
- `outbox_alerts{status}`: the outbox by status (drafting, pending, held, failed, sent, and
  two recorded failed in the outbox that are no delivery fault: given_up, translations given
  up; cancelled, alerts owed to people removed from the desk, never sent);
- `translations_given_up_total`: translations the worker gave up since the process started;
- `listener_connected` (the connection is up, not merely wanted),
  `listener_last_update_age_seconds`, `listener_behind_messages{source}`,
  `source_last_post_age_seconds{source}`,
  `listener_flood_wait_seconds` (remaining), `listener_flood_wait_seconds_total` (when the
  listener counts it), `listener_reconnects_total`;
- `component_up{component}`, `component_restarts_total{component}`;
- `job_runs_total{job}`, `job_failures_total{job}`, `feed_offset_bytes{feed}`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The outbox as `AlertRepo.counts` shows it, each status a label of `outbox_alerts`.
OUTBOX_STATUSES = ("drafting", "pending", "held", "sent", "failed", "given_up", "cancelled")


class _LiveCounters(Collector):
    """Reads plain-integer counters off live objects at scrape time (the notifier keeps its
    own; mirroring every increment into prometheus would couple it to this module)."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        values = self.read()
        for name, help_text in (
            ("alerts_sent", "Alerts Telegram confirmed since start"),
            ("alerts_failed", "Alerts given up on since start"),
            ("alerts_retried", "Send attempts deferred for a retry since start"),
            ("alerts_throttled", "429 answers from the Bot API since start"),
            (
                "translations_given_up",
                "Translations given up since start (too old, no text, person removed)",
            ),
            ("listener_reconnects", "Telethon reconnections since start"),
            ("listener_flood_wait_seconds", "FloodWait seconds Telegram imposed since start"),
        ):
            if name in values:
                yield CounterMetricFamily(f"wirewatch_{name}", help_text, value=values[name])
        if "listener_connected" in values:
            yield GaugeMetricFamily(
                "wirewatch_listener_connected",
                "1 while the connection to Telegram is up (0 while Telethon retries one)",
                value=values["listener_connected"],
            )
        if "listener_last_update_age_seconds" in values:
            yield GaugeMetricFamily(
                "wirewatch_listener_last_update_age_seconds",
                "Seconds since Telegram last sent the listener an update",
                value=values["listener_last_update_age_seconds"],
            )


def live_counters(notifier: Any, translations: Any, listener: Any) -> dict[str, float]:
    """What `_LiveCounters` reads off the running parts (None: the part does not run in this
    process): the notifier's, the translation worker's and the listener's own counters."""
    out: dict[str, float] = {}
    if notifier is not None:
        out.update(
            alerts_sent=notifier.sent,
            alerts_failed=notifier.failed,
            alerts_retried=notifier.retried,
            alerts_throttled=notifier.throttled,
        )
    if translations is not None:
        out["translations_given_up"] = translations.given_up
    if listener is not None:
        out["listener_reconnects"] = listener.reconnects
        out["listener_connected"] = 1.0 if listener.connected else 0.0
        age = listener.last_update_age
        if age is not None:
            out["listener_last_update_age_seconds"] = age
        out["listener_flood_wait_seconds"] = float(listener.flood_seconds)
    return out


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ingested = Counter(
            "wirewatch_posts_ingested", "Events through the pipeline", ["result"], registry=r
        )
        self.enqueued = Counter("wirewatch_alerts_enqueued", "Alerts queued", registry=r)
        self.outbox = Gauge("wirewatch_outbox_alerts", "Alerts by status", ["status"], registry=r)
        self.behind = Gauge(
            "wirewatch_listener_behind_messages",
            "Messages Telegram has that we have not stored yet, per source",
            ["source"],
            registry=r,
        )
        self.age = Gauge(
            "wirewatch_source_last_post_age_seconds",
            "Seconds since the newest stored post, per source",
            ["source"],
            registry=r,
        )
        self.flood_left = Gauge(
            "wirewatch_listener_flood_wait_remaining_seconds",
            "Seconds left of the current FloodWait (0 when none)",
            registry=r,
        )
        self.up = Gauge("wirewatch_component_up", "1 while running", ["component"], registry=r)
        self.restarts = Counter(
            "wirewatch_component_restarts",
            "Restarts after a failure",
            ["component"],
            registry=r,
        )
        self.job_runs = Counter("wirewatch_job_runs", "Scheduled runs", ["job"], registry=r)
        self.job_failures = Counter(
            "wirewatch_job_failures", "Scheduled runs that raised", ["job"], registry=r
        )
        self.feed_offset = Gauge(
            "wirewatch_feed_offset_bytes", "Bytes of each feed consumed", ["feed"], registry=r
        )
        self.started = Gauge(
            "wirewatch_start_time_seconds", "Unix time the process started", registry=r
        )
        self.started.set(time.time())

    def live(self, read: Callable[[], dict[str, float]]) -> None:
        self.registry.register(_LiveCounters(read))

    def count_ingest(
        self, stored: int, edited: int, deleted: int, duplicates: int, alerts: int
    ) -> None:
        for label, value in (
            ("new", stored),
            ("edited", edited),
            ("deleted", deleted),
            ("duplicate", duplicates),
        ):
            if value:
                self.ingested.labels(label).inc(value)
        if alerts:
            self.enqueued.inc(alerts)

    def set_outbox(self, counts: dict[str, int]) -> None:
        for status in OUTBOX_STATUSES:
            self.outbox.labels(status).set(counts.get(status, 0))

    def set_sources(self, rows: list[dict[str, Any]], now: float) -> None:
        self.behind.clear()
        self.age.clear()
        for row in rows:
            name = str(row["username"])
            if row.get("behind") is not None:
                self.behind.labels(name).set(float(row["behind"]))
            if row.get("last_post_ts") is not None:
                self.age.labels(name).set(max(0.0, now - float(row["last_post_ts"])))

    def render(self) -> bytes:
        return generate_latest(self.registry)


StatusFn = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
MetricsFn = Callable[[], Awaitable[bytes]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HealthServer:
    """aiohttp on one port: GET /healthz -> 200 or 503 with JSON, GET /metrics -> text."""

    def __init__(self, host: str, port: int, status: StatusFn, metrics: MetricsFn) -> None:
        self.host = host
        self.port = port
        self._status = status
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    async def start(self) -> None:
        if not is_loopback(self.host):
            log.warning(
                "health endpoint listens on %s, not localhost: put it behind a firewall", self.host
            )
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_view)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("health endpoint on http://%s:%s/healthz", self.host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, body = await self._status()
        return web.Response(
            status=200 if healthy else 503,
            text=json.dumps(body, ensure_ascii=False, indent=2, default=str),
            content_type="application/json",
        )

    async def _metrics_view(self, request: web.Request) -> web.Response:
        payload = await self._metrics()
        return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE})
