"""The verifier web page (/verify) on SQLite and PostgreSQL: API-key sign-in, the upload form without JavaScript (the
server reads the image with zxing-cpp), the camera's JSON endpoint, and the result showing only what the purpose
allows. Real codes (H1), real relying parties (H3), real registry events; the page's own logic is what is tested.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from edl.bootstrap import Container
from edl.db.models import VerificationRow, WebSessionRow
from edl.db.session import transaction
from edl.domain import Status
from edl.verification.purposes import Purpose
from edl.web import create_app
from edl.web.codes import code128_png, qr_png
from tests.workflow import seed_licence

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
ADDRESS = "天津市和平区南京路100号"
"""The address tests.factories gives every licence: a rental party must never see it."""
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def world(container: Container) -> Iterator[Container]:
    container.clock = lambda: NOW
    container.authority.init(at=NOW - timedelta(days=1))
    yield container


def issued(container: Container, **kw: Any) -> tuple[str, str]:
    """A licence with a live e-licence: (licence number, e-licence id)."""
    from edl.issuance.elicences import issue_elicence

    number = seed_licence(container, NOW, **kw)
    elicence = issue_elicence(container.sessions, container.issuer, number, actor="test", at=container.clock())
    return number, elicence.elicence_id


def live_code(container: Container, number: str) -> str:
    from edl.issuance.livecodes import make_live_code

    with transaction(container.sessions) as s:
        return make_live_code(s, container.code_maker, number, at=container.clock()).text


def live_barcode(container: Container, number: str, at: datetime | None = None) -> str:
    """The number under the barcode of the licence's page made at `at` (default: now)."""
    from edl.issuance.livecodes import make_live_code

    with transaction(container.sessions) as s:
        return make_live_code(s, container.code_maker, number, at=at or container.clock()).barcode


def party_key(container: Container, purpose: Purpose, name: str) -> str:
    from edl.verification.parties import register_party

    with transaction(container.sessions) as s:
        _party, key = register_party(s, name=name, purpose=purpose, actor="test", at=NOW)
    return key


def client_for(container: Container) -> TestClient:
    return TestClient(create_app(container), follow_redirects=False)


def csrf(client: TestClient) -> str:
    token = client.cookies.get("edl_csrf")
    if token:
        return str(token)
    r = client.get("/verify")
    found = _CSRF.search(r.text)
    assert found, r.text
    return found.group(1)


def sign_in(client: TestClient, key: str) -> None:
    r = client.post("/verify/sign-in", data={"csrf": csrf(client), "key": key})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/verify"


def upload(client: TestClient, image: bytes, **data: str) -> str:
    r = client.post("/verify/upload", data={"csrf": csrf(client), **data}, files={"image": ("code.png", image)})
    assert r.status_code == 200, r.text
    return str(r.text)


def verdict(html: str) -> tuple[bool, str]:
    found = re.search(r'id="result"[^>]*data-valid="(true|false)" data-status="(\w+)"', html)
    assert found, "no result panel on the page"
    return found.group(1) == "true", found.group(2)


def verifications(container: Container) -> list[VerificationRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(VerificationRow).order_by(VerificationRow.id)))


def test_a_bad_key_is_refused_and_opens_no_session(world: Container) -> None:
    party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        r = client.post("/verify/sign-in", data={"csrf": csrf(client), "key": "edl_rp_" + "x" * 43})
        assert r.status_code == 401
        assert "密钥无效" in r.text
        assert "edl_party" not in r.cookies
        r = client.get("/verify")
        assert 'name="key"' in r.text, "still the sign-in form"
    with world.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(WebSessionRow)) == 0


def test_sign_in_needs_the_csrf_token(world: Container) -> None:
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        csrf(client)
        r = client.post("/verify/sign-in", data={"key": key})
        assert r.status_code == 403
    with world.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(WebSessionRow)) == 0


