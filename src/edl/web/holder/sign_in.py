"""Driver sign-in by SMS code (/app/sign-in → code → verify), sign-out, and the demo's dev SMS inbox (/dev/sms).

Split from `edl.web.staff.accounts` (which includes this router and keeps the staff sign-in and the handlers). The pages
wear the driver's app chrome (`holder/_base.html`): large fields, one primary action per page. The code page's
resend button counts down to the moment the server's throttle allows the next code (`HolderSignIn.resend_wait`).
A first sign-in registers the account, so the privacy notice is shown with a consent box: the version ticked
(`consent`) is carried from the mobile page to the code page, and without it no account is created.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Form, Query
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.accounts import (
    AccountError,
    CodeTooSoon,
    ConsentRequired,
    InvalidMobile,
    LogSmsSender,
    RateLimited,
    mask_mobile,
    normalise_mobile,
    sign_out,
)
from edl.accounts.privacy import PRIVACY_NOTICE_VERSION
from edl.web.audience import driver, public
from edl.web.auth_deps import (
    HOLDER_COOKIE,
    HOLDER_HOME,
    HOLDER_SIGN_IN,
    clear_session_cookie,
    optional_holder,
    safe_next,
    set_session_cookie,
)
from edl.web.csrf import csrf_token, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.i18n import negotiate
from edl.web.presenters import beijing_time
from edl.web.rendering import Pages

router = APIRouter(tags=["auth"])
log = structlog.get_logger("edl.web.auth")
CSRF = [Depends(require_csrf)]


def request_root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def account_message(request: Request, exc: AccountError) -> str:
    return localise(str(exc), negotiate(request))


def retry_after_headers(exc: AccountError) -> dict[str, str]:
    seconds = exc.retry_after if isinstance(exc, RateLimited) else None
    return {"Retry-After": str(seconds)} if seconds else {}


def display_mobile(mobile: str) -> str:
    """'13800138000' → '138****8000', as Chinese apps show a number back to its owner."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) == 11 else mask_mobile(mobile)


# ---- driver sign-in -----------------------------------------------------------------------------------------------


def _accepted(consent: str) -> str:
    """The notice version ticked on the form, when it is the one in force ('' otherwise: ask again)."""
    return consent if consent == PRIVACY_NOTICE_VERSION else ""


def _consent_context(request: Request, consent: str) -> dict[str, Any]:
    return {
        "consent": consent,
        "notice_version": PRIVACY_NOTICE_VERSION,
        "privacy_url": request_root(request) + "/privacy",
    }


def _mobile_page(
    request: Request,
    pages: Pages,
    *,
    next_path: str,
    mobile: str = "",
    error: AccountError | None = None,
    consent: str = "",
) -> Response:
    return pages.render(
        request,
        "holder/sign_in.html",
        {
            "csrf": csrf_token(request),
            "next": next_path,
            "mobile": mobile,
            "error": account_message(request, error) if error else None,
            "action": request_root(request) + "/app/sign-in/code",
            **_consent_context(request, ""),  # the box is always shown on this page; ticked again after an error
            "consent_checked": bool(consent),
        },
        status_code=error.status_code if error else 200,
        headers=retry_after_headers(error) if error else None,
    )


