"""Request metrics (Prometheus) and structured access logs (structlog), as one small ASGI middleware.

Metrics live in a registry owned by the app (per process), so several apps in one process (tests) never clash.
The route label is the route's template (`/registry/{number}`), never the raw path: bounded cardinality, no
personal data in label values. Log lines mask numbers and names (see `edl.web.masking`).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edl.web.masking import mask_numbers_in, mask_query

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNMATCHED_ROUTE = "<unmatched>"


class RequestMetrics:
    """The counters and histogram of HTTP traffic, in their own registry (exposed at /metrics)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "edl_http_requests",
            "HTTP requests handled, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "edl_http_request_duration_seconds",
            "Time to produce the full response, by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )


MOUNT_LABELS = ("/static",)
"""Mounted sub-apps get one label each (FastAPI's router does not expose the mount as the scope's route)."""


def route_label(scope: Scope) -> str:
    """The matched route's path template, the mount's prefix, or a fixed label when nothing matched."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    for prefix in MOUNT_LABELS:
        if scope["path"].startswith(prefix + "/"):
            return prefix
    return UNMATCHED_ROUTE


def request_id_from(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane (from the load balancer), else a new one."""
    for name, value in scope.get("headers", []):
        if name == _REQUEST_ID_BYTES:
            text: str = value.decode("latin-1")
            if _REQUEST_ID_RE.fullmatch(text):  # (`$` would let a trailing newline through)
                return text
    return uuid.uuid4().hex


SAMPLED_ROUTES = ("/api/v1/verifications",)
"""Routes whose successful (2xx) access lines may be sampled (`Settings.access_log_api_sample`): each of their
requests is recorded in the verification log anyway. Refusals and errors are always logged; metrics count all."""


class AccessRecorder:
    """Counts, times and logs one finished HTTP request: the metric children are looked up once per (method, route,
    status), the logger is bound once, successful API lines are sampled (`Settings.access_log_api_sample`). Used by
    `ObservabilityMiddleware` and by the API's ASGI fast lane (`edl.web.verifier.fastlane`), so both count and log
    alike."""

    def __init__(self, metrics: RequestMetrics) -> None:
        self.metrics = metrics
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}
        self._sample: int | None = None
        self._sampled = 0
        self._log = structlog.get_logger("edl.web.access")

    def record(self, scope: Scope, route: str, status: int, request_id: str, elapsed: float) -> None:
        method = scope["method"]
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self._counters[(method, route, status)] = self.metrics.requests.labels(method, route, str(status))
        timer = self._timers.get((method, route))
        if timer is None:
            timer = self._timers[(method, route)] = self.metrics.latency.labels(method, route)
        counter.inc()
        timer.observe(elapsed)
        if self._logged(scope, route, status):
            self._log.info(
                "http_request",
                request_id=request_id,
                method=method,
                path=mask_numbers_in(scope["path"]),
                query=mask_query(scope.get("query_string", b"").decode("latin-1")),
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )

    def _sample_every(self, scope: Scope) -> int:
        if self._sample is None:
            settings = getattr(getattr(getattr(scope.get("app"), "state", None), "container", None), "settings", None)
            self._sample = max(1, int(getattr(settings, "access_log_api_sample", 1) or 1))
        return self._sample

    def _logged(self, scope: Scope, route: str, status: int) -> bool:
        if not 200 <= status < 300 or route not in SAMPLED_ROUTES:
            return True
        every = self._sample_every(scope)
        if every == 1:
            return True
        self._sampled += 1
        return self._sampled % every == 1


class ObservabilityMiddleware:
    """Counts and times every HTTP request, logs one masked access line, and echoes X-Request-ID (pure ASGI)."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.recorder = AccessRecorder(metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((_REQUEST_ID_BYTES, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.recorder.record(scope, route_label(scope), status, request_id, time.perf_counter() - started)


def configure_logging(level: str = "INFO") -> None:
    """JSON log lines on stdout (one per event). Call once per process, before serving (`edl serve`)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_level_number(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )


def _level_number(level: str) -> int:
    return logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
