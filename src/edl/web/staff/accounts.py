"""Staff sign-in by password (/review/sign-in) and the staff accounts console (/review/staff, admin only).

The drivers' SMS-code sign-in is `edl.web.holder.sign_in`; what a refused sign-in or CSRF check answers, for every
audience, is `edl.web.sign_in_handlers`. Every form carries the CSRF token; every POST depends on `require_csrf`.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Depends, Form, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.accounts import (
    AccountError,
    Role,
    add_staff_user,
    disable_staff_user,
    list_staff_users,
    parse_authorities,
    parse_role,
    sign_in_staff,
    sign_out_staff,
)
from edl.audit import ActorKind
from edl.db.session import transaction
from edl.web.audience import public, staff
from edl.web.auth_deps import (
    STAFF_COOKIE,
    STAFF_HOME,
    STAFF_SIGN_IN,
    StaffSession,
    clear_session_cookie,
    optional_staff,
    require_role,
    safe_next,
    set_session_cookie,
)
from edl.web.csrf import csrf_token, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.holder.sign_in import account_message, client_address, request_root, retry_after_headers
from edl.web.i18n import Translator, negotiate
from edl.web.presenters import beijing_time
from edl.web.rendering import Pages
from edl.web.staff.console import console_context

router = APIRouter(tags=["auth"])
log = structlog.get_logger("edl.web.auth")
CSRF = [Depends(require_csrf)]
CONFIRMED = "yes"
"""The value of the required `confirm` box a disabling must carry (a confirmation that needs no script)."""


# ---- staff sign-in ------------------------------------------------------------------------------------------------


def _staff_sign_in_page(
    request: Request, pages: Pages, *, next_path: str, username: str = "", error: AccountError | None = None
) -> Response:
    return pages.render(
        request,
        "staff/sign_in.html",
        {
            "csrf": csrf_token(request),
            "next": next_path,
            "username": username,
            "error": account_message(request, error) if error else None,
            "action": request_root(request) + STAFF_SIGN_IN,
        },
        status_code=error.status_code if error else 200,
        headers=retry_after_headers(error) if error else None,
    )


@router.get(STAFF_SIGN_IN, name="staff_sign_in", dependencies=public())
def staff_sign_in_page(
    request: Request, next_: str | None = Query(None, alias="next"), pages: Pages = Depends(get_pages)
) -> Response:
    next_path = safe_next(next_, "")
    if optional_staff(request) is not None:
        return RedirectResponse(next_path or request_root(request) + STAFF_HOME, 303)
    return _staff_sign_in_page(request, pages, next_path=next_path)


@router.post(STAFF_SIGN_IN, name="staff_sign_in_submit", dependencies=[*public(), *CSRF])
def staff_sign_in_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next_: str = Form("", alias="next"),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    next_path = safe_next(next_, "")
    try:
        _user, signed = sign_in_staff(
            container.sessions,
            username,
            password,
            client=client_address(request),
            at=container.clock(),
            session_hours=container.settings.session_hours,
            previous_token=request.cookies.get(STAFF_COOKIE),
        )
    except AccountError as exc:
        return _staff_sign_in_page(request, pages, next_path=next_path, username=username.strip()[:64], error=exc)
    response = RedirectResponse(next_path or request_root(request) + STAFF_HOME, 303)
    hours = container.settings.session_hours
    set_session_cookie(response, request, STAFF_COOKIE, signed.token, max_age=hours * 3600)
    return response


@router.post("/review/sign-out", name="staff_sign_out", dependencies=[*staff(), *CSRF])
def staff_sign_out(request: Request, container: AppServices = Depends(get_container)) -> Response:
    sign_out_staff(
        container.sessions, request.cookies.get(STAFF_COOKIE), client=client_address(request), at=container.clock()
    )
    response = RedirectResponse(request_root(request) + STAFF_SIGN_IN, 303)
    clear_session_cookie(response, request, STAFF_COOKIE)
    return response


# ---- staff accounts (admin) ---------------------------------------------------------------------------------------

admin_only = require_role(Role.ADMIN)


def _staff_admin_page(
    request: Request,
    pages: Pages,
    container: AppServices,
    admin: StaffSession,
    *,
    added: tuple[str, str] | None = None,
    error: AccountError | None = None,
    problem: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    """The staff accounts page in the console's chrome; `error` (or the already-worded `problem`, a 400) refused."""
    t = Translator(negotiate(request))
    root = request_root(request)
    with container.sessions() as s:
        users = list_staff_users(s, within=admin.scope)  # a scoped admin sees and manages only its own scope
    own_codes = " ".join(sorted(admin.authorities)) if admin.authorities is not None else ""
    rows = [
        {
            "username": u.username,
            "name": u.display_name,
            "role": t(f"auth.role_{u.role.value}"),
            "authorities": t("auth.authorities_all") if u.authorities is None else " ".join(sorted(u.authorities)),
            "created": beijing_time(u.created_at),
            "state": t("auth.state_active") if u.active else t("auth.state_disabled"),
            "disable_url": f"{root}/review/staff/{u.username}/disable" if u.active and u.id != admin.user_id else None,
        }
        for u in users
    ]
    return pages.render(
        request,
        "staff/accounts.html",
        {
            **console_context(request, admin, container, t, "staff"),
            "csrf": csrf_token(request),
            "me": admin,
            "rows": rows,
            "roles": [(r.value, t(f"auth.role_{r.value}")) for r in Role],
            "form": form or {"username": "", "display_name": "", "role": Role.REVIEWER.value, "authorities": own_codes},
            "my_scope": t("auth.authorities_all") if admin.authorities is None else own_codes,
            "may_grant_all": admin.scope.is_national,
            "added": added,
            "error": account_message(request, error) if error else problem,
            "add_action": f"{root}/review/staff",
        },
        status_code=error.status_code if error else 400 if problem else 200,
    )


