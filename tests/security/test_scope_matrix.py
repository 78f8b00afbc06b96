"""Staff scopes that hold: who may manage which staff accounts and relying parties, through the real console routes,
on SQLite and PostgreSQL; and what a scoped relying party is told about a licence outside its scope.

Finding replayed: an admin made with `edl staff add adm --role admin --authority 370200` could, in the console,
create an all-authority admin, create staff of other authorities, disable the national admin, and register a
`police` party whose key then read addresses, ID numbers and records of other provinces.

The matrix is ACTORS × ACTIONS; each cell says what the console answers and whether the change happened.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from edl.accounts import LastNationalAdmin, OutsideScope, Role, add_staff_user, disable_staff_user
from edl.accounts.passwords import hash_password
from edl.audit import ActorKind
from edl.bootstrap import Container
from edl.cli.staff import staff_app
from edl.db.models import AuditRow, RecordRow, RelyingPartyRow, StaffUserRow, VerificationRow
from edl.db.session import transaction
from edl.domain.application import PhotoSource
from edl.domain.scope import AuthorityScope
from edl.issuance.elicences import issue_elicence
from edl.issuance.livecodes import make_live_code
from edl.registry.importer import import_file
from edl.registry.portraits import render_portrait
from edl.verification.parties import register_party
from edl.verification.purposes import Purpose
from edl.verification.ratelimit import MemoryRateLimiter
from edl.web import create_app
from tests.auth_helpers import TEST_STAFF_PASSWORD, csrf_of
from tests.faces import id_photo
from tests.unit.registry.factories import row, write_csv
from tests.workflow import capture, prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
KEY_RE = re.compile(r"edl_rp_[A-Za-z0-9_-]{43}")
SHANDONG, QINGDAO, JINAN, CHENGDU = "370000", "370200", "370100", "510100"


@dataclass(frozen=True)
class Actor:
    username: str
    role: Role
    codes: tuple[str, ...] | None
    """None: all authorities."""

    @property
    def own_code(self) -> str:
        """A code inside this actor's scope (青岛 for the national admin)."""
        return self.codes[0] if self.codes else QINGDAO


ACTORS = {
    "national_admin": Actor("nat", Role.ADMIN, None),
    "shandong_admin": Actor("sd", Role.ADMIN, (SHANDONG,)),
    "qingdao_admin": Actor("qd", Role.ADMIN, (QINGDAO,)),
    "qingdao_supervisor": Actor("qdsup", Role.SUPERVISOR, (QINGDAO,)),
    "qingdao_reviewer": Actor("qdrev", Role.REVIEWER, (QINGDAO,)),
}
TARGETS = {"nat2": (Role.ADMIN, None), "qdtarget": (Role.REVIEWER, (QINGDAO,))}
"""Accounts the actions disable: a second national admin, and a 青岛 reviewer."""


@cache
def _password_hash() -> str:
    return hash_password(TEST_STAFF_PASSWORD)  # scrypt once per run, not once per account


def put_staff(container: Container, username: str, role: Role, codes: tuple[str, ...] | None) -> str:
    """A staff row with the test password, as the operator made it (no audit row: the matrix counts only its own)."""
    user_id = uuid.uuid4().hex
    with transaction(container.sessions) as s:
        s.add(
            StaffUserRow(
                id=user_id,
                username=username,
                display_name=username,
                password_hash=_password_hash(),
                role=role.value,
                authorities=AuthorityScope.of(codes).column(),
                created_at=NOW - timedelta(days=1),
            )
        )
    return user_id


def put_party(container: Container, name: str, codes: tuple[str, ...] | None) -> str:
    with transaction(container.sessions) as s:
        party, _key = register_party(
            s, name=name, purpose=Purpose.POLICE, scope=AuthorityScope.of(codes), actor="operator", at=NOW
        )
    return party.id


@dataclass
class World:
    container: Container
    actor: Actor
    parties: dict[str, str]
    """name → id of the parties registered before the action."""


def staff_row(container: Container, username: str) -> StaffUserRow | None:
    with container.sessions() as s:
        return s.scalars(sa.select(StaffUserRow).where(StaffUserRow.username == username)).first()


def party_row(container: Container, *, name: str | None = None, party_id: str | None = None) -> RelyingPartyRow | None:
    with container.sessions() as s:
        query = sa.select(RelyingPartyRow)
        query = query.where(RelyingPartyRow.name == name) if name else query.where(RelyingPartyRow.id == party_id)
        return s.scalars(query).first()


def changes(container: Container) -> int:
    with container.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).where(AuditRow.action == "staff_changed")) or 0


