"""ASGI entry point for process managers: `uvicorn --factory edl.asgi:create` (settings from EDL_* variables)."""

from __future__ import annotations

from fastapi import FastAPI

from edl.bootstrap import bootstrap


def create() -> FastAPI:
    from edl.web.app import create_app

    return create_app(bootstrap())
