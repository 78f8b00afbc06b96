"""The holder's e-licence (电子驾驶证): show the licence (亮证) and show the code (亮码).

The page shows the live code's QR with its expiry (livecode.js renews it, and the barcode number made with it, from
`/app/licence/code` every `settings.code_refresh_seconds` and counts down; without JavaScript a link reloads the
page for a fresh one), the front page (正页) and the secondary page (副页) drawn as SVG by `edl.rendering` (the
same drawing the PNG and PDF downloads are made from), and the photo-change entry point.

Status and points are read live from the registry on every view: a 暂扣 entered in the registry shows at once, with a
banner that the licence is not valid for driving while a blocking status holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from edl.db.session import transaction
from edl.domain.glossary import format_datetime
from edl.issuance.livecodes import LiveCodeRefused, NoActiveElicence, make_live_code
from edl.rendering import FontMissing, PageName, cjk_font, front_page, render_pdf, render_png, secondary_page
from edl.rendering.card import beijing, beijing_clock
from edl.rendering.pages import BARCODE_TITLE
from edl.rendering.service import CardSource, load_card
from edl.web.audience import driver
from edl.web.auth_deps import HolderSession, current_holder
from edl.web.codes import barcode_caption, code128_svg, qr_svg
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import PageError, localise
from edl.web.holder.apply import photo_response
from edl.web.holder.common import application_view, local_time, stop_view
from edl.web.holder.home import app_url, page_context
from edl.web.i18n import Translator, negotiate
from edl.web.presenters import Tone, beijing_today, points_view, status_badges
from edl.web.rendering import Pages

router = APIRouter(tags=["holder"])

NO_STORE = {"Cache-Control": "no-store"}
VOID_KEYS: dict[str, str] = {
    "classes_changed": "holder.void_classes_changed",
    "renewed": "holder.void_renewed",
    "authority_changed": "holder.void_authority_changed",
    "reissued": "holder.void_reissued",
}


VIEWS = ("code", "front", "back")
"""The page's views (tabs): 亮码, 正页, 副页; `?view=` picks one without JavaScript (livecode.js switches in place)."""
MARK_HUES, MARK_PHASES = 12, 4


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def mark_classes(issued_at: datetime) -> str:
    """The security mark's colour and phase classes for a code issued at `issued_at` (its epoch second): the same
    rule as livecode.js, so the mark changes with every code, also without JavaScript."""
    second = int(issued_at.timestamp())
    return f"mark-h{second % MARK_HUES} mark-p{(second // MARK_HUES) % MARK_PHASES}"


def _no_licence_page(
    request: Request, container: AppServices, pages: Pages, ctx: dict[str, Any], number: str, *, why: str = ""
) -> Response:
    t = Translator(negotiate(request))
    latest = container.applications.latest_elicence(number)
    reason = why
    if not reason and latest is not None and latest.void_reason:
        reason = t(VOID_KEYS.get(latest.void_reason, "holder.void_other"))
    ctx.update({"elicence": None, "void_reason": reason, "voided_at": local_time(latest.voided_at) if latest else ""})
    return pages.render(request, "holder/licence.html", ctx)