def form(client: TestClient, path: str, **data: object) -> httpx.Response:
    response: httpx.Response = client.post(path, data={"csrf": csrf_of(client, "/review"), **data})
    return response


# --- the actions: what each does in the console, and how to see that it happened --------------------------------


@dataclass(frozen=True)
class Action:
    do: Callable[[TestClient, World], httpx.Response]
    happened: Callable[[World], bool]
    setup: Callable[[World], None] = lambda w: None


def _added(username: str) -> Callable[[World], bool]:
    return lambda w: staff_row(w.container, username) is not None


def _disabled(username: str) -> Callable[[World], bool]:
    def check(w: World) -> bool:
        found = staff_row(w.container, username)
        return found is not None and found.disabled_at is not None

    return check


def _registered(name: str, scope: Callable[[World], AuthorityScope]) -> Callable[[World], bool]:
    def check(w: World) -> bool:
        found = party_row(w.container, name=name)
        if found is None:
            return False
        assert AuthorityScope.from_column(found.authorities) == scope(w), "registered with the wrong scope"
        return True

    return check


def _revoked(name: str) -> Callable[[World], bool]:
    def check(w: World) -> bool:
        found = party_row(w.container, party_id=w.parties[name])
        return found is not None and found.revoked_at is not None

    return check


def _disable_nat2_first(w: World) -> None:
    with transaction(w.container.sessions) as s:
        disable_staff_user(s, "nat2", actor_kind=ActorKind.CLI, actor="operator", at=NOW)


def _revoke(name: str) -> Callable[[TestClient, World], httpx.Response]:
    return lambda c, w: form(c, f"/review/relying-parties/{w.parties[name]}/revoke", confirm="yes")


ACTIONS: dict[str, Action] = {
    "add_reviewer_in_own_scope": Action(
        lambda c, w: form(c, "/review/staff", username="new1", role="reviewer", authorities=w.actor.own_code),
        _added("new1"),
    ),
    "add_reviewer_in_other_province": Action(
        lambda c, w: form(c, "/review/staff", username="new2", role="reviewer", authorities=CHENGDU),
        _added("new2"),
    ),
    "add_all_authority_account": Action(
        lambda c, w: form(c, "/review/staff", username="new3", role="reviewer", all_authorities="1"),
        _added("new3"),
    ),
    "add_admin_wider_than_qingdao": Action(
        lambda c, w: form(c, "/review/staff", username="new4", role="admin", authorities=SHANDONG),
        _added("new4"),
    ),
    "add_admin_for_other_province_and_own": Action(
        lambda c, w: form(c, "/review/staff", username="new5", role="admin", authorities=f"{QINGDAO}, {CHENGDU}"),
        _added("new5"),
    ),
    "disable_national_admin": Action(
        lambda c, w: form(c, "/review/staff/nat2/disable", confirm="yes"), _disabled("nat2")
    ),
    "disable_account_in_own_scope": Action(
        lambda c, w: form(c, "/review/staff/qdtarget/disable", confirm="yes"), _disabled("qdtarget")
    ),
    "disable_last_national_admin": Action(
        lambda c, w: form(c, "/review/staff/nat/disable", confirm="yes"), _disabled("nat"), setup=_disable_nat2_first
    ),
    "register_police_party_in_own_scope": Action(
        lambda c, w: form(c, "/review/relying-parties", name="own-police", purpose="police", authorities=""),
        _registered("own-police", lambda w: AuthorityScope.of(w.actor.codes)),
    ),
    "register_national_party": Action(
        lambda c, w: form(c, "/review/relying-parties", name="nat-police", purpose="police", all_authorities="1"),
        _registered("nat-police", lambda w: AuthorityScope.national()),
    ),
    "register_party_in_other_province": Action(
        lambda c, w: form(c, "/review/relying-parties", name="cd-police", purpose="police", authorities=CHENGDU),
        _registered("cd-police", lambda w: AuthorityScope.of([CHENGDU])),
    ),
    "revoke_party_outside_scope": Action(_revoke("chengdu party"), _revoked("chengdu party")),
    "revoke_national_party": Action(_revoke("national party"), _revoked("national party")),
    "revoke_party_in_own_scope": Action(_revoke("qingdao party"), _revoked("qingdao party")),
}

OK, SCOPE, ROLE, SELF = "ok", "scope", "role", "self"
"""ok: done (200 page or 303 back to the list); scope: 403 with the scope refusal; role: 403, not an admin;
self: 400, one's own account."""

