"""Adding the e-licence to another wallet (issue 15): the OpenID4VCI credential offer in the driver's app.

    GET  /app/wallet-offer   what happens, then 生成添加码 (sent through real-person authentication first when the
                             last one is not fresh, as applying is)
    POST /app/wallet-offer   (CSRF) the offer: a QR code and an ``openid-credential-offer://`` link with a one-time
                             pre-authorized code, and the 6-digit tx_code to type into the wallet (shown once, no-store)

The rules are `edl.issuance.openid4vci.CredentialIssuance.make_offer`; the wallet's side is `edl.web.openid4vci`.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.issuance.openid4vci import OfferRefused
from edl.web.audience import driver
from edl.web.auth_deps import HolderSession, current_holder, require_csrf
from edl.web.codes import qr_svg
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.holder.home import app_url, page_context
from edl.web.i18n import Translator, negotiate
from edl.web.rendering import Pages

router = APIRouter(tags=["holder"])

PATH: Final = "/app/wallet-offer"
NO_STORE: Final = {"Cache-Control": "no-store"}


def _verify_first(request: Request) -> Response:
    return RedirectResponse(app_url(request, f"/app/verify-face?next={quote(PATH, safe='/')}"), status_code=303)


def _context(request: Request, holder: HolderSession, container: AppServices, t: Translator) -> dict[str, Any]:
    return {
        **page_context(request, holder.account_id),
        "action": app_url(request, PATH),
        "home_url": app_url(request, "/app"),
        "minutes": container.openid4vci.face_check_minutes,
        "offer": None,
        "error": "",
    }


@router.get(PATH, name="holder_wallet_offer", dependencies=driver())
def offer_page(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """What adding to another wallet does, and the button; real-person authentication first when not fresh."""
    t = Translator(negotiate(request))
    if not container.openid4vci.face_check_is_fresh(holder.account_id, at=container.clock()):
        return _verify_first(request)
    return pages.render(request, "holder/wallet_offer.html", _context(request, holder, container, t))


@router.post(PATH, name="holder_wallet_offer_post", dependencies=[*driver(), Depends(require_csrf)])
async def make_offer(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """A fresh offer of the holder's own e-licence (QR, link, tx_code), or the reason there is none."""
    t = Translator(negotiate(request))
    ctx = _context(request, holder, container, t)
    try:
        made = await run_in_threadpool(container.openid4vci.make_offer, holder.account_id, at=container.clock())
    except OfferRefused as exc:
        if exc.code == "face_check_required":
            return _verify_first(request)
        ctx["error"] = localise(str(exc), t.lang)
        status = 404 if exc.code in ("not_bound", "no_elicence") else 409
        return pages.render(request, "holder/wallet_offer.html", ctx, status_code=status, headers=NO_STORE)
    ctx["offer"] = {
        "uri": made.uri,
        "qr": qr_svg(made.uri, title=t("vci.qr_label")),
        "tx_code": made.tx_code,
        "expires": t.format_time(made.expires_at),
    }
    return pages.render(request, "holder/wallet_offer.html", ctx, headers=NO_STORE)