def _code_page(
    request: Request,
    pages: Pages,
    container: AppServices,
    *,
    mobile: str,
    next_path: str,
    consent: str,
    resend_wait: int | None = None,
    error: AccountError | None = None,
) -> Response:
    """The code form. `resend_wait` is how long the resend button stays disabled (counted down in the page): the
    same moment the server's throttle allows the next code (asked of the service when not given)."""
    root = request_root(request)
    if resend_wait is None:
        resend_wait = container.holder_sign_in.resend_wait(mobile, at=container.clock())
    return pages.render(
        request,
        "holder/sign_in_code.html",
        {
            "csrf": csrf_token(request),
            "next": next_path,
            "mobile": mobile,
            "shown_mobile": display_mobile(mobile),
            "minutes": max(1, container.settings.otp_ttl_seconds // 60),
            "error": account_message(request, error) if error else None,
            "verify_action": root + "/app/sign-in/verify",
            "resend_action": root + "/app/sign-in/code",
            "change_url": root + HOLDER_SIGN_IN + (f"?{urlencode({'next': next_path})}" if next_path else ""),
            "dev_inbox_url": root + "/dev/sms" if container.settings.demo else None,
            "resend_wait": max(0, resend_wait),
            **_consent_context(request, consent),
        },
        status_code=error.status_code if error else 200,
        headers=retry_after_headers(error) if error else None,
    )


@router.get("/app/sign-in", name="holder_sign_in", dependencies=public())
def holder_sign_in_page(
    request: Request, next_: str | None = Query(None, alias="next"), pages: Pages = Depends(get_pages)
) -> Response:
    """The mobile-number form (already signed in: straight on to `next`)."""
    next_path = safe_next(next_, "")
    if optional_holder(request) is not None:
        return RedirectResponse(next_path or request_root(request) + HOLDER_HOME, 303)
    return _mobile_page(request, pages, next_path=next_path)


@router.post("/app/sign-in/code", name="holder_send_code", dependencies=[*public(), *CSRF])
def holder_send_code(
    request: Request,
    mobile: str = Form(""),
    next_: str = Form("", alias="next"),
    consent: str = Form(""),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Text a code to the number and show the code form (the privacy consent ticked is carried on to it)."""
    next_path = safe_next(next_, "")
    accepted = _accepted(consent)
    at = container.clock()
    try:
        sent = container.holder_sign_in.request_code(mobile, client=client_address(request), at=at)
    except CodeTooSoon as exc:  # a code is on its way: let them type it
        log.info("otp_refused", reason=type(exc).__name__)
        number = normalise_mobile(mobile)
        return _code_page(request, pages, container, mobile=number, next_path=next_path, consent=accepted, error=exc)
    except AccountError as exc:
        log.info("otp_refused", reason=type(exc).__name__)
        return _mobile_page(request, pages, next_path=next_path, mobile=mobile[:32], error=exc, consent=accepted)
    wait = int(-(-(sent.resend_after - at).total_seconds() // 1))
    return _code_page(
        request, pages, container, mobile=sent.mobile, next_path=next_path, consent=accepted, resend_wait=wait
    )


@router.post("/app/sign-in/verify", name="holder_verify", dependencies=[*public(), *CSRF])
def holder_verify(
    request: Request,
    mobile: str = Form(""),
    code: str = Form(""),
    next_: str = Form("", alias="next"),
    consent: str = Form(""),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Sign in with the code: set the session cookie and go on to `next` (or the app's home). A first sign-in
    registers the account, and only with the privacy notice accepted (`consent`: the notice version ticked)."""
    next_path = safe_next(next_, "")
    accepted = _accepted(consent)
    try:
        _account, signed = container.holder_sign_in.sign_in(
            mobile,
            code,
            client=client_address(request),
            at=container.clock(),
            previous_token=request.cookies.get(HOLDER_COOKIE),
            consent_version=accepted or None,
        )
    except InvalidMobile as exc:
        return _mobile_page(request, pages, next_path=next_path, mobile=mobile[:32], error=exc, consent=accepted)
    except ConsentRequired as exc:  # nothing created, the code not used: show the notice and the box on this page
        number = normalise_mobile(mobile)
        return _code_page(request, pages, container, mobile=number, next_path=next_path, consent="", error=exc)
    except AccountError as exc:
        number = normalise_mobile(mobile)
        return _code_page(request, pages, container, mobile=number, next_path=next_path, consent=accepted, error=exc)
    response = RedirectResponse(next_path or request_root(request) + HOLDER_HOME, 303)
    hours = container.settings.session_hours
    set_session_cookie(response, request, HOLDER_COOKIE, signed.token, max_age=hours * 3600)
    return response


@router.post("/app/sign-out", name="holder_sign_out", dependencies=[*driver(), *CSRF])
def holder_sign_out(request: Request, container: AppServices = Depends(get_container)) -> Response:
    sign_out(
        container.sessions, request.cookies.get(HOLDER_COOKIE), client=client_address(request), at=container.clock()
    )
    response = RedirectResponse(request_root(request) + HOLDER_SIGN_IN, 303)
    clear_session_cookie(response, request, HOLDER_COOKIE)
    return response


@router.get("/dev/sms", name="dev_sms", dependencies=public())
def dev_sms(
    request: Request, container: AppServices = Depends(get_container), pages: Pages = Depends(get_pages)
) -> Response:
    """The demo's SMS inbox: the last texts this server sent (404 outside demo mode)."""
    sms = container.sms if container.settings.demo else None
    if not isinstance(sms, LogSmsSender) or not sms.dev_inbox:
        raise HTTPException(404)
    return pages.render(
        request,
        "holder/dev_sms.html",
        {
            "messages": [(beijing_time(m.at), display_mobile(m.mobile), m.text) for m in sms.messages],
            "back_url": request_root(request) + HOLDER_SIGN_IN,
        },
    )