@router.get("/app/licence", name="holder_licence", dependencies=driver())
def licence_page(
    request: Request,
    view: str = "code",
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """The live code, the e-licence's two pages and the downloads; or why there is no e-licence and where to apply."""
    t = Translator(negotiate(request))
    ov = container.applications.overview(holder.account_id, at=container.clock())
    number = ov.licence_number
    if number is None or ov.licence is None:
        return RedirectResponse(app_url(request, "/app"), 303)
    ctx: dict[str, Any] = {
        **page_context(request, holder.account_id),
        "home_url": app_url(request, "/app"),
        "elicence": ov.elicence,
        "stopped": None,
        "view": view if view in VIEWS else "code",
        "view_urls": {v: app_url(request, f"/app/licence?view={v}") for v in VIEWS},
    }
    if ov.sanction is not None:  # issue 16: the e-licence is stopped; no code is made, the page says why
        ctx["stopped"] = stop_view(ov.sanction, t)
        return pages.render(request, "holder/licence.html", ctx)
    if ov.elicence is None:
        return _no_licence_page(request, container, pages, ctx, number)
    try:
        source = load_card(container.sessions, container.code_maker, container.photos, number, at=container.clock())
    except NoActiveElicence as exc:  # voided since the overview, or the licence was revoked: no code to show
        return _no_licence_page(request, container, pages, ctx, number, why=localise(str(exc), negotiate(request)))
    except LiveCodeRefused as exc:
        raise PageError(503, "show.render_unavailable", localise(str(exc), negotiate(request))) from None

    card, lic = source.card, source.licence
    today = beijing_today(card.generated_at)
    badges = status_badges(lic.effective_statuses(today), t)
    pending = application_view(request, ov.pending, t) if ov.pending else None
    eligible = ov.eligibility is not None and ov.eligibility.eligible
    settings = container.settings
    ctx.update(
        {
            "lic": lic,
            "badges": badges,
            "blocking": [b.label for b in badges if b.tone is Tone.BLOCK],
            "points": points_view(lic, today),
            "code": {
                "qr": qr_svg(card.code.text, title=t("holder.card_qr")),
                "text": card.code.text,
                "expires_local": beijing_clock(card.code.expires_at),
                "expires_at": _iso(card.code.expires_at),
                "lifetime_seconds": int((card.code.expires_at - card.code.issued_at).total_seconds()),
                "refresh_seconds": settings.code_refresh_seconds,
                "url": app_url(request, "/app/licence/code"),
                "refresh_url": app_url(request, "/app/licence"),
                "issued_at": _iso(card.code.issued_at),
                "mark": mark_classes(card.code.issued_at),
                "now_local": beijing_clock(card.generated_at),
            },
            "holder_name": card.name,
            "holder_number": card.number,
            "photo_url": app_url(request, "/app/licence/photo"),
            "front": front_page(card, photo_href=app_url(request, "/app/licence/photo"), live=True).svg,
            "back": secondary_page(card, live=True).svg,
            "downloads": {
                "front": app_url(request, "/app/licence/front.png"),
                "back": app_url(request, "/app/licence/secondary.png"),
                "pdf": app_url(request, "/app/licence.pdf"),
            },
            "code_minutes": max(1, round(settings.code_lifetime_seconds / 60)),
            "wallet_offer_url": app_url(request, "/app/wallet-offer"),
            "pending": pending,
            "change_photo_url": app_url(request, "/app/apply/photo?source=camera") if eligible and not pending else "",
        }
    )
    return pages.render(request, "holder/licence.html", ctx)


@router.get("/app/licence/code", name="holder_licence_code", dependencies=driver())
def licence_code(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """A fresh live code (亮码) as JSON for livecode.js: its text, its QR as SVG, when it was made and expires; and
    the barcode number made at the same moment, with its Code 128 as SVG (the old number lapses within 2 steps)."""
    lang = negotiate(request)
    t = Translator(lang)
    number = container.applications.bound_licence_number(holder.account_id)
    if number is None:
        return JSONResponse(
            {"error": "no_elicence", "message": t("show.no_elicence")}, status_code=404, headers=NO_STORE
        )
    if container.applications.running_sanction(number, at=container.clock()) is not None:  # issue 16
        return JSONResponse({"error": "stopped", "message": t("holder.stop_title")}, status_code=403, headers=NO_STORE)
    try:
        with transaction(container.sessions) as session:
            live = make_live_code(session, container.code_maker, number, at=container.clock())
    except NoActiveElicence as exc:
        return JSONResponse(
            {"error": "no_elicence", "message": localise(str(exc), lang)}, status_code=404, headers=NO_STORE
        )
    except LiveCodeRefused as exc:
        return JSONResponse(
            {"error": "unavailable", "message": localise(str(exc), lang)}, status_code=503, headers=NO_STORE
        )
    return JSONResponse(
        {
            "text": live.text,
            "svg": str(qr_svg(live.text, title=t("holder.card_qr"))),
            "issued_at": _iso(live.issued_at),
            "expires_at": _iso(live.expires_at),
            "issued_local": format_datetime(live.issued_at, lang),
            "expires_local": beijing_clock(live.expires_at),
            "refresh_seconds": container.settings.code_refresh_seconds,
            "barcode": live.barcode,
            "barcode_caption": barcode_caption(live.barcode),
            "barcode_svg": str(code128_svg(live.barcode, title=BARCODE_TITLE, svgclass="licence-bar")),
        },
        headers=NO_STORE,
    )


def _card_for_download(request: Request, container: AppServices, holder: HolderSession) -> CardSource:
    """The card for a download; the font is checked first, so a server without one signs no code for nothing."""
    lang = negotiate(request)
    try:
        cjk_font()
    except FontMissing as exc:
        raise PageError(503, "show.render_unavailable", localise(str(exc), lang)) from None
    missing = PageError(404, "show.no_elicence", Translator(lang)("show.no_elicence_detail"))
    number = container.applications.bound_licence_number(holder.account_id)
    if number is None:
        raise missing
    if container.applications.running_sanction(number, at=container.clock()) is not None:  # issue 16: stopped
        raise PageError(403, "holder.stop_title", Translator(lang)("holder.stop_intro"))
    try:
        return load_card(container.sessions, container.code_maker, container.photos, number, at=container.clock())
    except NoActiveElicence:
        raise missing from None
    except LiveCodeRefused as exc:
        raise PageError(503, "show.render_unavailable", localise(str(exc), lang)) from None


def _attachment(data: bytes, media_type: str, filename: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _stamp(source: CardSource) -> str:
    return beijing(source.card.generated_at).replace("-", "").replace(":", "").replace(" ", "-")


def _png(request: Request, container: AppServices, holder: HolderSession, page: PageName) -> Response:
    source = _card_for_download(request, container, holder)
    try:
        data = render_png(source.card, page)
    except FontMissing as exc:
        raise PageError(503, "show.render_unavailable", localise(str(exc), negotiate(request))) from None
    return _attachment(data, "image/png", f"edl-licence-{page.value}-{_stamp(source)}.png")


@router.get("/app/licence/front.png", name="holder_licence_front_png", dependencies=driver())
def licence_front_png(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """The front page (正页) as PNG, with a fresh live code in its QR."""
    return _png(request, container, holder, PageName.FRONT)


@router.get("/app/licence/secondary.png", name="holder_licence_secondary_png", dependencies=driver())
def licence_secondary_png(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """The secondary page (副页) as PNG."""
    return _png(request, container, holder, PageName.SECONDARY)


@router.get("/app/licence.pdf", name="holder_licence_pdf", dependencies=driver())
def licence_pdf(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """Both pages as one PDF (one page each)."""
    source = _card_for_download(request, container, holder)
    try:
        data = render_pdf(source.card)
    except FontMissing as exc:
        raise PageError(503, "show.render_unavailable", localise(str(exc), negotiate(request))) from None
    return _attachment(data, "application/pdf", f"edl-licence-{_stamp(source)}.pdf")


@router.get("/app/licence/photo", name="holder_licence_photo", dependencies=driver())
def licence_photo(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """The photo on the holder's own live e-licence (private cache headers); 404 when there is no e-licence."""
    ov = container.applications.overview(holder.account_id, at=container.clock())
    return photo_response(request, container, ov.elicence.photo_ref if ov.elicence else None)
