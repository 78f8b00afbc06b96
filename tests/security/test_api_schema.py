"""The relying-party API answers only what its OpenAPI document (`GET /api/v1/openapi.json`) says, on a live server.

A real server (Uvicorn, SQLite in a temp data directory, the demo's keys, synthetic drivers and relying parties,
made by `prepare_demo`) is fuzzed by schemathesis from the document it serves itself: generated and mutated
requests (schemathesis' examples, coverage and fuzzing phases, positive and negative bodies), once with a valid key
and once without one. Every answer must be no 5xx and documented: status code, content type, body schema and
headers. With the key, valid bodies must be answered 200 (or 413, 429) and invalid ones refused (4xx).
Genuine codes and barcodes (valid, suspended, unknown, each purpose) are checked against the same document.

Budget: `WITH_KEY` + `WITHOUT_KEY` fuzzed cases plus the coverage cases, derandomized; `pytest -s` prints the count.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from edl.bootstrap import Container, bootstrap
from edl.cli.demo import prepare_demo
from edl.config import Settings
from edl.db.models import ElicenceRow, LicenceRow
from edl.db.session import transaction
from edl.domain import Status
from edl.issuance.elicences import issue_elicence
from edl.issuance.livecodes import make_live_code
from edl.registry.events import set_status
from edl.verification.parties import register_party
from edl.verification.purposes import Field, Purpose
from edl.web.openapi_rp import DOCUMENT_PATH, relying_party_openapi
from tests.live_server import serving

API = "/api/v1/verifications"
WITH_KEY = 150
WITHOUT_KEY = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
KEYED_CHECKS = [*CHECKS, positive_data_acceptance, negative_data_rejection]


@dataclass
class LiveApi:
    url: str
    container: Container
    keys: dict[str, str]
    """API key per purpose (the demo's parties), and "slow": a party allowed one request per minute."""
    numbers: list[str]
    """Licences with a live e-licence: the first is valid, the second suspended."""
    cases: Counter[str] = field(default_factory=Counter)
    """Requests schemathesis sent, by test and status code."""

    def code(self, number: str) -> str:
        with transaction(self.container.sessions) as s:
            return make_live_code(s, self.container.code_maker, number, at=self.container.clock()).text

    def barcode(self, number: str) -> str:
        with transaction(self.container.sessions) as s:
            return make_live_code(s, self.container.code_maker, number, at=self.container.clock()).barcode

    def elicence_id(self, number: str) -> str:
        with self.container.sessions() as s:
            return str(
                s.scalar(
                    sa.select(ElicenceRow.id).where(
                        ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None)
                    )
                )
            )


def _eligible(container: Container, count: int) -> list[str]:
    with container.sessions() as s:
        rows = s.scalars(
            sa.select(LicenceRow.number)
            .where(LicenceRow.statuses.in_(("A", "H", "I")), LicenceRow.photo_ref.is_not(None))
            .where(sa.or_(LicenceRow.valid_until.is_(None), LicenceRow.valid_until > datetime.now(UTC).date()))
            .order_by(LicenceRow.number)
            .limit(count)
        )
        return list(rows)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    data = tmp_path_factory.mktemp("api-schema") / "data"
    container = bootstrap(
        Settings(data_dir=data, demo=True, rate_limit_per_minute=100_000, log_level="WARNING"), migrate=True
    )
    prepare_demo(container, count=40, seed=2021, echo=lambda _line: None)
    keys = {}
    for line in (data / "demo-parties.txt").read_text(encoding="utf-8").splitlines():
        purpose, key, _name = line.split("\t")
        keys[purpose] = key
    now = container.clock()
    with transaction(container.sessions) as s:
        _party, keys["slow"] = register_party(
            s, name="slow desk", purpose=Purpose.RENTAL, rate_per_minute=1, actor="test", at=now
        )
    numbers = _eligible(container, 3)
    assert len(numbers) == 3, "the demo data has too few eligible drivers"
    for number in numbers:
        issue_elicence(container.sessions, container.issuer, number, actor="test", at=now)
    with transaction(container.sessions) as s:
        set_status(s, numbers[1], Status.SUSPENDED, actor="test", at=now)
    with serving(container) as url:
        live = LiveApi(url, container, keys, numbers)
        yield live
        print(f"\nschemathesis cases: {sum(live.cases.values())}; by test and answer: {sorted(live.cases.items())}")
    container.dispose()


CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"deterministic": True, "mode": "all"},
        # 201: a presentation request made; 404: a well-formed request id that is not this party's
        "checks": {"positive_data_acceptance": {"expected-statuses": ["200", "201", "404", "413", "429"]}},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(relying_party_openapi(), config=CONFIG)
"""The packaged document (the live server serves the same one: `test_the_live_document_is_the_packaged_one`)."""
FUZZ = {"deadline": None, "derandomize": True, "database": None, "suppress_health_check": list(HealthCheck)}


@schema.parametrize()
@settings(max_examples=WITH_KEY, **FUZZ)
def test_with_a_valid_key_every_answer_is_documented(case: Any, live_api: LiveApi) -> None:
    response = case.call_and_validate(
        base_url=live_api.url,
        headers={"Authorization": f"Bearer {live_api.keys['police']}"},
        checks=KEYED_CHECKS,
    )
    live_api.cases[f"with a key: {case.method} {response.status_code}"] += 1


