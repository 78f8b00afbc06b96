"""我的 (Me): the driver's account page, the unbind confirmation, and the public privacy notice (/privacy).

The "我的" page shows the masked mobile number, the bound licence (masked) or 未绑定, and leads to unbinding (a
confirmation page whose form posts to `/app/unbind`, so it works without JavaScript), the verification log
(`/app/checks`), the privacy notice and signing out (`POST /app/sign-out`, CSRF). The rules stay in the services:
`edl.applications.binding` unbinds, `edl.accounts` signs out and keeps the consent.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.accounts.privacy import PRIVACY_NOTICE_VERSION, consent_of
from edl.domain.licence import mask_mobile
from edl.web.audience import driver, public
from edl.web.auth_deps import HolderSession, current_holder, optional_holder
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.holder.home import app_url, page_context
from edl.web.i18n import Translator, negotiate
from edl.web.masking import mask_number
from edl.web.presenters import beijing_time
from edl.web.rendering import Pages

router = APIRouter(tags=["holder"])

ME = "/app/me"
UNBIND_CONFIRM = "/app/me/unbind"
PRIVACY = "/privacy"


@router.get(ME, name="holder_me", dependencies=driver())
def me_page(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Masked phone, the bound licence or 未绑定, unbind, verification log, privacy notice, sign out."""
    t = Translator(negotiate(request))
    with container.sessions() as session:
        consent = consent_of(session, holder.account_id)
    number = holder.licence_number
    return pages.render(
        request,
        "holder/account.html",
        {
            **page_context(request, holder.account_id),
            "mobile": mask_mobile(holder.mobile),
            "licence": mask_number(number) if number else None,
            "consent": t("me.consent_on_record", at=beijing_time(consent.at), version=consent.version)
            if consent
            else "",
            "urls": {
                "bind": app_url(request, "/app"),
                "unbind": app_url(request, UNBIND_CONFIRM),
                "checks": app_url(request, "/app/checks"),
                "privacy": app_url(request, PRIVACY),
                "sign_out": app_url(request, "/app/sign-out"),
            },
        },
    )


@router.get(UNBIND_CONFIRM, name="holder_unbind_confirm", dependencies=driver())
def unbind_confirm(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Step one of unbinding: what it does, and a form that posts to /app/unbind (step two); nothing bound: 我的."""
    if holder.licence_number is None:
        return RedirectResponse(app_url(request, ME), 303)
    return pages.render(
        request,
        "holder/unbind_confirm.html",
        {
            **page_context(request, holder.account_id),
            "licence": mask_number(holder.licence_number),
            "action": app_url(request, "/app/unbind"),
            "cancel_url": app_url(request, ME),
        },
    )


@router.get(PRIVACY, name="privacy_notice", dependencies=public())
def privacy_notice(request: Request, pages: Pages = Depends(get_pages)) -> Response:
    """The full privacy notice (个人信息保护告知), public: it is read before the account exists."""
    signed_in = optional_holder(request) is not None
    return pages.render(
        request,
        "holder/privacy.html",
        {
            "version": PRIVACY_NOTICE_VERSION,
            "back_url": app_url(request, ME if signed_in else "/app/sign-in"),
            "back_key": "privacy.back_me" if signed_in else "privacy.back_sign_in",
        },
    )
