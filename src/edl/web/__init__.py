"""The web layer: HTML pages for staff and the operations endpoints. Build it with `create_app(container)`."""

from edl.web.app import create_app

__all__ = ["create_app"]
