"""The relying-party API's OpenAPI document: valid OpenAPI 3.1, served in public, and describing exactly what the
handler accepts and answers (its request schema against `api_verify.parse_body`, its codes against the code's)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edl.credentials.errors import ErrorCode
from edl.verification import lookup, online, result
from edl.verification.purposes import Field, Purpose
from edl.verification.result import ELICENCE_NOT_FOUND, OUTSIDE_SCOPE, Problem
from edl.web.openapi_rp import DOCUMENT_PATH, REFUSALS, RESULT_ERROR_CODES, relying_party_openapi
from edl.web.public import api_docs
from edl.web.verifier.api import MAX_TEXT, MESSAGES, PATH, parse_body


def _schema(name: str) -> dict[str, Any]:
    doc = relying_party_openapi()
    return {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}


def test_the_document_is_valid_openapi_3_1_and_its_schemas_valid_json_schema() -> None:
    doc = relying_party_openapi()
    assert doc["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(doc).validate()  # against the OpenAPI 3.1 meta-schema
    for name, schema in doc["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name
    assert json.loads(json.dumps(doc)) == doc  # plain JSON, no enum members or tuples left


def test_the_document_is_served_in_public_as_json() -> None:
    app = FastAPI()
    app.include_router(api_docs.router)
    answer = TestClient(app).get(DOCUMENT_PATH)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == json.loads(json.dumps(relying_party_openapi()))
    assert list(answer.json()["paths"]) == [
        PATH,
        "/api/v1/presentation-requests",
        "/api/v1/presentation-requests/{request_id}",
    ]


def test_every_refusal_code_of_the_handler_is_documented_under_one_status() -> None:
    documented = [code for codes in REFUSALS.values() for code in codes]
    assert sorted(documented) == sorted(MESSAGES)
    responses = relying_party_openapi()["paths"][PATH]["post"]["responses"]
    assert set(responses) == {"200", *(str(s) for s in REFUSALS)}


def test_result_enumerations_are_the_codes_own() -> None:
    doc = relying_party_openapi()["components"]["schemas"]
    assert set(RESULT_ERROR_CODES) == {c.value for c in ErrorCode} | {
        ELICENCE_NOT_FOUND,
        OUTSIDE_SCOPE,
        "device_key_not_current",
    }
    assert doc["Problem"]["properties"]["code"]["enum"] == list(RESULT_ERROR_CODES)
    assert set(doc["Fields"]["properties"]) == {f.value for f in Field}
    assert doc["VerificationResult"]["properties"]["purpose"]["enum"] == [p.value for p in Purpose]


def test_the_barcode_refusals_are_documented_result_codes() -> None:
    """An expired, a wrong and a static barcode each have their own documented `errors[].code`."""
    enum = relying_party_openapi()["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert {"barcode_expired", "barcode_invalid", "barcode_static_id"} <= set(enum)
    described = relying_party_openapi()["components"]["schemas"]["VerificationRequest"]["properties"]["barcode"]
    assert "barcode_expired" in described["description"]


def test_every_problem_online_verification_keeps_is_documented() -> None:
    """The `Problem`s online verification keeps (alone or in a table, in any of its modules) have documented
    codes."""
    names = [n for module in (online, lookup, result) for n in vars(module).values()]
    kept = [v for v in names if isinstance(v, Problem)]
    kept += [v for table in names if isinstance(table, dict) for v in table.values()]
    codes = {p.code for p in kept if isinstance(p, Problem)}
    assert OUTSIDE_SCOPE in codes
    assert codes <= set(RESULT_ERROR_CODES)


def test_a_documented_result_validates_and_an_extra_key_does_not() -> None:
    result = {
        "valid": True,
        "status": "valid",
        "registry_status": None,
        "purpose": "rental",
        "method": "code",
        "fields": {"name": "张伟", "photo": None, "classes": ["C1"], "valid_until": None, "status": "valid"},
        "errors": [],
        "warnings": [],
        "checked_at": "2026-11-25T02:00:40Z",
        "code_expires_at": "2026-11-25T02:03:00Z",
        "verification_id": 1,
    }
    validator = jsonschema_rs.validator_for(_schema("VerificationResult"))
    assert validator.is_valid(result)
    assert not validator.is_valid({**result, "licence_number": "x"})
    assert not validator.is_valid({**result, "fields": {"secret": 1}})


REQUEST = jsonschema_rs.validator_for(_schema("VerificationRequest"))
_TEXT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", " ", "\t\n", "\u3000", "\x1c", "\x85", "\ufeff", "\u200b", " x ", "EDL1:ABC"]),
    st.integers(MAX_TEXT - 2, MAX_TEXT + 2).map(lambda n: "x" * n),
    st.integers(MAX_TEXT - 1, MAX_TEXT + 1).map(lambda n: " " * n + "x"),
)
_VALUES = st.one_of(_TEXT, st.none(), st.integers(), st.booleans(), st.lists(st.text(max_size=3), max_size=2))
_BODIES = st.one_of(
    st.fixed_dictionaries({}, optional={"code": _VALUES, "barcode": _VALUES}),
    st.dictionaries(st.sampled_from(["code", "barcode", "Code", "extra", ""]), _VALUES, max_size=3),
    _VALUES,
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(body=_BODIES)
@example(body={"code": "\x1c\x1d"})  # whitespace to Python's strip(), not to a JSON Schema `\s`
@example(body={"code": "\ufeff"})  # the other way round
@example(body={"code": None, "barcode": "x"})
def test_the_request_schema_accepts_exactly_what_the_handler_accepts(body: Any) -> None:
    handler_accepts = isinstance(parse_body(json.dumps(body).encode()), tuple)
    assert REQUEST.is_valid(body) is handler_accepts
