"""The driver's app (驾驶人端, after 交管12123): home, binding a licence, real-person authentication (实人认证).

The rules live in `edl.applications` (`face_checks` for binding and real-person authentication); these routes only
read forms, call it and show the outcome. Applying and tracking are in `holder_apply`, the e-licence pages in
`holder_licence`; their routers are included here, so the app factory includes this one router.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from edl.applications import binding
from edl.applications.errors import FaceCheckFailed
from edl.applications.face import FaceOutcome
from edl.domain import DomainError, Licence
from edl.domain.liveness import CHALLENGE_SECONDS, MAX_FRAMES, PROMPTS
from edl.notifications import inbox as inbox_store
from edl.notifications.inbox import Notice
from edl.web.audience import driver
from edl.web.auth_deps import HolderSession, current_holder, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.holder import account as holder_account
from edl.web.holder import apply as holder_apply
from edl.web.holder import licence as holder_licence
from edl.web.holder.common import (
    FACE_OUTCOME_KEYS,
    ApplicationView,
    UploadTooLarge,
    application_view,
    client_of,
    form_text,
    json_error,
    local_time,
    read_capture,
    read_upload_form,
    redirect,
    retry_later,
    safe_next,
    stop_view,
    too_large_text,
    verifier_info,
    wants_json,
)
from edl.web.holder.home import app_url, page_context
from edl.web.i18n import Translator, negotiate
from edl.web.presenters import Badge, PointsView, beijing_today, points_view, status_badges, validity_text
from edl.web.rendering import Pages
from edl.worker_pool import PoolBusy

router = APIRouter(tags=["holder"])
router.include_router(holder_apply.router)
router.include_router(holder_licence.router)
router.include_router(holder_account.router)

VOID_NOTICE_KIND = "voided"
FRAME_SIDE = 480
"""The longest side of the frames liveness.js sends: enough for landmarks, small enough for a quick upload."""


@dataclass(frozen=True, slots=True)
class LicenceSummary:
    """The licence as the home page's summary card shows it (live from the registry)."""

    name: str
    number: str
    classes: str
    validity: str
    authority: str
    badges: tuple[Badge, ...]
    points: PointsView


def licence_summary(licence: Licence, t: Translator, container: AppServices) -> LicenceSummary:
    today = beijing_today(container.clock())
    return LicenceSummary(
        name=licence.holder.name,
        number=str(licence.number),
        classes=" ".join(c.value for c in licence.classes),
        validity=validity_text(licence.validity, t),
        authority=licence.authority.name,
        badges=status_badges(licence.effective_statuses(today), t),
        points=points_view(licence, today),
    )


def void_notices(container: AppServices, account_id: str) -> list[Notice]:
    """Unread inbox messages that say a registry change voided the e-licence ("please apply again")."""
    with container.sessions() as session:
        notices = inbox_store.inbox(session, account_id, limit=20)
    return [n for n in notices if n.kind == VOID_NOTICE_KIND and n.unread]


def _home_context(request: Request, holder: HolderSession, container: AppServices, t: Translator) -> dict[str, Any]:
    ov = container.applications.overview(holder.account_id, at=container.clock())
    ctx: dict[str, Any] = {
        **page_context(request, holder.account_id),
        "bound": ov.bound,
        "verifier": verifier_info(container, t),
        "bind_url": app_url(request, "/app/bind"),
        "unbind_url": app_url(request, "/app/me/unbind"),
        "attempts_left": ov.face_attempts_left,
        "form": {"number": "", "name": ""},
        "error": "",
    }
    if not ctx["bound"]:
        return ctx
    eligible = ov.eligibility is not None and ov.eligibility.eligible
    stopped = stop_view(ov.sanction, t) if ov.sanction else None  # issue 16: no applying while a sanction runs
    pending: ApplicationView | None = application_view(request, ov.pending, t) if ov.pending else None
    latest = application_view(request, ov.applications[0], t) if ov.applications else None
    ctx.update(
        {
            "summary": licence_summary(ov.licence, t, container) if ov.licence else None,
            "eligible": eligible,
            "reasons": [t.pick(zh, en) for _c, zh, en in ov.eligibility.reasons] if ov.eligibility else [],
            "elicence": ov.elicence,
            "elicence_issued": local_time(ov.elicence.issued_at) if ov.elicence else "",
            "pending": pending,
            "rejected": latest if latest and latest.rejected and pending is None else None,
            "stopped": stopped,
            "may_apply": eligible and pending is None and ov.elicence is None and stopped is None,
            "may_change_photo": eligible and pending is None and ov.elicence is not None and stopped is None,
            "stored_photo_usable": ov.stored_photo_usable,
            "face_fresh": ov.face_check_fresh,
            "notices": []
            if ov.elicence
            else [
                (t.pick(n.title_zh, n.title_en), t.pick(n.body_zh, n.body_en))
                for n in void_notices(container, holder.account_id)
            ],
            "urls": {
                "licence": app_url(request, "/app/licence"),
                "stored": app_url(request, "/app/apply/stored"),
                "camera": app_url(request, "/app/apply/photo?source=camera"),
                "album": app_url(request, "/app/apply/photo?source=album"),
                "applications": app_url(request, "/app/applications"),
                "inbox": app_url(request, "/app/inbox"),
            },
        }
    )
    return ctx