def test_rental_upload_of_a_live_qr_is_valid_and_never_shows_the_address(world: Container) -> None:
    number, _eid = issued(world, name="王小明")
    key = party_key(world, Purpose.RENTAL, "平安租车")
    with client_for(world) as client:
        sign_in(client, key)
        page = client.get("/verify").text
        assert "平安租车" in page and "汽车租赁" in page
        assert "vendor/zxing.min.js" in page, "the bundled reader, from our own static files"
        assert "vendor/zxing_reader.wasm?v=" in page, "its WebAssembly module, from our own static files too"
        html = upload(client, qr_png(live_code(world, number)))
    assert verdict(html) == (True, "valid")
    assert "有效" in html and "王小明" in html
    assert ADDRESS not in html and 'data-field="address"' not in html
    rows = verifications(world)
    assert [(r.channel, r.valid, r.relying_party_name) for r in rows] == [("web", True, "平安租车")]


def test_police_upload_shows_the_address(world: Container) -> None:
    number, _eid = issued(world)
    key = party_key(world, Purpose.POLICE, "和平交警")
    with client_for(world) as client:
        sign_in(client, key)
        html = upload(client, qr_png(live_code(world, number)))
    assert verdict(html) == (True, "valid")
    assert ADDRESS in html


def test_the_same_code_after_it_expires_is_refused_as_expired(world: Container) -> None:
    number, _eid = issued(world)
    image = qr_png(live_code(world, number))
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        assert verdict(upload(client, image))[0] is True
        world.clock = lambda: NOW + timedelta(minutes=10)
        html = upload(client, image)
    assert verdict(html)[0] is False
    assert "无效" in html and "已过期" in html


def test_a_suspension_after_the_code_was_made_shows_suspended(world: Container) -> None:
    from edl.registry.events import set_status

    number, _eid = issued(world)
    image = qr_png(live_code(world, number))
    with transaction(world.sessions) as s:
        set_status(s, number, Status.SUSPENDED, actor="test", at=NOW)
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        html = upload(client, image)
    assert verdict(html) == (False, "suspended")
    assert "暂扣" in html


def test_a_code128_barcode_is_read_as_the_current_barcode_number(world: Container) -> None:
    number, _eid = issued(world)
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        html = upload(client, code128_png(live_barcode(world, number)))
    valid, status = verdict(html)
    assert status == "valid" and valid
    assert "条形码号码" in html, "the page says the barcode is not a signed code"
    assert [r.method for r in verifications(world)] == ["barcode"]


def test_a_typed_barcode_number_works_without_an_image(world: Container) -> None:
    from edl.web.codes import barcode_caption

    number, _eid = issued(world)
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        typed = barcode_caption(live_barcode(world, number))  # as printed: groups of four digits
        r = client.post("/verify/upload", data={"csrf": csrf(client), "typed": typed})
    assert r.status_code == 200
    assert verdict(r.text) == (True, "valid")


def test_a_typed_old_barcode_number_or_the_elicence_id_is_refused_in_plain_words(world: Container) -> None:
    number, eid = issued(world)
    old = live_barcode(world, number, at=NOW - timedelta(minutes=2))
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        expired = client.post("/verify/upload", data={"csrf": csrf(client), "typed": old})
        static = client.post("/verify/upload", data={"csrf": csrf(client), "typed": eid})
    assert verdict(expired.text) == (False, "unknown")
    assert "条形码已过期" in expired.text and "data-field=" not in expired.text
    assert verdict(static.text) == (False, "unknown")
    assert "固定的电子驾驶证编号" in static.text and "data-field=" not in static.text
    logged = [(r.method, r.errors, r.licence_number) for r in verifications(world)]
    assert logged == [("barcode", "barcode_expired", None), ("barcode", "barcode_static_id", None)]


def test_the_page_says_a_barcode_proves_nothing_offline(world: Container) -> None:
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        zh = client.get("/verify").text
        en = client.get("/verify", headers={"Accept-Language": "en"}).text
    assert "条形码本身没有签名，离线时不能证明任何事" in zh
    assert "A barcode carries no signature and proves nothing offline" in en


