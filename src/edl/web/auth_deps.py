"""Who is signed in, and CSRF protection: FastAPI dependencies for holder pages and the staff console.

Use them in route signatures:

    def page(request: Request, holder: HolderSession = Depends(current_holder)) -> Response: ...
    @router.post("/x", dependencies=[Depends(require_csrf)])
    def act(staff: StaffSession = Depends(require_role(Role.SUPERVISOR, Role.ADMIN))) -> Response: ...

and put `csrf_token(request)` into every page with a form. Not signed in → `SignInRequired`, which the handlers of
`edl.web.sign_in_handlers.install_auth_handlers` turn into a 303 to the sign-in page (401 JSON for JSON requests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from edl.accounts.holders import holder_for_session
from edl.accounts.sessions import SessionKind
from edl.accounts.staff import Role, staff_for_session
from edl.domain.scope import AuthorityScope
from edl.web.csrf import csrf_token, require_csrf
from edl.web.deps import AppServices

__all__ = [
    "HOLDER_COOKIE",
    "STAFF_COOKIE",
    "Forbidden",
    "HolderSession",
    "Role",
    "SignInRequired",
    "StaffSession",
    "csrf_token",
    "current_holder",
    "current_staff",
    "optional_holder",
    "optional_staff",
    "require_csrf",
    "require_role",
    "safe_next",
]

HOLDER_COOKIE = "edl_session"
STAFF_COOKIE = "edl_staff"
HOLDER_HOME = "/app"
STAFF_HOME = "/review"
HOLDER_SIGN_IN = "/app/sign-in"
STAFF_SIGN_IN = "/review/sign-in"
_MAX_NEXT = 512


@dataclass(frozen=True, slots=True)
class HolderSession:
    account_id: str
    mobile: str
    licence_number: str | None
    """The bound licence, or None before binding."""


@dataclass(frozen=True, slots=True)
class StaffSession:
    user_id: str
    username: str
    display_name: str
    role: Role
    authorities: frozenset[str] | None
    """Area codes this user acts for (a province or prefecture code covers the authorities inside it); None: all."""

    @property
    def scope(self) -> AuthorityScope:
        return AuthorityScope.of(self.authorities)

    def may_act_for(self, authority_code: str) -> bool:
        """Whether the authority `authority_code` (an application's, a licence's) is inside this user's scope."""
        return self.scope.covers(authority_code)


class SignInRequired(Exception):
    """No live session of `kind`: answered with a redirect to its sign-in page (or 401 for JSON)."""

    def __init__(self, kind: SessionKind) -> None:
        super().__init__(kind.value)
        self.kind = kind


class Forbidden(Exception):
    """Signed in, but the role does not allow this page: answered with 403."""


def _container(request: Request) -> AppServices:
    container: AppServices = request.app.state.container
    return container


def optional_holder(request: Request) -> HolderSession | None:
    """The signed-in holder, or None (for pages that look different when signed in)."""
    token = request.cookies.get(HOLDER_COOKIE)
    if not token:
        return None
    container = _container(request)
    with container.sessions() as session:  # the primary: a sign-out must count at once, not after replica lag
        account = holder_for_session(session, token, at=container.clock())
    if account is None:
        return None
    return HolderSession(account.id, account.mobile, account.licence_number)


def optional_staff(request: Request) -> StaffSession | None:
    """The signed-in staff member, or None."""
    token = request.cookies.get(STAFF_COOKIE)
    if not token:
        return None
    container = _container(request)
    with container.sessions() as session:
        user = staff_for_session(session, token, at=container.clock())
    if user is None:
        return None
    return StaffSession(user.id, user.username, user.display_name, user.role, user.authorities)


def current_holder(request: Request) -> HolderSession:
    """The signed-in holder; otherwise a redirect (303) to /app/sign-in?next=<this page>."""
    holder = optional_holder(request)
    if holder is None:
        raise SignInRequired(SessionKind.HOLDER)
    return holder


def current_staff(request: Request) -> StaffSession:
    """The signed-in staff member; otherwise a redirect (303) to /review/sign-in?next=<this page>."""
    staff = optional_staff(request)
    if staff is None:
        raise SignInRequired(SessionKind.STAFF)
    return staff


def require_role(*roles: Role) -> Callable[..., StaffSession]:
    """A dependency: the signed-in staff member when their role is one of `roles`, else 403."""
    allowed = frozenset(roles)

    def dependency(staff: StaffSession = Depends(current_staff)) -> StaffSession:
        if staff.role not in allowed:
            raise Forbidden(staff.role.value)
        return staff

    return dependency


def safe_next(value: str | None, default: str) -> str:
    """`value` when it is a same-site relative path ('/app/x?y=1'); otherwise `default` (no open redirect)."""
    if not value or len(value) > _MAX_NEXT:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return default
    try:
        parts = urlsplit(value)
    except ValueError:
        return default
    if parts.scheme or parts.netloc:
        return default
    return value


def this_page(request: Request) -> str | None:
    """Where to come back to after signing in: this page for GET, nothing for a form post."""
    if request.method not in ("GET", "HEAD"):
        return None
    query = request.url.query
    return f"{request.scope.get('root_path', '')}{request.url.path}{'?' + query if query else ''}"


def wants_json(request: Request) -> bool:
    """A caller of the JSON endpoints: it accepts JSON and not HTML, or it sent a JSON body."""
    accept = request.headers.get("accept", "")
    sent_json = request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"
    return sent_json or ("application/json" in accept and "text/html" not in accept)


def set_session_cookie(response: Response, request: Request, name: str, token: str, *, max_age: int) -> None:
    response.set_cookie(
        name, token, max_age=max_age, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def clear_session_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")
