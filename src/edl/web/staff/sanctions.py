"""The console's sanctions page (停止使用): proposed and running sanctions in the staff member's authorities, with
confirm / decline / lift for supervisors. The rules live in `edl.applications.sanctions` and `edl.domain.sanction`;
this module shows their results and maps refusals to pages (403 not allowed, 404 not in scope, 409 already decided,
400 with the reason). Every form carries the CSRF token and the required `confirm=yes` box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.applications.errors import AlreadyDecided, NotFound
from edl.applications.sanctions import Sanction
from edl.domain import DomainError
from edl.domain.sanction import MAY_DECIDE, STATE_NAMES, SanctionState
from edl.web.audience import staff
from edl.web.auth_deps import StaffSession, current_staff, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.i18n import Translator, negotiate
from edl.web.masking import mask_number
from edl.web.presenters import beijing_time
from edl.web.rendering import Pages
from edl.web.staff.console import console_context
from edl.web.staff.review import CONFIRMED, duration_label, message_page
from edl.web.staff.review_views import decider_text

router = APIRouter(tags=["review"])

SANCTION_ID = re.compile(r"^[0-9a-f]{32}$")
ACTIONS = ("confirm", "decline", "lift")


@dataclass(frozen=True, slots=True)
class SanctionView:
    id: str
    holder_name: str
    number: str
    state: str
    state_label: str
    reason: str
    note: str | None
    duration: str
    proposed: str
    confirmed: str | None
    ends: str
    may_confirm: bool
    may_lift: bool
    action_url: str


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def _view(request: Request, s: Sanction, staff: StaffSession, t: Translator) -> SanctionView:
    supervisor = staff.role in MAY_DECIDE
    own = s.proposed_by == f"staff:{staff.username}"
    return SanctionView(
        id=s.id,
        holder_name=s.holder_name,
        number=mask_number(s.licence_number),
        state=s.state.value,
        state_label=t.pick(*STATE_NAMES[s.state]),
        reason=t.pick(s.reason_zh, s.reason_en),
        note=s.reason_text,
        duration=duration_label(s.duration_days, t),
        proposed=f"{beijing_time(s.proposed_at)} · {decider_text(s.proposed_by, t)}",
        confirmed=f"{beijing_time(s.confirmed_at)} · {decider_text(s.confirmed_by, t)}" if s.confirmed_at else None,
        ends=(beijing_time(s.ends_at) if s.ends_at else t("sanction.until_lifted"))
        if s.state is SanctionState.ACTIVE
        else "-",
        may_confirm=supervisor and not own and s.state is SanctionState.PROPOSED,
        may_lift=supervisor and s.state is SanctionState.ACTIVE,
        action_url=_root(request) + f"/review/sanctions/{s.id}",
    )


def _list_page(
    request: Request,
    staff: StaffSession,
    container: AppServices,
    pages: Pages,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    t = Translator(negotiate(request))
    at = container.clock()
    items = container.sanctions.listing(staff, at=at)
    flash = None
    done, what = request.query_params.get("done", ""), request.query_params.get("action", "")
    if SANCTION_ID.match(done) and what in ACTIONS:
        try:
            state = container.sanctions.get(staff, done, at=at).state
        except NotFound:
            state = None
        if state is not None:
            flash = t(f"sanction.done_{what}", state=t.pick(*STATE_NAMES[state]))
    return pages.render(
        request,
        "staff/review/sanctions.html",
        {
            **console_context(request, staff, container, t, "sanctions"),
            "rows": [_view(request, s, staff, t) for s in items],
            "is_supervisor": staff.role in MAY_DECIDE,
            "flash": flash,
            "error": error,
        },
        status_code=status,
    )


@router.get("/review/sanctions", name="review_sanctions", dependencies=staff())
def sanctions_page(
    request: Request,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Proposed and running sanctions in this staff member's authorities; supervisors confirm, decline or lift."""
    return _list_page(request, staff, container, pages)


@router.post(
    "/review/sanctions/{sanction_id}/{action}",
    name="review_sanction_action",
    dependencies=[*staff(), Depends(require_csrf)],
)
async def sanction_action(
    request: Request,
    sanction_id: str,
    action: str,
    staff: StaffSession = Depends(current_staff),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Confirm, decline or lift (supervisors of the licence's authority); then back to the list (303)."""
    lang = negotiate(request)
    t = Translator(lang)
    if action not in ACTIONS or not SANCTION_ID.match(sanction_id):
        raise NotFound("no_sanction", "没有这项停止 / no such sanction")
    form = await request.form(max_files=0, max_fields=8)
    if form.get("confirm") != CONFIRMED:  # the form's required box; a hand-made POST without it does nothing
        return await run_in_threadpool(
            _list_page, request, staff, container, pages, status=400, error=t("sanction.confirm_required")
        )
    note = str(form.get("note") or "")
    client = request.client.host if request.client else None
    sanctions, at = container.sanctions, container.clock()
    try:
        if action == "confirm":
            await run_in_threadpool(lambda: sanctions.confirm(staff, sanction_id, at=at, client=client))
        elif action == "decline":
            await run_in_threadpool(lambda: sanctions.decline(staff, sanction_id, note=note, at=at, client=client))
        else:
            await run_in_threadpool(lambda: sanctions.lift(staff, sanction_id, reason=note, at=at, client=client))
    except NotFound:
        raise
    except AlreadyDecided as exc:
        links = [(t("sanction.back_to_list"), _root(request) + "/review/sanctions")]
        return message_page(
            request, staff, container, pages, status=409, title_key="review.already_decided_title",
            detail=localise(str(exc), lang), links=links,
        )  # fmt: skip
    except DomainError as exc:
        if getattr(exc, "code", "") == "forbidden":
            return message_page(
                request, staff, container, pages, status=403, title_key="review.forbidden_title",
                detail=localise(str(exc), lang),
            )  # fmt: skip
        return await run_in_threadpool(
            _list_page, request, staff, container, pages, status=400, error=localise(str(exc), lang)
        )
    query = urlencode({"done": sanction_id, "action": action})
    return RedirectResponse(f"{_root(request)}/review/sanctions?{query}", status_code=303)
