"""The registry browser, health and metrics endpoints through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient

from edl.accounts.staff import Role
from edl.bootstrap import Container, bootstrap
from edl.config import Settings
from edl.db.models import LicenceRow, RecordRow, RegistryEvent
from edl.domain import (
    AUTHORITIES_BY_CODE,
    STATUS_TABLE,
    Holder,
    IdNumber,
    IssuingAuthority,
    Licence,
    PointsCycle,
    Status,
    Validity,
    ValidityTerm,
    VehicleClass,
    make_id_number,
)
from edl.domain.scope import AuthorityScope
from edl.registry.mapping import row_values
from edl.registry.queries import LicenceNotFound, get_licence_detail, search_licences
from edl.web import create_app
from tests.auth_helpers import sign_in_staff

NATIONAL = AuthorityScope.national()

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)  # 2026-03-15 10:00 in Beijing
TODAY = date(2026, 3, 15)
TIANJIN = AUTHORITIES_BY_CODE["120000"]
CHENGDU = AUTHORITIES_BY_CODE["510100"]
SUZHOU = AUTHORITIES_BY_CODE["320500"]

ZHANG_SAN = make_id_number("120101", date(1990, 3, 4), 11)
LI_SI = make_id_number("510104", date(1985, 7, 20), 22)
ZHANG_WEI = make_id_number("320505", date(1970, 1, 9), 31)
UNKNOWN = make_id_number("110105", date(1949, 12, 31), 2)
JPEG = b"\xff\xd8\xff\xe0" + b"fake portrait bytes" * 10


def make_licence(
    number: IdNumber,
    name: str,
    *,
    file_number: str,
    authority: IssuingAuthority = TIANJIN,
    classes: tuple[VehicleClass, ...] = (VehicleClass.C1,),
    statuses: frozenset[Status] = frozenset({Status.NORMAL}),
    first_issue: date = date(2015, 6, 1),
    validity: Validity | None = None,
    points: PointsCycle | None = None,
    photo_ref: str | None = None,
) -> Licence:
    return Licence(
        number=number,
        file_number=file_number,
        holder=Holder(name, number.sex, "CHN", number.birth_date, "某市某区某路1号"),
        classes=classes,
        first_issue=first_issue,
        validity=validity or Validity.of(ValidityTerm.TEN_YEARS, date(2021, 6, 1)),
        authority=authority,
        statuses=statuses,
        points=points,
        photo_ref=photo_ref,
    )


def insert(container: Container, *licences: Licence) -> None:
    with container.sessions.begin() as session:
        for lic in licences:
            session.add(LicenceRow(**row_values(lic, at=NOW), version=1))


@pytest.fixture
def seeded(container: Container) -> Container:
    """Three licences: 张三 (normal, C1, 3 points), 李四 (暂扣 + 违法未处理, A1, 6 points), 张伟 (long-term, record)."""
    container.clock = lambda: NOW
    insert(
        container,
        make_licence(ZHANG_SAN, "张三", file_number="120000000001", points=PointsCycle(date(2025, 6, 1), 3)),
        make_licence(
            LI_SI,
            "李四",
            file_number="510100000002",
            authority=CHENGDU,
            classes=(VehicleClass.A1,),
            statuses=frozenset({Status.SUSPENDED, Status.OFFENCE_PENDING}),
            first_issue=date(2010, 9, 1),
            points=PointsCycle(date(2025, 9, 1), 6),
        ),
        make_licence(
            ZHANG_WEI,
            "张伟",
            file_number="320500000003",
            authority=SUZHOU,
            classes=(VehicleClass.C1, VehicleClass.D),
            first_issue=date(1995, 4, 1),
            validity=Validity.of(ValidityTerm.LONG_TERM, date(2011, 4, 1)),
        ),
    )
    with container.sessions.begin() as session:
        session.add_all(
            [
                RecordRow(
                    licence_number=str(ZHANG_WEI), on=date(2021, 4, 1), kind="renewal", description="换领长期驾驶证"
                ),
                RecordRow(
                    licence_number=str(ZHANG_WEI),
                    on=date(2024, 5, 6),
                    kind="offence",
                    description="超速20%以下",
                    points=3,
                ),
                RegistryEvent(
                    licence_number=str(ZHANG_WEI),
                    kind="licence_renewed",
                    payload={"valid_until": None, "validity_term": "long"},
                    actor="importer:苏州",
                    at=datetime(2021, 4, 1, 1, 30, tzinfo=UTC),
                    licence_version=1,
                ),
            ]
        )
    return container


@contextmanager
def registry_client(container: Container, **kwargs: bool) -> Iterator[TestClient]:
    """A client signed in as a national supervisor (the registry browser is a staff page)."""
    with TestClient(create_app(container), **kwargs) as c:
        sign_in_staff(c, container, "registrar", Role.SUPERVISOR, None)
        yield c


@pytest.fixture
def client(seeded: Container) -> Iterator[TestClient]:
    with registry_client(seeded, follow_redirects=False) as c:
        yield c


def text_of(html: str) -> str:
    """Visible text, tags removed and whitespace collapsed (what a person reads; inline tags join their text)."""
    inline = re.sub(r"</?(?:span|a|b|strong|em)\b[^>]*>", "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", inline).split())


def assert_clean_html(html: str) -> None:
    assert "{{" not in html and "{%" not in html and "}}" not in html
    assert "Traceback" not in html


# ---- list and search -------------------------------------------------------------------------------------------


def test_root_is_the_public_landing_page_in_the_language_asked(client: TestClient) -> None:
    """`/` no longer redirects (issue 13): it is the landing page, linking the driver's app first; no registry data."""
    r = client.get("/?lang=en")
    assert r.status_code == 200
    assert '<html lang="en">' in r.text
    assert 'class="landing-link" href="/app"' in r.text
    assert "张三" not in r.text and str(ZHANG_SAN) not in r.text


