"""Staff sign-in, lockout, roles, the staff accounts console and `edl staff` (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from edl.accounts import list_staff_users, sign_in_staff
from edl.accounts.passwords import password_matches
from edl.bootstrap import Container
from edl.cli.staff import staff_app
from edl.db.models import AuditRow, StaffUserRow, WebSessionRow
from tests.auth_helpers import (
    TEST_STAFF_PASSWORD,
    Clock,
    app_with_probes,
    csrf_of,
    make_staff_user,
)
from tests.auth_helpers import sign_in_staff as sign_in_staff_page

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock(container: Container) -> Clock:
    c = Clock(NOW)
    container.clock = c
    return c


@pytest.fixture
def client(container: Container, clock: Clock) -> Iterator[TestClient]:
    with TestClient(app_with_probes(container), follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient, username: str, password: str, **extra: str) -> object:
    return client.post(
        "/review/sign-in",
        data={"csrf": csrf_of(client, "/review/sign-in"), "username": username, "password": password, **extra},
    )


def staff_row(container: Container, username: str) -> StaffUserRow:
    with container.sessions() as s:
        row = s.scalars(sa.select(StaffUserRow).where(StaffUserRow.username == username)).one()
    return row


def usernames(container: Container) -> list[str]:
    with container.sessions() as s:
        return [u.username for u in list_staff_users(s)]


def audit(container: Container) -> list[tuple[str, str, str, dict]]:
    with container.sessions() as s:
        return [
            (a.action, a.outcome, a.subject, a.detail) for a in s.scalars(sa.select(AuditRow).order_by(AuditRow.id))
        ]


# ---- sign-in ----------------------------------------------------------------------------------------------------


def test_staff_signs_in_with_the_right_password(container: Container, client: TestClient) -> None:
    make_staff_user(container, "rev1", "reviewer", ["120000"])
    r = sign_in(client, "REV1 ", TEST_STAFF_PASSWORD, next="/test/staff")
    assert r.status_code == 303 and r.headers["location"] == "/test/staff"
    header = next(h for h in r.headers.get_list("set-cookie") if h.startswith("edl_staff=")).lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header
    me = client.get("/test/staff")
    assert me.json()["username"] == "rev1" and me.json()["role"] == "reviewer"
    assert client.get("/test/holder").status_code == 303  # staff cookie is not a holder session
    assert audit(container)[-1][:3] == ("sign_in", "ok", "rev1")


def test_default_destination_is_the_review_console_and_foreign_next_is_ignored(
    container: Container, client: TestClient
) -> None:
    make_staff_user(container, "rev1")
    r = sign_in(client, "rev1", TEST_STAFF_PASSWORD, next="https://evil.example/")
    assert r.headers["location"] == "/review"


def test_wrong_password_and_unknown_user_get_the_same_answer(container: Container, client: TestClient) -> None:
    make_staff_user(container, "rev1")
    wrong = sign_in(client, "rev1", "not the password")
    unknown = sign_in(client, "nobody", TEST_STAFF_PASSWORD)
    for r in (wrong, unknown):
        assert r.status_code == 401 and "用户名或密码错误" in r.text
        assert "edl_staff" not in r.headers.get("set-cookie", "")
    reasons = [(a[0], a[2], a[3]["reason"]) for a in audit(container) if a[0] == "sign_in_failed"]
    assert reasons == [("sign_in_failed", "rev1", "wrong_password"), ("sign_in_failed", "nobody", "unknown_user")]
    assert "not the password" not in repr(audit(container)) and TEST_STAFF_PASSWORD not in repr(audit(container))


def test_five_wrong_passwords_throttle_this_address_for_the_username_for_fifteen_minutes(
    container: Container, client: TestClient, clock: Clock
) -> None:
    make_staff_user(container, "rev1")
    answers = [sign_in(client, "rev1", f"wrong-{i}") for i in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    clock.advance(minutes=14)
    throttled = sign_in(client, "rev1", TEST_STAFF_PASSWORD)  # even the right password, from this address
    assert throttled.status_code == 429 and "登录尝试次数过多，请 1 分钟后再试" in throttled.text
    assert throttled.headers["retry-after"] == "60"
    clock.advance(minutes=1)
    assert sign_in(client, "rev1", TEST_STAFF_PASSWORD).status_code == 303
    failed = [(a[1], a[3].get("reason")) for a in audit(container) if a[0] == "sign_in_failed"]
    assert failed[-2:] == [("refused", "wrong_password"), ("throttled", "throttled")]


def test_a_success_resets_the_count_of_wrong_passwords(container: Container, client: TestClient) -> None:
    make_staff_user(container, "rev1")
    for _ in range(4):
        sign_in(client, "rev1", "wrong")
    assert sign_in(client, "rev1", TEST_STAFF_PASSWORD).status_code == 303
    assert sign_in(client, "rev1", "wrong").status_code == 401  # not locked: the count started again


def test_staff_sign_in_needs_csrf(container: Container, client: TestClient) -> None:
    make_staff_user(container, "rev1")
    r = client.post("/review/sign-in", data={"username": "rev1", "password": TEST_STAFF_PASSWORD})
    assert r.status_code == 403 and "edl_staff" not in r.headers.get("set-cookie", "")
    assert audit(container)[-1][0] == "staff_changed"  # no sign-in was even tried


def test_staff_sign_out_revokes_the_session(container: Container, client: TestClient) -> None:
    sign_in_staff_page(client, container, "rev1")
    r = client.post("/review/sign-out", data={"csrf": csrf_of(client)})
    assert r.status_code == 303 and r.headers["location"] == "/review/sign-in"
    with container.sessions() as s:
        assert s.scalars(sa.select(WebSessionRow.revoked_at)).one() is not None
    assert client.get("/test/staff").status_code == 303
    assert audit(container)[-1][:3] == ("sign_out", "ok", "rev1")


def test_not_signed_in_staff_pages_redirect_to_staff_sign_in(client: TestClient) -> None:
    r = client.get("/review/staff")
    assert r.status_code == 303 and r.headers["location"] == "/review/sign-in?next=%2Freview%2Fstaff"
    page = client.get("/review/sign-in", params={"next": "/review/staff"})
    assert 'name="next" value="/review/staff"' in page.text and 'type="password"' in page.text


def test_passwords_are_stored_as_scrypt_hashes(container: Container) -> None:
    make_staff_user(container, "rev1")
    stored = staff_row(container, "rev1").password_hash
    assert re.fullmatch(r"scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}", stored)
    assert TEST_STAFF_PASSWORD not in stored and password_matches(TEST_STAFF_PASSWORD, stored)


# ---- roles and the staff console ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reviewer", "supervisor"])
def test_only_admins_may_open_the_staff_console(container: Container, client: TestClient, role: str) -> None:
    sign_in_staff_page(client, container, "someone", role)
    r = client.get("/review/staff")
    assert r.status_code == 403 and "无权访问" in r.text
    assert client.get("/review/staff", headers={"Accept": "application/json"}).json()["error"] == "forbidden"
    assert (
        client.post("/review/staff", data={"csrf": csrf_of(client), "username": "x1", "role": "admin"}).status_code
        == 403
    )
    assert usernames(container) == ["someone"]


def admin_client(container: Container, client: TestClient) -> str:
    sign_in_staff_page(client, container, "boss", "admin")
    return csrf_of(client)


def test_admin_lists_staff_and_adds_a_user_whose_password_is_shown_once(
    container: Container, client: TestClient, clock: Clock
) -> None:
    token = admin_client(container, client)
    page = client.get("/review/staff")
    assert page.status_code == 200 and "boss" in page.text and "管理员" in page.text
    r = client.post(
        "/review/staff",
        data={
            "csrf": token,
            "username": "rev2",
            "display_name": "王 审核",
            "role": "reviewer",
            "authorities": "120000, 510100",
        },
    )
    assert r.status_code == 200 and "已添加 rev2" in r.text
    password = re.search(r'id="new-password">([^<]+)<', r.text).group(1)
    user = staff_row(container, "rev2")
    assert (user.display_name, user.role, user.authorities) == ("王 审核", "reviewer", "120000,510100")
    assert password_matches(password, user.password_hash)
    assert password not in client.get("/review/staff").text  # never again
    assert password not in repr(audit(container))
    change = [a for a in audit(container) if a[0] == "staff_changed" and a[2] == "rev2"]
    assert change and change[0][3] == {"change": "added", "role": "reviewer", "authorities": "120000,510100"}
    with TestClient(app_with_probes(container), follow_redirects=False) as other:
        assert sign_in(other, "rev2", password).status_code == 303


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"username": "rev3", "role": "reviewer", "authorities": "12000"}, "发证机关代码应为6位数字"),
        ({"username": "rev3", "role": "reviewer", "authorities": ""}, "请至少指定一个发证机关代码"),
        ({"username": "rev3", "role": "boss", "authorities": "120000"}, "角色“boss”无效"),
        ({"username": "Bad Name!", "role": "reviewer", "authorities": "120000"}, "用户名应为"),
        ({"username": "boss", "role": "reviewer", "authorities": "120000"}, "用户名 boss 已存在"),
        ({"username": "rev3", "role": "reviewer", "authorities": "120000", "all_authorities": "1"}, "请只选择一种"),
    ],
)
def test_admin_bad_input_is_refused_and_adds_nobody(
    container: Container, client: TestClient, form: dict[str, str], message: str
) -> None:
    token = admin_client(container, client)
    before = audit(container)
    r = client.post("/review/staff", data={"csrf": token, **form})
    assert r.status_code in (400, 409) and message in r.text
    assert usernames(container) == ["boss"]
    assert audit(container) == before


def test_admin_adds_a_user_for_all_authorities(container: Container, client: TestClient) -> None:
    token = admin_client(container, client)
    r = client.post(
        "/review/staff", data={"csrf": token, "username": "sup1", "role": "supervisor", "all_authorities": "1"}
    )
    assert r.status_code == 200
    assert staff_row(container, "sup1").authorities == "*"


def test_admin_disables_a_user_and_their_sessions_end(container: Container, client: TestClient) -> None:
    with TestClient(app_with_probes(container), follow_redirects=False) as reviewer:
        sign_in_staff_page(reviewer, container, "rev1")
        assert reviewer.get("/test/staff").status_code == 200
        token = admin_client(container, client)
        r = client.post("/review/staff/rev1/disable", data={"csrf": token, "confirm": "yes"})
        assert r.status_code == 303 and r.headers["location"] == "/review/staff"
        assert reviewer.get("/test/staff").status_code == 303
        assert sign_in(reviewer, "rev1", TEST_STAFF_PASSWORD).status_code == 401
    assert "已停用" in client.get("/review/staff").text
    assert ("staff_changed", "ok", "rev1", {"change": "disabled", "sessions_ended": 1}) in audit(container)


def test_disabling_without_csrf_changes_nothing(container: Container, client: TestClient) -> None:
    make_staff_user(container, "rev1")
    admin_client(container, client)
    assert client.post("/review/staff/rev1/disable", data={}).status_code == 403
    assert staff_row(container, "rev1").disabled_at is None


def test_admins_cannot_disable_themselves(container: Container, client: TestClient) -> None:
    token = admin_client(container, client)
    assert "/review/staff/boss/disable" not in client.get("/review/staff").text
    r = client.post("/review/staff/boss/disable", data={"csrf": token, "confirm": "yes"})
    assert r.status_code == 400 and "不能停用自己的账号" in r.text
    assert staff_row(container, "boss").disabled_at is None


def test_staff_session_carries_role_and_authorities(container: Container, clock: Clock) -> None:
    make_staff_user(container, "rev1", "reviewer", ["120000", "510100"])
    user, _ = sign_in_staff(
        container.sessions, "rev1", TEST_STAFF_PASSWORD, client="127.0.0.1", at=clock(), session_hours=1
    )
    assert user.authorities == frozenset({"120000", "510100"})
    from edl.web.auth_deps import StaffSession

    staff = StaffSession(user.id, user.username, user.display_name, user.role, user.authorities)
    assert staff.may_act_for("120000") and not staff.may_act_for("320500")


# ---- edl staff ----------------------------------------------------------------------------------------------------


def invoke(container: Container, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }
    result = CliRunner().invoke(staff_app, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_cli_adds_a_user_and_prints_the_generated_password_once(container: Container) -> None:
    code, out, err = invoke(
        container,
        "add",
        "rev1",
        "--role",
        "reviewer",
        "--authority",
        "120000",
        "--authority",
        "510100",
        "--name",
        "李审核",
    )
    assert code == 0, err
    password = out.strip()
    assert out.count("\n") == 1 and len(password) >= 16
    assert "created staff user rev1 (reviewer; 120000, 510100)" in err and password not in err
    row = staff_row(container, "rev1")
    assert password_matches(password, row.password_hash) and row.display_name == "李审核"
    assert audit(container)[-1][:3] == ("staff_changed", "ok", "rev1")
    with container.sessions() as s:
        assert s.scalars(sa.select(AuditRow.actor_kind)).one() == "cli"
    assert password not in repr(audit(container))


def test_cli_reads_the_password_from_stdin(container: Container) -> None:
    code, out, err = invoke(
        container,
        "add",
        "admin1",
        "--role",
        "admin",
        "--all-authorities",
        "--password-stdin",
        stdin="a long enough secret\n",
    )
    assert code == 0, err
    assert "a long enough secret" not in out + err
    row = staff_row(container, "admin1")
    assert password_matches("a long enough secret", row.password_hash) and row.authorities == "*"


def test_cli_lists_and_disables_users(container: Container, clock: Clock) -> None:
    make_staff_user(container, "rev1", "reviewer", ["120000"])
    make_staff_user(container, "adm", "admin")
    code, out, _ = invoke(container, "list")
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    assert [line[:4] for line in lines] == [["adm", "admin", "*", "active"], ["rev1", "reviewer", "120000", "active"]]
    code, out, _ = invoke(container, "disable", "rev1")
    assert code == 0 and out == "disabled staff user rev1\n"
    assert staff_row(container, "rev1").disabled_at is not None
    assert invoke(container, "list")[1].splitlines()[1].split("\t")[3] == "disabled"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "rev1", "--authority", "120000"), None, "--role is required"),
        (("add", "rev1", "--role", "chief", "--authority", "120000"), None, "role 'chief' is not valid"),
        (("add", "rev1", "--role", "reviewer"), None, "give at least one issuing-authority code"),
        (("add", "rev1", "--role", "reviewer", "--authority", "1200"), None, "authority codes are 6 digits: 1200"),
        (("add", "rev1", "--role", "reviewer", "--authority", "120000", "--all-authorities"), None, "not both"),
        (("add", "Rev 1", "--role", "reviewer", "--all-authorities"), None, "a username is 2 to 64"),
        (("add", "rev1", "--role", "reviewer", "--all-authorities", "--password-stdin"), "short\n", "at least 12"),
        (("disable", "ghost"), None, "no staff user ghost"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_and_changes_nothing(
    container: Container, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    code, out, err = invoke(container, *args, stdin=stdin)
    assert code == 2
    assert out == "" and err.startswith("edl: error: ") and err.count("\n") == 1 and message in err
    assert usernames(container) == []
    assert audit(container) == []


def test_cli_refuses_a_duplicate_username(container: Container) -> None:
    make_staff_user(container, "rev1")
    code, _out, err = invoke(container, "add", "rev1", "--role", "admin", "--all-authorities")
    assert code == 2 and "already exists" in err and err.count("\n") == 1
    assert staff_row(container, "rev1").role == "reviewer"
