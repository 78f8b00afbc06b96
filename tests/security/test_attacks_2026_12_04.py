"""Attacks on what landed on 2026-12-04 (2af39a8..ae8363b), each kept as a test that passes when the system defends
(SQLite and PostgreSQL through the `container` fixture where a database is involved).

- The sanction (issue 16): crafted POSTs by a reviewer, staff of another authority, the proposer confirming their own
  proposal through the page, unknown actions, a second proposal while one stands (nothing decided), two supervisors
  confirming at once, the driver's every route to a genuine document during a stop (downloads, the live code, the
  page, unbind then bind again), the notice naming no staff member, the end of a stop at its exact instant with
  Beijing-time clocks.
- The masked CSRF token: another browser's mask or raw token, truncated/extended/padded/non-ASCII values.
- Hostile photos against the new metadata and content rules and `edl photo check`: text-chunk bombs (zTXt, iTXt,
  XMP), a huge EXIF Software tag, giant dimensions; each refused or judged quickly, never another exception.
- The sanctions routes' audience; the landing page's reading of demo-samples.json.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import secrets
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.testclient import TestClient
from typer.testing import CliRunner

from edl.applications.errors import AlreadyDecided
from edl.applications.photo_rules import PhotoRejected
from edl.applications.photos import check_photo
from edl.applications.results import Application
from edl.bootstrap import Container
from edl.cli import app as cli_app
from edl.db.models import ApplicationRow, AuditRow, ElicenceRow, NotificationRow, SanctionRow
from edl.db.session import transaction
from edl.domain import sanction as sanction_rules
from edl.domain.application import PhotoSource
from edl.domain.credential_status import CredentialStatus
from edl.domain.dates import CHINA_TZ
from edl.domain.sanction import SanctionState
from edl.issuance.elicences import IssuanceRefused, issue_elicence
from edl.issuance.livecodes import NoActiveElicence, make_live_code
from edl.web import create_app
from edl.web.audience import Audience, audience_of, declared_routes
from edl.web.csrf import CSRF_COOKIE, mask_token, unmask_token
from tests.auth_helpers import csrf_of, sign_in_holder, sign_in_staff
from tests.faces import id_photo
from tests.integration.test_sanctions import (
    CHENGDU,
    NOW,
    OTHER_SUPERVISOR,
    SUPERVISOR,
    TIANJIN,
    apply_again,
    list_status,
    online,
    propose,
    suspended_until,
)
from tests.workflow import REGISTERED_MOBILE, capture, prepare, seed_account, seed_licence

MOBILE = "13912345670"
QUICK = 5.0
"""Seconds within which a hostile photo must be answered (the real budget is far lower; CI machines are slow)."""


# --- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture
def ready(container: Container) -> Container:
    prepare(container, NOW)
    return container


_sequence = itertools.cycle(range(601, 899, 2))
"""Licence sequences of this module's drivers (its own: `tests.integration.test_sanctions` has a finite iterator)."""


def holder_with_photo_change(container: Container, name: str, *, mobile: str | None = None) -> tuple[Application, str]:
    """As `tests.integration.test_sanctions.holder_with_photo_change`: (pending photo change, live e-licence id)."""
    earlier = NOW - timedelta(hours=1)
    number = seed_licence(container, earlier, name=name, sequence=next(_sequence))
    elicence = issue_elicence(container.sessions, container.issuer, number, actor="test", at=earlier).elicence_id
    account = seed_account(container, earlier, number=number, mobile=mobile)
    assert container.face_checks.authenticate(account, capture(container, account, at=earlier), at=earlier).passed
    app = container.applications.submit_photo(
        account, id_photo(), source=PhotoSource.CAMERA, idempotency_key=uuid.uuid4().hex, at=earlier
    )
    return app, elicence


def _client(container: Container) -> TestClient:
    return TestClient(create_app(container), follow_redirects=False)


def _staff(container: Container, username: str, role: str, authorities: list[str]) -> TestClient:
    client = _client(container)
    client.__enter__()
    sign_in_staff(client, container, username, role=role, authorities=authorities)
    return client


@pytest.fixture
def reviewer(ready: Container) -> Iterator[TestClient]:
    c = _staff(ready, "rev-tj", "reviewer", [TIANJIN])
    yield c
    c.__exit__(None, None, None)


@pytest.fixture
def supervisor(ready: Container) -> Iterator[TestClient]:
    c = _staff(ready, "sup-tj", "supervisor", [TIANJIN])
    yield c
    c.__exit__(None, None, None)