@router.get("/app", name="holder_home", dependencies=driver())
def home(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Not bound: the bind form. Bound: the licence, whether and how to apply, the e-licence and the pending case."""
    t = Translator(negotiate(request))
    return pages.render(request, "holder/home.html", _home_context(request, holder, container, t))


@router.post("/app/bind", name="holder_bind", dependencies=driver())
async def bind(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Bind the account to a licence: number + name + a live capture (multipart; CSRF in the form or the header)."""
    t = Translator(negotiate(request))
    number = name = ""
    try:
        _bounded, form = await read_upload_form(request, container, max_files=MAX_FRAMES)
        number, name = form_text(form, "number", 32), form_text(form, "name", 64)
        capture = await read_capture(form)
    except UploadTooLarge:
        return _bind_error(request, holder, container, pages, t, too_large_text(container, t), 413, number, name)
    if not number or not name:
        return _bind_error(request, holder, container, pages, t, t("holder.bind_fields_missing"), 400, number, name)
    if capture is None:
        return _bind_error(request, holder, container, pages, t, t("holder.liveness_missing"), 400, number, name)
    try:  # off the event loop; the liveness check itself runs in the bounded image pool
        await run_in_threadpool(
            container.face_checks.bind_licence,
            holder.account_id,
            number,
            name,
            capture,
            at=container.clock(),
            client=client_of(request),
        )
    except PoolBusy as exc:
        busy = t("error.busy", seconds=exc.retry_after)
        return retry_later(_bind_error(request, holder, container, pages, t, busy, 503, number, name), exc)
    except DomainError as exc:
        message = localise(str(exc), t.lang)
        if isinstance(exc, FaceCheckFailed):
            message = f"{t(_outcome_key(exc.code))} {message}"
        return _bind_error(request, holder, container, pages, t, message, 400, number, name)
    return redirect(request, app_url(request, "/app"))


@router.post("/app/unbind", name="holder_unbind", dependencies=[*driver(), Depends(require_csrf)])
def unbind(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """End this account's binding (the e-licence is voided, the registered mobile texted); back to the bind form."""
    try:
        binding.unbind_licence(container.sessions, holder.account_id, at=container.clock(), client=client_of(request))
    except DomainError as exc:
        if wants_json(request):
            return json_error(400, localise(str(exc), negotiate(request)))
    return RedirectResponse(app_url(request, "/app"), status_code=303)


def _outcome_key(code: str) -> str:
    try:
        return FACE_OUTCOME_KEYS[FaceOutcome(code)]
    except ValueError:
        return "holder.face_failed"


def _bind_error(
    request: Request,
    holder: HolderSession,
    container: AppServices,
    pages: Pages,
    t: Translator,
    message: str,
    status: int,
    number: str,
    name: str,
) -> Response:
    if wants_json(request):
        return json_error(status, message)
    ctx = _home_context(request, holder, container, t)
    ctx.update({"error": message, "form": {"number": number, "name": name}})
    return pages.render(request, "holder/home.html", ctx, status_code=status)


# --- real-person authentication ------------------------------------------------------------------------------------


@router.post(
    "/app/liveness/challenge", name="holder_liveness_challenge", dependencies=[*driver(), Depends(require_csrf)]
)
async def liveness_challenge(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """A one-time liveness challenge (JSON for liveness.js): the nonce, the prompts on their timeline, when to take
    each frame. `purpose` is bind or apply; refused when today's attempts are used up."""
    t = Translator(negotiate(request))
    form = await request.form(max_files=0, max_fields=4)
    purpose = form_text(form, "purpose", 16)
    try:
        challenge = await run_in_threadpool(
            container.face_checks.issue_challenge, holder.account_id, purpose, at=container.clock()
        )
    except DomainError as exc:
        return json_error(400, localise(str(exc), t.lang), getattr(exc, "code", "refused"))
    return JSONResponse(
        {
            "ok": True,
            "challenge": challenge.nonce,
            "actions": [a.value for a in challenge.actions],
            "windows": [
                {"start_ms": w.start_ms, "end_ms": w.end_ms, "prompt": t.pick(*PROMPTS[w.action])}
                for w in challenge.windows
            ],
            "frame_times": list(challenge.frame_times),
            "capture_ms": challenge.capture_ms,
            "expires_in": CHALLENGE_SECONDS,
            "max_side": FRAME_SIDE,
        },
        headers={"Cache-Control": "no-store"},
    )


def _verify_page(
    request: Request,
    holder: HolderSession,
    container: AppServices,
    pages: Pages,
    t: Translator,
    *,
    next_url: str,
    outcome: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    ov = container.applications.overview(holder.account_id, at=container.clock())
    if not ov.bound:
        return RedirectResponse(app_url(request, "/app"), status_code=303)
    ctx = {
        **page_context(request, holder.account_id),
        "verifier": verifier_info(container, t),
        "attempts_left": ov.face_attempts_left,
        "fresh": ov.face_check_fresh,
        "next_url": next_url,
        "continue_url": app_url(request, next_url),
        "action": app_url(request, "/app/verify-face"),
        "outcome": outcome,
        "error": error,
    }
    return pages.render(request, "holder/verify_face.html", ctx, status_code=status)


@router.get("/app/verify-face", name="holder_verify_face", dependencies=driver())
def verify_face_page(
    request: Request,
    next: str | None = Query(None, description="the holder page to return to afterwards"),
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Real-person authentication: a live capture (camera, or a file as the fallback) compared with the stored photo."""
    t = Translator(negotiate(request))
    return _verify_page(request, holder, container, pages, t, next_url=safe_next(next))


@router.post("/app/verify-face", name="holder_verify_face_post", dependencies=driver())
async def verify_face(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """One attempt (it counts towards the daily limit); passed → on to `next`, otherwise the reason in plain words."""
    t = Translator(negotiate(request))
    next_url = "/app"
    try:
        _bounded, form = await read_upload_form(request, container, max_files=MAX_FRAMES)
        next_url = safe_next(form_text(form, "next", 300))
        capture = await read_capture(form)
    except UploadTooLarge:
        return _verify_failed(request, holder, container, pages, t, next_url, "", too_large_text(container, t), 413)
    if capture is None:
        return _verify_failed(request, holder, container, pages, t, next_url, "", t("holder.liveness_missing"), 400)
    try:  # off the event loop; the liveness check itself runs in the bounded image pool
        result = await run_in_threadpool(
            container.face_checks.authenticate,
            holder.account_id,
            capture,
            at=container.clock(),
            client=client_of(request),
        )
    except PoolBusy as exc:
        busy = t("error.busy", seconds=exc.retry_after)
        return retry_later(_verify_failed(request, holder, container, pages, t, next_url, "", busy, 503), exc)
    except DomainError as exc:
        return _verify_failed(request, holder, container, pages, t, next_url, "", localise(str(exc), t.lang), 400)
    if not result.passed:
        c = result.comparison
        heading = t(FACE_OUTCOME_KEYS.get(c.outcome, "holder.face_failed"))
        return _verify_failed(
            request, holder, container, pages, t, next_url, heading, t.pick(c.message_zh, c.message_en), 400
        )
    return redirect(request, app_url(request, next_url))


def _verify_failed(
    request: Request,
    holder: HolderSession,
    container: AppServices,
    pages: Pages,
    t: Translator,
    next_url: str,
    outcome: str,
    message: str,
    status: int,
) -> Response:
    if wants_json(request):
        return json_error(status, f"{outcome} {message}".strip())
    return _verify_page(
        request, holder, container, pages, t, next_url=next_url, outcome=outcome, error=message, status=status
    )
