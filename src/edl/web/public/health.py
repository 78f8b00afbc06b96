"""Operational endpoints for load balancers and Prometheus: liveness, readiness, metrics."""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edl.web.audience import operator, public
from edl.web.deps import AppServices, get_container

router = APIRouter(tags=["operations"])
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz", name="healthz", dependencies=public())
async def healthz() -> JSONResponse:
    """Liveness: the process answers. Checks nothing else, so a database outage does not restart every server.
    (async: nothing here blocks, and a sync route would cost a worker-thread hop per probe)"""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz", name="readyz", dependencies=public())
def readyz(container: AppServices = Depends(get_container)) -> JSONResponse:
    """Readiness: the database answers a trivial query. 503 takes this server out of the load balancer."""
    try:
        with container.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        structlog.get_logger("edl.web").warning("readiness_failed", error=type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503, headers=NO_STORE)
    return JSONResponse({"status": "ok", "database": "ok"}, headers=NO_STORE)


@router.get("/metrics", name="metrics", dependencies=operator())
def metrics(request: Request) -> Response:
    """Prometheus text exposition of this process's request metrics."""
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)
