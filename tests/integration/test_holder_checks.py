"""谁查验了我的驾驶证: the holder sees the verifications of their own licence (and nobody else's), on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.accounts import normalise_mobile
from edl.bootstrap import Container
from edl.db.models import AccountRow
from edl.db.session import transaction
from edl.verification.log import checks_of_licence
from edl.verification.purposes import Purpose
from edl.web import create_app
from tests.auth_helpers import sign_in_holder
from tests.integration.test_online_verification import (
    NOW,
    live_barcode,
    live_code,
    party_key,
    post,
    ready,  # noqa: F401  (fixture)
    seeded,
    set_clock,
)

pytestmark = pytest.mark.integration
MOBILE = "13800138000"


@pytest.fixture
def client(ready: Container) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(ready), follow_redirects=False) as c:
        yield c


def bind(container: Container, mobile: str, number: str) -> None:
    with transaction(container.sessions) as s:
        s.execute(
            sa.update(AccountRow)
            .where(AccountRow.mobile == normalise_mobile(mobile))
            .values(licence_number=number, bound_at=NOW)
        )


def test_the_holder_sees_who_checked_their_licence(ready: Container, client: TestClient, tmp_path: Path) -> None:  # noqa: F811
    number, _ = seeded(ready, tmp_path)
    other_number, _ = seeded(ready, tmp_path, n=1, name="李娜")
    _, rental = party_key(ready, Purpose.RENTAL, name="某某租车 北京站")
    _, police = party_key(ready, Purpose.POLICE, name="朝阳交警 执法终端")
    set_clock(ready, NOW + timedelta(minutes=5))
    assert post(client, rental, {"code": live_code(ready, number, NOW + timedelta(minutes=5))}).json()["valid"]
    set_clock(ready, NOW + timedelta(minutes=7))
    at = NOW + timedelta(minutes=7)
    post(client, police, {"barcode": live_barcode(ready, number, at)})
    post(client, police, {"barcode": live_barcode(ready, other_number, at)})  # another holder's licence
    sign_in_holder(client, ready, MOBILE)
    bind(ready, MOBILE, number)

    r = client.get("/app/checks")
    assert r.status_code == 200, r.text
    page = r.text
    assert "谁查验了我的驾驶证" in page
    assert "某某租车 北京站" in page and "汽车租赁" in page
    assert "朝阳交警 执法终端" in page and "执法核查" in page
    assert "2026-11-25 10:05" in page and "2026-11-25 10:07" in page  # Beijing time
    assert page.index("朝阳交警") < page.index("某某租车")  # newest first
    assert page.count("核验通过") == 2
    with ready.sessions() as s:
        assert len(checks_of_licence(s, other_number)) == 1
        assert len(checks_of_licence(s, number)) == 2

    english = client.get("/app/checks?lang=en").text
    assert "Who checked my licence" in english and "car rental" in english and "law enforcement" in english


def test_a_refused_check_shows_as_not_passed(ready: Container, client: TestClient, tmp_path: Path) -> None:  # noqa: F811
    from edl.domain import Status
    from edl.registry.events import set_status

    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL, name="租车")
    with transaction(ready.sessions) as s:
        set_status(s, number, Status.SUSPENDED, actor="test", at=NOW)
    assert post(client, key, {"barcode": live_barcode(ready, number)}).json()["status"] == "suspended"
    sign_in_holder(client, ready, MOBILE)
    bind(ready, MOBILE, number)
    page = client.get("/app/checks").text
    assert "未通过" in page and "暂停使用" in page


def test_no_checks_yet_says_so(ready: Container, client: TestClient, tmp_path: Path) -> None:  # noqa: F811
    number, _ = seeded(ready, tmp_path)
    sign_in_holder(client, ready, MOBILE)
    bind(ready, MOBILE, number)
    assert "还没有人核验过" in client.get("/app/checks").text


def test_signed_out_or_unbound_holders_do_not_see_the_page(ready: Container, client: TestClient) -> None:  # noqa: F811
    r = client.get("/app/checks")
    assert r.status_code == 303 and "/app/sign-in" in r.headers["location"]
    sign_in_holder(client, ready, MOBILE)
    r = client.get("/app/checks")
    assert r.status_code == 303 and r.headers["location"].endswith("/app")


def test_the_holder_checks_alias_redirects_a_signed_in_holder(client: TestClient, ready: Container) -> None:  # noqa: F811
    r = client.get("/holder/checks")
    assert r.status_code == 303 and r.headers["location"].startswith("/app/sign-in")  # a driver's page, like all
    sign_in_holder(client, ready)
    r = client.get("/holder/checks")
    assert r.status_code == 307 and r.headers["location"] == "/app/checks"
