"""The registry browser (登记库查询, staff-facing): search licences, one licence's detail page, its photo."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.applications.binding import RELEASE_ROLES, bound_account, release_binding
from edl.applications.errors import NotFound
from edl.audit import Action, ActorKind, record
from edl.db.session import transaction
from edl.domain import Licence
from edl.domain.licence import mask_mobile
from edl.domain.scope import AuthorityScope
from edl.registry.queries import MAX_PAGE, LicencePage, get_licence_detail, get_photo_ref, search_licences
from edl.storage.photos import PhotoNotFound
from edl.web.audience import staff
from edl.web.auth_deps import Role, StaffSession, csrf_token, current_staff, require_csrf
from edl.web.deps import AppServices, db_session, get_container, get_pages
from edl.web.errors import PageError
from edl.web.i18n import Translator, negotiate
from edl.web.presenters import (
    Badge,
    beijing_time,
    beijing_today,
    class_rows,
    nationality_text,
    points_view,
    record_kind_text,
    sex_text,
    status_badges,
    validity_end_text,
)
from edl.web.rendering import Pages
from edl.web.staff.console import console_context

router = APIRouter(tags=["registry"])

PHOTO_CACHE = "private, max-age=300"
"""Photos are personal data: browsers may keep them briefly, shared caches never. ETag makes revalidation cheap."""
PLACEHOLDER_CACHE = "private, max-age=60"


@dataclass(frozen=True, slots=True)
class ListRow:
    number: str
    name: str
    classes: str
    authority: str
    badges: tuple[Badge, ...]
    points: int
    url: str


def parse_page(raw: str | None, t: Translator) -> int:
    """`page` from the query string: a whole number 1..MAX_PAGE, else a 400 that says what to type."""
    if raw is None or raw.strip() == "":
        return 1
    text = raw.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PAGE:
        return int(text)
    raise PageError(400, "error.bad_request", t("error.bad_page", value=text[:20], max=MAX_PAGE))


def detail_path(request: Request, number: str) -> str:
    return request.scope.get("root_path", "") + request.app.url_path_for("registry_detail", number=number)


def list_path(request: Request, q: str, page: int) -> str:
    params = {k: v for k, v in (("q", q), ("page", str(page) if page > 1 else "")) if v}
    base = request.scope.get("root_path", "") + request.app.url_path_for("registry_list")
    return f"{base}?{urlencode(params)}" if params else base


def list_row(request: Request, licence: Licence, t: Translator, container: AppServices) -> ListRow:
    today = beijing_today(container.clock())
    return ListRow(
        number=str(licence.number),
        name=licence.holder.name,
        classes=" ".join(c.value for c in licence.classes),
        authority=licence.authority.name,
        badges=status_badges(licence.effective_statuses(today), t),
        points=licence.points_on(today),
        url=detail_path(request, str(licence.number)),
    )


def audit_view(
    request: Request, container: AppServices, staff: StaffSession, subject: str, detail: dict[str, object]
) -> None:
    """Every registry view is in the audit log: who looked at which licence (or searched for what), from where."""
    with transaction(container.sessions) as session:
        record(
            session,
            at=container.clock(),
            actor_kind=ActorKind.STAFF,
            actor=staff.username,
            action=Action.REGISTRY_VIEW,
            subject=subject,
            detail=detail,
            client=request.client.host if request.client else None,
        )


def scope_of(staff: StaffSession) -> AuthorityScope:
    return AuthorityScope.of(staff.authorities)


@router.get("/registry", name="registry_list", dependencies=staff())
def registry_list(
    request: Request,
    q: str | None = Query(None, description="licence-number prefix or name (prefix)"),
    page: str | None = Query(None, description="page number, from 1"),
    staff: StaffSession = Depends(current_staff),
    session: Session = Depends(db_session),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Search by licence-number prefix or by name (exact or prefix), 50 per page, ordered by number; only licences
    of the staff member's authorities."""
    t = Translator(negotiate(request))
    result: LicencePage = search_licences(session, q, scope=scope_of(staff), page=parse_page(page, t))
    audit_view(request, container, staff, "search", {"q": result.query[:64], "page": result.page})
    rows = [list_row(request, lic, t, container) for lic in result.items]
    return pages.render(
        request,
        "staff/registry/list.html",
        {
            **console_context(request, staff, container, t, "registry"),
            "q": result.query,
            "result": result,
            "rows": rows,
            "prev_url": list_path(request, result.query, result.page - 1) if result.has_prev else None,
            "next_url": list_path(request, result.query, result.page + 1) if result.has_next else None,
            "first_url": list_path(request, result.query, 1),
            "clear_url": list_path(request, "", 1),
        },
    )


