"""ASGI entry point for process managers: `uvicorn --factory edl.asgi:create` (settings from EDL_* variables)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from edl.bootstrap import bootstrap


def create() -> FastAPI:
    from edl.web.app import create_app
    from edl.web.housekeeping import install_gc_freeze, install_purge

    container = bootstrap()
    app = create_app(container)
    if container.settings.purge_interval_minutes:
        install_purge(app, container, every=timedelta(minutes=container.settings.purge_interval_minutes))
    install_gc_freeze(app)
    return app