def _propose_page(client: TestClient, app_id: str, **extra: str):  # type: ignore[no-untyped-def]
    data = {
        "csrf": csrf_of(client, "/review"), "decision": "reject", "reason": "marks", "note": "照片含广告文字",
        "confirm": "yes", "propose": "yes", "sanction_days": "30", **extra,
    }  # fmt: skip
    return client.post(f"/review/applications/{app_id}/decision", data=data)


def _act(client: TestClient, sanction_id: str, action: str, **form: str):  # type: ignore[no-untyped-def]
    data = {"csrf": csrf_of(client, "/review"), "confirm": "yes", **form}
    return client.post(f"/review/sanctions/{sanction_id}/{action}", data={k: v for k, v in data.items() if v})


def _sanctions(container: Container) -> list[SanctionRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(SanctionRow).order_by(SanctionRow.proposed_at)))


def _only(container: Container) -> SanctionRow:
    rows = _sanctions(container)
    assert len(rows) == 1, rows
    return rows[0]


# --- the sanction: staff ------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_a_reviewer_cannot_decline_or_lift_by_a_crafted_post(
    ready: Container, reviewer: TestClient, supervisor: TestClient
) -> None:
    app, elicence = holder_with_photo_change(ready, "钱伪造")
    assert _propose_page(reviewer, app.id).status_code == 303
    sanction = _only(ready)
    assert _act(reviewer, sanction.id, "decline", note="我撤回").status_code == 403
    assert _only(ready).state == "proposed", "a reviewer's decline must change nothing"
    assert _act(supervisor, sanction.id, "confirm").status_code == 303
    until = suspended_until(ready, elicence)
    assert until is not None
    assert _act(reviewer, sanction.id, "lift", note="我解除").status_code == 403
    assert _only(ready).state == "active" and suspended_until(ready, elicence) == until


@pytest.mark.integration
def test_a_supervisor_of_another_authority_cannot_lift_nor_learn_the_state_from_the_flash(
    ready: Container, reviewer: TestClient, supervisor: TestClient
) -> None:
    app, elicence = holder_with_photo_change(ready, "孙外地")
    _propose_page(reviewer, app.id)
    sanction = _only(ready)
    _act(supervisor, sanction.id, "confirm")
    chengdu = _staff(ready, "sup-cd", "supervisor", [CHENGDU])
    try:
        assert _act(chengdu, sanction.id, "lift", note="外地解除").status_code == 404
        assert _act(chengdu, sanction.id, "decline").status_code == 404
        page = chengdu.get("/review/sanctions", params={"done": sanction.id, "action": "lift"})
        assert page.status_code == 200
        assert "孙外地" not in page.text and 'class="flash"' not in page.text, "no flash for an out-of-scope case"
    finally:
        chengdu.__exit__(None, None, None)
    assert _only(ready).state == "active" and suspended_until(ready, elicence) is not None


@pytest.mark.integration
def test_unknown_actions_odd_ids_and_a_get_change_nothing(
    ready: Container, reviewer: TestClient, supervisor: TestClient
) -> None:
    app, _ = holder_with_photo_change(ready, "李怪路")
    _propose_page(reviewer, app.id)
    sanction = _only(ready)
    assert _act(supervisor, sanction.id, "activate").status_code == 404
    assert _act(supervisor, sanction.id.upper(), "confirm").status_code == 404
    assert _act(supervisor, sanction.id + "0", "confirm").status_code == 404
    assert _act(supervisor, "../" + sanction.id, "confirm").status_code == 404
    assert supervisor.get(f"/review/sanctions/{sanction.id}/confirm").status_code == 405
    assert _only(ready).state == "proposed"


@pytest.mark.integration
def test_a_supervisor_who_proposed_cannot_confirm_it_through_the_page(ready: Container, supervisor: TestClient) -> None:
    app, elicence = holder_with_photo_change(ready, "周自批")
    assert _propose_page(supervisor, app.id).status_code == 303  # supervisors may propose too
    sanction = _only(ready)
    r = _act(supervisor, sanction.id, "confirm")
    assert r.status_code == 400 and "另一位主管" in r.text
    assert _only(ready).state == "proposed" and suspended_until(ready, elicence) is None
    other = _staff(ready, "sup-tj2", "supervisor", [TIANJIN])
    try:
        assert _act(other, sanction.id, "confirm").status_code == 303
        assert _act(other, sanction.id, "confirm").status_code == 409, "confirming twice"
        assert _act(supervisor, sanction.id, "lift", note="申诉成立").status_code == 303
        assert _act(other, sanction.id, "lift", note="再解除").status_code == 409, "lifting twice"
    finally:
        other.__exit__(None, None, None)
    assert _only(ready).state == "lifted" and suspended_until(ready, elicence) is None


