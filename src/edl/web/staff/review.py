"""The staff review console (审核工作台): the queue ordered by deadline, one application beside the registry photo,
and the decision. The rules live in `edl.applications.review`; this module only shows its results and maps its
refusals to pages (403 not allowed, 404 not in scope, 409 decided by someone else, 400 with the form kept).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.applications.errors import AlreadyDecided, ApplicationRefused, NotFound
from edl.applications.review import QUEUE_LIMIT
from edl.domain import DomainError
from edl.domain.application import REJECT_REASONS, STATE_NAMES, ApplicationState, Decision
from edl.domain.sanction import ABUSE_REASON_CODES, DEFAULT_DURATION_DAYS, DURATION_DAYS, MAY_PROPOSE, Proposal
from edl.storage.photos import PhotoNotFound
from edl.web.audience import staff
from edl.web.auth_deps import StaffSession, current_staff, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.i18n import Translator, negotiate
from edl.web.masking import mask_number
from edl.web.presenters import Tone, beijing_time, beijing_today, class_rows, status_badges, validity_text
from edl.web.rendering import Pages
from edl.web.staff.console import console_context
from edl.web.staff.registry import image_type
from edl.web.staff.review_views import QueueRow, deadline, decider_text, face_view, kind_text, photo_check_rows

router = APIRouter(tags=["review"])

PHOTO_CACHE = "private, no-store"
"""Application photos are personal data under review: never kept by any cache, not even the browser's."""
APPLICATION_ID = re.compile(r"^[0-9a-f]{32}$")
RESULTS = {"approved": Decision.APPROVE, "rejected": Decision.REJECT}
CONFIRMED = "yes"
"""The value of the required `confirm` box that a decision form must carry (a confirmation that needs no script)."""
INDEFINITE = "indefinite"
"""The `sanction_days` value of a proposed sanction that runs until a supervisor lifts it."""

STATE_TONES = {
    ApplicationState.PENDING_REVIEW: Tone.WARN,
    ApplicationState.ISSUED: Tone.OK,
    ApplicationState.REJECTED: Tone.BLOCK,
    ApplicationState.CANCELLED: Tone.WARN,
}


# --- helpers ----------------------------------------------------------------------------------------------------


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def item_path(request: Request, application_id: str) -> str:
    return _root(request) + str(request.app.url_path_for("review_item", application_id=application_id))


def message_page(
    request: Request,
    staff: StaffSession,
    container: AppServices,
    pages: Pages,
    *,
    status: int,
    title_key: str,
    detail: str,
    links: list[tuple[str, str]] | None = None,
) -> Response:
    t = Translator(negotiate(request))
    context = console_context(request, staff, container, t)
    return pages.render(
        request,
        "staff/review/message.html",
        {**context, "title": t(title_key), "detail": detail, "links": links or []},
        status_code=status,
    )


def _flash(
    request: Request, staff: StaffSession, container: AppServices, done: str | None, t: Translator
) -> str | None:
    """The confirmation after a decision, from the application's actual state (not from the query string)."""
    if not done or not APPLICATION_ID.match(done):
        return None
    try:
        item = container.reviews.review_item(staff, done, at=container.clock())
    except NotFound:
        return None
    name = item.licence.holder.name
    if item.application.state == ApplicationState.ISSUED.value:
        return t("review.done_approved", name=name)
    if item.application.state == ApplicationState.REJECTED.value:
        return t("review.done_rejected", name=name)
    return None


def _queue_page(
    request: Request, staff: StaffSession, container: AppServices, pages: Pages, overdue_only: bool
) -> Response:
    lang = negotiate(request)
    t = Translator(lang)
    at = container.clock()
    try:
        items = container.reviews.queue(staff, at=at, overdue_only=overdue_only)
    except ApplicationRefused as exc:
        if exc.code != "forbidden":
            raise
        links = [(t("review.back_to_queue"), _root(request) + "/review")]
        return message_page(
            request, staff, container, pages, status=403, title_key="review.forbidden_title",
            detail=localise(str(exc), lang), links=links,
        )  # fmt: skip
    rows = [
        QueueRow(
            url=item_path(request, i.application.id),
            submitted=beijing_time(i.application.submitted_at),
            deadline=deadline(i.application, at, t),
            holder_name=i.holder_name,
            number=mask_number(i.application.licence_number),
            kind=kind_text(i.application, t),
            overdue=i.overdue,
        )
        for i in items
    ]
    context = console_context(request, staff, container, t, "overdue" if overdue_only else "queue")
    return pages.render(
        request,
        "staff/review/queue.html",
        {
            **context,
            "overdue_only": overdue_only,
            "rows": rows,
            "limit": QUEUE_LIMIT,
            "flash": _flash(request, staff, container, request.query_params.get("done"), t),
        },
    )


