"""The staff review console (审核工作台): the queue ordered by deadline, one application beside the registry photo,
and the decision. The rules live in `edl.applications.review`; this module only shows its results and maps its
refusals to pages (403 not allowed, 404 not in scope, 409 decided by someone else, 400 with the form kept).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.applications import review
from edl.applications.errors import AlreadyDecided, ApplicationRefused, NotFound
from edl.applications.face import DlibFaceVerifier, FaceOutcome, LenientDemoVerifier
from edl.applications.photos import DEFAULT_RULES
from edl.db.models import ApplicationRow, FaceCheckRow
from edl.domain import DomainError
from edl.domain.application import REJECT_REASONS, STATE_NAMES, ApplicationState, Decision
from edl.storage.photos import PhotoNotFound
from edl.web.audience import staff
from edl.web.auth_deps import StaffSession, csrf_token, current_staff, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.i18n import Translator, negotiate
from edl.web.masking import mask_number
from edl.web.presenters import Tone, beijing_time, beijing_today, class_rows, status_badges, validity_text
from edl.web.rendering import Pages
from edl.web.routes.registry import image_type

router = APIRouter(tags=["review"])

PHOTO_CACHE = "private, no-store"
"""Application photos are personal data under review: never kept by any cache, not even the browser's."""
SOON_HOURS = 3
"""A deadline closer than this is shown in amber."""
APPLICATION_ID = re.compile(r"^[0-9a-f]{32}$")
RESULTS = {"approved": Decision.APPROVE, "rejected": Decision.REJECT}

KIND_KEYS = {"camera": "review.kind_camera", "album": "review.kind_album", "stored_photo": "review.kind_stored"}
ROLE_KEYS = {"reviewer": "auth.role_reviewer", "supervisor": "auth.role_supervisor", "admin": "auth.role_admin"}
FACE_OUTCOME_KEYS = {outcome.value: f"review.face_{outcome.value}" for outcome in FaceOutcome}
STATE_TONES = {
    ApplicationState.PENDING_REVIEW: Tone.WARN,
    ApplicationState.ISSUED: Tone.OK,
    ApplicationState.REJECTED: Tone.BLOCK,
    ApplicationState.CANCELLED: Tone.WARN,
}
FACE_PROVIDERS = {v.name: (v.label_zh, v.label_en) for v in (DlibFaceVerifier, LenientDemoVerifier)}
LENIENT_PROVIDERS = frozenset({LenientDemoVerifier.name})


# --- view models ------------------------------------------------------------------------------------------------