def test_list_shows_every_licence_with_status_badges_and_points(client: TestClient) -> None:
    r = client.get("/registry")
    assert r.status_code == 200
    assert_clean_html(r.text)
    assert '<html lang="zh-CN">' in r.text
    for number, name in ((ZHANG_SAN, "张三"), (LI_SI, "李四"), (ZHANG_WEI, "张伟")):
        assert str(number) in r.text  # staff page: the full number
        assert name in r.text
        assert f'href="/registry/{number}"' in r.text
    assert "共 3 条结果" in r.text
    assert "成都市公安局交通管理局" in r.text
    assert 'class="badge badge-block"' in r.text and "暂扣" in r.text
    assert 'class="badge badge-warn"' in r.text and "违法未处理" in r.text
    assert 'class="badge badge-ok"' in r.text


def test_search_by_licence_number_prefix(client: TestClient) -> None:
    r = client.get("/registry", params={"q": str(LI_SI)[:8]})
    assert r.status_code == 200
    assert "李四" in r.text
    assert "张三" not in r.text and "张伟" not in r.text
    assert "共 1 条结果" in r.text


def test_search_by_full_number_accepts_a_lower_case_check_character(seeded: Container) -> None:
    number = next(n for s in range(1, 999) if str(n := make_id_number("130102", date(1988, 8, 8), s)).endswith("X"))
    insert(seeded, make_licence(number, "王五", file_number="130000000009"))
    with registry_client(seeded) as c:
        r = c.get("/registry", params={"q": str(number).lower()})
    assert "王五" in r.text


def test_search_by_name_prefix_and_exact_name(client: TestClient) -> None:
    by_family = text_of(client.get("/registry", params={"q": "张"}).text)
    assert "张三" in by_family and "张伟" in by_family and "李四" not in by_family
    exact = text_of(client.get("/registry", params={"q": "张伟"}).text)
    assert "张伟" in exact and "张三" not in exact


def test_search_treats_like_wildcards_literally(client: TestClient) -> None:
    for q in ("%", "_", "1%"):
        r = client.get("/registry", params={"q": q})
        assert r.status_code == 200
        assert "没有找到匹配的驾驶证" in r.text


def test_list_pages_fifty_licences_at_a_time(seeded: Container) -> None:
    extra = [
        make_licence(
            make_id_number("440305", date(1980, 1, 1 + i % 28), 100 + i), f"测试{i:02d}", file_number=f"4403{i:08d}"
        )
        for i in range(52)
    ]
    insert(seeded, *extra)  # 55 in all
    with registry_client(seeded) as c:
        first = c.get("/registry")
        second = c.get("/registry", params={"page": "2"})
    assert first.text.count('class="cell-number"') == 50
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    assert "第 1 / 2 页" in first.text
    assert second.text.count('class="cell-number"') == 5
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "99999999"])
def test_malformed_page_is_refused_with_a_readable_message(client: TestClient, page: str) -> None:
    r = client.get("/registry", params={"page": page})
    assert r.status_code in (400, 422)
    assert_clean_html(r.text)
    assert "页码" in r.text and "1到10000之间的整数" in r.text


def test_overlong_search_text_is_refused(client: TestClient) -> None:
    r = client.get("/registry", params={"q": "张" * 65})
    assert r.status_code == 400
    assert "搜索内容过长" in r.text


# ---- detail page ------------------------------------------------------------------------------------------------