def _item_page(
    request: Request,
    staff: StaffSession,
    container: AppServices,
    pages: Pages,
    application_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    form: Mapping[str, str] | None = None,
) -> Response:
    t = Translator(negotiate(request))
    at = container.clock()
    item = container.reviews.review_item(staff, application_id, at=at)
    app, lic = item.application, item.licence
    today = beijing_today(at)
    eligibility = lic.eligibility(today, container.rollout)
    state = ApplicationState(app.state)
    url = item_path(request, app.id)
    reason_names = {r.code: t.pick(r.zh, r.en) for r in REJECT_REASONS}
    return pages.render(
        request,
        "staff/review/item.html",
        {
            **console_context(request, staff, container, t),
            "app": app,
            "lic": lic,
            "pending": state is ApplicationState.PENDING_REVIEW,
            "state_name": t.pick(*STATE_NAMES[state]),
            "state_tone": STATE_TONES[state],
            "overdue": item.overdue,
            "kind": kind_text(app, t),
            "submitted": beijing_time(app.submitted_at),
            "deadline": deadline(app, at, t),
            "decided_at": beijing_time(app.decided_at) if app.decided_at else None,
            "decided_by": decider_text(app.decided_by, t),
            "reject_reason": reason_names.get(app.reject_code or ""),
            "badges": status_badges(lic.effective_statuses(today), t),
            "classes": class_rows(lic.classes),
            "validity": validity_text(lic.validity, t),
            "eligible": eligibility.eligible,
            "ineligible_reasons": [t.pick(zh, en) for _code, zh, en in eligibility.reasons],
            "checks": photo_check_rows(app.photo_checks or {}, t),
            "flags": [
                t.pick(str(f.get("message_zh", "")), str(f.get("message_en", ""))) or str(f.get("code", ""))
                for f in app.photo_flags
            ],
            "face": face_view(item.face_check, container.settings.face_match_threshold, t),
            "reasons": [(r.code, reason_names[r.code]) for r in REJECT_REASONS],
            "abuse_codes": ABUSE_REASON_CODES,
            "may_propose": staff.role in MAY_PROPOSE,
            "durations": [(str(d) if d is not None else INDEFINITE, duration_label(d, t)) for d in DURATION_DAYS],
            "default_duration": str(DEFAULT_DURATION_DAYS),
            "photo_url": url + "/photo",
            "registry_photo_url": url + "/registry-photo",
            "decision_url": url + "/decision",
            "error": error,
            "form": dict(form or {}),
        },
        status_code=status,
    )


def _photo(request: Request, container: AppServices, ref: str | None) -> Response:
    data: bytes | None = None
    if ref:
        try:
            data = container.photos.get(ref)
        except PhotoNotFound:
            structlog.get_logger("edl.web").warning("photo_missing", ref=ref[:12])
    if data is None:
        body: bytes = request.app.state.placeholder
        return Response(body, media_type="image/svg+xml", headers={"Cache-Control": PHOTO_CACHE})
    return Response(data, media_type=image_type(data), headers={"Cache-Control": PHOTO_CACHE})


# --- routes -----------------------------------------------------------------------------------------------------


@router.get("/review", name="review_queue", dependencies=staff())
def review_queue(
    request: Request,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
    done: str | None = Query(None, description="the application just decided (confirmation)"),
    result: str | None = Query(None, description="approved or rejected (informational)"),
) -> Response:
    """Applications waiting in this staff member's authorities, the nearest deadline first."""
    return _queue_page(request, staff, container, pages, overdue_only=False)


