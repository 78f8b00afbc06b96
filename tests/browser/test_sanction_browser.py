"""Issue 16, item 4, "Done when": a sanction end to end in real Chromium against a real server.

A reviewer rejects a photo for an abuse reason and proposes a stop; a supervisor of the same authority confirms it
on the sanctions page; the driver's app shows the e-licence stopped with the reason and the way to appeal; a rental
desk's verifier page answers a code made before the stop as suspended; the supervisor lifts it and a fresh code is
valid again. A screenshot of every step (test-artifacts/browser/<test>/).
"""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from edl.accounts.staff import Role, add_staff_user
from edl.audit import ActorKind
from edl.db.models import ApplicationRow, AuditRow, ElicenceRow, SanctionRow
from edl.db.session import transaction
from edl.issuance.elicences import issue_elicence
from edl.verification.purposes import Purpose
from tests.browser.conftest import PHONE, LiveServer, Shots
from tests.browser.test_verification import party_key, party_sign_in, show_code, upload
from tests.faces import id_photo
from tests.workflow import seed_account, seed_licence

pytestmark = pytest.mark.browser

_seq = itertools.count(961, 2)  # sequences (and file numbers) no other browser test uses
_mobiles = itertools.count(13596000001)
PASSWORD = "Sanction-pass-2026!"
TIANJIN = "120000"


def holder_in_review(server: LiveServer, name: str) -> tuple[str, str, str]:
    """A licence with an issued e-licence, its bound account, and a photo change waiting for review:
    (licence number, mobile, application id)."""
    c = server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=next(_seq), name=name)
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=c.clock())
    mobile = str(next(_mobiles))
    account = seed_account(c, now, number=number, mobile=mobile)
    app_id = uuid.uuid4().hex
    with transaction(c.sessions) as s:
        s.add(
            ApplicationRow(
                id=app_id, account_id=account, licence_number=number, authority_code=TIANJIN, kind="album",
                photo_change=True, state="pending_review", photo_ref=c.photos.put(id_photo()), photo_checks={},
                idempotency_key=app_id, submitted_at=now, due_at=now + timedelta(days=1),
            )
        )  # fmt: skip
    return number, mobile, app_id


def staff_user(server: LiveServer, role: Role) -> str:
    username = f"{role.value}{next(_seq)}"
    with transaction(server.container.sessions) as s:
        add_staff_user(
            s, username, role=role, authorities=frozenset({TIANJIN}), password=PASSWORD,
            actor_kind=ActorKind.CLI, actor="test", at=datetime.now(UTC),
        )  # fmt: skip
    return username


def staff_sign_in(server: LiveServer, page, shots: Shots, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/review")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/review/?(\?.*)?$"))


