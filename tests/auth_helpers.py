"""Sign a holder or a staff member in through the real pages, for tests of pages behind sign-in.

    with TestClient(create_app(container), follow_redirects=False) as client:
        account_id = sign_in_holder(client, container)            # the client now carries `edl_session`
        r = client.post("/app/x", data={"csrf": csrf_of(client), ...})
        user_id = sign_in_staff(client, container, "rev1", role="reviewer", authorities=["120000"])

The SMS code is read from the container's `LogSmsSender` memory: `sign_in_holder` swaps in
`LogSmsSender(dev_inbox=True)` when the container's sender keeps no messages (you may also assign
`container.sms = LogSmsSender(dev_inbox=True)` yourself before building the app).

Limits that apply, as in production: one code per number per 60 s of `container.clock()` (sign the same number in
again only after advancing the clock, or use another number), 5 codes per number and 20 per client address per hour.
Staff users made here all get `TEST_STAFF_PASSWORD`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
import sqlalchemy as sa
from fastapi import Depends, FastAPI
from starlette.testclient import TestClient

from edl.accounts import LogSmsSender, Role, add_staff_user, normalise_mobile, parse_role
from edl.accounts.privacy import PRIVACY_NOTICE_VERSION
from edl.audit import ActorKind
from edl.bootstrap import Container
from edl.db.models import AccountRow, StaffUserRow
from edl.db.session import transaction
from edl.web import create_app
from edl.web.auth_deps import HolderSession, StaffSession, current_holder, current_staff

TEST_STAFF_PASSWORD = "correct horse battery staple"
_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def sms_inbox(container: Container) -> LogSmsSender:
    """The container's SMS sender, made one that keeps messages if it was not."""
    sms = container.sms
    if not isinstance(sms, LogSmsSender) or not sms.dev_inbox:
        sms = LogSmsSender(dev_inbox=True)
        container.sms = sms
    return sms


def last_code(container: Container, mobile: str) -> str:
    """The code in the newest text sent to `mobile`."""
    message = sms_inbox(container).last_to(normalise_mobile(mobile))
    assert message is not None, f"no text was sent to {mobile}"
    found = _CODE.search(message.text)
    assert found, "the text holds no 6-digit code"
    return found.group(1)


def csrf_from(html: str) -> str:
    found = _CSRF_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def csrf_of(client: TestClient, page: str = "/app/sign-in") -> str:
    """This client's CSRF token (the `edl_csrf` cookie), fetched from a form page when it has none yet."""
    token = client.cookies.get("edl_csrf")
    if token:
        return token
    r = client.get(page, follow_redirects=False)
    assert r.status_code == 200, f"{page} answered {r.status_code}: cannot get a CSRF token from it"
    return csrf_from(r.text)