@pytest.mark.integration
def test_a_second_proposal_while_one_stands_decides_nothing(ready: Container, reviewer: TestClient) -> None:
    app, _ = holder_with_photo_change(ready, "吴两次")
    _propose_page(reviewer, app.id)
    later = NOW + timedelta(minutes=10)
    again = apply_again(ready, app, later)  # a proposal alone does not stop the driver from trying again
    r = _propose_page(reviewer, again.id)
    assert r.status_code == 400 and "已有待确认" in r.text
    assert len(_sanctions(ready)) == 1
    with ready.sessions() as s:
        assert s.get(ApplicationRow, again.id).state == "pending_review", "no partial change: not rejected either"  # type: ignore[union-attr]


def _race(ready: Container, monkeypatch: pytest.MonkeyPatch, steps: list[Callable[[], object]]) -> list[str]:
    """Run `steps` at once, each held after its reads (at the rules check) until all have read: the interleaving
    in which a check-then-write loses (on PostgreSQL the row lock holds the second before it reads: no wait)."""
    barrier = threading.Barrier(len(steps))
    check = sanction_rules.check_may_decide

    def held_check(*args: object, **kwargs: object) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(2)
        check(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sanction_rules, "check_may_decide", held_check)
    outcomes: list[str] = []

    def run(step: Callable[[], object]) -> None:
        try:
            step()
            outcomes.append("done")
        except AlreadyDecided:
            outcomes.append("already")

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(outcomes)


