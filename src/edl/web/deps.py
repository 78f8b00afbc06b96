"""Request-scoped dependencies: the container stored on the app, a database session, the page renderer."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session
from starlette.requests import Request

from edl.bootstrap import Container
from edl.web.rendering import Pages


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def db_session(request: Request) -> Iterator[Session]:
    """A read session (the replica when configured) for this request, closed afterwards."""
    with get_container(request).readers() as session:
        yield session
