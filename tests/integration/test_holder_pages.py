"""The driver's app pages through HTTP (signed in through the real sign-in pages), on SQLite and PostgreSQL.

The face verifier is the scripted fake from tests/workflow.py (these tests are about the workflow); the photo checks
are the real ones, fed real ID photos from tests/faces.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.applications.face import FaceOutcome
from edl.bootstrap import Container
from edl.db.models import AccountRow, ApplicationRow, ElicenceRow
from edl.db.session import transaction
from edl.domain import Status
from edl.registry.events import set_status
from edl.web import create_app
from edl.web.codes import barcode_caption, code128_modules
from tests.auth_helpers import csrf_of, post_burst, sign_in_holder
from tests.faces import id_photo, two_faces_photo
from tests.workflow import ScriptedFaceVerifier, prepare, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


@pytest.fixture
def verifier(container: Container) -> ScriptedFaceVerifier:
    return prepare(container, NOW)


@pytest.fixture
def client(container: Container, verifier: ScriptedFaceVerifier) -> Iterator[TestClient]:
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


def _applications(container: Container) -> list[ApplicationRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(ApplicationRow)))


def _stored_photos(container: Container) -> int:
    root = container.settings.data_dir / "photos"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def _bind(client: TestClient, container: Container, number: str, name: str = "张三") -> TestClient:
    r = post_burst(client, "/app/bind", {"number": number, "name": name}, "bind")
    assert r.status_code == 303 and r.headers["location"] == "/app", r.text
    return client


def _signed_in_and_bound(client: TestClient, container: Container, **licence: object) -> str:
    number = seed_licence(container, NOW, **licence)
    sign_in_holder(client, container)
    _bind(client, container, number, str(licence.get("name", "张三")))
    return number


def _key(client: TestClient, page: str) -> str:
    r = client.get(page)
    assert r.status_code == 200, r.text
    found = KEY.search(r.text)
    assert found, "the apply form carries no idempotency key"
    return found.group(1)


def test_pages_send_a_visitor_who_is_not_signed_in_to_sign_in(client: TestClient) -> None:
    r = client.get("/app/licence")
    assert r.status_code == 303 and r.headers["location"].startswith("/app/sign-in")


def test_binding_with_the_wrong_name_is_refused_and_binds_nothing(client: TestClient, container: Container) -> None:
    number = seed_licence(container, NOW)
    account_id = sign_in_holder(client, container)
    r = post_burst(client, "/app/bind", {"number": number, "name": "李四"}, "bind")
    assert r.status_code == 400
    assert "证号与姓名不匹配" in r.text
    with container.sessions() as s:
        assert s.get(AccountRow, account_id).licence_number is None  # type: ignore[union-attr]
    assert 'name="number"' in client.get("/app").text  # still the bind form


def test_a_face_mismatch_when_binding_says_why_and_binds_nothing(
    client: TestClient, container: Container, verifier: ScriptedFaceVerifier
) -> None:
    number = seed_licence(container, NOW)
    account_id = sign_in_holder(client, container)
    verifier.outcome = FaceOutcome.MISMATCH
    r = post_burst(client, "/app/bind", {"number": number, "name": "张三"}, "bind")
    assert r.status_code == 400 and "人脸与档案照片不一致" in r.text
    assert "今日还可认证 4 次" in r.text
    with container.sessions() as s:
        assert s.get(AccountRow, account_id).licence_number is None  # type: ignore[union-attr]


def test_the_stored_photo_case_issues_the_elicence_and_its_page_shows_the_data(
    client: TestClient, container: Container
) -> None:
    number = _signed_in_and_bound(client, container, name="欧阳娜娜")
    home = client.get("/app").text
    assert "使用存档照片申领" in home and "/app/apply/stored" in home

    r = client.post(
        "/app/apply/stored", data={"csrf": csrf_of(client), "idempotency_key": _key(client, "/app/apply/stored")}
    )
    assert r.status_code == 303
    done = client.get(r.headers["location"])
    assert "电子驾驶证申领成功" in done.text and 'href="/app/licence"' in done.text

    with container.sessions() as s:
        (e,) = s.scalars(sa.select(ElicenceRow)).all()
    page = client.get("/app/licence")
    assert page.status_code == 200
    text = page.text
    for shown in ("欧阳娜娜", number, "C1", "2015-03-01", "天津市公安交通管理局", "天津市和平区南京路100号", "正常"):
        assert shown in text
    assert "2026-03-16 10:00" in text  # generation time in Beijing time
    assert "data-live-qr" in text and 'aria-label="电子驾驶证二维码"' in text  # the live code's QR (亮码)
    shown = re.search(r"data-live-bar-number[^>]*>([0-9 ]+)<", text)
    assert 'class="licence-bar"' in text and shown is not None  # the Code128 of the current barcode number
    barcode = shown.group(1).replace(" ", "")
    assert barcode_caption(barcode) == shown.group(1) and e.id not in barcode
    assert container.barcodes.read(barcode, at=container.clock()) == e.status_index
    assert text.count('<rect x="') >= code128_modules(barcode).count("01")  # one rect per bar, at least
    photo = client.get("/app/licence/photo")
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"
    assert photo.headers["cache-control"].startswith("private")


def test_a_suspension_in_the_registry_shows_at_once_on_the_elicence(client: TestClient, container: Container) -> None:
    number = _signed_in_and_bound(client, container)
    client.post(
        "/app/apply/stored", data={"csrf": csrf_of(client), "idempotency_key": _key(client, "/app/apply/stored")}
    )
    assert "驾驶证当前不能用于驾驶" not in client.get("/app/licence").text
    with transaction(container.sessions) as s:
        set_status(s, number, Status.SUSPENDED, actor="test", at=NOW)
    text = client.get("/app/licence").text
    assert "驾驶证当前不能用于驾驶" in text and "暂扣" in text


@pytest.mark.parametrize(
    ("status", "reason"), [(Status.SUSPENDED, "暂扣"), (Status.REVOKED, "吊销"), (Status.EXAM_OVERDUE, "体检")]
)
def test_an_ineligible_licence_is_refused_with_the_reason_and_no_application(
    client: TestClient, container: Container, status: Status, reason: str
) -> None:
    _signed_in_and_bound(client, container, statuses=frozenset({status}))
    home = client.get("/app").text
    assert "暂不能申领电子驾驶证" in home and reason in home
    assert "/app/apply/stored" not in home and "/app/apply/photo" not in home
    r = client.post("/app/apply/stored", data={"csrf": csrf_of(client), "idempotency_key": "k" * 20})
    assert r.status_code == 400 and reason in r.text
    assert _applications(container) == []


def test_apply_pages_ask_for_real_person_authentication_when_it_is_not_fresh(
    client: TestClient, container: Container
) -> None:
    _signed_in_and_bound(client, container)
    container.clock = lambda: NOW.replace(hour=5)  # the bind check is 3 hours old
    r = client.get("/app/apply/photo?source=album")
    assert r.status_code == 303
    assert r.headers["location"] == "/app/verify-face?next=/app/apply/photo?source=album"
    page = client.get(r.headers["location"])
    assert "测试用核验" in page.text and "今日还可认证" in page.text
    passed = post_burst(client, "/app/verify-face", {"next": "/app/apply/photo?source=album"})
    assert passed.status_code == 303 and passed.headers["location"] == "/app/apply/photo?source=album"
    assert client.get("/app/apply/photo?source=album").status_code == 200


def test_the_verify_page_names_a_lenient_verifier(
    client: TestClient, container: Container, verifier: ScriptedFaceVerifier
) -> None:
    _signed_in_and_bound(client, container)
    verifier.lenient = True
    assert "不会真正比对人脸" in client.get("/app/verify-face").text


def test_a_rejected_photo_is_shown_with_the_reason_and_nothing_is_stored(
    client: TestClient, container: Container
) -> None:
    _signed_in_and_bound(client, container)
    key = _key(client, "/app/apply/photo?source=album")
    before = _stored_photos(container)
    r = client.post(
        "/app/apply/photo",
        data={"csrf": csrf_of(client), "source": "album", "idempotency_key": key},
        files={"photo": ("two.jpg", two_faces_photo(), "image/jpeg")},
    )
    assert r.status_code == 400 and "不止一张人脸" in r.text
    assert _stored_photos(container) == before
    assert _applications(container) == []


def test_a_double_submit_with_one_key_makes_one_application_with_a_deadline(
    client: TestClient, container: Container
) -> None:
    _signed_in_and_bound(client, container, compliant_photo=False)
    assert "使用存档照片申领" not in client.get("/app").text
    key = _key(client, "/app/apply/photo?source=camera")
    form = {"csrf": csrf_of(client), "source": "camera", "idempotency_key": key}
    photo = id_photo("astronaut")
    first = client.post("/app/apply/photo", data=form, files={"photo": ("p.jpg", photo, "image/jpeg")})
    second = client.post("/app/apply/photo", data=form, files={"photo": ("p.jpg", photo, "image/jpeg")})
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    (app,) = _applications(container)
    assert app.state == "pending_review" and app.kind == "camera"
    done = client.get(first.headers["location"]).text
    assert "照片已提交" in done and "2026-03-17 10:00" in done  # one working day, Beijing time
    assert client.get(f"/app/apply/photo/{app.id}").content[:2] == b"\xff\xd8"
    listing = client.get("/app/applications").text
    assert "审核中" in listing and "撤回申请" in listing


def test_a_pending_application_can_be_withdrawn(client: TestClient, container: Container) -> None:
    _signed_in_and_bound(client, container)
    key = _key(client, "/app/apply/photo?source=album")
    r = client.post(
        "/app/apply/photo",
        data={"csrf": csrf_of(client), "source": "album", "idempotency_key": key},
        files={"photo": ("p.jpg", id_photo("astronaut"), "image/jpeg")},
    )
    (app,) = _applications(container)
    r = client.post(f"/app/applications/{app.id}/cancel", data={"csrf": csrf_of(client)})
    assert r.status_code == 303
    (app,) = _applications(container)
    assert app.state == "cancelled"
    assert "已撤回" in client.get(f"/app/applications/{app.id}").text


def test_an_upload_over_the_limit_is_refused_and_stores_nothing(client: TestClient, container: Container) -> None:
    _signed_in_and_bound(client, container)
    key = _key(client, "/app/apply/photo?source=album")
    container.settings.max_upload_bytes = 4096
    before = _stored_photos(container)
    r = client.post(
        "/app/apply/photo",
        data={"csrf": csrf_of(client), "source": "album", "idempotency_key": key},
        files={"photo": ("big.jpg", b"\xff\xd8\xff" + b"x" * 200_000, "image/jpeg")},
    )
    assert r.status_code == 413 and "文件太大" in r.text
    assert _stored_photos(container) == before and _applications(container) == []


def test_camera_uploads_with_fetch_get_json_answers(client: TestClient, container: Container) -> None:
    _signed_in_and_bound(client, container)
    key = _key(client, "/app/apply/photo?source=camera")
    headers = {"X-CSRF-Token": csrf_of(client), "Accept": "application/json"}
    bad = client.post(
        "/app/apply/photo",
        data={"source": "camera", "idempotency_key": key},
        files={"photo": ("capture.jpg", two_faces_photo(), "image/jpeg")},
        headers=headers,
    )
    assert bad.status_code == 400 and bad.json()["code"] == "several_faces"
    good = client.post(
        "/app/apply/photo",
        data={"source": "camera", "idempotency_key": key},
        files={"photo": ("capture.jpg", id_photo("astronaut"), "image/jpeg")},
        headers=headers,
    )
    assert good.status_code == 200 and good.json()["redirect"].startswith("/app/applications/")


@pytest.mark.parametrize(
    ("path", "data", "files"),
    [
        ("/app/apply/stored", {"idempotency_key": "k" * 20}, None),
        ("/app/bind", {"number": "x", "name": "y"}, {"frame": ("l.jpg", b"\xff\xd8\xff", "image/jpeg")}),
        (
            "/app/apply/photo",
            {"source": "album", "idempotency_key": "k" * 20},
            {"photo": ("p.jpg", b"\xff", "image/jpeg")},
        ),
    ],
)
def test_a_post_without_the_csrf_token_is_refused(
    client: TestClient, container: Container, path: str, data: dict[str, str], files: dict[str, object] | None
) -> None:
    sign_in_holder(client, container)
    r = client.post(path, data=data, files=files)  # type: ignore[arg-type]
    assert r.status_code == 403
    assert _applications(container) == [] and _stored_photos(container) == 0


def test_the_language_switch_shows_english_and_is_remembered(client: TestClient, container: Container) -> None:
    _signed_in_and_bound(client, container)
    en = client.get("/app?lang=en")
    assert en.status_code == 200 and "Apply for the e-licence" in en.text and 'lang="en"' in en.text
    assert "Use my stored photo" in client.get("/app").text  # the cookie keeps English
    assert "申领电子驾驶证" in client.get("/app?lang=zh").text
