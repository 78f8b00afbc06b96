"""The verifier web page for relying parties (/verify, 电子驾驶证核验): sign in with the party's API key, then check a
holder's code by the phone camera or by uploading a photo or screenshot of it.

- `GET /verify`: the sign-in form, or (signed in) the check page. `POST /verify/sign-in` takes the API key, checks it
  with `edl.verification.parties.PartyKeys.authenticate` and opens a server-side session of kind `party` (the cookie
  holds a random token, the database only its SHA-256; the key itself is never stored in the browser).
- `POST /verify/check`: JSON `{"text": "...", "format": "qr" | "code128"}` from `static/verifier.js` after the bundled
  reader (`static/vendor/zxing.min.js`) decoded a camera frame; the CSRF token travels in `X-CSRF-Token`. The answer
  is the online result (`OnlineResult.to_json_dict()`) plus `html`, the result panel rendered by the server.
- `POST /verify/upload`: multipart form that works without JavaScript: the server reads the image with zxing-cpp
  (QR → the code text, Code 128 → the short-lived barcode number) or takes a typed number, and renders the page with
  the result.
- Nothing that could be verified (no code in the image; a typed or scanned number that is not shaped like a barcode
  number, `verifier_scan.barcode_well_formed`) is a neutral "could not read, scan again" panel (422), never "not
  valid": it is counted against the party's rate limit like a check (before the image is decoded) and logged, but
  writes no verification record. Whatever was read and has the right shape is verified and recorded as before.

Both paths end in `OnlineVerifier.verify(..., channel="web")` (`edl.verification.online`), which applies the
purpose's rules (only the fields it allows, its policy for an unknown status) and writes the audit row. The page shows
the result object's fields and nothing else (`verifier_views`); reading a code from an image is `verifier_scan`.
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Form
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from edl.accounts.sessions import SessionKind, open_session, revoke_session
from edl.db.session import transaction
from edl.images import ImageTooLarge
from edl.verification.parties import Party
from edl.verification.purposes import RULES
from edl.web.audience import public, relying_party
from edl.web.auth_deps import clear_session_cookie, set_session_cookie
from edl.web.csrf import csrf_token, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.holder.common import UploadTooLarge, client_of, form_text, read_upload_form, upload_bytes
from edl.web.i18n import Translator, negotiate
from edl.web.jsonbody import BodyTooLarge, JsonRefused, read_json
from edl.web.party_auth import PARTY_COOKIE, current_party, optional_party
from edl.web.rendering import Pages
from edl.web.security import SCANNER_CONTENT_SECURITY_POLICY
from edl.web.verifier.scan import barcode_well_formed, decode_image, split_scanned
from edl.web.verifier.views import ResultView, allowed_text, result_view
from edl.worker_pool import PoolBusy

router = APIRouter(tags=["verifier"])
log = structlog.get_logger("edl.web.verifier")
CSRF = [Depends(require_csrf)]

HOME = "/verify"
MAX_KEY_LENGTH = 128
MAX_TEXT_LENGTH = 4096
"""A 亮码 fits a version-10 QR code (at most a few hundred characters); anything longer is not one."""
MAX_JSON_BYTES = 16 * 1024
BARCODE_TEXT = re.compile(r"^[0-9A-Za-z -]{1,64}$")
"""What the typed field may hold to be checked as a barcode number (digits in groups, as printed; the old 32-hex id
is let through so that it is refused with its own reason)."""

# ---- checking -----------------------------------------------------------------------------------------------------


class Refused(Exception):
    """A check that is not run: over the party's rate limit (429) or the limiter is unreachable (503)."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers or {}


def count_check(container: AppServices, party: Party, t: Translator) -> None:
    """Count one check against the party's key limit, the same bucket `POST /api/v1/verifications` uses."""
    from edl.verification.ratelimit import RateLimiterUnavailable

    try:
        decision = container.rate_limiter.hit(
            party.id, party.limit(container.settings.rate_limit_per_minute), now=time.time()
        )
    except RateLimiterUnavailable as exc:
        log.error("web_verification_unavailable", stage="rate_limit", error=str(exc))
        raise Refused(503, t("verify.unavailable")) from None
    if not decision.allowed:
        log.info("web_verification_rate_limited", party=party.id)
        seconds = decision.retry_after_header
        raise Refused(429, t("verify.too_many", seconds=seconds), {"Retry-After": seconds})