def test_suspended_licence_shows_classes_statuses_points_and_refusal_reasons(client: TestClient) -> None:
    r = client.get(f"/registry/{LI_SI}")
    assert r.status_code == 200
    assert_clean_html(r.text)
    page = text_of(r.text)
    assert "李四" in page and str(LI_SI) in page and "510100000002" in page
    # class with both names and the table's inclusions
    assert "大型客车" in page and "large bus" in page and "A3 B1 B2 C1 C2 C3 C4 M" in page
    # statuses: 暂扣 blocks (red), 违法未处理 does not (amber)
    assert re.search(r'badge badge-block"[^>]*>.*?暂扣', r.text, re.S)
    assert re.search(r'badge badge-warn"[^>]*>.*?违法未处理', r.text, re.S)
    assert "6 / 12 分" in page
    assert "本记分周期：2025-09-01 至 2026-08-31" in page
    assert "电子驾驶证申领资格（2026-03-15）" in page
    assert "不能申领电子驾驶证" in page
    assert STATUS_TABLE[Status.SUSPENDED].reason_zh in page
    assert "成都市公安局交通管理局" in page


def test_normal_long_term_licence_is_eligible_and_shows_record_and_events(client: TestClient) -> None:
    r = client.get(f"/registry/{ZHANG_WEI}")
    assert r.status_code == 200
    page = text_of(r.text)
    assert "可以申领电子驾驶证" in page and "不能申领" not in page
    assert "2011-04-01 至 长期" in page
    assert "普通三轮摩托车" in page and "E F" in page  # D also permits E and F
    assert "换领长期驾驶证" in page and "超速20%以下" in page and "违法记分" in page
    assert "licence_renewed" in page and "importer:苏州" in page and "2021-04-01 09:30" in page
    assert "valid_until, validity_term" in page
    assert 'badge badge-ok"' in r.text


def test_licence_outside_the_rollout_is_not_eligible(seeded: Container, tmp_path: Path) -> None:
    seeded.settings = seeded.settings.model_copy(update={"rollout": TIANJIN.code})
    with registry_client(seeded) as c:
        page = text_of(c.get(f"/registry/{ZHANG_WEI}").text)
    assert "尚未开通电子驾驶证服务" in page


def test_unknown_licence_number_gives_a_404_page(client: TestClient) -> None:
    r = client.get(f"/registry/{UNKNOWN}")
    assert r.status_code == 404
    assert_clean_html(r.text)
    assert "找不到该驾驶证" in r.text and str(UNKNOWN) in r.text


@pytest.mark.parametrize(
    ("number", "reason"),
    [("123", "应为18位"), ("11010519491231002Y", "格式错误"), ("110105194912310021", "校验位错误")],
)
def test_malformed_licence_number_is_refused_with_the_reason(client: TestClient, number: str, reason: str) -> None:
    r = client.get(f"/registry/{number}")
    assert r.status_code in (400, 422)
    assert_clean_html(r.text)
    assert "证号格式有误" in r.text and reason in r.text
    assert client.get(f"/registry/{number}/photo").status_code in (400, 422)


def test_unknown_path_gives_a_404_page_in_the_chosen_language(client: TestClient) -> None:
    r = client.get("/no-such-page", params={"lang": "en"})
    assert r.status_code == 404
    assert "Page not found" in r.text and '<html lang="en">' in r.text


# ---- languages --------------------------------------------------------------------------------------------------


def test_english_switch_changes_the_text_and_is_remembered(client: TestClient) -> None:
    zh = client.get(f"/registry/{LI_SI}")
    assert f'href="/language?to=en&amp;next=%2Fregistry%2F{LI_SI}"' in zh.text  # the switch link: back to this page
    r = client.get(f"/registry/{LI_SI}", params={"lang": "en"})
    assert r.status_code == 200
    assert_clean_html(r.text)
    assert '<html lang="en">' in r.text
    page = text_of(r.text)
    assert "May not apply for an e-licence" in page
    assert STATUS_TABLE[Status.SUSPENDED].reason_en in page
    assert "6 of 12 points" in page and "Vehicle classes" in page
    assert "suspended" in page
    assert "不能申领" not in page
    assert r.cookies.get("lang") == "en" or "lang=en" in r.headers.get("set-cookie", "")
    again = client.get("/registry")  # cookie, no parameter
    assert '<html lang="en">' in again.text and "Licence registry" in again.text
    back = client.get("/registry", params={"lang": "zh"})
    assert '<html lang="zh-CN">' in back.text and "驾驶证登记查询" in back.text


