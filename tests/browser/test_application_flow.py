"""The driver's app and the review console in real Chromium against a real server.

Walks through: sign-in; case (a) stored photo → issued e-licence; case (b) uploaded photo → a reviewer approves in
the console → the holder sees the e-licence and the notification; an ineligible licence refused; a photo rejected
with its reason. Real face comparison (dlib) and real photo checks throughout; a screenshot of every page.

Binding a licence takes real-person authentication (active liveness): the holder's phone is a Chromium whose fake
camera plays the licence holder doing the challenge (`liveness_phone`, tests/liveness_synth.py), and the licence's
stored photo is that person's registry photo.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from edl.accounts.staff import Role, add_staff_user
from edl.audit import ActorKind
from edl.db.models import ApplicationRow, AuditRow, ElicenceRow, LicenceRow
from edl.db.session import transaction
from edl.domain import Status
from edl.registry.mapping import row_values
from tests.browser.conftest import LiveServer, Shots, run_liveness
from tests.faces import id_photo
from tests.factories import licence
from tests.liveness_synth import registry_photo

pytestmark = pytest.mark.browser

_seq = itertools.count(301, 2)
_mobiles = itertools.count(13900000001)
_registered: dict[str, str] = {}


def seed(server: LiveServer, *, stored: bytes, compliant: bool, name: str, **kw: object) -> str:
    """A registry licence whose stored photo is `stored` (a real face)."""
    c = server.container
    lic = licence(sequence=next(_seq), name=name, **kw)  # type: ignore[arg-type]
    mobile = str(next(_mobiles))  # the registered mobile (登记手机号): the driver signs in with it to bind
    lic = lic.replace(
        photo_ref=c.photos.put(stored),
        photo_compliant=compliant,
        holder=dataclasses.replace(lic.holder, mobile=mobile),
    )
    _registered[str(lic.number)] = mobile
    with transaction(c.sessions) as s:
        s.add(LicenceRow(**row_values(lic, at=datetime.now(UTC)), version=1))
    return str(lic.number)


def jpeg_file(name: str, data: bytes) -> dict[str, object]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def sign_in(server: LiveServer, page, shots: Shots, number: str) -> str:  # type: ignore[no-untyped-def]
    """Sign in with the registered mobile of licence `number` (binding needs it)."""
    mobile = _registered[number]
    page.goto(f"{server.url}/app")
    assert "/app/sign-in" in page.url, "the app sends a signed-out driver to sign-in"
    shots(page, "sign-in")
    page.fill("input[name=mobile]", mobile)
    page.check("input[name=consent]")  # the privacy notice (the first sign-in registers the account)
    page.click("form button[type=submit]")
    page.wait_for_selector("input[name=code]")
    shots(page, "code")
    page.fill("input[name=code]", server.sms_code(mobile))
    page.locator("form", has=page.locator("input[name=code]")).locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/app/?$"))
    return mobile


def bind(server: LiveServer, page, shots: Shots, number: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """Number, name and the liveness check on the camera (the page's camera plays the holder doing the challenge)."""
    page.fill("input[name=number]", number)
    page.fill("input[name=name]", name)
    shots(page, "bind")
    run = run_liveness(server, page, shots)
    assert run.ok, f"binding was refused: {run.status or run.error}\n{run.timing()}"
    assert page.locator("input[name=number]").count() == 0, page.inner_text("main")


def test_sign_in_and_case_a_stored_photo_issues_the_elicence(  # type: ignore[no-untyped-def]
    live_server: LiveServer, liveness_phone, shots: Shots
) -> None:
    number = seed(live_server, stored=registry_photo("astronaut"), compliant=True, name="柯林斯")
    page = liveness_phone("astronaut")
    sign_in(live_server, page, shots, number)
    shots(page, "home-unbound")
    bind(live_server, page, shots, number, "柯林斯")
    shots(page, "home-bound")
    page.click("a.option-primary")  # 使用存档照片
    shots(page, "apply-stored")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    shots(page, "issued")
    page.goto(f"{live_server.url}/app/licence")
    body = page.inner_text("main")
    assert "柯林斯" in body and number in body
    assert page.locator("svg").count() >= 2, "the front page carries a QR code and a 1D barcode"
    shots(page, "elicence")
    with live_server.container.sessions() as s:
        assert s.scalar(sa.select(ElicenceRow).where(ElicenceRow.licence_number == number)) is not None


def test_case_b_uploaded_photo_is_approved_by_a_reviewer(  # type: ignore[no-untyped-def]
    live_server: LiveServer, liveness_phone, desk, shots: Shots
) -> None:
    old = id_photo("hopper", background=(150, 190, 230))  # an older blue-background photo: not compliant
    number = seed(live_server, stored=old, compliant=False, name="霍珀")
    page = liveness_phone("hopper")
    sign_in(live_server, page, shots, number)
    bind(live_server, page, shots, number, "霍珀")
    assert page.locator("a.option-primary").count() == 0, "no compliant stored photo: case (a) is not offered"
    page.goto(f"{live_server.url}/app/apply/photo?source=album")
    shots(page, "apply-album")
    page.set_input_files("input[name=photo]", files=[jpeg_file("id.jpg", id_photo("hopper"))])
    page.click("form button[data-plain-submit]")
    page.wait_for_load_state()
    shots(page, "submitted")
    assert "1个工作日" in page.inner_text("main") or "工作日" in page.inner_text("main")

    password = "Review-pass-2026!"
    username = f"rev{next(_seq)}"
    with transaction(live_server.container.sessions) as s:
        add_staff_user(
            s,
            username,
            role=Role.REVIEWER,
            authorities=frozenset({"120000"}),
            password=password,
            actor_kind=ActorKind.CLI,
            actor="test",
            at=datetime.now(UTC),
        )
    console = desk.new_page()
    console.goto(f"{live_server.url}/review")
    assert "/review/sign-in" in console.url
    shots(console, "staff-sign-in")
    console.fill("input[name=username]", str(username))
    console.fill("input[name=password]", password)
    console.click("form button[type=submit]")
    console.wait_for_url(re.compile(r".*/review/?(\?.*)?$"))
    shots(console, "queue")
    console.click("text=霍珀")
    console.wait_for_selector("button.button-approve")
    shots(console, "review-item")
    console.check(".decision-approve input[name=confirm]")  # the required confirmation box
    console.click("button.button-approve")
    console.wait_for_load_state()
    shots(console, "approved")

    page.goto(f"{live_server.url}/app/licence")
    assert "霍珀" in page.inner_text("main")
    shots(page, "elicence")
    page.goto(f"{live_server.url}/app/inbox")
    inbox = page.inner_text("main")
    assert "电子驾驶证申请成功" in inbox
    shots(page, "inbox")
    with live_server.container.sessions() as s:
        app = s.scalar(sa.select(ApplicationRow).where(ApplicationRow.licence_number == number))
        assert app is not None and app.state == "issued"
        actions = set(s.scalars(sa.select(AuditRow.action)))
    assert {"sign_in", "face_auth", "submit", "review", "issue"} <= actions


def test_an_ineligible_licence_is_refused_with_the_reason(  # type: ignore[no-untyped-def]
    live_server: LiveServer, liveness_phone, shots: Shots
) -> None:
    number = seed(
        live_server,
        stored=registry_photo("astronaut"),
        compliant=True,
        name="暂扣者",
        statuses=frozenset({Status.SUSPENDED}),
    )
    page = liveness_phone("astronaut")
    sign_in(live_server, page, shots, number)
    bind(live_server, page, shots, number, "暂扣者")
    shots(page, "refused")
    body = page.inner_text("main")
    assert "暂扣" in body and "暂扣期满" in body
    assert page.locator("a.option").count() == 0, "no way to apply is offered"
    page.goto(f"{live_server.url}/app/apply/stored")
    page.wait_for_load_state()
    shots(page, "apply-refused")
    with live_server.container.sessions() as s:
        assert s.scalar(sa.select(ApplicationRow).where(ApplicationRow.licence_number == number)) is None


def test_a_bad_photo_is_rejected_with_its_reason(live_server: LiveServer, liveness_phone, shots: Shots) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image, ImageFilter

    from tests.faces import jpeg

    number = seed(live_server, stored=registry_photo("astronaut"), compliant=False, name="模糊")
    page = liveness_phone("astronaut")
    sign_in(live_server, page, shots, number)
    bind(live_server, page, shots, number, "模糊")
    import io

    blurred = jpeg(Image.open(io.BytesIO(id_photo("astronaut"))).filter(ImageFilter.GaussianBlur(8)))
    page.goto(f"{live_server.url}/app/apply/photo?source=camera")
    page.set_input_files("input[name=photo]", files=[jpeg_file("blurred.jpg", blurred)])
    page.click("form button[data-plain-submit]")
    page.wait_for_load_state()
    shots(page, "photo-rejected")
    assert "模糊" in page.inner_text("main")
    with live_server.container.sessions() as s:
        assert s.scalar(sa.select(ApplicationRow).where(ApplicationRow.licence_number == number)) is None


def test_a_photo_in_light_clothes_is_refused_with_the_rules_message_at_375_px(  # type: ignore[no-untyped-def]
    live_server: LiveServer, liveness_phone, shots: Shots
) -> None:
    """Issue 16: a rule added to the automatic checks (light clothes merge with the white wall) refuses the photo on
    the driver's phone with its own message, which says what to change; nothing is stored."""
    from tests.faces import jpeg, shirt_photo_image

    number = seed(live_server, stored=registry_photo("astronaut"), compliant=False, name="浅色衣")
    page = liveness_phone("astronaut")
    assert page.viewport_size["width"] == 375
    sign_in(live_server, page, shots, number)
    bind(live_server, page, shots, number, "浅色衣")
    light = jpeg(shirt_photo_image("astronaut", (238, 238, 236)))
    page.goto(f"{live_server.url}/app/apply/photo?source=album")
    page.set_input_files("input[name=photo]", files=[jpeg_file("light.jpg", light)])
    page.click("form button[data-plain-submit]")
    page.wait_for_load_state()
    shots(page, "photo-refused-light-clothes")
    text = page.inner_text("main")
    assert "衣服颜色太浅" in text and "深色的日常服装" in text, text
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the refusal scrolls sideways ({width} px)"
    with live_server.container.sessions() as s:
        assert s.scalar(sa.select(ApplicationRow).where(ApplicationRow.licence_number == number)) is None