@router.get("/review/overdue", name="review_overdue", dependencies=staff())  # the service says why reviewers may not
def review_overdue(
    request: Request,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Supervisors and admins: only the applications past their deadline (reviewers are refused, 403)."""
    return _queue_page(request, staff, container, pages, overdue_only=True)


@router.get("/review/applications/{application_id}", name="review_item", dependencies=staff())
def review_item_page(
    request: Request,
    application_id: str,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """One application: both photos side by side, the licence, the checks, the face check, the decision form."""
    return _item_page(request, staff, container, pages, application_id)


@router.get("/review/applications/{application_id}/photo", name="review_photo", dependencies=staff())
def review_photo(
    request: Request,
    application_id: str,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
) -> Response:
    """The submitted photo (only for staff whose authorities hold the application; never cached)."""
    item = container.reviews.review_item(staff, application_id, at=container.clock())
    return _photo(request, container, item.application.photo_ref)


@router.get("/review/applications/{application_id}/registry-photo", name="review_registry_photo", dependencies=staff())
def review_registry_photo(
    request: Request,
    application_id: str,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
) -> Response:
    """The registry's stored photo of the same holder, or the placeholder when it has none."""
    item = container.reviews.review_item(staff, application_id, at=container.clock())
    return _photo(request, container, item.licence.photo_ref)


@router.post(
    "/review/applications/{application_id}/decision",
    name="review_decide",
    dependencies=[*staff(), Depends(require_csrf)],
)
async def review_decide(
    request: Request,
    application_id: str,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Approve (the e-licence is issued) or reject with a standard reason; then back to the queue (303)."""
    lang = negotiate(request)
    t = Translator(lang)
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in ("decision", "reason", "note", "propose", "sanction_days")}
    try:
        decision = Decision(fields["decision"])
        propose = _proposal(fields) if decision is Decision.REJECT else None
    except ValueError:
        return await run_in_threadpool(
            _item_page, request, staff, container, pages, application_id,
            status=400, error=t("review.bad_decision"), form=fields,
        )  # fmt: skip
    if form.get("confirm") != CONFIRMED:  # the form's required box; a hand-made POST without it decides nothing
        return await run_in_threadpool(
            _item_page, request, staff, container, pages, application_id,
            status=400, error=t("review.confirm_required"), form=fields,
        )  # fmt: skip
    try:
        await run_in_threadpool(
            lambda: container.reviews.decide(
                staff,
                application_id,
                decision,
                reason_code=(fields["reason"] or None) if decision is Decision.REJECT else None,
                note=fields["note"] if decision is Decision.REJECT else None,
                propose=propose,
                at=container.clock(),
                client=request.client.host if request.client else None,
            )
        )
    except NotFound:
        raise
    except AlreadyDecided as exc:
        return await run_in_threadpool(_already_decided, request, staff, container, pages, application_id, str(exc))
    except DomainError as exc:  # a refusal of the service, or an unknown reason code from a hand-made form
        if isinstance(exc, ApplicationRefused) and exc.code == "forbidden":
            return message_page(
                request, staff, container, pages, status=403, title_key="review.forbidden_title",
                detail=localise(str(exc), lang),
            )  # fmt: skip
        return await run_in_threadpool(
            _item_page, request, staff, container, pages, application_id,
            status=400, error=localise(str(exc), lang), form=fields,
        )  # fmt: skip
    result = "approved" if decision is Decision.APPROVE else "rejected"
    query = urlencode({"done": application_id, "result": result})
    return RedirectResponse(f"{_root(request)}/review?{query}", status_code=303)


def duration_label(days: int | None, t: Translator) -> str:
    return t("sanction.duration_days", n=days) if days is not None else t("sanction.duration_indefinite")


def _proposal(fields: Mapping[str, str]) -> Proposal | None:
    """The reject form's sanction proposal (issue 16): none unless its box is ticked; ValueError on a bad duration."""
    if fields.get("propose") != CONFIRMED:
        return None
    days = fields.get("sanction_days", "")
    return Proposal(None if days == INDEFINITE else int(days))


def _already_decided(
    request: Request, staff: StaffSession, container: AppServices, pages: Pages, application_id: str, message: str
) -> Response:
    """409: say who decided first, when, and how, so the reviewer need not guess."""
    lang = negotiate(request)
    t = Translator(lang)
    item = container.reviews.review_item(staff, application_id, at=container.clock())
    app = item.application
    state = ApplicationState(app.state)
    detail = localise(message, lang)
    if app.decided_at is not None:
        detail += " " + t(
            "review.decided_detail",
            by=decider_text(app.decided_by, t),
            at=beijing_time(app.decided_at),
            state=t.pick(*STATE_NAMES[state]),
        )
    links = [
        (t("review.open_application"), item_path(request, app.id)),
        (t("review.back_to_queue"), _root(request) + "/review"),
    ]
    return message_page(
        request, staff, container, pages, status=409, title_key="review.already_decided_title",
        detail=detail, links=links,
    )  # fmt: skip
