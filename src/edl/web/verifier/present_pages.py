"""The verifier page asks the driver's phone (issue 15): a relying party signed in on /verify makes an OpenID4VP
presentation request, shows it as a QR code (and a link) for the driver's app to open, and sees the verified result.

    POST /verify/present           make a request (counts against the party's key limit like a check) → its page
    GET  /verify/present/{id}      the QR code while pending, then the result panel, or why there is none (declined,
                                   refused, expired); static/present.js asks `…/state` every few seconds and
                                   reloads the page when it changes (without script: a "check again" link)
    GET  /verify/present/{id}/state  {"state": …} for that script

The same service as the API (`edl.verification.presentations`); a party sees only its own requests.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from edl.rendering.codes import qr_svg
from edl.verification.parties import Party
from edl.verification.presentations import ANSWERED, OPEN, PENDING, RequestNotFound
from edl.web.audience import relying_party
from edl.web.csrf import csrf_token
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import PageError
from edl.web.i18n import Translator, negotiate
from edl.web.party_auth import current_party
from edl.web.rendering import Pages
from edl.web.verifier.pages import CSRF, HOME, Refused, _root, count_check
from edl.web.verifier.views import result_view

router = APIRouter(tags=["verifier"])

REFRESH_SECONDS: Final = 3
STATE_KEYS: Final = {
    PENDING: "verify.present_pending",
    "declined": "verify.present_declined",
    "refused": "verify.present_refused",
    "expired": "verify.present_expired",
}


@router.post("/verify/present", name="verifier_present", dependencies=[*relying_party(), *CSRF])
async def make_request(
    request: Request, party: Party = Depends(current_party), container: AppServices = Depends(get_container)
) -> Response:
    t = Translator(negotiate(request))
    try:
        await run_in_threadpool(count_check, container, party, t)
    except Refused as exc:
        raise PageError(exc.status_code, "verify.problem", exc.message) from None
    service = container.presentations
    made = await run_in_threadpool(lambda: service.create(party, at=container.clock()))
    return RedirectResponse(f"{_root(request)}/verify/present/{made.id}", 303)


@router.get("/verify/present/{request_id}", name="verifier_present_page", dependencies=relying_party())
def request_page(
    request: Request,
    request_id: str,
    party: Party = Depends(current_party),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    t = Translator(negotiate(request))
    service = container.presentations
    try:
        view = service.get(party, request_id, at=container.clock())
    except RequestNotFound:
        raise PageError(404, "verify.problem", t("verify.present_not_found")) from None
    urls = view.to_json_dict(service.base_url)
    ctx: dict[str, Any] = {
        "state": view.state,
        "state_text": t(STATE_KEYS[view.state]) if view.state in STATE_KEYS else "",
        "home_url": _root(request) + HOME,
        "again_action": _root(request) + "/verify/present",
        "csrf": csrf_token(request),
        "refresh": REFRESH_SECONDS if view.state in OPEN else None,
        "app_uri": urls["app_uri"],
        "wallet_uri": urls["authorization_request_uri"],
        "qr": qr_svg(urls["app_uri"], title=t("verify.present_qr")) if view.state in OPEN else None,
        "expires": t.format_time(view.expires_at),
        "page_url": f"{_root(request)}/verify/present/{view.id}",
        "state_url": f"{_root(request)}/verify/present/{view.id}/state",
        "result": None,
    }
    if view.state == ANSWERED and view.result is not None:
        ctx["result"] = result_view(view.result, t, method="openid4vp", allowed=party.fields)
    return pages.render(request, "verifier/present.html", ctx, headers={"Cache-Control": "no-store"})


@router.get("/verify/present/{request_id}/state", name="verifier_present_state", dependencies=relying_party())
def request_state(
    request_id: str, party: Party = Depends(current_party), container: AppServices = Depends(get_container)
) -> Response:
    """The request's state only (what present.js polls)."""
    try:
        view = container.presentations.get(party, request_id, at=container.clock())
    except RequestNotFound:
        return JSONResponse({"error": "not_found"}, status_code=404, headers={"Cache-Control": "no-store"})
    return JSONResponse({"state": view.state}, headers={"Cache-Control": "no-store"})