@router.get("/registry/{number}", name="registry_detail", dependencies=staff())
def registry_detail(
    request: Request,
    number: str,
    staff: StaffSession = Depends(current_staff),
    session: Session = Depends(db_session),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """One licence: holder, photo, classes, validity, statuses, points, record, events and today's eligibility."""
    t = Translator(negotiate(request))
    detail = get_licence_detail(session, number, scope=scope_of(staff))
    audit_view(request, container, staff, str(detail.licence.number), {"view": "detail"})
    lic = detail.licence
    today = beijing_today(container.clock())
    eligibility = lic.eligibility(today, container.rollout)
    account = bound_account(session, str(lic.number))
    return pages.render(
        request,
        "staff/registry/detail.html",
        {
            **console_context(request, staff, container, t, "registry"),
            "d": detail,
            "lic": lic,
            "today": today.isoformat(),
            "sex": sex_text(lic.holder.sex, t),
            "nationality": nationality_text(lic.holder.nationality, t),
            "validity_end": validity_end_text(lic.validity, t),
            "badges": status_badges(lic.effective_statuses(today), t),
            "points": points_view(lic, today),
            "classes": class_rows(lic.classes),
            "eligible": eligibility.eligible,
            "reasons": [t.pick(zh, en) for _code, zh, en in eligibility.reasons],
            "record": [
                (e.on.isoformat(), record_kind_text(e.kind.value, t), e.description, e.points) for e in lic.record
            ],
            "events": [(beijing_time(e.at), e) for e in detail.events],
            "updated_at": beijing_time(detail.updated_at),
            "photo_url": detail_path(request, str(lic.number)) + "/photo",
            "list_url": list_path(request, "", 1),
            "mobile": mask_mobile(lic.holder.mobile) if lic.holder.mobile else None,
            "bound_to": mask_mobile(account.mobile) if account is not None else None,
            "bound_at": beijing_time(account.bound_at) if account is not None and account.bound_at else "",
            "may_release": account is not None and staff.role in RELEASE_ROLES,
            "release_url": detail_path(request, str(lic.number)) + "/release",
            "released": request.query_params.get("released") == "1",
            "csrf": csrf_token(request),
        },
    )


@router.post(
    "/registry/{number}/release",
    name="registry_release",
    dependencies=[*staff(Role.SUPERVISOR, Role.ADMIN), Depends(require_csrf)],
)
def registry_release(
    request: Request,
    number: str,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
) -> Response:
    """Release the licence from the account it is bound to (a takeover, a lost phone): supervisors and admins, within
    their scope; audited, the e-licence voided, the registered mobile texted. Back to the detail page."""
    try:
        release_binding(
            container.sessions,
            staff,
            number[:18],
            at=container.clock(),
            client=request.client.host if request.client else None,
        )
    except NotFound:
        raise PageError(404, "error.licence_not_found", number[:18]) from None
    return RedirectResponse(detail_path(request, number[:18]) + "?released=1", status_code=303)


@router.get("/registry/{number}/photo", name="registry_photo", dependencies=staff())
def registry_photo(
    request: Request,
    number: str,
    staff: StaffSession = Depends(current_staff),
    session: Session = Depends(db_session),
    container: AppServices = Depends(get_container),
) -> Response:
    """The stored photo (ETag = its SHA-256), or a neutral placeholder SVG when the licence has none."""
    ref = get_photo_ref(session, number, scope=scope_of(staff))
    audit_view(request, container, staff, number, {"view": "photo"})
    data: bytes | None = None
    if ref is not None:
        try:
            data = container.photos.get(ref)
        except PhotoNotFound:
            structlog.get_logger("edl.web").warning("photo_missing", ref=ref[:12])
    if data is None or ref is None:
        return _cached(request, request.app.state.placeholder, "image/svg+xml", request.app.state.placeholder_etag)
    return _cached(request, data, image_type(data), f'"{ref}"', cache=PHOTO_CACHE)


def image_type(data: bytes) -> str:
    """Media type from the magic bytes (the store keeps bytes only)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _cached(request: Request, body: bytes, media_type: str, etag: str, cache: str = PLACEHOLDER_CACHE) -> Response:
    headers = {"ETag": etag, "Cache-Control": cache}
    sent = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in sent:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