def test_a_sanction_end_to_end(live_server: LiveServer, chromium, phone, shots: Shots) -> None:  # type: ignore[no-untyped-def]
    server = live_server
    number, mobile, app_id = holder_in_review(server, "岳恶意")
    reviewer_ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    supervisor_ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    rental_ctx = chromium.new_context(viewport=PHONE, locale="zh-CN")
    for ctx in (reviewer_ctx, supervisor_ctx, rental_ctx):
        ctx.set_default_timeout(20_000)
    try:
        # 1. the reviewer rejects for an abuse reason and proposes a 30-day stop
        console = reviewer_ctx.new_page()
        staff_sign_in(server, console, shots, staff_user(server, Role.REVIEWER))
        console.goto(f"{server.url}/review/applications/{app_id}")
        console.check(".decision-reject input[name=reason][value=marks]")
        console.check(".decision-reject input[name=propose]")
        console.select_option(".decision-reject select[name=sanction_days]", "30")
        console.fill(".decision-reject textarea[name=note]", "照片上有广告文字")
        console.check(".decision-reject input[name=confirm]")
        shots(console, "reviewer-proposes")
        console.click("button.button-reject")
        console.wait_for_url(re.compile(r".*/review\?done=.*"))
        shots(console, "reviewer-rejected")

        # 2. the supervisor sees the proposal (the driver's code is made just before the confirmation)
        boss = supervisor_ctx.new_page()
        staff_sign_in(server, boss, shots, staff_user(server, Role.SUPERVISOR))
        boss.goto(f"{server.url}/review/sanctions")
        proposal = boss.locator(".sanction[data-state=proposed]", has_text="岳恶意")
        proposal.wait_for()
        shots(boss, "supervisor-list")
        before = show_code(server, phone.new_page(), shots, mobile)

        proposal.locator(".sanction-confirm input[name=confirm]").check()
        proposal.locator(".sanction-confirm button[type=submit]").click()
        boss.wait_for_url(re.compile(r".*/review/sanctions\?done=.*"))
        running = boss.locator(".sanction[data-state=active]", has_text="岳恶意")
        running.wait_for()
        assert "执行中" in running.inner_text()
        shots(boss, "supervisor-confirmed")

        # 3. the driver's app shows the e-licence stopped, with the reason and the way to appeal
        driver = phone.pages[0]
        driver.goto(f"{server.url}/app/licence")
        stopped = driver.locator("[data-stopped]")
        stopped.wait_for()
        text = stopped.inner_text()
        assert "电子驾驶证已停止使用" in text and "标记" in text and "车管所" in text, text
        assert driver.locator("[data-live-qr]").count() == 0, "no code is shown while stopped"
        shots(driver, "driver-stopped")
        driver.goto(f"{server.url}/app")
        assert "电子驾驶证已停止使用" in driver.inner_text("main")
        shots(driver, "driver-home-stopped")

        # 4. a verifier sees it suspended (a code made before the stop)
        desk = rental_ctx.new_page()
        party_sign_in(server, desk, shots, party_key(server, Purpose.RENTAL, "首汽租车"))
        result = upload(desk, shots, before, "verifier-suspended")
        assert result.get_attribute("data-valid") == "false"
        assert result.get_attribute("data-status") == "suspended"

        # 5. the supervisor lifts it; the e-licence is valid again
        boss.goto(f"{server.url}/review/sanctions")
        running = boss.locator(".sanction[data-state=active]", has_text="岳恶意")
        running.locator(".sanction-lift input[name=note]").fill("窗口申诉后核实")
        running.locator(".sanction-lift input[name=confirm]").check()
        shots(boss, "supervisor-lifts")
        running.locator(".sanction-lift button[type=submit]").click()
        boss.wait_for_url(re.compile(r".*/review/sanctions\?done=.*"))
        assert boss.locator(".sanction", has_text="岳恶意").count() == 0
        shots(boss, "supervisor-lifted")

        driver.goto(f"{server.url}/app/licence")
        driver.locator("[data-live-qr] svg").first.wait_for(state="visible")
        assert driver.locator("[data-stopped]").count() == 0
        shots(driver, "driver-valid-again")
        after = shots.folder / f"qr-after-{mobile}.png"
        driver.locator("[data-live-qr] svg").first.screenshot(path=str(after))
        desk.goto(f"{server.url}/verify")
        result = upload(desk, shots, after, "verifier-valid-again")
        assert result.get_attribute("data-valid") == "true"
        assert "岳恶意" in result.inner_text()
    finally:
        for ctx in (reviewer_ctx, supervisor_ctx, rental_ctx):
            ctx.close()

    with server.container.sessions() as s:
        outcomes = list(
            s.scalars(
                sa.select(AuditRow.outcome)
                .where(AuditRow.action == "sanction", AuditRow.subject == number)
                .order_by(AuditRow.id)
            )
        )
        assert outcomes == ["proposed", "confirmed", "lifted"]
        sanction = s.scalar(sa.select(SanctionRow).where(SanctionRow.licence_number == number))
        assert sanction is not None and sanction.state == "lifted"
        assert s.scalar(sa.select(ElicenceRow.suspended_until).where(ElicenceRow.licence_number == number)) is None