def _utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def due_hint(due: datetime, at: datetime, t: Translator) -> tuple[str, Tone]:
    """'超期 2 小时' / 'overdue by 2 h', '还剩 3 小时' / 'due in 3 h' (minutes below an hour, days from 48 h)."""
    seconds = (_utc(due) - at).total_seconds()
    left = abs(seconds)
    if left < 3600:
        amount, unit = max(1, int(left // 60)), "minutes"
    elif left < 48 * 3600:
        amount, unit = int(left // 3600), "hours"
    else:
        amount, unit = int(left // 86400), "days"
    if seconds < 0:
        keys = {"minutes": "review.overdue_minutes", "hours": "review.overdue_hours", "days": "review.overdue_days"}
        return t(keys[unit], n=amount), Tone.BLOCK
    keys = {"minutes": "review.due_minutes", "hours": "review.due_hours", "days": "review.due_days"}
    return t(keys[unit], n=amount), Tone.WARN if seconds < SOON_HOURS * 3600 else Tone.OK


def kind_text(app: ApplicationRow, t: Translator) -> str:
    kind = t(KIND_KEYS[app.kind]) if app.kind in KIND_KEYS else app.kind
    change = t("review.kind_photo_change")
    return f"{kind} · {change}" if app.photo_change else kind


def decider_text(decided_by: str | None, t: Translator) -> str:
    """Who decided: the staff username, 'the holder' (withdrawn), or the stored actor id as it is."""
    if not decided_by:
        return "-"
    if decided_by.startswith("staff:"):
        return decided_by.removeprefix("staff:")
    if decided_by.startswith("holder:"):
        return t("review.by_holder")
    return decided_by


@dataclass(frozen=True, slots=True)
class Deadline:
    at: str
    hint: str
    tone: Tone


def deadline(app: ApplicationRow, at: datetime, t: Translator) -> Deadline | None:
    if app.due_at is None:
        return None
    hint, tone = due_hint(app.due_at, at, t)
    if app.state != ApplicationState.PENDING_REVIEW.value:
        hint, tone = "", Tone.OK
    return Deadline(beijing_time(_utc(app.due_at)), hint, tone)


@dataclass(frozen=True, slots=True)
class QueueRow:
    url: str
    submitted: str
    deadline: Deadline | None
    holder_name: str
    number: str
    kind: str
    overdue: bool


@dataclass(frozen=True, slots=True)
class CheckRow:
    label: str
    value: str
    rule: str


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def _num(value: float) -> str:
    return f"{value:g}"


# (measurement, label, how to show it, rule kind, PhotoRules attributes). Rows whose measurement was not recorded are
# left out; a rule whose threshold PhotoRules no longer has is shown as "-". Old and new measurement names both work.
_CHECKS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("colour_chroma_p95", "review.check_colour", "num", "at_least", ("min_colour_chroma",)),
    ("faces_found", "review.check_faces", "num", "one", ()),
    ("face_width_fraction", "review.check_face_size", "pct", "between", ("face_width_min", "face_width_max")),
    ("face_centre", "review.check_face_position", "position", "position", ()),
    ("face_luminance", "review.check_face_brightness", "num", "between", ("face_min_luminance", "face_max_luminance")),
    ("lighting_imbalance", "review.check_lighting", "pct", "at_most", ("lighting_max_imbalance",)),
    ("lighting_difference", "review.check_lighting", "num", "at_most", ("lighting_max_difference",)),
    ("background_luminance", "review.check_background", "num", "at_least", ("background_min_luminance",)),
    ("background_saturation", "review.check_background_colour", "num", "at_most", ("background_max_saturation",)),
    ("background_stddev", "review.check_background_plain", "num", "at_most", ("background_max_stddev",)),
    ("sharpness", "review.check_sharpness", "num", "at_least", ("min_sharpness",)),
)


def _rule_text(kind: str, attrs: tuple[str, ...], show: str, t: Translator) -> str:
    r = DEFAULT_RULES
    if kind == "one":
        return t("review.rule_one_face")
    if kind == "position":
        names = ("face_centre_x_tolerance", "face_centre_y_min", "face_centre_y_max")
        if not all(hasattr(r, n) for n in names):
            return ""
        tolerance = float(r.face_centre_x_tolerance)
        return t(
            "review.rule_face_position",
            x_low=_pct(0.5 - tolerance),
            x_high=_pct(0.5 + tolerance),
            y_low=_pct(r.face_centre_y_min),
            y_high=_pct(r.face_centre_y_max),
        )
    values = [getattr(r, a, None) for a in attrs]
    if not values or any(not isinstance(v, int | float) for v in values):
        return ""
    fmt = _pct if show == "pct" else _num
    texts = [fmt(float(v)) for v in values if v is not None]
    if kind == "between":
        return t("review.rule_between", low=texts[0], high=texts[1])
    return t("review.rule_at_least" if kind == "at_least" else "review.rule_at_most", value=texts[0])


def _measured(value: Any, show: str, t: Translator) -> str | None:
    if show == "position":
        if isinstance(value, list | tuple) and len(value) == 2:
            return t("review.value_position", x=_pct(float(value[0])), y=_pct(float(value[1])))
        return None
    if not isinstance(value, int | float):
        return None
    return _pct(value) if show == "pct" else _num(value)


def photo_check_rows(m: Mapping[str, Any], t: Translator) -> list[CheckRow]:
    """What the automatic checks measured, each beside the rule it was held to (rows for what was recorded)."""
    r = DEFAULT_RULES
    rows: list[CheckRow] = []
    size = m.get("size")
    if isinstance(size, list) and len(size) == 2:
        value = f"{m.get('format') or ''} {size[0]}×{size[1]}".strip()
        original = m.get("original_size")
        if isinstance(original, list) and original != size:
            value += " " + t("review.check_original", size="×".join(str(v) for v in original))
        rule = t("review.rule_format", width=r.min_width, height=r.min_height)
        rows.append(CheckRow(t("review.check_format"), value, rule))
    for key, label, show, kind, attrs in _CHECKS:
        measured = _measured(m.get(key), show, t)
        if measured is None:
            continue
        if key == "lighting_imbalance" and isinstance(m.get("face_left_luminance"), int | float):
            left, right = _num(m["face_left_luminance"]), _num(m.get("face_right_luminance", 0))
            measured += " " + t("review.value_left_right", left=left, right=right)
        rows.append(CheckRow(t(label), measured, _rule_text(kind, attrs, show, t)))
    notes = []
    if m.get("exif_orientation") not in (None, 0, 1):
        notes.append(t("review.note_rotated"))
    if m.get("colour_profile"):
        notes.append(t("review.note_profile"))
    if m.get("flattened_transparency"):
        notes.append(t("review.note_transparency"))
    if notes:
        rows.append(CheckRow(t("review.check_processing"), "; ".join(notes), ""))
    return rows


@dataclass(frozen=True, slots=True)
class FaceView:
    provider: str
    outcome: str
    passed: bool
    lenient: bool
    distance: str | None
    at: str


def face_view(check: FaceCheckRow | None, threshold: float, t: Translator) -> FaceView | None:
    if check is None:
        return None
    label = FACE_PROVIDERS.get(check.provider)
    distance = None
    if check.distance is not None:
        distance = t("review.face_distance_value", distance=f"{check.distance:.3f}", threshold=f"{threshold:g}")
    return FaceView(
        provider=t.pick(*label) if label else check.provider,
        outcome=t(FACE_OUTCOME_KEYS[check.outcome]) if check.outcome in FACE_OUTCOME_KEYS else check.outcome,
        passed=check.outcome == FaceOutcome.PASSED.value,
        lenient=check.provider in LENIENT_PROVIDERS,
        distance=distance,
        at=beijing_time(_utc(check.at)),
    )


# --- helpers ----------------------------------------------------------------------------------------------------


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def item_path(request: Request, application_id: str) -> str:
    return _root(request) + str(request.app.url_path_for("review_item", application_id=application_id))


def console_context(
    request: Request, staff: StaffSession, container: AppServices, t: Translator, current: str = ""
) -> dict[str, Any]:
    """What every console page shows in its header: who is signed in, the queue links and counts."""
    root = _root(request)
    may_see_overdue = staff.role in review.MAY_SEE_OVERDUE
    return {
        "staff": staff,
        "staff_role": t(ROLE_KEYS[staff.role]) if staff.role in ROLE_KEYS else str(staff.role),
        "may_see_overdue": may_see_overdue,
        "is_admin": staff.role == "admin",
        "csrf": csrf_token(request),
        "urls": {
            "queue": root + "/review",
            "overdue": root + "/review/overdue",
            "staff_admin": root + "/review/staff",
            "sign_out": root + "/review/sign-out",
        },
        "counts": review.counts(container, staff, at=container.clock()),
        "current": current,
    }


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
        "review/message.html",
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
        item = review.review_item(container, staff, done, at=container.clock())
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
        items = review.queue(container, staff, at=at, overdue_only=overdue_only)
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
            submitted=beijing_time(_utc(i.application.submitted_at)),
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
        "review/queue.html",
        {
            **context,
            "overdue_only": overdue_only,
            "rows": rows,
            "limit": review.QUEUE_LIMIT,
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
    item = review.review_item(container, staff, application_id, at=at)
    app, lic = item.application, item.licence
    today = beijing_today(at)
    eligibility = lic.eligibility(today, container.rollout)
    state = ApplicationState(app.state)
    url = item_path(request, app.id)
    reason_names = {r.code: t.pick(r.zh, r.en) for r in REJECT_REASONS}
    return pages.render(
        request,
        "review/item.html",
        {
            **console_context(request, staff, container, t),
            "app": app,
            "lic": lic,
            "pending": state is ApplicationState.PENDING_REVIEW,
            "state_name": t.pick(*STATE_NAMES[state]),
            "state_tone": STATE_TONES[state],
            "overdue": item.overdue,
            "kind": kind_text(app, t),
            "submitted": beijing_time(_utc(app.submitted_at)),
            "deadline": deadline(app, at, t),
            "decided_at": beijing_time(_utc(app.decided_at)) if app.decided_at else None,
            "decided_by": decider_text(app.decided_by, t),
            "reject_reason": reason_names.get(app.reject_code or ""),
            "badges": status_badges(lic.effective_statuses(today), t),
            "classes": class_rows(lic.classes),
            "validity": validity_text(lic.validity, t),
            "eligible": eligibility.eligible,
            "ineligible_reasons": [t.pick(zh, en) for _code, zh, en in eligibility.reasons],
            "checks": photo_check_rows(app.photo_checks or {}, t),
            "face": face_view(item.face_check, container.settings.face_match_threshold, t),
            "reasons": [(r.code, reason_names[r.code]) for r in REJECT_REASONS],
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
    item = review.review_item(container, staff, application_id, at=container.clock())
    return _photo(request, container, item.application.photo_ref)


@router.get("/review/applications/{application_id}/registry-photo", name="review_registry_photo", dependencies=staff())
def review_registry_photo(
    request: Request,
    application_id: str,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
) -> Response:
    """The registry's stored photo of the same holder, or the placeholder when it has none."""
    item = review.review_item(container, staff, application_id, at=container.clock())
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
    fields = {k: str(form.get(k) or "") for k in ("decision", "reason", "note")}
    try:
        decision = Decision(fields["decision"])
    except ValueError:
        return await run_in_threadpool(
            _item_page, request, staff, container, pages, application_id,
            status=400, error=t("review.bad_decision"), form=fields,
        )  # fmt: skip
    try:
        await run_in_threadpool(
            lambda: review.decide(
                container,
                staff,
                application_id,
                decision,
                reason_code=(fields["reason"] or None) if decision is Decision.REJECT else None,
                note=fields["note"] if decision is Decision.REJECT else None,
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


def _already_decided(
    request: Request, staff: StaffSession, container: AppServices, pages: Pages, application_id: str, message: str
) -> Response:
    """409: say who decided first, when, and how, so the reviewer need not guess."""
    lang = negotiate(request)
    t = Translator(lang)
    item = review.review_item(container, staff, application_id, at=container.clock())
    app = item.application
    state = ApplicationState(app.state)
    detail = localise(message, lang)
    if app.decided_at is not None:
        detail += " " + t(
            "review.decided_detail",
            by=decider_text(app.decided_by, t),
            at=beijing_time(_utc(app.decided_at)),
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