def test_an_image_without_a_code_is_refused_in_plain_words(world: Container) -> None:
    import io

    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, "PNG")
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        r = client.post("/verify/upload", data={"csrf": csrf(client)}, files={"image": ("x.png", blank.getvalue())})
        assert r.status_code == 422
        assert "未找到二维码或条形码" in r.text
        r = client.post("/verify/upload", data={"csrf": csrf(client)}, files={"image": ("x.png", b"not an image")})
        assert r.status_code == 400
        assert "无法读取该图片" in r.text
    assert verifications(world) == []


def test_upload_without_csrf_is_refused_and_checks_nothing(world: Container) -> None:
    number, _eid = issued(world)
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        r = client.post("/verify/upload", files={"image": ("code.png", qr_png(live_code(world, number)))})
        assert r.status_code == 403
    assert verifications(world) == []


def test_the_camera_endpoint_answers_json_with_the_result_panel(world: Container) -> None:
    number, _eid = issued(world)
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        code = live_code(world, number)
        r = client.post("/verify/check", json={"text": code, "format": "qr"}, headers={"X-CSRF-Token": csrf(client)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["valid"] is True and body["status"] == "valid"
        assert "address" not in body["fields"]
        assert verdict(body["html"]) == (True, "valid")
        r = client.post("/verify/check", json={"text": code, "format": "qr"})
        assert r.status_code == 403, "no CSRF header"
        r = client.post("/verify/check", json={"code": code}, headers={"X-CSRF-Token": csrf(client)})
        assert r.status_code == 400
    assert len(verifications(world)) == 1


def test_signed_out_or_revoked_parties_cannot_check(world: Container) -> None:
    from edl.verification.parties import revoke_party

    number, _eid = issued(world)
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        r = client.post("/verify/check", json={"text": "EDL1:x"}, headers={"X-CSRF-Token": csrf(client)})
        assert r.status_code == 401
        sign_in(client, key)
        party = world.party_keys.authenticate(key, at=NOW)
        assert party is not None
        with transaction(world.sessions) as s:
            revoke_party(s, party.id, keys=world.party_keys, actor="test", at=NOW)
        code = live_code(world, number)
        r = client.post("/verify/check", json={"text": code}, headers={"X-CSRF-Token": csrf(client)})
        assert r.status_code == 401, "a revoked party's session ends with its key"
        assert 'name="key"' in client.get("/verify").text
    assert verifications(world) == []


def test_the_page_shares_the_party_rate_limit(world: Container) -> None:
    from edl.verification.parties import register_party

    _number, eid = issued(world)
    with transaction(world.sessions) as s:
        _party, key = register_party(s, name="小租车行", purpose=Purpose.RENTAL, rate_per_minute=1, actor="t", at=NOW)
    with client_for(world) as client:
        sign_in(client, key)
        first = client.post("/verify/upload", data={"csrf": csrf(client), "typed": eid})
        assert first.status_code == 200
        second = client.post("/verify/upload", data={"csrf": csrf(client), "typed": eid})
        assert second.status_code == 429
        assert "请求过于频繁" in second.text and int(second.headers["retry-after"]) >= 1
        third = client.post(
            "/verify/check", json={"text": eid, "format": "code128"}, headers={"X-CSRF-Token": csrf(client)}
        )
        assert third.status_code == 429 and third.json()["error"] == "rate_limited"
    assert len(verifications(world)) == 1, "a refused check reaches no verification"


def test_only_the_scanner_page_may_compile_webassembly_and_the_module_is_served_as_such(world: Container) -> None:
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        assert "wasm-unsafe-eval" not in client.get("/verify").headers["content-security-policy"], "signed out"
        sign_in(client, key)
        scanner = client.get("/verify")
        policy = scanner.headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval';" in policy, "WebAssembly compilation only"
        assert "'unsafe-eval'" not in policy and "connect-src 'self'" in policy
        match = re.search(r'data-wasm="([^"]+)"', scanner.text)
        assert match is not None
        module = client.get(match.group(1).replace("&amp;", "&"))
        assert module.status_code == 200
        assert module.headers["content-type"] == "application/wasm", "compiled while it streams in"
        assert module.content[:4] == b"\0asm"
        assert "immutable" in module.headers["cache-control"], "versioned: cached for good"
        for other in ("/app/sign-in", "/review/sign-in"):
            assert "wasm-unsafe-eval" not in client.get(other).headers["content-security-policy"]


# --- "could not read" is a neutral retry, not a verdict (issue 13, item 4) ------------------------------------------

RETRY = "未能读取亮码，请重新扫描或输入"


def _blank_png() -> bytes:
    import io

    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, "PNG")
    return blank.getvalue()


def _neutral(html: str) -> None:
    assert RETRY in html
    assert 'data-retry="true"' in html and "data-valid=" not in html, "a retry panel, no verdict"
    assert "不能据此认可" not in html and "无效" not in html


def test_no_code_in_the_image_or_a_malformed_number_is_a_neutral_retry_and_writes_no_record(world: Container) -> None:
    key = party_key(world, Purpose.RENTAL, "租车行")
    with client_for(world) as client:
        sign_in(client, key)
        blank = client.post("/verify/upload", data={"csrf": csrf(client)}, files={"image": ("x.png", _blank_png())})
        assert blank.status_code == 422
        _neutral(blank.text)
        assert "未找到二维码或条形码" in blank.text
        for typed in ("12345", "1234 5678 9012", "hello!"):
            r = client.post("/verify/upload", data={"csrf": csrf(client), "typed": typed})
            assert r.status_code == 422, typed
            _neutral(r.text)
            assert f'value="{typed}"' in r.text, "the typed value is kept to correct it"
        camera = client.post(
            "/verify/check", json={"text": "12345", "format": "code128"}, headers={"X-CSRF-Token": csrf(client)}
        )
        assert camera.status_code == 422 and camera.json()["error"] == "unreadable"
        _neutral(camera.json()["html"])
        en = client.post(
            "/verify/upload", data={"csrf": csrf(client), "typed": "12"}, headers={"Accept-Language": "en"}
        )
        assert "Could not read a code: scan again or type the number" in en.text
    assert verifications(world) == [], "nothing was verified, so nothing is logged as a verification"


def test_a_qr_code_that_is_not_an_e_licence_code_is_a_neutral_retry(world: Container) -> None:
    """Before: any QR code the camera or an upload read (a payment code, a web link) went to the verifier as a code
    and came back "✕ 无效" with a verification record; it names no e-licence, so it is a retry that says what it is."""
    import segno

    key = party_key(world, Purpose.RENTAL, "租车行")
    buf = io.BytesIO()
    segno.make("https://example.com/pay?order=42", error="m").save(buf, kind="png", scale=6, border=4)
    with client_for(world) as client:
        sign_in(client, key)
        camera = client.post(
            "/verify/check",
            json={"text": "https://example.com/pay?order=42", "format": "qr"},
            headers={"X-CSRF-Token": csrf(client)},
        )
        assert camera.status_code == 422 and camera.json()["error"] == "unreadable"
        _neutral(camera.json()["html"])
        assert "不是电子驾驶证亮码" in camera.json()["html"]
        upload = client.post(
            "/verify/upload", data={"csrf": csrf(client)}, files={"image": ("pay.png", buf.getvalue())}
        )
        assert upload.status_code == 422
        _neutral(upload.text)
        assert "不是电子驾驶证亮码" in upload.text
    assert verifications(world) == [], "nothing was verified, so nothing is logged as a verification"


def test_a_read_code_that_fails_stays_invalid_and_audited(world: Container) -> None:
    number, _eid = issued(world)
    key = party_key(world, Purpose.RENTAL, "租车行")
    forged = "0000000001" + "00" + "123456789012"  # the shape of a barcode number, a tag nobody made
    with client_for(world) as client:
        sign_in(client, key)
        r = client.post("/verify/upload", data={"csrf": csrf(client), "typed": forged})
        assert r.status_code == 200 and verdict(r.text) == (False, "unknown")
        assert "不能据此认可" in r.text and RETRY not in r.text
        bad = live_code(world, number)[:-6] + "AAAAAA"  # a real code, tampered
        camera = client.post(
            "/verify/check", json={"text": bad, "format": "qr"}, headers={"X-CSRF-Token": csrf(client)}
        )
        assert camera.status_code == 200 and camera.json()["valid"] is False
    logged = [(r.method, r.valid) for r in verifications(world)]
    assert logged == [("barcode", False), ("code", False)]


def test_a_neutral_retry_still_counts_against_the_rate_limit(world: Container) -> None:
    from edl.verification.parties import register_party

    number, _eid = issued(world)
    with transaction(world.sessions) as s:
        _party, key = register_party(s, name="小租车行", purpose=Purpose.RENTAL, rate_per_minute=1, actor="t", at=NOW)
    with client_for(world) as client:
        sign_in(client, key)
        first = client.post("/verify/upload", data={"csrf": csrf(client)}, files={"image": ("x.png", _blank_png())})
        assert first.status_code == 422
        second = client.post("/verify/upload", data={"csrf": csrf(client), "typed": "12345"})
        assert second.status_code == 429, "probing with unreadable input is limited like a check"
        third = client.post(
            "/verify/check", json={"text": "1", "format": "code128"}, headers={"X-CSRF-Token": csrf(client)}
        )
        assert third.status_code == 429
        live = client.post(
            "/verify/upload", data={"csrf": csrf(client)}, files={"image": ("c.png", qr_png(live_code(world, number)))}
        )
        assert live.status_code == 429
    assert verifications(world) == []


def test_the_result_names_the_fields_the_purpose_allows(world: Container) -> None:
    from edl.verification.purposes import RULES
    from edl.web.i18n import Lang, Translator
    from edl.web.verifier.views import FIELD_LABELS

    number, _eid = issued(world)
    key = party_key(world, Purpose.RENTAL, "平安租车")
    with client_for(world) as client:
        sign_in(client, key)
        html = upload(client, qr_png(live_code(world, number)))
        en = client.post(
            "/verify/check",
            json={"text": live_code(world, number), "format": "qr"},
            headers={"X-CSRF-Token": csrf(client), "Accept-Language": "en"},
        ).json()["html"]
    line = re.search(r'class="result-allowed">([^<]+)<', html)
    assert line, "the result says what this purpose may see"
    zh = Translator(Lang.ZH)
    labels = [zh(FIELD_LABELS[f]) for f in RULES[Purpose.RENTAL].fields]  # the purpose table that cut the fields
    assert line.group(1) == "本次用途可查看：" + "、".join(labels)
    assert line.group(1).startswith("本次用途可查看：姓名、照片") and zh("field.address") not in line.group(1)
    assert "This purpose may see: Name, Photo" in en


def test_a_database_outage_is_a_503_to_try_again_never_a_500(world: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the scale-out tests (a PostgreSQL restart under load): the API answered 503 while the database was
    down, the verifier page 500. Both pages now answer 503 with Retry-After, and nothing is recorded."""
    from sqlalchemy.exc import OperationalError

    number, _eid = issued(world)
    key = party_key(world, Purpose.RENTAL, "租车行")
    code = live_code(world, number)

    def down(*_a: object, **_k: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    with client_for(world) as client:
        sign_in(client, key)
        monkeypatch.setattr(world.online_verifier, "verify", down)
        camera = client.post(
            "/verify/check", json={"text": code, "format": "qr"}, headers={"X-CSRF-Token": csrf(client)}
        )
        assert camera.status_code == 503 and camera.json()["error"] == "unavailable"
        assert camera.headers["retry-after"] == "5"
        typed = client.post("/verify/upload", data={"csrf": csrf(client), "typed": code})
        assert typed.status_code == 503 and "不能据此认可" not in typed.text
    assert verifications(world) == []
