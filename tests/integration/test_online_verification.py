"""`POST /api/v1/verifications` on SQLite and PostgreSQL: live registry status (a suspension after the code was made
counts), the fields each purpose may see, refusals (401, 429, 400, 413) and one verification-log row per check."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.bootstrap import Container
from edl.credentials.livecode import CodeClaims, make_code
from edl.db.models import AuditRow, RecordRow, VerificationRow
from edl.db.session import make_verification_engine, transaction
from edl.domain import Status
from edl.issuance.elicences import issue_elicence
from edl.issuance.livecodes import make_live_code
from edl.registry.events import set_status
from edl.registry.importer import import_file
from edl.registry.portraits import render_portrait
from edl.verification.online_pg import PgVerificationPath
from edl.verification.parties import register_party, revoke_party
from edl.verification.purposes import FIELDS, RULES, Purpose
from edl.verification.ratelimit import MemoryRateLimiter
from edl.web import create_app
from tests.unit.registry.factories import row, write_csv
from tests.workflow import prepare

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
API = "/api/v1/verifications"
ADDRESS = row(0)["address"]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def ready(container: Container) -> Container:
    prepare(container, NOW)
    clock = Clock(NOW)
    container.clock = clock
    container.rate_limiter = MemoryRateLimiter()
    return container


@pytest.fixture
def client(ready: Container) -> Iterator[TestClient]:
    with TestClient(create_app(ready), follow_redirects=False) as c:
        yield c


def set_clock(container: Container, at: datetime) -> None:
    clock = container.clock
    assert isinstance(clock, Clock)
    clock.at = at


def import_rows(container: Container, tmp_path: Path, *records: dict[str, str]) -> None:
    path = write_csv(tmp_path / f"{uuid.uuid4().hex}.csv", records)
    report = import_file(container.engine, path, path.with_suffix(".rejects.csv"), "test", clock=container.clock)
    assert report.rejected == 0, path.with_suffix(".rejects.csv").read_text(encoding="utf-8")


def licence_record(container: Container, n: int = 0, **overrides: str) -> dict[str, str]:
    """A registry row whose photo is in the store (so an e-licence can be issued for it)."""
    ref = container.photos.put(render_portrait(7, f"licence-{n}"))
    return row(n, photo_sha256=ref, photo_compliant="true", **overrides)


def seeded(container: Container, tmp_path: Path, n: int = 0, **overrides: str) -> tuple[str, str]:
    """(licence number, e-licence id): a licence imported into the registry and its e-licence issued at NOW."""
    record = licence_record(container, n, **overrides)
    import_rows(container, tmp_path, record)
    with transaction(container.sessions) as s:
        s.add(RecordRow(licence_number=record["number"], on=NOW.date(), kind="offence", description="闯红灯", points=6))
    issued = issue_elicence(container.sessions, container.issuer, record["number"], actor="test", at=NOW)
    return record["number"], issued.elicence_id


def live_code(container: Container, number: str, at: datetime = NOW) -> str:
    with transaction(container.sessions) as s:
        return make_live_code(s, container.code_maker, number, at=at).text


def live_barcode(container: Container, number: str, at: datetime = NOW) -> str:
    """The number under the barcode of a page made at `at` (with the live code)."""
    with transaction(container.sessions) as s:
        return make_live_code(s, container.code_maker, number, at=at).barcode


def party_key(
    container: Container,
    purpose: Purpose,
    *,
    name: str | None = None,
    fields: list[str] | None = None,
    rate: int | None = None,
) -> tuple[str, str]:
    with transaction(container.sessions) as s:
        party, key = register_party(
            s,
            name=name or f"{purpose.value} desk",
            purpose=purpose,
            fields=fields,
            rate_per_minute=rate,
            actor="test",
            at=NOW - timedelta(hours=1),
        )
    return party.id, key


def post(client: TestClient, key: str | None, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if isinstance(body, bytes | str):
        return client.post(API, content=body, headers={**headers, "Content-Type": "application/json"})
    return client.post(API, json=body, headers=headers)


def log_rows(container: Container) -> list[VerificationRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(VerificationRow).order_by(VerificationRow.id)))


# --- live status ---------------------------------------------------------------------------------------------------


def test_a_fresh_code_of_a_valid_licence_is_valid_for_a_rental_desk(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, elicence_id = seeded(ready, tmp_path)
    party_id, key = party_key(ready, Purpose.RENTAL, name="某某租车 前台")
    code = live_code(ready, number)
    set_clock(ready, NOW + timedelta(seconds=20))
    r = post(client, key, {"code": code})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    answer = r.json()
    assert answer["valid"] is True and answer["status"] == "valid" and answer["errors"] == []
    assert answer["purpose"] == "rental" and answer["method"] == "code"
    assert answer["fields"]["name"] == "张伟"
    assert answer["fields"]["classes"] == ["C1"]
    assert answer["registry_status"]["codes"] == "A" and answer["registry_status"]["elicence_voided"] is False
    photo = answer["fields"]["photo"]
    assert photo["media_type"] == "image/jpeg" and base64.b64decode(photo["data"])[:3] == b"\xff\xd8\xff"
    assert answer["checked_at"] == "2026-11-25T02:00:20Z"
    (logged,) = log_rows(ready)
    assert logged.id == answer["verification_id"]
    assert (logged.relying_party_id, logged.relying_party_name, logged.purpose) == (party_id, "某某租车 前台", "rental")
    assert (logged.method, logged.channel, logged.valid, logged.status) == ("code", "api", True, "valid")
    assert (logged.elicence_id, logged.licence_number, logged.errors) == (elicence_id, number, "")


def test_a_code_made_before_a_suspension_by_reimport_is_reported_suspended(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.POLICE)
    code = live_code(ready, number)
    assert post(client, key, {"code": code}).json()["valid"] is True
    set_clock(ready, NOW + timedelta(seconds=30))
    import_rows(ready, tmp_path, licence_record(ready, 0, statuses="D"))  # 暂扣 entered after the code was made
    set_clock(ready, NOW + timedelta(seconds=40))
    answer = post(client, key, {"code": code}).json()
    assert answer["valid"] is False
    assert answer["status"] == "suspended"
    assert "status_suspended" in {e["code"] for e in answer["errors"]}
    assert answer["registry_status"]["codes"] == "D" and answer["registry_status"]["zh"] == "暂扣"
    assert answer["fields"]["status"] == "suspended"
    assert [(r.valid, r.status) for r in log_rows(ready)] == [(True, "valid"), (False, "suspended")]


def test_a_suspension_event_after_the_code_was_made_counts_at_once(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    code = live_code(ready, number)
    with transaction(ready.sessions) as s:
        set_status(s, number, Status.SUSPENDED, actor="test", at=NOW + timedelta(seconds=5))
    answer = post(client, key, {"code": code}).json()
    assert (answer["valid"], answer["status"]) == (False, "suspended")


def test_a_voided_elicence_is_revoked(ready: Container, client: TestClient, tmp_path: Path) -> None:
    number, first_id = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    old_code = live_code(ready, number)
    issue_elicence(
        ready.sessions, ready.issuer, number, actor="test", at=NOW + timedelta(seconds=10)
    )  # re-issued: the old one is void
    answer = post(client, key, {"code": old_code}).json()
    assert (answer["valid"], answer["status"]) == (False, "revoked")
    assert answer["registry_status"]["elicence_voided"] is True
    assert "status_revoked" in {e["code"] for e in answer["errors"]}
    fresh = post(client, key, {"code": live_code(ready, number, NOW + timedelta(seconds=11))}).json()
    assert (fresh["valid"], fresh["status"]) == (True, "valid")
    assert log_rows(ready)[0].elicence_id == first_id


def test_an_expired_code_is_refused_and_logged(ready: Container, client: TestClient, tmp_path: Path) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    code = live_code(ready, number)
    set_clock(ready, NOW + timedelta(seconds=ready.settings.code_lifetime_seconds + 1))
    answer = post(client, key, {"code": code}).json()
    assert answer["valid"] is False and answer["fields"] == {}
    assert "expired" in {e["code"] for e in answer["errors"]}
    (logged,) = log_rows(ready)
    assert (logged.valid, logged.licence_number) == (False, None) and "expired" in logged.errors


@pytest.mark.parametrize("text", ["EDL1:NOT-A-CODE", "hello", "EDL1:" + "A" * 300])
def test_a_bad_code_is_refused_with_a_reason_and_logged(ready: Container, client: TestClient, text: str) -> None:
    _, key = party_key(ready, Purpose.POLICE)
    r = post(client, key, {"code": text})
    assert r.status_code == 200
    answer = r.json()
    assert answer["valid"] is False and answer["status"] == "unknown" and answer["errors"]
    (logged,) = log_rows(ready)
    assert logged.valid is False and logged.errors == ",".join(e["code"] for e in answer["errors"])


def test_a_code_signed_by_another_authority_is_refused(ready: Container, client: TestClient, tmp_path: Path) -> None:
    from edl.pki import Authority

    _, elicence_id = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    other = Authority.open(tmp_path / "other-authority")
    other.init(at=NOW - timedelta(days=1))
    claims = CodeClaims(elicence_id, ("C1",), "A", 1, None, NOW, NOW + timedelta(seconds=120), os.urandom(8))
    answer = post(client, key, {"code": make_code(claims, other.current_signer(NOW))}).json()
    assert answer["valid"] is False and answer["fields"] == {}
    assert log_rows(ready)[0].licence_number is None


# --- barcode -------------------------------------------------------------------------------------------------------


def test_a_barcode_is_looked_up_live_and_says_it_carries_no_signature(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, elicence_id = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    barcode = live_barcode(ready, number)
    answer = post(client, key, {"barcode": f" {barcode[:12]} {barcode[12:]} "}).json()
    assert (answer["valid"], answer["status"], answer["method"]) == (True, "valid", "barcode")
    assert any("no signature" in w for w in answer["warnings"])
    assert answer["code_expires_at"] is None
    (logged,) = log_rows(ready)
    assert (logged.method, logged.licence_number, logged.elicence_id) == ("barcode", number, elicence_id)


def test_a_wrong_static_or_malformed_barcode_is_refused_and_logged(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    _, elicence_id = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    answers = [post(client, key, {"barcode": b}).json() for b in ("0" * 24, elicence_id.upper(), "12345")]
    assert [(a["valid"], a["status"], a["fields"]) for a in answers] == [(False, "unknown", {})] * 3
    assert [[e["code"] for e in a["errors"]] for a in answers] == [
        ["barcode_invalid"],
        ["barcode_static_id"],
        ["malformed"],
    ]
    assert [(r.valid, r.licence_number, r.elicence_id) for r in log_rows(ready)] == [(False, None, None)] * 3


# --- unknown policy ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("purpose", "valid"), [(Purpose.POLICE, False), (Purpose.RENTAL, True)])
def test_a_signed_code_the_registry_does_not_know_follows_the_purposes_unknown_policy(
    ready: Container, client: TestClient, purpose: Purpose, valid: bool
) -> None:
    _, key = party_key(ready, purpose)
    claims = CodeClaims(uuid.uuid4().hex, ("C1",), "A", 7, None, NOW, NOW + timedelta(seconds=120), os.urandom(8))
    code = make_code(claims, ready.authority.current_signer(NOW))
    answer = post(client, key, {"code": code}).json()
    assert answer["status"] == "unknown"
    assert answer["valid"] is valid
    if valid:
        assert answer["warnings"] and "name" not in answer["fields"] and answer["fields"]["classes"] == ["C1"]
    else:
        assert "status_unknown" in {e["code"] for e in answer["errors"]} and answer["fields"] == {}
    assert log_rows(ready)[0].status == "unknown"


# --- fields by purpose ---------------------------------------------------------------------------------------------


def test_police_see_every_field(ready: Container, client: TestClient, tmp_path: Path) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.POLICE)
    fields = post(client, key, {"code": live_code(ready, number)}).json()["fields"]
    assert set(fields) == {f.value for f in FIELDS}
    assert fields["address"] == ADDRESS and fields["licence_number"] == number
    assert fields["driving_record"] == [{"on": "2026-11-25", "kind": "offence", "description": "闯红灯", "points": 6}]
    assert fields["sex"]["code"] == 1 and fields["birth_date"] == "1990-05-03"
    assert fields["issuing_authority"]["code"] == "510100"


@pytest.mark.parametrize("purpose", [Purpose.RENTAL, Purpose.EMPLOYER, Purpose.INSURER])
@pytest.mark.parametrize("method", ["code", "barcode"])
def test_businesses_see_only_their_purposes_fields_and_never_the_address(
    ready: Container, client: TestClient, tmp_path: Path, purpose: Purpose, method: str
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, purpose)
    body = {"code": live_code(ready, number)} if method == "code" else {"barcode": live_barcode(ready, number)}
    r = post(client, key, body)
    fields = r.json()["fields"]
    assert set(fields) == {f.value for f in RULES[purpose].fields}
    assert "address" not in fields and ADDRESS not in r.text
    assert ("points" in fields) is (purpose is not Purpose.RENTAL)


def test_a_party_with_a_narrowed_field_list_sees_only_those(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL, fields=["name", "classes"])
    fields = post(client, key, {"code": live_code(ready, number)}).json()["fields"]
    assert set(fields) == {"name", "classes", "status"}


def test_an_insurer_configured_with_the_address_sees_it(ready: Container, client: TestClient, tmp_path: Path) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.INSURER, fields=["name", "address", "points"])
    fields = post(client, key, {"code": live_code(ready, number)}).json()["fields"]
    assert fields == {"name": "张伟", "address": ADDRESS, "status": "valid", "points": 3}


# --- refusals --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer edl_rp_" + "x" * 43},
        {"Authorization": "Bearer not-a-key"},
    ],
)
def test_without_a_valid_key_the_answer_is_401_and_nothing_is_logged(
    ready: Container, client: TestClient, headers: dict[str, str]
) -> None:
    party_key(ready, Purpose.POLICE)
    r = client.post(API, json={"barcode": uuid.uuid4().hex}, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"] in ("missing_key", "invalid_key") and " / " in r.json()["message"]
    assert log_rows(ready) == []


def test_a_revoked_key_is_refused(ready: Container, client: TestClient, tmp_path: Path) -> None:
    number, _ = seeded(ready, tmp_path)
    barcode = live_barcode(ready, number)
    party_id, key = party_key(ready, Purpose.RENTAL)
    assert post(client, key, {"barcode": barcode}).status_code == 200  # now cached by this process
    with transaction(ready.sessions) as s:
        revoke_party(s, party_id, keys=ready.party_keys, actor="test", at=NOW)
    r = post(client, key, {"barcode": barcode})
    assert r.status_code == 401 and r.json()["error"] == "invalid_key"
    assert len(log_rows(ready)) == 1


def test_a_key_revoked_in_another_process_is_refused_once_its_cache_entry_lapses(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    barcode = live_barcode(ready, number)
    party_id, key = party_key(ready, Purpose.RENTAL)
    assert post(client, key, {"barcode": barcode}).status_code == 200
    with ready.engine.begin() as conn:  # as another app server would: straight in the database
        conn.execute(
            sa.text("UPDATE relying_parties SET revoked_at = :at, revoked_by = 'other' WHERE id = :id"),
            {"at": NOW, "id": party_id},
        )
    ready.party_keys.clear()  # what AUTH_CACHE_SECONDS of waiting does
    assert post(client, key, {"barcode": barcode}).status_code == 401


def test_over_the_keys_limit_the_answer_is_429_with_retry_after(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, _ = seeded(ready, tmp_path)
    barcode = live_barcode(ready, number)
    _, key = party_key(ready, Purpose.RENTAL, rate=2)
    _, other_key = party_key(ready, Purpose.RENTAL, name="another desk", rate=2)
    answers = [post(client, key, {"barcode": barcode}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) >= 1
    assert answers[2].json()["error"] == "rate_limited"
    assert answers[1].headers["ratelimit-remaining"] == "0"
    assert post(client, other_key, {"barcode": barcode}).status_code == 200  # limits are per key
    assert len(log_rows(ready)) == 3


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "not_json"),
        (b"[1, 2]", "not_json"),
        ({}, "one_of"),
        ({"code": "EDL1:X", "barcode": "abc"}, "one_of"),
        ({"code": "EDL1:X", "purpose": "police"}, "unknown_keys"),
        ({"code": 12}, "not_text"),
        ({"barcode": "   "}, "not_text"),
        ({"code": "EDL1:" + "A" * 5000}, "not_text"),
    ],
)
def test_a_bad_body_is_400_with_a_plain_reason_and_nothing_is_logged(
    ready: Container, client: TestClient, body: Any, error: str
) -> None:
    _, key = party_key(ready, Purpose.POLICE)
    r = post(client, key, body)
    assert r.status_code == 400
    assert r.json()["error"] == error
    assert log_rows(ready) == []


def test_a_huge_body_is_413(ready: Container, client: TestClient) -> None:
    _, key = party_key(ready, Purpose.POLICE)
    r = post(client, key, json.dumps({"code": "EDL1:" + "A" * 20_000}))
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert log_rows(ready) == []


def test_every_verifying_call_writes_one_log_row_and_no_other_audit_rows(
    ready: Container, client: TestClient, tmp_path: Path
) -> None:
    number, elicence_id = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.EMPLOYER)
    with ready.sessions() as s:
        audits_before = s.scalar(sa.select(sa.func.count()).select_from(AuditRow))
    bodies: list[dict[str, str]] = [
        {"code": live_code(ready, number)},
        {"code": "EDL1:garbage"},
        {"barcode": live_barcode(ready, number)},
        {"barcode": elicence_id},
    ]
    ids = [post(client, key, b).json()["verification_id"] for b in bodies]
    logged = log_rows(ready)
    assert [r.id for r in logged] == ids and len(set(ids)) == 4
    assert [r.valid for r in logged] == [True, False, True, False]
    assert {r.purpose for r in logged} == {"employer"}
    with ready.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditRow)) == audits_before


def test_the_verification_log_refuses_changes(ready: Container, client: TestClient, tmp_path: Path) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    post(client, key, {"barcode": live_barcode(ready, number)})
    with pytest.raises(sa.exc.DBAPIError), ready.engine.begin() as conn:
        conn.execute(sa.text("UPDATE verifications SET valid = false"))
    assert log_rows(ready)[0].valid is True


@pytest.mark.parametrize("purpose", [Purpose.RENTAL, Purpose.POLICE])
def test_a_verification_costs_one_select_and_one_insert_and_nothing_else(
    ready: Container, client: TestClient, tmp_path: Path, purpose: Purpose
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, purpose)
    code = live_code(ready, number)
    assert post(client, key, {"code": code}).json()["valid"]  # the key is now cached, the engines built
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()).lower())

    # Every engine (the main one and the dedicated verification engines, sync or async) reports here; on
    # PostgreSQL the API's asyncpg path (edl.verification.online_pg) reports what it sends.
    pg = ready.online_verifier.pg_path()
    sa.event.listen(sa.Engine, "before_cursor_execute", capture)
    if pg is not None:
        pg.statements = sent = []
    try:
        answer = post(client, key, {"code": code}).json()
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", capture)
        if pg is not None:
            pg.statements = None
            statements += [" ".join(s.split()).lower() for s in sent]
    assert answer["valid"]
    selects = [s for s in statements if s.startswith("select")]
    inserts = [s for s in statements if s.startswith("insert")]
    if ready.engine.dialect.name == "postgresql" or purpose is not Purpose.POLICE:
        # PostgreSQL: the driving record (police only) comes aggregated in the same select.
        assert len(selects) == 1 and "from elicences join licences" in selects[0]
        assert ("json_agg" in selects[0]) is (purpose is Purpose.POLICE)
    else:
        assert len(selects) == 2 and "from driving_record" in selects[1]
    assert len(inserts) == 1 and inserts[0].startswith("insert into verifications")
    assert len(statements) == len(selects) + 1  # no pre-ping, no SET, no BEGIN/COMMIT statements
    if purpose is Purpose.POLICE:
        assert answer["fields"]["driving_record"] == [
            {"on": NOW.date().isoformat(), "kind": "offence", "description": "闯红灯", "points": 6}
        ]


def test_the_verification_engine_on_postgresql_commits_durably_in_autocommit(ready: Container) -> None:
    if ready.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite writes the log row in the read's transaction")
    assert ready.settings.verification_durable_log  # the default: no answer before its log row is on disk
    engine = ready.online_verifier.verification_engine()
    assert engine is not ready.engine and isinstance(engine.pool, sa.QueuePool)
    assert engine.pool.size() == ready.settings.verification_pool_size
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
        assert getattr(conn.connection.driver_connection, "autocommit", None) is True
    ready.engine.dispose()  # Container.dispose: the verification engines go with the main one
    assert ready.online_verifier.verification_engine() is not engine


def test_a_deployment_may_trade_the_logs_durability_on_its_own_connections_only(ready: Container) -> None:
    if ready.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite writes the log row in the read's transaction")
    url = ready.engine.url.render_as_string(hide_password=False)
    fast = make_verification_engine(url, pool_size=1, durable=False)
    try:
        with fast.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "off"
    finally:
        fast.dispose()
    with ready.engine.connect() as conn:  # registry writes keep the server's durable default
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
    # The group-commit writer (asyncpg): the same choice, as a server setting of its connections.
    durable = PgVerificationPath(url, replica_url=None, pool_size=1, durable_log=True)
    relaxed = PgVerificationPath(url, replica_url=None, pool_size=1, durable_log=False)
    assert "synchronous_commit" not in durable._write["server_settings"]
    assert relaxed._write["server_settings"]["synchronous_commit"] == "off"


def test_access_lines_of_successful_api_calls_can_be_sampled_but_refusals_are_always_logged(
    ready: Container, tmp_path: Path
) -> None:
    from structlog.testing import capture_logs

    ready.settings.access_log_api_sample = 3
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    code = live_code(ready, number)
    with TestClient(create_app(ready), follow_redirects=False) as c, capture_logs() as logs:
        for _ in range(4):
            assert post(c, key, {"code": code}).status_code == 200
        assert post(c, None, {"code": code}).status_code == 401
        assert c.get("/healthz").status_code == 200
    lines = [e for e in logs if e.get("event") == "http_request"]
    api = [e["status"] for e in lines if e["route"] == API]
    assert api == [200, 200, 401]  # the 1st and 4th of four successes, and the refusal
    assert [e["route"] for e in lines if e["route"] != API] == ["/healthz"]
    assert len(log_rows(ready)) == 4  # every verification is in the verification log all the same