@router.get("/review/staff", name="staff_admin", dependencies=staff(Role.ADMIN))
def staff_admin(
    request: Request,
    admin: StaffSession = Depends(admin_only),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Staff accounts: list, add (the generated password is shown once), disable."""
    return _staff_admin_page(request, pages, container, admin)


@router.post("/review/staff", name="staff_admin_add", dependencies=[*staff(Role.ADMIN), *CSRF])
def staff_admin_add(
    request: Request,
    username: str = Form(""),
    display_name: str = Form(""),
    role: str = Form(""),
    authorities: str = Form(""),
    all_authorities: str | None = Form(None),
    admin: StaffSession = Depends(admin_only),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    form = {
        "username": username[:64],
        "display_name": display_name[:64],
        "role": role[:16],
        "authorities": authorities[:512],
    }
    try:
        with transaction(container.sessions) as s:
            new = add_staff_user(
                s,
                username,
                role=parse_role(role),
                authorities=parse_authorities([authorities], all_authorities=all_authorities is not None),
                display_name=display_name,
                actor_kind=ActorKind.STAFF,
                actor=admin.username,
                at=container.clock(),
                client=client_address(request),
                by_user_id=admin.user_id,
            )
    except AccountError as exc:
        return _staff_admin_page(request, pages, container, admin, error=exc, form=form)
    return _staff_admin_page(request, pages, container, admin, added=(new.user.username, str(new.password)))


@router.post("/review/staff/{username}/disable", name="staff_admin_disable", dependencies=[*staff(Role.ADMIN), *CSRF])
def staff_admin_disable(
    request: Request,
    username: str,
    confirm: str = Form(""),
    admin: StaffSession = Depends(admin_only),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Disable a staff account (its sessions end) once the form's confirmation box is ticked; without it nothing
    changes (400)."""
    if confirm != CONFIRMED:  # the form's required box; a hand-made POST without it disables nobody
        problem = Translator(negotiate(request))("auth.confirm_disable_required")
        return _staff_admin_page(request, pages, container, admin, problem=problem)
    try:
        with transaction(container.sessions) as s:
            disable_staff_user(
                s,
                username,
                actor_kind=ActorKind.STAFF,
                actor=admin.username,
                at=container.clock(),
                by_user_id=admin.user_id,
                client=client_address(request),
            )
    except AccountError as exc:
        return _staff_admin_page(request, pages, container, admin, error=exc)
    return RedirectResponse(request_root(request) + "/review/staff", 303)
