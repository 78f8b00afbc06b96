"""`GET /language`: the language switch of every page (see `edl.web.language`)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.web.audience import public
from edl.web.i18n import parse_lang
from edl.web.language import SWITCH_PATH, remember, safe_return

router = APIRouter(tags=["public"])


@router.get(SWITCH_PATH, name="language_switch", include_in_schema=False, dependencies=public())
def switch_language(
    request: Request,
    to: str | None = Query(None, max_length=16),
    next_: str | None = Query(None, alias="next", max_length=4096),
) -> Response:
    """Remember the language `to` in the `lang` cookie and go back (303) to `next`, checked by `safe_return`."""
    response = RedirectResponse(safe_return(request, next_), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    lang = parse_lang(to)
    if lang is not None:
        remember(response, request, lang)
    return response