def test_accept_language_is_honoured_without_a_cookie(client: TestClient) -> None:
    en = client.get("/registry", headers={"Accept-Language": "en-GB,en;q=0.9,zh-CN;q=0.5"})
    assert '<html lang="en">' in en.text
    zh = client.get("/registry", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="zh-CN">' in zh.text


def test_long_term_validity_in_english(client: TestClient) -> None:
    page = text_of(client.get(f"/registry/{ZHANG_WEI}", params={"lang": "en"}).text)
    assert "2011-04-01 to long-term" in page


# ---- photo ------------------------------------------------------------------------------------------------------


def test_licence_without_photo_gets_the_placeholder(client: TestClient) -> None:
    r = client.get(f"/registry/{ZHANG_SAN}/photo")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "private" in r.headers["cache-control"]
    assert r.headers["etag"]


def test_stored_photo_is_served_with_etag_and_private_caching(seeded: Container) -> None:
    ref = seeded.photos.put(JPEG)
    number = make_id_number("120102", date(1980, 2, 29), 7)
    insert(seeded, make_licence(number, "赵六", file_number="120000000077", photo_ref=ref))
    with registry_client(seeded) as c:
        r = c.get(f"/registry/{number}/photo")
        assert r.status_code == 200
        assert r.content == JPEG
        assert r.headers["content-type"] == "image/jpeg"
        assert r.headers["etag"] == f'"{ref}"'
        assert r.headers["cache-control"].startswith("private")
        again = c.get(f"/registry/{number}/photo", headers={"If-None-Match": f'"{ref}"'})
        assert again.status_code == 304 and again.content == b""
        assert c.get(f"/registry/{UNKNOWN}/photo").status_code == 404


# ---- operations -------------------------------------------------------------------------------------------------


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
    client.get(f"/registry/{LI_SI}")
    assert client.get("/metrics").status_code == 404  # the operator's, and only with its token
    client.app.state.container.settings.metrics_token = "operator-token"  # type: ignore[attr-defined]
    metrics = client.get("/metrics", headers={"Authorization": "Bearer operator-token"})
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    body = metrics.text
    assert 'edl_http_requests_total{method="GET",route="/registry/{number}",status="200"} 1.0' in body
    assert 'edl_http_request_duration_seconds_count{method="GET",route="/registry/{number}"} 1.0' in body
    assert str(LI_SI) not in body  # labels are route templates, never numbers


def test_readiness_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    broken = bootstrap(Settings(data_dir=tmp_path / "d", database_url=f"sqlite:///{tmp_path}/missing/dir/edl.db"))
    try:
        with TestClient(create_app(broken)) as c:
            assert c.get("/healthz").status_code == 200
            r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
    finally:
        broken.dispose()


def test_access_log_masks_licence_numbers_and_names(client: TestClient) -> None:
    with structlog.testing.capture_logs() as logs:
        client.get(f"/registry/{LI_SI}")
        client.get("/registry", params={"q": "李四"})
        client.get("/registry", params={"q": str(LI_SI)})
    access = [e for e in logs if e.get("event") == "http_request"]
    assert len(access) == 3
    dumped = repr(access)
    assert str(LI_SI) not in dumped and "李四" not in dumped and "%E6%9D%8E%E5%9B%9B" not in dumped
    assert access[0]["route"] == "/registry/{number}" and access[0]["status"] == 200
    assert access[0]["path"].startswith("/registry/510") and "*" in access[0]["path"]
    assert all(e["request_id"] for e in access)


def test_pages_carry_security_headers_and_a_request_id(client: TestClient) -> None:
    r = client.get("/registry", headers={"X-Request-ID": "lb-abc-123"})
    assert r.headers["x-request-id"] == "lb-abc-123"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"


def test_stylesheet_is_served_locally_with_a_cjk_font_stack(client: TestClient) -> None:
    html = client.get("/registry").text
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert href and href.group(1).startswith("/static/edl.css?v=")
    css = client.get(href.group(1))
    assert css.status_code == 200
    for font in ('"Noto Sans CJK SC"', '"Noto Sans SC"', '"PingFang SC"', '"Microsoft YaHei"', "sans-serif"):
        assert font in css.text
    assert "immutable" in css.headers["cache-control"]
    assert "http://" not in html and "https://" not in html  # no CDN, fonts or scripts from elsewhere


# ---- queries used by other callers --------------------------------------------------------------------------------


def test_queries_search_and_detail(seeded: Container) -> None:
    with seeded.sessions() as session:
        page = search_licences(session, "张", scope=NATIONAL)
        assert [lic.holder.name for lic in page.items] == sorted(
            ["张三", "张伟"], key=lambda n: str(ZHANG_SAN if n == "张三" else ZHANG_WEI)
        )
        assert page.total == 2 and not page.has_next and page.pages == 1
        detail = get_licence_detail(session, str(ZHANG_WEI), scope=NATIONAL)
        assert [e.description for e in detail.licence.record] == ["换领长期驾驶证", "超速20%以下"]
        assert detail.events[0].kind == "licence_renewed" and detail.events[0].at.tzinfo is not None
        with pytest.raises(LicenceNotFound):
            get_licence_detail(session, UNKNOWN, scope=NATIONAL)