@pytest.mark.integration
def test_two_supervisors_confirming_at_once_confirm_once(ready: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found: on SQLite both confirmed (two audit entries, two messages to the driver, the later end wins)."""
    app, elicence = holder_with_photo_change(ready, "郑竞争")
    sanction_id = propose(ready, app, days=30)
    at = NOW + timedelta(minutes=1)
    outcomes = _race(
        ready,
        monkeypatch,
        [
            lambda: ready.sanctions.confirm(SUPERVISOR, sanction_id, at=at),
            lambda: ready.sanctions.confirm(OTHER_SUPERVISOR, sanction_id, at=at),
        ],
    )
    assert outcomes == ["already", "done"]
    with ready.sessions() as s:
        confirmed = s.scalar(
            sa.select(sa.func.count()).where(AuditRow.action == "sanction", AuditRow.outcome == "confirmed")
        )
        told = s.scalar(sa.select(sa.func.count()).where(NotificationRow.kind == "sanctioned"))
    assert (confirmed, told) == (1, 1)
    assert suspended_until(ready, elicence) == at + timedelta(days=30)


@pytest.mark.integration
def test_a_confirm_racing_a_decline_never_leaves_a_suspension_no_one_can_lift(
    ready: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found: on SQLite both won: the sanction ended `declined` (not listed, not liftable) while the e-licence stayed
    suspended (indefinitely for an indefinite proposal) and the driver was told it was stopped."""
    app, elicence = holder_with_photo_change(ready, "王卡住")
    sanction_id = propose(ready, app, days=None)
    at = NOW + timedelta(minutes=1)
    outcomes = _race(
        ready,
        monkeypatch,
        [
            lambda: ready.sanctions.confirm(SUPERVISOR, sanction_id, at=at),
            lambda: ready.sanctions.decline(OTHER_SUPERVISOR, sanction_id, at=at),
        ],
    )
    assert outcomes == ["already", "done"]
    state = _only(ready).state
    assert (state == "active") == (suspended_until(ready, elicence) is not None), (
        state,
        suspended_until(ready, elicence),
    )
    if state == "active":
        ready.sanctions.lift(SUPERVISOR, sanction_id, reason="申诉成立", at=at + timedelta(minutes=1))
    assert suspended_until(ready, elicence) is None


@pytest.mark.integration
def test_a_lift_racing_a_second_lift_lifts_once(ready: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    app, elicence = holder_with_photo_change(ready, "冯双解")
    sanction_id = propose(ready, app, days=90)
    ready.sanctions.confirm(SUPERVISOR, sanction_id, at=NOW)
    at = NOW + timedelta(minutes=1)
    outcomes = _race(
        ready,
        monkeypatch,
        [
            lambda: ready.sanctions.lift(SUPERVISOR, sanction_id, reason="甲", at=at),
            lambda: ready.sanctions.lift(OTHER_SUPERVISOR, sanction_id, reason="乙", at=at),
        ],
    )
    assert outcomes == ["already", "done"]
    with ready.sessions() as s:
        lifted = s.scalar(sa.select(sa.func.count()).where(AuditRow.action == "sanction", AuditRow.outcome == "lifted"))
    assert lifted == 1 and suspended_until(ready, elicence) is None


# --- the sanction: the driver ---------------------------------------------------------------------------------------


def _stopped(ready: Container, name: str, mobile: str = MOBILE) -> tuple[str, str, str]:
    """A confirmed 30-day stop on a driver bound with `mobile`: (licence number, e-licence id, sanction id)."""
    app, elicence = holder_with_photo_change(ready, name, mobile=mobile)
    sanction_id = propose(ready, app, days=30)
    ready.sanctions.confirm(SUPERVISOR, sanction_id, at=NOW)
    return app.licence_number, elicence, sanction_id


@pytest.mark.integration
def test_no_holder_route_hands_out_a_genuine_document_during_a_stop(ready: Container) -> None:
    _stopped(ready, "冯下载")
    with _client(ready) as driver:
        sign_in_holder(driver, ready, MOBILE)
        for path in ("/app/licence/code", "/app/licence/front.png", "/app/licence/secondary.png", "/app/licence.pdf"):
            r = driver.get(path)
            assert r.status_code == 403, (path, r.status_code)
            assert not r.headers.get("content-type", "").startswith(("image/png", "application/pdf"))
            assert "EDL1:" not in r.text
        for view in ("code", "front", "back"):
            page = driver.get("/app/licence", params={"view": view})
            assert page.status_code == 200 and "data-stopped" in page.text
            assert (
                "EDL1:" not in page.text
                and "data-live-qr" not in page.text
                and "<svg" not in page.text.split("data-stopped", 1)[1].split("</section>", 1)[0]
            )


@pytest.mark.integration
def test_unbind_then_bind_again_does_not_end_a_stop(ready: Container) -> None:
    number, _, _ = _stopped(ready, "陈重绑", REGISTERED_MOBILE)  # binding again needs the registered mobile
    with _client(ready) as driver:
        account = sign_in_holder(driver, ready, REGISTERED_MOBILE)
        r = driver.post("/app/unbind", data={"csrf": csrf_of(driver, "/app/me")})
        assert r.status_code == 303
        at = NOW + timedelta(minutes=2)
        ready.face_checks.bind_licence(
            account, number, _holder_name(ready, number), capture(ready, account, "bind", at=at), at=at
        )
        assert driver.get("/app/licence/code").status_code in (403, 404)
        assert driver.get("/app/licence.pdf").status_code in (403, 404)
        home = driver.get("/app").text
        assert "电子驾驶证已停止使用" in home
        token = csrf_of(driver, "/app")
        r = driver.post("/app/apply/stored", data={"csrf": token, "idempotency_key": "k-rebind"})
        assert r.status_code == 400 and "车管所" in r.text
    with pytest.raises(IssuanceRefused):
        issue_elicence(ready.sessions, ready.issuer, number, actor="test", at=NOW + timedelta(minutes=3))
    with ready.sessions() as s:
        live = s.scalar(
            sa.select(sa.func.count()).where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
        )
    assert live == 0


def _holder_name(container: Container, number: str) -> str:
    from edl.db.models import LicenceRow

    with container.sessions() as s:
        name = s.scalar(sa.select(LicenceRow.name).where(LicenceRow.number == number))
    assert name
    return name


@pytest.mark.integration
def test_the_stop_notice_names_no_staff_member(ready: Container) -> None:
    reviewer = _staff(ready, "rev-zhangwei", "reviewer", [TIANJIN])
    supervisor = _staff(ready, "sup-lina", "supervisor", [TIANJIN])
    try:
        app, _ = holder_with_photo_change(ready, "褚通知", mobile=MOBILE)
        assert _propose_page(reviewer, app.id, note="退回").status_code == 303
        assert _act(supervisor, _only(ready).id, "confirm").status_code == 303
    finally:
        reviewer.__exit__(None, None, None)
        supervisor.__exit__(None, None, None)
    with _client(ready) as driver:
        sign_in_holder(driver, ready, MOBILE)
        texts = [driver.get(p).text for p in ("/app", "/app/licence", "/app/inbox")]
        texts += [driver.get(p, headers={"Accept-Language": "en"}).text for p in ("/app", "/app/licence", "/app/inbox")]
    with ready.sessions() as s:
        texts += [
            json.dumps({k: str(v) for k, v in m.items()}, ensure_ascii=False)
            for m in s.execute(sa.select(NotificationRow.__table__)).mappings()
        ]
    assert "电子驾驶证已停止使用" in texts[0]
    for text in texts:
        assert "rev-zhangwei" not in text and "sup-lina" not in text


@pytest.mark.integration
def test_a_stop_ends_at_its_exact_instant_whatever_the_clocks_time_zone(ready: Container) -> None:
    number, elicence, sanction_id = _stopped(ready, "卫时区")
    end = NOW + timedelta(days=30)
    just_before = (end - timedelta(seconds=1)).astimezone(CHINA_TZ)
    assert online(ready, number, just_before)[:2] == (False, CredentialStatus.SUSPENDED)
    assert list_status(ready, elicence, just_before) is CredentialStatus.SUSPENDED
    at_end = end.astimezone(CHINA_TZ)
    assert online(ready, number, at_end)[:2] == (True, CredentialStatus.VALID)
    assert list_status(ready, elicence, at_end) is CredentialStatus.VALID, "the cached list must go stale at the end"
    assert ready.sanctions.get(SUPERVISOR, sanction_id, at=at_end).state is SanctionState.ENDED
    # 8 hours before the end in UTC is still the end's date in Beijing: a date-only comparison would say valid
    eight = (end - timedelta(hours=8)).astimezone(CHINA_TZ)
    assert online(ready, number, eight)[:2] == (False, CredentialStatus.SUSPENDED)


@pytest.mark.integration
def test_no_live_code_is_signed_during_a_stop(ready: Container) -> None:
    """Found in review: `make_live_code` ignored the sanction, so `edl credential code` / `render` signed a fresh code
    during a stop whose status snapshot said normal. It now refuses while `suspended_until` is ahead."""
    number, _, _ = _stopped(ready, "蒋命令")
    with pytest.raises(NoActiveElicence, match="停止使用"), transaction(ready.sessions) as s:
        make_live_code(s, ready.code_maker, number, at=NOW + timedelta(minutes=1))


# --- the masked CSRF token ------------------------------------------------------------------------------------------


def _csrf_post(client: TestClient, token: str | None, *, header: bool = False) -> int:
    """POST /verify/sign-in (public, CSRF-guarded) with a bad API key: 403 is the CSRF refusal, 401 the key's."""
    if header:
        return client.post("/verify/sign-in", data={"key": "nope"}, headers={"X-CSRF-Token": token or ""}).status_code
    data = {"key": "nope"} if token is None else {"key": "nope", "csrf": token}
    return client.post("/verify/sign-in", data=data).status_code


@pytest.mark.integration
def test_a_mask_or_raw_token_of_another_browser_is_refused(ready: Container) -> None:
    with _client(ready) as alice, _client(ready) as mallory:
        alice_mask = csrf_of(alice, "/verify")
        mallory_mask = csrf_of(mallory, "/verify")
        alice_raw, mallory_raw = alice.cookies[CSRF_COOKIE], mallory.cookies[CSRF_COOKIE]
        assert alice_raw != mallory_raw and unmask_token(alice_mask) == alice_raw
        assert _csrf_post(mallory, mallory_mask) == 401, "the control: mallory's own mask passes CSRF"
        assert _csrf_post(mallory, mallory_raw) == 401, "the control: a script's raw cookie value passes CSRF"
    with _client(ready) as alice, _client(ready) as mallory:
        alice_mask = csrf_of(alice, "/verify")
        csrf_of(mallory, "/verify")
        alice_raw, mallory_raw = alice.cookies[CSRF_COOKIE], mallory.cookies[CSRF_COOKIE]
        for header in (False, True):
            assert _csrf_post(mallory, alice_mask, header=header) == 403
            assert _csrf_post(mallory, mask_token(alice_raw), header=header) == 403
        assert _csrf_post(mallory, alice_raw) == 403


@pytest.mark.integration
def test_truncated_extended_padded_or_odd_values_are_refused(ready: Container) -> None:
    with _client(ready) as browser:
        good = csrf_of(browser, "/verify")
        raw = browser.cookies[CSRF_COOKIE]
        pad_zero = base64.urlsafe_b64encode(bytes(len(raw)) + raw.encode()).decode()  # '=' padding kept
        forged_other = mask_token(secrets.token_urlsafe(32))
        half = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()  # the token alone, base64: no pad half
        flipped = ("B" if good[0] == "A" else "A") + good[1:]  # one pad byte changed: unmasks to another token
        standard = good.translate(str.maketrans("-_", "+/"))  # the standard alphabet (a mask may hold neither)
        standard = standard if standard != good else good + "+"
        tricks = [
            good[:-1], good + "A", good[:-4], good + "AAAA", pad_zero, forged_other, half, raw[:-1], raw + "x",
            raw.upper() if raw.upper() != raw else raw[::-1], " " + raw, raw + " ", standard,
            flipped, "A" * len(good), "A" * 344, "A" * 345, "", "é" * 43, raw[:16],
        ]  # fmt: skip
        for value in tricks:
            if value == "":
                continue
            assert _csrf_post(browser, value) == 403, value
        assert _csrf_post(browser, None) == 403
        assert _csrf_post(browser, good) == 401, "the control: the page's own mask still passes"


def test_unmask_never_raises_and_only_the_pad_and_token_unmask() -> None:
    token = secrets.token_urlsafe(32)
    rng = secrets.SystemRandom()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/é\x00 "
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))
        out = unmask_token(value)
        assert out is None or isinstance(out, str)
        assert out != token
    for _ in range(50):
        assert unmask_token(mask_token(token)) == token
    # a value whose two halves XOR to non-ASCII is "not a mask", not an exception
    both = bytes(range(128, 128 + 43)) + bytes(43)
    assert unmask_token(base64.urlsafe_b64encode(both).rstrip(b"=").decode()) is None


