"""谁查验了我的驾驶证 (who checked my licence): the holder's list of verifications of their licence.

Every online check by a relying party (API or verifier page) writes a `VerificationRow`; the holder sees those of
their own licence, newest first: the party's name, its purpose in words, when (Beijing time), how, and the result.
The page lives in the driver's app at `/app/checks`; `/holder/checks` redirects there.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.verification.log import Check, checks_of_licence
from edl.verification.purposes import RULES, Purpose
from edl.web.audience import driver
from edl.web.auth_deps import HolderSession, current_holder
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.holder.home import app_url, page_context
from edl.web.i18n import Translator, negotiate
from edl.web.presenters import Tone, beijing_time
from edl.web.rendering import Pages

router = APIRouter(tags=["holder"])

PATH = "/app/checks"
LIMIT = 50
STATUS_KEYS = {
    "valid": "checks.status_valid",
    "suspended": "checks.status_suspended",
    "revoked": "checks.status_revoked",
    "unknown": "checks.status_unknown",
}
METHOD_KEYS = {
    "code": "checks.method_code",
    "barcode": "checks.method_barcode",
    "page": "checks.method_page",
    "openid4vp": "checks.method_openid4vp",
}
CHANNEL_KEYS = {"api": "checks.channel_api", "web": "checks.channel_web"}


@dataclass(frozen=True, slots=True)
class CheckView:
    party: str
    purpose: str
    at: str
    how: str
    result: str
    tone: Tone


def purpose_text(purpose: str, t: Translator) -> str:
    try:
        rule = RULES[Purpose(purpose)]
    except ValueError:
        return purpose
    return t.pick(rule.name_zh, rule.name_en)


def check_view(check: Check, t: Translator) -> CheckView:
    status = t(STATUS_KEYS[check.status]) if check.status in STATUS_KEYS else check.status
    if check.valid:
        result, tone = t("checks.result_valid", status=status), Tone.OK
    else:
        result, tone = t("checks.result_invalid", status=status), Tone.BLOCK
    how = " · ".join(
        t(keys[value]) if value in keys else value
        for keys, value in ((METHOD_KEYS, check.method), (CHANNEL_KEYS, check.channel))
    )
    return CheckView(check.party_name, purpose_text(check.purpose, t), beijing_time(check.at), how, result, tone)


@router.get(PATH, name="holder_checks", dependencies=driver())
def checks_page(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """The newest verifications of the holder's licence; before binding a licence, back to the home page."""
    if holder.licence_number is None:
        return RedirectResponse(app_url(request, "/app"), 303)
    t = Translator(negotiate(request))
    with container.sessions() as session:
        checks = checks_of_licence(session, holder.licence_number, limit=LIMIT)
    return pages.render(
        request,
        "holder/checks.html",
        {
            **page_context(request, holder.account_id),
            "checks": [check_view(c, t) for c in checks],
            "limit": LIMIT,
            "home_url": app_url(request, "/app"),
        },
    )


@router.get("/holder/checks", name="holder_checks_alias", include_in_schema=False, dependencies=driver())
def checks_alias(request: Request) -> Response:
    """The address named in the brief; the driver's app pages live under /app."""
    return RedirectResponse(app_url(request, PATH), 307)