@schema.parametrize()
@settings(max_examples=WITHOUT_KEY, **FUZZ)
def test_without_a_valid_key_every_answer_is_a_documented_refusal(case: Any, live_api: LiveApi) -> None:
    response = case.call_and_validate(base_url=live_api.url, checks=CHECKS)
    live_api.cases[f"without a key: {case.method} {response.status_code}"] += 1
    documented = case.method.lower() in relying_party_openapi()["paths"].get(case.operation.path, {})
    if documented:
        assert response.status_code in (401, 413), response.text
    else:  # the coverage phase also tries the other methods
        assert response.status_code == 405


# --- genuine requests, checked against the same document --------------------------------------------------------


@pytest.fixture(scope="module")
def operation() -> Any:
    return schema[API]["POST"]


def _post(live: LiveApi, operation: Any, body: Any, key: str | None = "police", *, raw: bytes | None = None) -> Any:
    """POST through schemathesis (so the answer is validated against the served document); the response."""
    headers = {"Authorization": f"Bearer {live.keys[key]}"} if key else {}
    if raw is not None:
        response = httpx.post(f"{live.url}{API}", content=raw, headers={**headers, "Content-Type": "application/json"})
        case = operation.Case(body={})
        case.validate_response(response, checks=CHECKS)
        return response
    case = operation.Case(body=body, media_type="application/json")
    return case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)


@pytest.mark.parametrize("purpose", [p.value for p in Purpose])
def test_a_genuine_code_answers_a_documented_valid_result_with_the_purposes_fields(
    live_api: LiveApi, operation: Any, purpose: str
) -> None:
    answer = _post(live_api, operation, {"code": live_api.code(live_api.numbers[0])}, purpose).json()
    assert answer["valid"] is True, answer["errors"]
    assert answer["purpose"] == purpose
    if purpose == Purpose.POLICE:
        assert set(answer["fields"]) == {f.value for f in Field}


def test_a_suspended_licence_and_barcodes_answer_documented_results(live_api: LiveApi, operation: Any) -> None:
    suspended = _post(live_api, operation, {"code": live_api.code(live_api.numbers[1])}).json()
    assert (suspended["valid"], suspended["status"]) == (False, "suspended")
    barcode = _post(live_api, operation, {"barcode": live_api.barcode(live_api.numbers[2])}, "rental").json()
    assert (barcode["valid"], barcode["method"]) == (True, "barcode")
    static = _post(live_api, operation, {"barcode": live_api.elicence_id(live_api.numbers[2]).upper()}).json()
    assert [e["code"] for e in static["errors"]] == ["barcode_static_id"]
    wrong = _post(live_api, operation, {"barcode": "0" * 24}).json()
    assert [e["code"] for e in wrong["errors"]] == ["barcode_invalid"]


def test_refusals_answer_documented_errors(live_api: LiveApi, operation: Any) -> None:
    assert _post(live_api, operation, {"code": "EDL1:x"}, None).json()["error"] == "missing_key"
    live_api.keys["forged"] = "edl_rp_" + "A" * 43
    assert _post(live_api, operation, {"code": "EDL1:x"}, "forged").json()["error"] == "invalid_key"
    assert _post(live_api, operation, {"code": "x" * 9000}).json()["error"] == "too_large"
    assert _post(live_api, operation, None, raw=b"[" * 1000).json()["error"] == "not_json"  # issue 10: was an HTML 500
    first = _post(live_api, operation, {"code": "EDL1:x"}, "slow")
    assert first.status_code == 200
    limited = _post(live_api, operation, {"code": "EDL1:x"}, "slow")
    assert limited.status_code == 429 and int(limited.headers["retry-after"][0]) >= 1


BODIES: list[Any] = [
    {"code": "EDL1:abc"},
    {"barcode": "0" * 32},
    {"code": "EDL1:abc", "barcode": None},
    {"code": None, "barcode": "x"},
    {"code": "  EDL1:abc  "},
    {"code": "x" * 4096},
    {"code": "x" * 4097},
    {"code": ""},
    {"code": " \t\n"},
    {"code": "\u3000"},
    {"code": "\x1c"},
    {"code": "\ufeff"},
    {"code": 1},
    {"code": ["EDL1:abc"]},
    {"code": "a", "barcode": "b"},
    {"code": None},
    {"code": None, "barcode": None},
    {},
    {"code": "a", "extra": 1},
    {"Code": "a"},
    [],
    "EDL1:abc",
    None,
    1,
]


@pytest.mark.parametrize("body", BODIES, ids=[json.dumps(b)[:40] for b in BODIES])
def test_the_request_schema_is_exactly_what_the_server_accepts(live_api: LiveApi, body: Any) -> None:
    """A body is refused with 400 exactly when the document's request schema refuses it."""
    request = relying_party_openapi()
    validator = jsonschema_rs.validator_for(
        {**request["components"]["schemas"]["VerificationRequest"], "components": request["components"]}
    )
    response = httpx.post(
        f"{live_api.url}{API}",
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {live_api.keys['police']}", "Content-Type": "application/json"},
    )
    assert (response.status_code == 400) is (not validator.is_valid(body)), response.text


def test_the_live_document_is_the_packaged_one(live_api: LiveApi) -> None:
    served = httpx.get(f"{live_api.url}{DOCUMENT_PATH}")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(relying_party_openapi()))