# actions                                  national  山东    青岛    青岛 supervisor  青岛 reviewer
MATRIX: dict[str, tuple[str, str, str, str, str]] = {
    "add_reviewer_in_own_scope": (OK, OK, OK, ROLE, ROLE),
    "add_reviewer_in_other_province": (OK, SCOPE, SCOPE, ROLE, ROLE),
    "add_all_authority_account": (OK, SCOPE, SCOPE, ROLE, ROLE),
    "add_admin_wider_than_qingdao": (OK, OK, SCOPE, ROLE, ROLE),
    "add_admin_for_other_province_and_own": (OK, SCOPE, SCOPE, ROLE, ROLE),
    "disable_national_admin": (OK, SCOPE, SCOPE, ROLE, ROLE),
    "disable_account_in_own_scope": (OK, OK, OK, ROLE, ROLE),
    "disable_last_national_admin": (SELF, SCOPE, SCOPE, ROLE, ROLE),
    "register_police_party_in_own_scope": (OK, OK, OK, ROLE, ROLE),
    "register_national_party": (OK, SCOPE, SCOPE, ROLE, ROLE),
    "register_party_in_other_province": (OK, SCOPE, SCOPE, ROLE, ROLE),
    "revoke_party_outside_scope": (OK, SCOPE, SCOPE, ROLE, ROLE),
    "revoke_national_party": (OK, SCOPE, SCOPE, ROLE, ROLE),
    "revoke_party_in_own_scope": (OK, OK, OK, ROLE, ROLE),
}
assert set(MATRIX) == set(ACTIONS)

CASES = [
    pytest.param(action, actor, MATRIX[action][i], id=f"{actor}-{action}")
    for action in MATRIX
    for i, actor in enumerate(ACTORS)
]


@pytest.fixture
def world(container: Container, request: pytest.FixtureRequest) -> World:
    prepare(container, NOW)
    for actor in ACTORS.values():
        put_staff(container, actor.username, actor.role, actor.codes)
    for username, (role, codes) in TARGETS.items():
        put_staff(container, username, role, codes)
    parties = {
        "chengdu party": put_party(container, "chengdu party", (CHENGDU,)),
        "national party": put_party(container, "national party", None),
        "qingdao party": put_party(container, "qingdao party", (QINGDAO,)),
    }
    return World(container, ACTORS["national_admin"], parties)


def signed_in(container: Container, actor: Actor) -> TestClient:
    client = TestClient(create_app(container), follow_redirects=False)
    token = csrf_of(client, "/review/sign-in")
    r = client.post(
        "/review/sign-in", data={"csrf": token, "username": actor.username, "password": TEST_STAFF_PASSWORD}
    )
    assert r.status_code == 303, r.text
    return client


@pytest.mark.parametrize(("action", "actor", "expected"), CASES)
def test_scope_matrix(world: World, action: str, actor: str, expected: str) -> None:
    world.actor = ACTORS[actor]
    step = ACTIONS[action]
    step.setup(world)
    before = changes(world.container)
    with signed_in(world.container, world.actor) as client:
        answer = step.do(client, world)
    done = step.happened(world)
    if expected == OK:
        assert answer.status_code in (200, 303), answer.text[:2000]
        assert done, "the console said yes but nothing changed"
        assert changes(world.container) == before + 1, "every change is audited once"
        return
    assert not done, f"{actor} could {action}"
    assert changes(world.container) == before, "a refusal changes nothing"
    if expected == SCOPE:
        assert answer.status_code == 403, answer.text[:2000]
        assert "管辖范围" in answer.text or "全部发证机关" in answer.text
    elif expected == ROLE:
        assert answer.status_code == 403
    else:
        assert answer.status_code == 400 and "不能停用自己的账号" in answer.text
    assert not KEY_RE.search(answer.text), "a refused registration shows no key"


def test_the_matrix_covers_every_actor_and_action() -> None:
    assert len(CASES) == len(ACTORS) * len(ACTIONS) == 70


# --- the rules in the service layer and the CLI (no web in between) ----------------------------------------------