def run_check(
    container: AppServices,
    party: Party,
    request: Request,
    *,
    code: str | None,
    barcode: str | None,
    counted: bool = False,
) -> dict[str, Any]:
    """Count it (unless the caller already did), verify it (`OnlineVerifier.verify`, which writes the audit row), and
    return the JSON answer. Database work: the async routes call it in the thread pool, never on the event loop."""
    if not counted:
        count_check(container, party, Translator(negotiate(request)))
    try:
        result = container.online_verifier.verify(
            party, code=code, barcode=barcode, channel="web", client=client_of(request), at=container.clock()
        )
    except SQLAlchemyError as exc:  # the database is down or restarting: no answer, no record; try again shortly
        log.error("web_verification_unavailable", stage="database", error=type(exc).__name__)
        t = Translator(negotiate(request))
        raise Refused(503, t("verify.unavailable"), {"Retry-After": "5"}) from None
    answer: dict[str, Any] = result.to_json_dict()
    log.info("web_verification", party=party.id, method="code" if code else "barcode", valid=answer.get("valid"))
    return answer


# ---- pages --------------------------------------------------------------------------------------------------------


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def _sign_in_page(request: Request, pages: Pages, *, error: str | None = None, status_code: int = 200) -> Response:
    return pages.render(
        request,
        "verifier/sign_in.html",
        {"csrf": csrf_token(request), "error": error, "action": _root(request) + "/verify/sign-in"},
        status_code=status_code,
    )