# --- hostile photos -------------------------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png(width: int = 600, height: int = 800, *, before_idat: bytes = b"", after_idat: bytes = b"") -> bytes:
    """A plain RGB PNG with extra chunks before and after its image data."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 210, 220)).save(buf, "PNG")
    data = buf.getvalue()
    idat = data.index(b"IDAT") - 4
    iend = data.index(b"IEND") - 4
    return data[:idat] + before_idat + data[idat:iend] + after_idat + data[iend:]


def _huge_ihdr(width: int, height: int) -> bytes:
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    idat = _chunk(b"IDAT", zlib.compress(b"\0" * 1000))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + _chunk(b"IEND", b"")


def _ztxt_bomb() -> bytes:
    body = b"Software\0\0" + zlib.compress(b"Meitu " * (40 * 1024 * 1024 // 6), 9)  # 40 MB of text in ~40 KB
    return _chunk(b"zTXt", body)


def _itxt_xmp(compressed: bool) -> bytes:
    xmp = b'<x:xmpmeta><rdf:Description xmp:CreatorTool="' + b"A" * 150 + b'"/>' + b"CreatorTool>" * 700_000
    text = zlib.compress(xmp, 9) if compressed else xmp
    return _chunk(b"iTXt", b"XML:com.adobe.xmp\0" + (b"\1\0" if compressed else b"\0\0") + b"\0\0" + text)


def _exif_software(count: int, payload: int) -> bytes:
    """An eXIf chunk whose IFD0 has one Software (0x0131) ASCII entry of `count` bytes (`payload` really present)."""
    header = b"MM\0\x2a" + struct.pack(">I", 8)
    ifd = struct.pack(">H", 1) + struct.pack(">HHII", 0x0131, 2, count, 26) + struct.pack(">I", 0)
    return _chunk(b"eXIf", header + ifd + b"Photoshop " * (payload // 10))


def _jpeg_with_app1_software() -> bytes:
    img = Image.new("RGB", (600, 800), (200, 210, 220))
    exif = Image.Exif()
    exif[0x0131] = "美图秀秀 " * 6000  # as much as one APP1 segment holds
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes()[:65000])
    return buf.getvalue()


def _jpeg_huge_sof() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)  # height, width
    return bytes(data)


HOSTILE: dict[str, Callable[[], bytes]] = {
    "ihdr_100000_square": lambda: _huge_ihdr(100_000, 100_000),
    "ihdr_1_by_2e9": lambda: _huge_ihdr(1, 2_000_000_000),
    "jpeg_sof_65000_square": _jpeg_huge_sof,
    "ztxt_bomb_before_idat": lambda: _png(before_idat=_ztxt_bomb()),
    "ztxt_bomb_after_idat": lambda: _png(after_idat=_ztxt_bomb()),
    "itxt_xmp_8mb_plain": lambda: _png(before_idat=_itxt_xmp(False)),
    "itxt_xmp_compressed": lambda: _png(before_idat=_itxt_xmp(True)),
    "exif_software_count_4g": lambda: _png(before_idat=_exif_software(0xFFFFFFF0, 1000)),
    "exif_software_5mb": lambda: _png(before_idat=_exif_software(5_000_000, 5_000_000)),
    "jpeg_app1_software_64k": _jpeg_with_app1_software,
    "text_chunks_10000": lambda: _png(before_idat=b"".join(_chunk(b"tEXt", b"Software\0GIMP") for _ in range(10_000))),
}


@pytest.fixture(scope="module")
def warm() -> None:
    """Load the face and text models once, so the timings below are the photo's and not the first import's."""
    check_photo(id_photo())


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_photo_is_answered_quickly_with_a_photo_refusal(name: str, warm: None) -> None:
    data = HOSTILE[name]()
    started = time.perf_counter()
    try:
        check_photo(data)
    except PhotoRejected as refused:
        assert refused.message_zh and refused.message_en, refused.code
    else:
        pytest.fail(f"{name}: a plain wall with no face must not pass")
    elapsed = time.perf_counter() - started
    assert elapsed < QUICK, f"{name} took {elapsed:.1f} s"


def test_a_real_portrait_with_a_text_bomb_is_still_judged_by_its_pixels(warm: None) -> None:
    """The bomb must not turn a good photo into a crash; whatever the metadata says, a refusal has a rule's code."""
    buf = io.BytesIO()
    Image.open(io.BytesIO(id_photo())).convert("RGB").save(buf, "PNG")
    data = buf.getvalue()
    iend = data.index(b"IEND") - 4
    hostile = data[:iend] + _ztxt_bomb() + _itxt_xmp(False) + data[iend:]
    started = time.perf_counter()
    try:
        checked = check_photo(hostile)
    except PhotoRejected as refused:
        assert refused.code
    else:
        assert b"Meitu" not in checked.jpeg and b"CreatorTool" not in checked.jpeg
    assert time.perf_counter() - started < QUICK