def test_the_services_refuse_a_scoped_admin_whatever_the_caller(world: World) -> None:
    container = world.container
    with container.sessions() as s:
        qd_id = s.scalar(sa.select(StaffUserRow.id).where(StaffUserRow.username == "qd"))
    assert qd_id
    with pytest.raises(OutsideScope, match="全部发证机关"), transaction(container.sessions) as s:
        add_staff_user(
            s,
            "esc1",
            role=Role.ADMIN,
            authorities=None,
            actor_kind=ActorKind.STAFF,
            actor="qd",
            at=NOW,
            by_user_id=qd_id,
        )
    with pytest.raises(OutsideScope, match="370000"), transaction(container.sessions) as s:
        add_staff_user(
            s,
            "esc2",
            role=Role.ADMIN,
            authorities=frozenset({SHANDONG}),
            actor_kind=ActorKind.STAFF,
            actor="qd",
            at=NOW,
            by_user_id=qd_id,
        )
    with pytest.raises(OutsideScope), transaction(container.sessions) as s:
        register_party(
            s,
            name="esc",
            purpose=Purpose.POLICE,
            scope=AuthorityScope.national(),
            actor="qd",
            actor_kind=ActorKind.STAFF,
            at=NOW,
            by_user_id=qd_id,
        )
    with pytest.raises(ValueError, match="by_user_id"), transaction(container.sessions) as s:
        add_staff_user(s, "esc3", role=Role.REVIEWER, authorities=None, actor_kind=ActorKind.STAFF, actor="x", at=NOW)
    assert staff_row(container, "esc1") is None and staff_row(container, "esc2") is None
    assert party_row(container, name="esc") is None


def test_a_disabled_or_non_admin_account_manages_nothing(world: World) -> None:
    container = world.container
    with container.sessions() as s:
        ids = {username: user_id for username, user_id in s.execute(sa.select(StaffUserRow.username, StaffUserRow.id))}
    _disable_nat2_first(world)
    for who in ("nat2", "qdsup"):
        with pytest.raises(OutsideScope, match="只有在用的管理员"), transaction(container.sessions) as s:
            disable_staff_user(s, "qdtarget", actor_kind=ActorKind.STAFF, actor=who, at=NOW, by_user_id=ids[who])
    assert staff_row(container, "qdtarget").disabled_at is None  # type: ignore[union-attr]


def test_the_last_national_admin_cannot_be_disabled_even_by_the_operator(world: World) -> None:
    container = world.container
    _disable_nat2_first(world)  # nat is now the only active national admin
    with pytest.raises(LastNationalAdmin), transaction(container.sessions) as s:
        disable_staff_user(s, "nat", actor_kind=ActorKind.CLI, actor="operator", at=NOW)
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }
    result = CliRunner().invoke(staff_app, ["disable", "nat"], env=env)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "last active all-authority admin" in result.stderr
    assert staff_row(container, "nat").disabled_at is None  # type: ignore[union-attr]
    put_staff(container, "nat3", Role.ADMIN, None)  # with another national admin, it can go
    result = CliRunner().invoke(staff_app, ["disable", "nat"], env=env)
    assert result.exit_code == 0, result.stderr
    assert staff_row(container, "nat").disabled_at is not None  # type: ignore[union-attr]


def test_a_scoped_admin_sees_only_the_staff_and_parties_it_manages(world: World) -> None:
    with signed_in(world.container, ACTORS["qingdao_admin"]) as client:
        staff_page = client.get("/review/staff").text
        parties_page = client.get("/review/relying-parties").text
    assert "qdtarget" in staff_page and "qdrev" in staff_page
    assert ">nat2<" not in staff_page and ">sd<" not in staff_page
    assert 'name="all_authorities"' not in staff_page and 'value="370200"' in staff_page
    assert "qingdao party" in parties_page and "chengdu party" not in parties_page
    assert "national party" not in parties_page and 'name="all_authorities"' not in parties_page
    with signed_in(world.container, ACTORS["national_admin"]) as client:
        assert "chengdu party" in client.get("/review/relying-parties").text
        assert ">nat2<" in client.get("/review/staff").text


# --- the review queue: a province covers its cities -------------------------------------------------------------


def pending_in(container: Container, name: str, *, area: str, authority: str, sequence: int) -> str:
    at = NOW - timedelta(hours=1)
    number = seed_licence(container, at, name=name, sequence=sequence, area=area, authority=authority)
    account = seed_account(container, at, number=number)
    assert container.face_checks.authenticate(account, capture(container, account, at=at), at=at).passed
    app = container.applications.submit_photo(
        account, id_photo(), source=PhotoSource.CAMERA, idempotency_key=uuid.uuid4().hex, at=at
    )
    return app.id


def test_a_shandong_reviewer_sees_qingdao_applications_and_a_qingdao_reviewer_not_jinan(world: World) -> None:
    container = world.container
    qingdao = pending_in(container, "青岛人", area="370202", authority=QINGDAO, sequence=201)
    jinan = pending_in(container, "济南人", area="370102", authority=JINAN, sequence=203)
    chengdu = pending_in(container, "成都人", area="510104", authority=CHENGDU, sequence=205)
    put_staff(container, "sdrev", Role.REVIEWER, (SHANDONG,))
    with signed_in(container, Actor("sdrev", Role.REVIEWER, (SHANDONG,))) as client:
        queue = client.get("/review").text
        assert "青岛人" in queue and "济南人" in queue and "成都人" not in queue
        assert client.get(f"/review/applications/{qingdao}").status_code == 200
        assert client.get(f"/review/applications/{chengdu}").status_code == 404
    with signed_in(container, ACTORS["qingdao_reviewer"]) as client:
        queue = client.get("/review").text
        assert "青岛人" in queue and "济南人" not in queue
        assert client.get(f"/review/applications/{jinan}").status_code == 404