def _check_page(
    request: Request,
    pages: Pages,
    party: Party,
    *,
    result: ResultView | None = None,
    retry: str | None = None,
    error: str | None = None,
    typed: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    t = Translator(negotiate(request))
    rule = RULES[party.purpose]
    root = _root(request)
    return pages.render(
        request,
        "verifier/check.html",
        {
            "csrf": csrf_token(request),
            "party": party,
            "purpose_name": t.pick(rule.name_zh, rule.name_en),
            "allowed": allowed_text(party.fields, t),
            "result": result,
            "retry": retry,
            "error": error,
            "typed": typed,
            "check_url": root + "/verify/check",
            "upload_action": root + "/verify/upload",
            "present_action": root + "/verify/present",
            "sign_out_action": root + "/verify/sign-out",
            "home_url": root + HOME,
        },
        status_code=status_code,
        headers={"Content-Security-Policy": SCANNER_CONTENT_SECURITY_POLICY, **(headers or {})},
    )


@router.get(HOME, name="verifier", dependencies=public())
def verifier_page(
    request: Request, container: AppServices = Depends(get_container), pages: Pages = Depends(get_pages)
) -> Response:
    """Signed out: the API-key form. Signed in: the camera scanner and the upload form."""
    party = optional_party(request)
    if party is None:
        return _sign_in_page(request, pages)
    return _check_page(request, pages, party)


@router.post("/verify/sign-in", name="verifier_sign_in", dependencies=[*public(), *CSRF])
def verifier_sign_in(
    request: Request,
    key: str = Form(""),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    t = Translator(negotiate(request))
    key = key.strip()
    if not key:
        return _sign_in_page(request, pages, error=t("verify.key_missing"), status_code=400)
    now = container.clock()
    party = container.party_keys.authenticate(key, at=now) if len(key) <= MAX_KEY_LENGTH else None
    if party is None:
        log.info("party_sign_in_refused", client=client_of(request))
        return _sign_in_page(request, pages, error=t("verify.key_refused"), status_code=401)
    with transaction(container.sessions) as session:
        revoke_session(session, SessionKind.PARTY, request.cookies.get(PARTY_COOKIE), at=now)
        signed = open_session(session, SessionKind.PARTY, party.id, at=now, hours=container.settings.session_hours)
    log.info("party_signed_in", party=party.id)
    response = RedirectResponse(_root(request) + HOME, 303)
    set_session_cookie(response, request, PARTY_COOKIE, signed.token, max_age=container.settings.session_hours * 3600)
    return response


@router.post("/verify/sign-out", name="verifier_sign_out", dependencies=[*public(), *CSRF])
def verifier_sign_out(request: Request, container: AppServices = Depends(get_container)) -> Response:
    with transaction(container.sessions) as session:
        revoke_session(session, SessionKind.PARTY, request.cookies.get(PARTY_COOKIE), at=container.clock())
    response = RedirectResponse(_root(request) + HOME, 303)
    clear_session_cookie(response, request, PARTY_COOKIE)
    return response


def _json_refusal(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status, headers={"Cache-Control": "no-store"})


@router.post("/verify/check", name="verifier_check", dependencies=[*relying_party(), *CSRF])
async def verifier_check(
    request: Request,
    party: Party = Depends(current_party),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """What the camera read, checked: the online result as JSON with the rendered result panel in `html`."""
    t = Translator(negotiate(request))
    try:
        data = await read_json(request, MAX_JSON_BYTES)  # streamed with a byte limit, depth-limited parse
    except BodyTooLarge:
        return _json_refusal(413, "too_large", t("verify.body_too_large", limit_kb=MAX_JSON_BYTES // 1024))
    except JsonRefused:
        data = None
    text = data.get("text") if isinstance(data, dict) else None
    fmt = data.get("format") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_LENGTH:
        return _json_refusal(400, "bad_body", t("verify.bad_body"))
    code, barcode = split_scanned(text, fmt if isinstance(fmt, str) else None)
    try:
        await run_in_threadpool(count_check, container, party, t)  # every read counts, a retry too
        if code is None and (barcode is None or not barcode_well_formed(barcode)):
            _unread(party, "camera")
            retry = t("verify.retry_malformed") if barcode is not None else t("verify.retry_not_edl")
            html = pages.templates.get_template("verifier/_retry.html").render(
                t=t, retry=retry, home_url=_root(request) + HOME
            )
            return JSONResponse(
                {"error": "unreadable", "message": retry, "html": html},
                status_code=422,
                headers={"Cache-Control": "no-store"},
            )
        answer = await run_in_threadpool(run_check, container, party, request, code=code, barcode=barcode, counted=True)
    except Refused as exc:
        error = "rate_limited" if exc.status_code == 429 else "unavailable"
        response = _json_refusal(exc.status_code, error, exc.message)
        response.headers.update(exc.headers)
        return response
    view = result_view(answer, t, method="code" if code else "barcode", allowed=party.fields)
    html = pages.templates.get_template("verifier/_result.html").render(
        t=t, result=view, home_url=_root(request) + HOME
    )
    return JSONResponse({**answer, "html": html}, headers={"Cache-Control": "no-store"})


def _unread(party: Party, source: str) -> None:
    """Nothing was read that could be verified: no verification record (nothing was verified), only this log line;
    the read was counted against the party's rate limit like a check."""
    log.info("web_verification_unread", party=party.id, source=source)


@router.post("/verify/upload", name="verifier_upload", dependencies=relying_party())
async def verifier_upload(
    request: Request,
    party: Party = Depends(current_party),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """The form without JavaScript: an image of the code (read here with zxing-cpp) or the typed barcode number."""
    t = Translator(negotiate(request))
    try:
        _bounded, form = await read_upload_form(request, container)  # also the CSRF check
        data = await upload_bytes(form, "image", container)
    except UploadTooLarge:
        limit = f"{container.settings.max_upload_bytes / (1024 * 1024):.0f}"
        return _check_page(request, pages, party, error=t("verify.upload_too_large", limit_mb=limit), status_code=413)
    typed = form_text(form, "typed", 64)
    if not data and not typed:
        return _check_page(request, pages, party, error=t("verify.upload_nothing"), status_code=400)
    try:  # counted before the image is decoded: a retry costs the party a check, and decoding stays rate-limited
        await run_in_threadpool(count_check, container, party, t)
    except Refused as exc:
        return _check_page(
            request, pages, party, error=exc.message, typed=typed, status_code=exc.status_code, headers=exc.headers
        )
    if data:
        try:
            decoded = await container.image_workers.run(decode_image, data)
        except PoolBusy as exc:
            busy = t("error.busy", seconds=exc.retry_after)
            return _check_page(
                request, pages, party, error=busy, status_code=503, headers={"Retry-After": str(exc.retry_after)}
            )
        except ImageTooLarge:  # from the header: nothing was decoded
            return _check_page(request, pages, party, error=t("verify.upload_bad_image"), status_code=413)
        except ValueError:
            return _check_page(request, pages, party, error=t("verify.upload_bad_image"), status_code=400)
        code, barcode = split_scanned(*decoded) if decoded is not None else (None, None)
        if code is None and (barcode is None or not barcode_well_formed(barcode)):
            _unread(party, "image")
            retry = t("verify.retry_not_edl") if decoded is not None else t("verify.reason_no_code")
            return _check_page(request, pages, party, retry=retry, status_code=422)
    else:
        code, barcode = split_scanned(typed)
        if code is None and (not BARCODE_TEXT.match(typed) or not barcode_well_formed(typed)):
            _unread(party, "typed")
            return _check_page(request, pages, party, retry=t("verify.retry_malformed"), typed=typed, status_code=422)
    try:
        answer = await run_in_threadpool(run_check, container, party, request, code=code, barcode=barcode, counted=True)
    except Refused as exc:
        return _check_page(request, pages, party, error=exc.message, status_code=exc.status_code, headers=exc.headers)
    view = result_view(answer, t, method="code" if code else "barcode", allowed=party.fields)
    return _check_page(request, pages, party, result=view)