def test_edl_photo_check_refuses_hostile_files_one_json_line_each(tmp_path: Path, warm: None) -> None:
    files = []
    for name in ("ihdr_100000_square", "ztxt_bomb_before_idat", "exif_software_count_4g"):
        path = tmp_path / f"{name}.png"
        path.write_bytes(HOSTILE[name]())
        files.append(str(path))
    (tmp_path / "dir.png").mkdir()
    started = time.perf_counter()
    result = CliRunner().invoke(cli_app, ["photo", "check", *files, str(tmp_path / "dir.png")])
    assert time.perf_counter() - started < 3 * QUICK
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["passed"] for line in lines] == [False, False, False]
    assert all(line["refusals"][0]["code"] for line in lines)
    assert "Traceback" not in result.output


# --- audiences and the landing page --------------------------------------------------------------------------------


@pytest.mark.integration
def test_the_sanction_routes_are_staff_only_and_refuse_a_driver(ready: Container) -> None:
    app = create_app(ready)
    found = {
        (route.path, tuple(sorted(route.methods or ()))): audience_of(route.dependencies)
        for route, _ in declared_routes(app.routes)
        if route.path.startswith("/review/sanctions")
    }
    assert found == {
        ("/review/sanctions", ("GET",)): [Audience.STAFF],
        ("/review/sanctions/{sanction_id}/{action}", ("POST",)): [Audience.STAFF],
    }, found
    _, _, sanction_id = _stopped(ready, "沈司机")
    with TestClient(app, follow_redirects=False) as driver:
        sign_in_holder(driver, ready, MOBILE)
        assert driver.get("/review/sanctions").status_code in (303, 401, 403)
        token = csrf_of(driver, "/app")
        r = driver.post(f"/review/sanctions/{sanction_id}/lift", data={"csrf": token, "confirm": "yes", "note": "x"})
        assert r.status_code in (303, 401, 403)
    assert _only(ready).state == "active"


