"""Relying parties on SQLite and PostgreSQL: keys (stored only as SHA-256, shown once), authentication and
revocation, purposes and fields; `edl relying-party add/list/revoke`; the admin console pages; the audit log."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from typer.testing import CliRunner

from edl.bootstrap import Container
from edl.cli.relying_party import relying_app
from edl.db.models import AuditRow, RelyingPartyRow
from edl.db.session import transaction
from edl.verification.parties import (
    AUTH_CACHE_SECONDS,
    KEY_LENGTH,
    PartyRefused,
    list_parties,
    register_party,
    revoke_party,
)
from edl.verification.purposes import Field, Purpose
from edl.web import create_app
from tests.auth_helpers import csrf_of, sign_in_staff
from tests.workflow import prepare

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
KEY_RE = re.compile(r"edl_rp_[A-Za-z0-9_-]{43}")


@pytest.fixture
def ready(container: Container) -> Container:
    prepare(container, NOW)
    return container


def register(
    container: Container,
    purpose: Purpose = Purpose.RENTAL,
    *,
    name: str = "租车前台",
    fields: list[str] | None = None,
    rate_per_minute: int | None = None,
) -> tuple[str, str]:
    with transaction(container.sessions) as s:
        party, key = register_party(
            s, name=name, purpose=purpose, fields=fields, rate_per_minute=rate_per_minute, actor="test", at=NOW
        )
    return party.id, key


def party_rows(container: Container) -> list[RelyingPartyRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(RelyingPartyRow)))


def party_audit(container: Container) -> list[AuditRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(AuditRow).where(AuditRow.action == "staff_changed").order_by(AuditRow.id)))


# --- the service -----------------------------------------------------------------------------------------------------


def test_a_registered_key_is_stored_only_as_its_hash_and_authenticates(ready: Container) -> None:
    party_id, key = register(ready, Purpose.EMPLOYER, rate_per_minute=30)
    assert KEY_RE.fullmatch(key) and len(key) == KEY_LENGTH
    (row,) = party_rows(ready)
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(vars(row)) and key.startswith(row.key_prefix) and len(row.key_prefix) < len(key) // 2
    party = ready.party_keys.authenticate(key, at=NOW)
    assert party is not None and party.id == party_id and party.purpose is Purpose.EMPLOYER
    assert party.rate_per_minute == 30 and Field.POINTS in party.fields and Field.ADDRESS not in party.fields


def test_keys_are_unique_and_a_wrong_key_authenticates_nothing(ready: Container) -> None:
    _, one = register(ready)
    _, two = register(ready, name="another")
    assert one != two
    assert ready.party_keys.authenticate(one[:-1] + ("A" if one[-1] != "A" else "B"), at=NOW) is None
    assert ready.party_keys.authenticate("", at=NOW) is None
    assert ready.party_keys.authenticate(one + "x", at=NOW) is None


def test_a_revoked_key_no_longer_authenticates_even_when_it_was_cached(ready: Container) -> None:
    party_id, key = register(ready)
    assert ready.party_keys.authenticate(key, at=NOW) is not None
    with transaction(ready.sessions) as s:
        record = revoke_party(s, party_id, keys=ready.party_keys, actor="admin", at=NOW + timedelta(minutes=1))
    assert record.revoked_at is not None and record.revoked_by == "admin"
    assert ready.party_keys.authenticate(key, at=NOW + timedelta(minutes=2)) is None
    with pytest.raises(PartyRefused, match="already revoked"), transaction(ready.sessions) as s:
        revoke_party(s, party_id, keys=ready.party_keys, actor="admin", at=NOW)


def test_the_auth_cache_is_short(ready: Container) -> None:
    assert 0 < AUTH_CACHE_SECONDS <= 10


@pytest.mark.parametrize(
    ("purpose", "fields", "rate", "message"),
    [
        (Purpose.RENTAL, ["name", "address"], None, "address"),
        (Purpose.EMPLOYER, ["driving_record"], None, "driving_record"),
        (Purpose.POLICE, ["shoe_size"], None, "unknown field"),
        (Purpose.RENTAL, [], None, "at least one field"),
        (Purpose.RENTAL, None, 0, "between 1 and"),
    ],
)
def test_bad_registrations_are_refused_and_write_nothing(
    ready: Container, purpose: Purpose, fields: list[str] | None, rate: int | None, message: str
) -> None:
    with pytest.raises(PartyRefused, match=message), transaction(ready.sessions) as s:
        register_party(s, name="x", purpose=purpose, fields=fields, rate_per_minute=rate, actor="t", at=NOW)
    assert party_rows(ready) == [] and party_audit(ready) == []


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "x" * 129])
def test_a_bad_name_is_refused(ready: Container, name: str) -> None:
    with pytest.raises(PartyRefused), transaction(ready.sessions) as s:
        register_party(s, name=name, purpose=Purpose.RENTAL, actor="t", at=NOW)


def test_registration_and_revocation_are_audited_without_the_key(ready: Container) -> None:
    party_id, key = register(ready, Purpose.INSURER, fields=["name", "address"])
    with transaction(ready.sessions) as s:
        revoke_party(s, party_id, keys=ready.party_keys, actor="admin", at=NOW)
    added, revoked = party_audit(ready)
    assert (added.subject, added.detail["change"]) == (party_id, "relying_party_added")
    assert added.detail["purpose"] == "insurer"
    assert added.detail["fields"] == ["name", "address"]
    assert (revoked.subject, revoked.detail["change"], revoked.actor) == (party_id, "relying_party_revoked", "admin")
    assert all(key not in str(a.detail) for a in (added, revoked))


def test_list_shows_active_parties_first(ready: Container) -> None:
    gone, _ = register(ready, name="gone")
    register(ready, name="kept")
    with transaction(ready.sessions) as s:
        revoke_party(s, gone, keys=ready.party_keys, actor="t", at=NOW)
    with ready.sessions() as s:
        assert [(p.name, p.active) for p in list_parties(s)] == [("kept", True), ("gone", False)]
        assert [p.name for p in list_parties(s, include_revoked=False)] == ["kept"]


# --- the CLI ---------------------------------------------------------------------------------------------------------


def invoke(container: Container, *args: str) -> tuple[int, str, str]:
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }
    result = CliRunner().invoke(relying_app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_add_prints_the_key_once_and_list_never_shows_it(ready: Container) -> None:
    code, out, err = invoke(
        ready,
        "add",
        "某某保险 理赔部",
        "--purpose",
        "insurer",
        "--fields",
        "name,address",
        "--rate",
        "90",
        "--authority",
        "370000",
    )
    assert code == 0, err
    key = out.strip()
    assert KEY_RE.fullmatch(key), out
    assert "shown only this once" in err and key not in err
    party = ready.party_keys.authenticate(key, at=datetime.now(UTC))
    assert party is not None and party.fields == (Field.NAME, Field.ADDRESS, Field.STATUS)
    assert party.rate_per_minute == 90 and party.scope.codes == frozenset({"370000"})
    code, out, err = invoke(ready, "list")
    assert code == 0, err
    assert "某某保险" in out and party.id in out and "insurer" in out and "370000" in out
    assert key not in out and key[20:30] not in out


def test_cli_revoke_refuses_the_key(ready: Container) -> None:
    _, out, _ = invoke(ready, "add", "desk", "--purpose", "rental", "--all-authorities")
    key = out.strip()
    party = ready.party_keys.authenticate(key, at=datetime.now(UTC))
    assert party is not None
    code, out, err = invoke(ready, "revoke", party.id)
    assert code == 0, err
    assert "revoked the key" in out
    ready.party_keys.clear()
    assert ready.party_keys.authenticate(key, at=datetime.now(UTC)) is None
    assert "revoked" in invoke(ready, "list")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "desk"], "--purpose is required"),
        (["add", "desk", "--purpose", "marketing"], "unknown purpose"),
        (["add", "desk", "--purpose", "rental", "--all-authorities", "--fields", "name,address"], "address"),
        (["add", "desk", "--purpose", "rental", "--all-authorities", "--fields", ","], "--fields is empty"),
        (["add", "desk", "--purpose", "rental", "--all-authorities", "--rate", "0"], "between 1 and"),
        (["add", " ", "--purpose", "rental", "--all-authorities"], "needs a name"),
        (["add", "desk", "--purpose", "police"], "--authority CODE (repeat for several) or --all-authorities"),
        (["add", "desk", "--purpose", "police", "--authority", "3702"], "authority codes are 6 digits"),
        (["add", "desk", "--purpose", "police", "--authority", "370200", "--all-authorities"], "not both"),
        (["revoke", "0" * 32], "no relying party"),
        (["revoke", "nonsense"], "no relying party"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_and_changes_nothing(
    ready: Container, args: list[str], message: str
) -> None:
    code, out, err = invoke(ready, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("edl: error: ") and message in err and err.count("\n") == 1
    assert party_rows(ready) == []


# --- the admin console -----------------------------------------------------------------------------------------------


@pytest.fixture
def admin(ready: Container) -> Iterator[TestClient]:
    with TestClient(create_app(ready), follow_redirects=False) as c:
        sign_in_staff(c, ready, "admin1", role="admin")
        yield c


def add_form(client: TestClient, **form: object) -> httpx.Response:
    response: httpx.Response = client.post("/review/relying-parties", data={"csrf": csrf_of(client, "/review"), **form})
    return response


def test_admin_registers_a_party_and_sees_the_key_once(ready: Container, admin: TestClient) -> None:
    r = add_form(admin, name="某某租车 前台", purpose="rental", rate="")
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers["cache-control"]
    keys = KEY_RE.findall(r.text)
    assert len(set(keys)) == 1
    party = ready.party_keys.authenticate(keys[0], at=NOW)
    assert party is not None and party.name == "某某租车 前台" and party.purpose is Purpose.RENTAL
    listing = admin.get("/review/relying-parties")
    assert listing.status_code == 200 and "某某租车 前台" in listing.text
    assert keys[0] not in listing.text and party.id in listing.text
    (audit,) = party_audit_by(ready, "staff:admin1")
    assert audit.actor_kind == "staff" and audit.detail["change"] == "relying_party_added"


def party_audit_by(container: Container, actor: str) -> list[AuditRow]:
    return [a for a in party_audit(container) if a.actor == actor]


def test_admin_configures_an_insurers_fields(ready: Container, admin: TestClient) -> None:
    r = add_form(admin, name="保险", purpose="insurer", fields=["name", "address"], rate="120")
    key = KEY_RE.findall(r.text)[0]
    party = ready.party_keys.authenticate(key, at=NOW)
    assert party is not None and party.fields == (Field.NAME, Field.ADDRESS, Field.STATUS)
    assert party.rate_per_minute == 120


@pytest.mark.parametrize(
    ("form", "text"),
    [
        ({"name": "x", "purpose": "marketing"}, "请选择用途"),
        ({"name": "x", "purpose": "rental", "fields": ["address"]}, "address"),
        ({"name": "", "purpose": "rental"}, "请填写核验方名称"),
        ({"name": "x", "purpose": "rental", "rate": "lots"}, "正整数"),
    ],
)
def test_admin_bad_input_is_400_with_the_reason_and_changes_nothing(
    ready: Container, admin: TestClient, form: dict[str, object], text: str
) -> None:
    r = add_form(admin, **form)
    assert r.status_code == 400
    assert text in r.text
    assert not KEY_RE.search(r.text)
    assert party_rows(ready) == []


def test_admin_revokes_a_party(ready: Container, admin: TestClient) -> None:
    party_id, key = register(ready)
    r = admin.post(
        f"/review/relying-parties/{party_id}/revoke", data={"csrf": csrf_of(admin, "/review"), "confirm": "yes"}
    )
    assert r.status_code == 303
    ready.party_keys.clear()
    assert ready.party_keys.authenticate(key, at=NOW + timedelta(minutes=1)) is None
    assert "已吊销" in admin.get("/review/relying-parties").text
    again = admin.post(
        f"/review/relying-parties/{party_id}/revoke", data={"csrf": csrf_of(admin, "/review"), "confirm": "yes"}
    )
    assert again.status_code == 400


def test_revoking_without_the_confirmation_box_revokes_nothing(ready: Container, admin: TestClient) -> None:
    party_id, key = register(ready)
    page = admin.get("/review/relying-parties").text
    assert 'name="confirm" value="yes" required' in page, "the revoke form carries a required confirmation box"
    for data in ({}, {"confirm": ""}, {"confirm": "no"}):
        r = admin.post(f"/review/relying-parties/{party_id}/revoke", data={"csrf": csrf_of(admin, "/review"), **data})
        assert r.status_code == 400
        assert "请先勾选“确认吊销”" in r.text
    assert party_rows(ready)[0].revoked_at is None
    ready.party_keys.clear()
    assert ready.party_keys.authenticate(key, at=NOW + timedelta(minutes=1)) is not None, "the key still works"


def test_the_console_refuses_a_post_without_the_csrf_token(ready: Container, admin: TestClient) -> None:
    r = admin.post("/review/relying-parties", data={"name": "x", "purpose": "rental"})
    assert r.status_code == 403
    assert party_rows(ready) == []


@pytest.mark.parametrize("role", ["reviewer", "supervisor"])
def test_only_admins_manage_relying_parties(ready: Container, role: str) -> None:
    party_id, _ = register(ready)
    with TestClient(create_app(ready), follow_redirects=False) as c:
        sign_in_staff(c, ready, f"{role}1", role=role)
        assert c.get("/review/relying-parties").status_code == 403
        token = csrf_of(c, "/review")
        add = c.post("/review/relying-parties", data={"csrf": token, "name": "x", "purpose": "police"})
        assert add.status_code == 403
        assert c.post(f"/review/relying-parties/{party_id}/revoke", data={"csrf": token}).status_code == 403
    assert len(party_rows(ready)) == 1 and party_rows(ready)[0].revoked_at is None


def test_signed_out_the_console_sends_to_sign_in(ready: Container) -> None:
    with TestClient(create_app(ready), follow_redirects=False) as c:
        r = c.get("/review/relying-parties")
        assert r.status_code == 303 and "/review/sign-in" in r.headers["location"]


@pytest.mark.parametrize("rate", ["²", "①", "٣٠", "-1", "1e3"])
def test_a_rate_that_is_not_ascii_digits_is_a_readable_400_not_a_500(
    ready: Container, admin: TestClient, rate: str
) -> None:
    r = add_form(admin, name="某某租车", purpose="rental", rate=rate)
    assert r.status_code == 400
    assert "content-security-policy" in r.headers
