"""Who may reach a route (访问对象), declared once where the route is declared.

Every route names exactly one audience in its decorator:

    @router.get("/app/licence", dependencies=driver())
    @router.get("/review/overdue", dependencies=staff(Role.SUPERVISOR, Role.ADMIN))
    @router.get("/healthz", dependencies=public())

- `public()`: anyone. Only the short list in `PUBLIC_PATHS` may use it (a test walks the route table).
- `driver()`: a signed-in holder (驾驶人), else a redirect to the driver's sign-in page (401 for JSON).
- `staff(*roles)`: a signed-in staff member (审核工作人员) with one of `roles` (any role when none is named), else
  the staff sign-in page or 403. What a staff member may see inside the route is narrowed further by their
  authority scope (`edl.domain.scope.AuthorityScope`), in the service each route calls.
- `relying_party()`: a relying party (核验方) signed in on the verifier page with its API key, else that page.
- `relying_party_api()`: a relying party's API key in `Authorization: Bearer`, else 401 JSON; the party is
  then on `request.state.party`.
- `operator()`: the operator's bearer token (`EDL_METRICS_TOKEN`); without a configured token the route does not
  exist (404).

The guards are ordinary FastAPI dependencies: a handler that also asks for `Depends(current_holder)` gets the same
cached value, so declaring the audience costs no second query.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from typing import Any, Final

from fastapi import Depends
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute

from edl.accounts.staff import Role
from edl.web.auth_deps import current_holder, current_staff, require_role
from edl.web.party_auth import api_party, current_party


class Audience(StrEnum):
    PUBLIC = "public"
    DRIVER = "driver"
    STAFF = "staff"
    RELYING_PARTY = "relying_party"
    OPERATOR = "operator"


PUBLIC_PATHS: Final[frozenset[str]] = frozenset(
    {
        "/",
        "/favicon.ico",
        "/healthz",
        "/readyz",
        "/.well-known/edl/trust",
        "/status-lists/1",
        "/api/v1/openapi.json",
        "/app/sign-in",
        "/app/sign-in/code",
        "/app/sign-in/verify",
        "/app/sw.js",
        "/review/sign-in",
        "/verify",
        "/verify/sign-in",
        "/verify/sign-out",
        "/dev/sms",
        "/language",
        "/privacy",
        "/openid4vp/requests/{request_id}",
        "/openid4vp/responses/{request_id}",
        "/.well-known/openid-credential-issuer",
        "/.well-known/oauth-authorization-server",
        "/openid4vci/token",
        "/openid4vci/nonce",
        "/openid4vci/credential",
    }
)
"""The routes anyone may reach: liveness, the trust anchors verifiers fetch, the API's own description, and the
sign-in pages. `/verify` is the relying party's sign-in form until it signs in; `/app/sw.js` is the holder app's
service-worker script (static); `/dev/sms` exists only in demo mode; `/privacy` (the privacy notice) is read before
an account exists. `/openid4vp/…` are where any OpenID4VP wallet fetches a request object and posts its response
(the verification of the response is the guard). The OpenID4VCI metadata and `/openid4vci/…` are where any
wallet takes an offered mDL (the pre-authorized code, the access token and the key proof are the guards). Mounted
static files (`/static/…`) are public too. Anything else is guarded."""

GUARDS: dict[Callable[..., Any], Audience] = {}
"""Every guard dependency and the audience it admits (read by the route-table test and docs)."""


def _guard(call: Callable[..., Any], audience: Audience) -> list[DependsParam]:
    GUARDS.setdefault(call, audience)
    return [Depends(call)]


async def _public_route() -> None:
    """Anyone: the route is on PUBLIC_PATHS. (async: a sync dependency would cost a worker-thread hop per request)"""


def public() -> list[DependsParam]:
    return _guard(_public_route, Audience.PUBLIC)


def driver() -> list[DependsParam]:
    return _guard(current_holder, Audience.DRIVER)


_STAFF_GUARDS: dict[frozenset[Role], Callable[..., Any]] = {}


def staff(*roles: Role) -> list[DependsParam]:
    """A signed-in staff member; with `roles`, only those roles (403 for the others)."""
    if not roles:
        return _guard(current_staff, Audience.STAFF)
    key = frozenset(roles)
    if key not in _STAFF_GUARDS:
        _STAFF_GUARDS[key] = require_role(*roles)
    return _guard(_STAFF_GUARDS[key], Audience.STAFF)


def relying_party() -> list[DependsParam]:
    return _guard(current_party, Audience.RELYING_PARTY)


def relying_party_api() -> list[DependsParam]:
    return _guard(api_party, Audience.RELYING_PARTY)


def operator_token(request: Request) -> None:
    """The operator's bearer token; the route is hidden (404) when no token is configured."""
    expected = request.app.state.container.settings.metrics_token
    if not expected:
        raise HTTPException(404)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(401, headers={"WWW-Authenticate": 'Bearer realm="edl-operator"'})


def operator() -> list[DependsParam]:
    return _guard(operator_token, Audience.OPERATOR)


def audience_of(dependencies: list[DependsParam]) -> list[Audience]:
    """The audiences a route's declared dependencies admit (exactly one for a well-declared route)."""
    return [GUARDS[d.dependency] for d in dependencies if d.dependency in GUARDS]


def flat_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """The app's routes with included routers opened up (FastAPI ≥ 0.16x keeps an included router as one entry)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes)
        else:
            yield route


def declared_routes(routes: Sequence[BaseRoute]) -> list[tuple[APIRoute, list[Audience]]]:
    """Every API route with the audiences its dependencies declare (the route-table test and docs read this)."""
    return [(r, audience_of(r.dependencies)) for r in flat_routes(routes) if isinstance(r, APIRoute)]