@pytest.mark.integration
@pytest.mark.parametrize(
    "document",
    [
        pytest.param('{"samples": 5}', id="samples-int"),
        pytest.param('{"samples": null}', id="samples-null"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="deep-nesting"),
        pytest.param('{"samples": [{"case": "stored", "name": 1}], "review_queue": []}', id="bad-items"),
        pytest.param('{"samples": "stored", "staff_file": "../../etc/passwd"}', id="samples-string"),
    ],
)
def test_the_landing_page_survives_a_damaged_demo_samples_file(ready: Container, document: str) -> None:
    data = ready.settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    (data / "demo-samples.json").write_text(document, encoding="utf-8")
    ready.settings.demo = True
    with TestClient(create_app(ready), raise_server_exceptions=False) as visitor:
        r = visitor.get("/")
    assert r.status_code == 200


@pytest.mark.integration
def test_a_reviewer_of_another_authority_cannot_reject_and_propose(ready: Container) -> None:
    app, _ = holder_with_photo_change(ready, "韩越界")
    chengdu = _staff(ready, "rev-cd", "reviewer", [CHENGDU])
    try:
        r = _propose_page(chengdu, app.id, sanction_days="indefinite")
        assert r.status_code == 404
    finally:
        chengdu.__exit__(None, None, None)
    assert _sanctions(ready) == []
    with ready.sessions() as s:
        assert s.get(ApplicationRow, app.id).state == "pending_review"  # type: ignore[union-attr]