# --- a relying party's scope in online verification ----------------------------------------------------------------


def licence_in(container: Container, tmp_path: Path, n: int, **overrides: str) -> str:
    """A licence in the registry with an issued e-licence and one driving-record entry; its number."""
    ref = container.photos.put(render_portrait(7, f"licence-{n}"))
    record = row(n, photo_sha256=ref, photo_compliant="true", **overrides)
    path = write_csv(tmp_path / f"{uuid.uuid4().hex}.csv", [record])
    report = import_file(container.engine, path, path.with_suffix(".rejects.csv"), "test", clock=container.clock)
    assert report.rejected == 0
    with transaction(container.sessions) as s:
        s.add(RecordRow(licence_number=record["number"], on=NOW.date(), kind="offence", description="闯红灯", points=6))
    issue_elicence(container.sessions, container.issuer, record["number"], actor="test", at=NOW)
    return record["number"]


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    world.container.rate_limiter = MemoryRateLimiter()
    with TestClient(create_app(world.container), follow_redirects=False) as c:
        yield c


def test_a_shandong_police_party_gets_no_personal_data_for_a_chengdu_licence(
    world: World, api: TestClient, tmp_path: Path
) -> None:
    container = world.container
    qingdao = licence_in(
        container,
        tmp_path,
        0,
        authority_code=QINGDAO,
        authority_name="青岛市公安局交通警察支队",
        authority_city="青岛",
        address="青岛市市南区香港中路1号",
    )
    chengdu = licence_in(container, tmp_path, 1)  # 510100 成都
    with signed_in(container, ACTORS["shandong_admin"]) as admin:  # registered by the 山东 admin: scope 370000
        page = form(admin, "/review/relying-parties", name="山东交警", purpose="police", authorities="")
    assert page.status_code == 200 and "370000" in page.text
    key = KEY_RE.findall(page.text)[0]
    headers = {"Authorization": f"Bearer {key}"}

    def check(number: str, **body: str) -> dict[str, object]:
        with transaction(container.sessions) as s:
            code = make_live_code(s, container.code_maker, number, at=NOW).text
        r = api.post("/api/v1/verifications", json=body or {"code": code}, headers=headers)
        assert r.status_code == 200, r.text
        answer: dict[str, object] = r.json()
        return answer

    outside = check(chengdu)
    assert outside["valid"] is False and outside["status"] == "unknown"
    assert outside["fields"] == {} and outside["registry_status"] is None
    assert [e["code"] for e in outside["errors"]] == ["outside_scope"]  # type: ignore[index, union-attr]
    assert chengdu not in str(outside) and "成都市武侯区" not in str(outside) and "闯红灯" not in str(outside)

    inside = check(qingdao)
    assert inside["valid"] is True and inside["errors"] == []
    fields = inside["fields"]
    assert isinstance(fields, dict)
    assert fields["address"] == "青岛市市南区香港中路1号" and fields["licence_number"] == qingdao
    assert fields["driving_record"][0]["description"] == "闯红灯"

    with container.sessions() as s:
        logged = [
            (v.licence_number, v.valid, v.errors)
            for v in s.scalars(sa.select(VerificationRow).order_by(VerificationRow.id))
        ]
    assert logged == [(chengdu, False, "outside_scope"), (qingdao, True, "")]


def test_the_barcode_of_a_licence_outside_the_scope_reveals_nothing_either(
    world: World, api: TestClient, tmp_path: Path
) -> None:
    container = world.container
    chengdu = licence_in(container, tmp_path, 2)
    with transaction(container.sessions) as s:
        _party, key = register_party(
            s, name="青岛交警", purpose=Purpose.POLICE, scope=AuthorityScope.of([QINGDAO]), actor="op", at=NOW
        )
    with transaction(container.sessions) as s:
        barcode = make_live_code(s, container.code_maker, chengdu, at=NOW).barcode
    r = api.post("/api/v1/verifications", json={"barcode": barcode}, headers={"Authorization": f"Bearer {key}"})
    answer = r.json()
    assert r.status_code == 200 and answer["valid"] is False and answer["fields"] == {}
    assert [e["code"] for e in answer["errors"]] == ["outside_scope"] and answer["registry_status"] is None