def sign_in_holder(client: TestClient, container: Container, mobile: str = "13800138000") -> str:
    """Sign in through /app/sign-in, the privacy notice accepted (the account is created on first sign-in); the
    account id."""
    sms_inbox(container)
    token = csrf_of(client, "/app/sign-in")
    consent = PRIVACY_NOTICE_VERSION  # the privacy notice accepted, as the box on the sign-in page does
    sent = client.post(
        "/app/sign-in/code", data={"csrf": token, "mobile": mobile, "consent": consent}, follow_redirects=False
    )
    assert sent.status_code == 200, sent.text
    code = last_code(container, mobile)
    done = client.post(
        "/app/sign-in/verify",
        data={"csrf": token, "mobile": mobile, "code": code, "consent": consent},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    with container.sessions() as s:
        account_id = s.scalar(sa.select(AccountRow.id).where(AccountRow.mobile == normalise_mobile(mobile)))
    assert account_id
    return account_id


def make_staff_user(
    container: Container,
    username: str = "reviewer1",
    role: Role | str = Role.REVIEWER,
    authorities: Iterable[str] | None = None,
    *,
    password: str = TEST_STAFF_PASSWORD,
) -> str:
    """Create a staff user through the service (None authorities = all); its id. An existing one is kept."""
    with transaction(container.sessions) as s:
        existing = s.scalar(sa.select(StaffUserRow.id).where(StaffUserRow.username == username))
        if existing:
            return existing
        new = add_staff_user(
            s,
            username,
            role=role if isinstance(role, Role) else parse_role(role),
            authorities=None if authorities is None else frozenset(authorities),
            password=password,
            actor_kind=ActorKind.SYSTEM,
            actor="tests",
            at=container.clock(),
        )
    return new.user.id


def sign_in_staff(
    client: TestClient,
    container: Container,
    username: str = "reviewer1",
    role: Role | str = Role.REVIEWER,
    authorities: Iterable[str] | None = None,
) -> str:
    """Create the staff user (if missing) and sign in through /review/sign-in; the user id."""
    user_id = make_staff_user(container, username, role, authorities)
    token = csrf_of(client, "/review/sign-in")
    done = client.post(
        "/review/sign-in",
        data={"csrf": token, "username": username, "password": TEST_STAFF_PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return user_id


class Clock:
    """A settable clock for `container.clock` (tests never sleep)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


def app_with_probes(container: Container) -> FastAPI:
    """The real app plus two probe pages behind sign-in: /test/holder and /test/staff answer who is signed in."""
    app = create_app(container)

    def holder_probe(holder: HolderSession = Depends(current_holder)) -> dict[str, str | None]:
        return {"account_id": holder.account_id, "mobile": holder.mobile, "licence": holder.licence_number}

    def staff_probe(staff: StaffSession = Depends(current_staff)) -> dict[str, str]:
        return {"user_id": staff.user_id, "username": staff.username, "role": staff.role.value}

    app.add_api_route("/test/holder", holder_probe, methods=["GET"])
    app.add_api_route("/test/staff", staff_probe, methods=["GET"])
    return app


T = TypeVar("T")


def run_async(func: Callable[..., Awaitable[T]], *args: object) -> T:
    """`anyio.run(func, *args)` in a thread of its own: the browser tests' Playwright keeps an event loop running in
    the main thread for the whole session, and anyio refuses to start a second one there."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(anyio.run(func, *args))
        except BaseException as exc:  # handed back to the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="run-async")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


PLACEHOLDER_FRAME = b"\xff\xd8\xff placeholder frame"
"""A frame for tests whose verifier reads none (tests.workflow.ScriptedFaceVerifier)."""


def challenge_of(client: TestClient, purpose: str = "apply", **headers: str) -> dict[str, object]:
    """A liveness challenge, asked for as liveness.js does (CSRF in the header)."""
    r = client.post(
        "/app/liveness/challenge",
        data={"purpose": purpose},
        headers={"X-CSRF-Token": csrf_of(client), "Accept": "application/json", **headers},
    )
    assert r.status_code == 200, r.text
    answer: dict[str, object] = r.json()
    return answer


def burst_form(
    client: TestClient,
    data: dict[str, str],
    purpose: str = "apply",
    *,
    frames: list[bytes] | None = None,
    times: list[int] | None = None,
    challenge: str | None = None,
    headers: dict[str, str] | None = None,
    every: bytes | None = None,
) -> dict[str, Any]:
    """The `data` and `files` of a liveness burst as liveness.js posts it: the form's fields, a fresh challenge
    (unless given), the frames (placeholders by default, or the picture `every`, one per planned frame time) and
    their times."""
    planned: list[int] = []
    if challenge is None:
        answer = challenge_of(client, purpose, **(headers or {}))
        challenge = str(answer["challenge"])
        planned = [int(t) for t in answer["frame_times"]]  # type: ignore[attr-defined]
    times = times if times is not None else planned
    if frames is None:
        frames = [every if every is not None else PLACEHOLDER_FRAME] * len(times)
    form = {"csrf": csrf_of(client), **data, "challenge": challenge, "times": ",".join(str(t) for t in times)}
    files = [("frame", (f"frame-{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)]
    return {"data": form, "files": files}


def post_burst(
    client: TestClient,
    path: str,
    data: dict[str, str],
    purpose: str = "apply",
    *,
    headers: dict[str, str] | None = None,
    **burst: Any,
):  # type: ignore[no-untyped-def]
    """POST a liveness burst (see `burst_form`) to `path`."""
    return client.post(path, headers=headers or {}, **burst_form(client, data, purpose, headers=headers, **burst))