def test_an_editing_app_named_after_the_image_data_is_still_flagged() -> None:
    """Tried: a PNG text chunk after IDAT (read by Pillow only when the pixels are loaded) to hide the app's name."""
    buf = io.BytesIO()
    Image.open(io.BytesIO(id_photo())).convert("RGB").save(buf, "PNG")
    data = buf.getvalue()
    iend = data.index(b"IEND") - 4
    checked = check_photo(data[:iend] + _chunk(b"tEXt", b"Software\0Meitu 9.0") + data[iend:])
    assert [f.code for f in checked.flags] == ["edited_by_app"]


def test_the_control_an_editing_app_named_before_the_image_data_is_flagged() -> None:
    buf = io.BytesIO()
    Image.open(io.BytesIO(id_photo())).convert("RGB").save(buf, "PNG")
    data = buf.getvalue()
    idat = data.index(b"IDAT") - 4
    checked = check_photo(data[:idat] + _chunk(b"tEXt", b"Software\0Meitu 9.0") + data[idat:])
    assert [f.code for f in checked.flags] == ["edited_by_app"]


# --- the verifier's neutral retry -----------------------------------------------------------------------------------


def _verifier(ready: Container, limit: int) -> TestClient:
    from edl.verification.parties import register_party
    from edl.verification.purposes import Purpose

    ready.settings.rate_limit_per_minute = limit
    with transaction(ready.sessions) as s:
        _party, key = register_party(s, name="租车探测", purpose=Purpose.RENTAL, actor="test", at=NOW)
    client = _client(ready)
    client.__enter__()
    r = client.post("/verify/sign-in", data={"csrf": csrf_of(client, "/verify"), "key": key})
    assert r.status_code == 303
    return client


def _check(client: TestClient, text: str, fmt: str) -> int:
    token = csrf_of(client, "/verify")
    return client.post("/verify/check", json={"text": text, "format": fmt}, headers={"X-CSRF-Token": token}).status_code


def _records(ready: Container) -> int:
    from edl.db.models import VerificationRow

    with ready.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(VerificationRow)) or 0)


@pytest.mark.integration
def test_non_edl_probes_spend_the_rate_limit_and_a_real_code_is_never_a_neutral_retry(ready: Container) -> None:
    app, _ = holder_with_photo_change(ready, "杨探测")
    with transaction(ready.sessions) as s:
        code = make_live_code(s, ready.code_maker, app.licence_number, at=NOW).text
    client = _verifier(ready, limit=4)
    try:
        assert _check(client, "https://pay.example/qr?x=1", "qr") == 422
        assert _check(client, "1234", "code128") == 422  # not shaped like a barcode number
        assert _records(ready) == 0, "a neutral retry writes no verification record"
        assert _check(client, "edl1:" + code[5:], "qr") == 200, "a real code (any case of prefix) is verified"
        assert _records(ready) == 1
        assert _check(client, "https://pay.example/qr?x=2", "qr") == 422
        assert _check(client, code, "qr") == 429, "the probes counted: the limit holds for real codes"
        assert _records(ready) == 1
    finally:
        client.__exit__(None, None, None)


def test_edl_photo_check_does_not_hang_on_a_fifo_or_read_a_device(tmp_path: Path) -> None:
    """Found: `edl photo check` on a FIFO blocked forever in open() (it waits for a writer); now one line, exit 2."""
    import os
    import subprocess
    import sys

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    env = {**os.environ, "EDL_DATA_DIR": str(tmp_path / "data")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "edl", "photo", "check", str(fifo), "/dev/zero"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("edl photo check hung on a FIFO")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("cannot read") == 2 and "Traceback" not in done.stderr
    assert done.stdout == ""
