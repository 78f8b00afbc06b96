"""What every console page shows in its header once a staff member is signed in: who, the role, the navigation
(queue, overdue, sanctions, registry, staff accounts, relying parties) with counts, and the sign-out form."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from edl.applications.review import MAY_SEE_OVERDUE
from edl.web.auth_deps import StaffSession, csrf_token
from edl.web.deps import AppServices
from edl.web.i18n import Translator

ROLE_KEYS = {"reviewer": "auth.role_reviewer", "supervisor": "auth.role_supervisor", "admin": "auth.role_admin"}


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def console_context(
    request: Request, staff: StaffSession, container: AppServices, t: Translator, current: str = ""
) -> dict[str, Any]:
    """What every console page shows in its header: who is signed in, the queue links and counts."""
    root = _root(request)
    may_see_overdue = staff.role in MAY_SEE_OVERDUE
    return {
        "staff": staff,
        "staff_role": t(ROLE_KEYS[staff.role]) if staff.role in ROLE_KEYS else str(staff.role),
        "may_see_overdue": may_see_overdue,
        "is_admin": staff.role == "admin",
        "csrf": csrf_token(request),
        "urls": {
            "queue": root + "/review",
            "overdue": root + "/review/overdue",
            "sanctions": root + "/review/sanctions",
            "staff_admin": root + "/review/staff",
            "sign_out": root + "/review/sign-out",
        },
        "counts": container.reviews.counts(staff, at=container.clock()),
        "current": current,
    }
