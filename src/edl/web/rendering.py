"""HTML page rendering: one Jinja2 environment per app, the language, and the headers every page carries.

Templates are package data next to this module; static assets are versioned by content hash so browsers
may cache them for a long time and still see a new release at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from edl.web.i18n import Translator, negotiate, requested_lang
from edl.web.language import remember, switch_url
from edl.web.presenters import beijing_time

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"


def static_versions(directory: Path = STATIC_DIR) -> dict[str, str]:
    """Short content hash of each static file, for cache-busting `?v=` parameters."""
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()[:12]
        for p in directory.rglob("*")
        if p.is_file()
    }


class Pages:
    """Renders templates with the shared context: translator, language switch, static URLs, clock."""

    def __init__(self, clock_now: Callable[[], datetime]) -> None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates = Jinja2Templates(env=env)
        self.versions = static_versions()
        self.clock_now = clock_now

    def static_url(self, request: Request, name: str) -> str:
        path = request.scope.get("root_path", "") + f"/static/{name}"
        version = self.versions.get(name)
        return f"{path}?v={version}" if version else path

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render `name` in the negotiated language; remember an explicit `?lang=` in the `lang` cookie."""
        lang = negotiate(request)
        t = Translator(lang)
        base = {
            "lang": lang,
            "t": t,
            "switch_url": switch_url(request, lang.other),
            "static_url": lambda n: self.static_url(request, n),
            "root": request.scope.get("root_path", ""),
            "generated_at": beijing_time(self.clock_now()),
        }
        response = self.templates.TemplateResponse(
            request,
            name,
            {**base, **context},
            status_code=status_code,
            headers={
                "Cache-Control": "no-store",
                "Vary": "Accept-Language, Cookie",
                "Content-Language": lang.html_tag,
                **(headers or {}),
            },
        )
        if requested_lang(request) is not None:
            remember(response, request, lang)
        return response
