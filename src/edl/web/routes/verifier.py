"""The verifier web page for relying parties (/verify, 电子驾驶证核验): sign in with the party's API key, then check a
holder's code by the phone camera or by uploading a photo or screenshot of it.

- `GET /verify`: the sign-in form, or (signed in) the check page. `POST /verify/sign-in` takes the API key, checks it
  with `edl.verification.parties.authenticate` and opens a server-side session of kind `party` (the cookie holds a
  random token, the database only its SHA-256; the key itself is never stored in the browser).
- `POST /verify/check`: JSON `{"text": "...", "format": "qr" | "code128"}` from `static/verifier.js` after the bundled
  reader (`static/vendor/zxing.min.js`) decoded a camera frame; the CSRF token travels in `X-CSRF-Token`. The answer
  is the online result (`OnlineResult.to_json_dict()`) plus `html`, the result panel rendered by the server.
- `POST /verify/upload`: multipart form that works without JavaScript: the server reads the image with zxing-cpp
  (QR → the code text, Code 128 → the short-lived barcode number) or takes a typed number, and renders the page with
  the result.

Both paths end in `edl.verification.online.verify_for_party(..., channel="web")`, which applies the purpose's rules
(only the fields it allows, its policy for an unknown status) and writes the audit row. The page shows the result
object's fields and nothing else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from edl.accounts.sessions import SessionKind, open_session, revoke_session
from edl.db.session import transaction
from edl.images import ImageTooLarge, ImageUnreadable, open_image
from edl.verification.parties import Party
from edl.verification.purposes import FIELDS, RULES, Field
from edl.web.audience import public, relying_party
from edl.web.auth_deps import clear_session_cookie, set_session_cookie
from edl.web.csrf import csrf_token, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.i18n import Translator, negotiate
from edl.web.jsonbody import BodyTooLarge, JsonRefused, read_json
from edl.web.party_auth import PARTY_COOKIE, current_party, optional_party
from edl.web.presenters import Tone, beijing_time
from edl.web.rendering import Pages
from edl.web.routes.holder_common import UploadTooLarge, client_of, form_text, read_upload_form, upload_bytes
from edl.web.security import SCANNER_CONTENT_SECURITY_POLICY
from edl.worker_pool import PoolBusy

router = APIRouter(tags=["verifier"])
log = structlog.get_logger("edl.web.verifier")
CSRF = [Depends(require_csrf)]

HOME = "/verify"
MAX_KEY_LENGTH = 128
MAX_TEXT_LENGTH = 4096
"""A 亮码 fits a version-10 QR code (at most a few hundred characters); anything longer is not one."""
MAX_JSON_BYTES = 16 * 1024
CODE_PREFIX = "EDL1:"
BARCODE_TEXT = re.compile(r"^[0-9A-Za-z -]{1,64}$")
"""What the typed field may hold to be checked as a barcode number (digits in groups, as printed; the old 32-hex id
is let through so that it is refused with its own reason)."""

# ---- who is signed in ---------------------------------------------------------------------------------------------


# ---- what the page shows ------------------------------------------------------------------------------------------

REASON_KEYS: dict[str, str] = {
    "expired": "verify.reason_expired",
    "not_yet_valid": "verify.reason_not_yet_valid",
    "status_suspended": "verify.reason_suspended",
    "status_revoked": "verify.reason_revoked",
    "status_unknown": "verify.reason_unknown",
    "signature_invalid": "verify.reason_forged",
    "chain_untrusted": "verify.reason_forged",
    "signer_unknown": "verify.reason_forged",
    "unsupported_algorithm": "verify.reason_forged",
    "certificate_expired": "verify.reason_forged",
    "certificate_not_yet_valid": "verify.reason_forged",
    "code_prefix": "verify.reason_unreadable",
    "code_base45": "verify.reason_unreadable",
    "code_compression": "verify.reason_unreadable",
    "code_too_large": "verify.reason_unreadable",
    "code_cose": "verify.reason_unreadable",
    "code_claims": "verify.reason_unreadable",
    "code_lifetime": "verify.reason_unreadable",
    "signed_outside_certificate": "verify.reason_forged",
    "issuer_mismatch": "verify.reason_forged",
    "status_list_invalid": "verify.reason_unknown",
    "status_list_stale": "verify.reason_unknown",
    "malformed": "verify.reason_unreadable",
    "no_code": "verify.reason_no_code",
    "not_found": "verify.reason_not_found",
    "unknown_elicence": "verify.reason_not_found",
    "elicence_not_found": "verify.reason_not_found",
    "barcode_expired": "verify.reason_barcode_expired",
    "barcode_invalid": "verify.reason_barcode_invalid",
    "barcode_static_id": "verify.reason_barcode_static_id",
    "outside_scope": "verify.reason_outside_scope",
    "rate_limited": "verify.reason_rate_limited",
}
STATUS_KEYS = {
    "valid": "verify.status_valid",
    "suspended": "verify.status_suspended",
    "revoked": "verify.status_revoked",
    "unknown": "verify.status_unknown",
}
FIELD_LABELS: dict[Field, str] = {
    Field.NAME: "field.name",
    Field.PHOTO: "field.photo",
    Field.SEX: "field.sex",
    Field.NATIONALITY: "field.nationality",
    Field.BIRTH_DATE: "field.birth_date",
    Field.ADDRESS: "field.address",
    Field.LICENCE_NUMBER: "verify.f_licence_number",
    Field.FILE_NUMBER: "field.file_number",
    Field.CLASSES: "field.classes",
    Field.FIRST_ISSUE: "field.first_issue",
    Field.VALID_FROM: "verify.f_valid_from",
    Field.VALID_UNTIL: "verify.f_valid_until",
    Field.ISSUING_AUTHORITY: "field.authority",
    Field.STATUS: "field.status",
    Field.POINTS: "field.points",
    Field.DRIVING_RECORD: "verify.f_driving_record",
}
PHOTO_DATA_URL = re.compile(r"^data:image/(jpeg|png|webp);base64,[A-Za-z0-9+/=]+$")


@dataclass(frozen=True, slots=True)
class FieldView:
    name: str
    label: str
    text: str
    items: tuple[str, ...] = ()
    photo: str = ""
    """A data: URL of the photo (CSP allows data: images), or ''."""


@dataclass(frozen=True, slots=True)
class ResultView:
    valid: bool
    tone: Tone
    headline: str
    detail: str
    status: str
    status_text: str
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    registry_status: str
    fields: tuple[FieldView, ...]
    method: str
    checked_at: str
    record_id: str


def _plain(value: Any, t: Translator) -> str:
    """A JSON value as a short line of text."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t("verify.yes") if value else t("verify.no")
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):
        for key in ("zh", "name_zh") if t.lang.value == "zh" else ("en", "name_en"):
            if isinstance(value.get(key), str):
                return str(value[key])
        for key in ("text", "name", "label", "value", "code"):
            if key in value and not isinstance(value[key], Mapping | list):
                return _plain(value[key], t)
        return "; ".join(f"{k}: {_plain(v, t)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " ".join(_plain(v, t) for v in value) or "—"
    return str(value)


def _record_line(entry: Any, t: Translator) -> str:
    """One driving-record entry: '2025-04-01 闯红灯 (6)'."""
    if not isinstance(entry, Mapping):
        return _plain(entry, t)
    line = " ".join(str(entry[k]) for k in ("on", "description") if entry.get(k))
    points = entry.get("points")
    return f"{line} ({points})" if points else line or _plain(entry, t)


def _photo_url(value: Any) -> str:
    if isinstance(value, Mapping):
        media = str(value.get("media_type") or value.get("content_type") or "image/jpeg")
        data = value.get("data") or value.get("base64")
        value = f"data:{media};base64,{data}" if isinstance(data, str) else None
    if isinstance(value, str) and PHOTO_DATA_URL.match(value):
        return value
    return ""


def field_views(fields: Mapping[str, Any], t: Translator) -> tuple[FieldView, ...]:
    """The result's fields in the purpose table's order, labelled; names outside `Field` are not shown."""
    views = []
    for f in FIELDS:
        if f.value not in fields:
            continue
        value = fields[f.value]
        label = t(FIELD_LABELS[f])
        if f is Field.PHOTO:
            views.append(FieldView(f.value, label, "", photo=_photo_url(value)))
        elif f is Field.STATUS and isinstance(value, str) and value in STATUS_KEYS:
            views.append(FieldView(f.value, label, t(STATUS_KEYS[value])))
        elif f is Field.DRIVING_RECORD and isinstance(value, list):
            views.append(
                FieldView(f.value, label, "" if value else "—", items=tuple(_record_line(v, t) for v in value))
            )
        else:
            views.append(FieldView(f.value, label, _plain(value, t)))
    return tuple(views)


def _reason(error: Any, t: Translator) -> str:
    if isinstance(error, Mapping):
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    else:
        code, message = str(error), ""
    key = REASON_KEYS.get(code)
    if key:
        return t(key)
    return localise(message, t.lang) if message else code


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _time(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return beijing_time(at if at.tzinfo else at.replace(tzinfo=UTC))


def result_view(answer: Mapping[str, Any], t: Translator, *, method: str) -> ResultView:
    """The page's reading of an online result (`OnlineResult.to_json_dict()`): verdict, reasons, allowed fields."""
    valid = bool(answer.get("valid"))
    status = str(answer.get("status") or "unknown")
    warnings_ = _dedupe([localise(str(w), t.lang) for w in answer.get("warnings") or ()])
    reasons = _dedupe([_reason(e, t) for e in answer.get("errors") or ()])
    if not valid and not reasons and status in ("suspended", "revoked", "unknown"):
        reasons = (t(REASON_KEYS[f"status_{status}"]),)
    if valid:
        tone = Tone.WARN if status != "valid" or warnings_ else Tone.OK
        headline = t("verify.valid_warn") if tone is Tone.WARN else t("verify.valid")
        detail = t("verify.valid_detail")
    else:
        tone, headline, detail = Tone.BLOCK, t("verify.invalid"), t("verify.invalid_detail")
    fields = answer.get("fields") or {}
    registry = answer.get("registry_status")
    return ResultView(
        valid=valid,
        tone=tone,
        headline=headline,
        detail=detail,
        status=status,
        status_text=t(STATUS_KEYS.get(status, "verify.status_unknown")),
        reasons=reasons,
        warnings=warnings_,
        registry_status=_plain(registry, t) if registry else "",
        fields=field_views(fields if isinstance(fields, Mapping) else {}, t),
        method=t("verify.method_code") if answer.get("method", method) == "code" else t("verify.method_barcode"),
        checked_at=_time(answer.get("checked_at")),
        record_id=str(answer.get("verification_id") or ""),
    )


def refused_view(reason_key: str, t: Translator, *, method: str = "code") -> ResultView:
    """A red result for input that never reached verification (no code in the image)."""
    return result_view(
        {"valid": False, "status": "unknown", "errors": [{"code": "", "message": t(reason_key)}]}, t, method=method
    )


# ---- checking -----------------------------------------------------------------------------------------------------


def split_scanned(text: str, fmt: str | None = None) -> tuple[str | None, str | None]:
    """(code, barcode): a QR code or anything starting EDL1: is a signed code; a Code 128 or a typed number is the
    short-lived number under the barcode (checked online only: it proves nothing offline)."""
    text = text.strip()
    if fmt == "qr" or text.upper().startswith(CODE_PREFIX):
        return text, None
    return None, text


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
    container: AppServices, party: Party, request: Request, *, code: str | None, barcode: str | None
) -> dict[str, Any]:
    """Count it, verify it (`verify_for_party`, which writes the audit row), and return the JSON answer. Database work:
    the async routes call it in the thread pool, never on the event loop."""
    from edl.verification.online import verify_for_party

    count_check(container, party, Translator(negotiate(request)))
    result = verify_for_party(
        container, party, code=code, barcode=barcode, channel="web", client=client_of(request), at=container.clock()
    )
    answer: dict[str, Any] = result.to_json_dict()
    log.info("web_verification", party=party.id, method="code" if code else "barcode", valid=answer.get("valid"))
    return answer


def decode_image(data: bytes) -> tuple[str, str] | None:
    """(text, "qr" | "code128") of the first QR code or Code 128 that zxing-cpp finds in the image, or None.

    Raises `ImageTooLarge` when the header is over the pixel budget of `edl.images` (nothing is decoded) and
    `ImageUnreadable` when the bytes are no image Pillow reads (both are ValueErrors). CPU-heavy: the upload route
    runs it in the container's image pool.
    """
    import zxingcpp

    opened = open_image(data)
    try:
        opened.load()
        img = opened if opened.mode == "L" else opened.convert("L")  # what zxing reads anyway, at 1 byte a pixel
    except Exception as exc:  # Pillow raises many kinds on malformed files (SyntaxError, OSError, ...)
        raise ImageUnreadable("not a readable image") from exc
    formats = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128])
    for found in zxingcpp.read_barcodes(img, formats=formats):
        kind = "code128" if found.format == zxingcpp.BarcodeFormat.Code128 else "qr"
        return found.text, kind
    return None


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
            "allowed": "、".join(t(FIELD_LABELS[f]) for f in party.fields)
            if t.lang.value == "zh"
            else ", ".join(t(FIELD_LABELS[f]) for f in party.fields),
            "result": result,
            "error": error,
            "typed": typed,
            "check_url": root + "/verify/check",
            "upload_action": root + "/verify/upload",
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
    from edl.verification.parties import authenticate

    now = container.clock()
    party = authenticate(container.sessions, key, at=now) if len(key) <= MAX_KEY_LENGTH else None
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
        answer = await run_in_threadpool(run_check, container, party, request, code=code, barcode=barcode)
    except Refused as exc:
        error = "rate_limited" if exc.status_code == 429 else "unavailable"
        response = _json_refusal(exc.status_code, error, exc.message)
        response.headers.update(exc.headers)
        return response
    view = result_view(answer, t, method="code" if code else "barcode")
    html = pages.templates.get_template("verifier/_result.html").render(
        t=t, result=view, home_url=_root(request) + HOME
    )
    return JSONResponse({**answer, "html": html}, headers={"Cache-Control": "no-store"})


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
        if decoded is None:
            return _check_page(request, pages, party, result=refused_view("verify.reason_no_code", t), status_code=422)
        code, barcode = split_scanned(*decoded)
    elif typed:
        if not BARCODE_TEXT.match(typed) and not typed.upper().startswith(CODE_PREFIX):
            return _check_page(
                request,
                pages,
                party,
                result=refused_view("verify.reason_unreadable", t, method="barcode"),
                typed=typed,
                status_code=422,
            )
        code, barcode = split_scanned(typed)
    else:
        return _check_page(request, pages, party, error=t("verify.upload_nothing"), status_code=400)
    try:
        answer = await run_in_threadpool(run_check, container, party, request, code=code, barcode=barcode)
    except Refused as exc:
        return _check_page(
            request, pages, party, error=exc.message, typed=typed, status_code=exc.status_code, headers=exc.headers
        )
    return _check_page(request, pages, party, result=result_view(answer, t, method="code" if code else "barcode"))
