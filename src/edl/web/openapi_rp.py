"""The OpenAPI 3.1 document of the relying-party API (`POST /api/v1/verifications`), served at
`GET /api/v1/openapi.json`.

Written by hand (FastAPI's generated document would describe a handler that takes a raw `Request`), but every
enumeration and limit comes from the code that answers: error codes from `ErrorCode`, purposes and fields from
`edl.verification.purposes`, limits and refusal codes from `edl.web.verifier.api`. The live server is checked
against this document by schemathesis (tests/security/test_api_schema.py); docs/verification-api.md explains it in
words.
"""

from __future__ import annotations

from typing import Any, Final

from edl.credentials.barcode import LENGTH as BARCODE_LENGTH
from edl.credentials.errors import ErrorCode
from edl.domain.classes import VehicleClass
from edl.domain.credential_status import CredentialStatus
from edl.domain.glossary import GLOSSARY
from edl.verification.purposes import Field, Purpose
from edl.verification.result import (
    DEVICE_NOT_CURRENT,
    ELICENCE_NOT_FOUND,
    METHOD_BARCODE,
    METHOD_CODE,
    METHOD_OPENID4VP,
    OUTSIDE_SCOPE,
)
from edl.web.openapi_presentations import PRESENTATION_REFUSALS, presentation_paths, presentation_schemas
from edl.web.verifier.api import MAX_BODY, MAX_TEXT, PATH

DOCUMENT_PATH: Final = "/api/v1/openapi.json"
VERSION: Final = "1.0.0"

REFUSALS: Final[dict[int, tuple[str, ...]]] = {
    400: ("not_json", "one_of", "unknown_keys", "not_text"),
    401: ("missing_key", "invalid_key"),
    413: ("too_large",),
    429: ("rate_limited",),
    503: ("unavailable",),
}
"""The `error` codes each refusal status may carry (every key of `api_verify.MESSAGES` appears once)."""

RESULT_ERROR_CODES: Final[tuple[str, ...]] = (
    *(c.value for c in ErrorCode),
    ELICENCE_NOT_FOUND,
    OUTSIDE_SCOPE,
    DEVICE_NOT_CURRENT.code,
)
"""What `errors[].code` of a 200 answer may be: the credential error codes, the registry's own and the scope's, and
(for an OpenID4VP presentation) a device key that is no longer the e-licence's."""

PYTHON_WHITESPACE: Final = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
"""The characters Python's `str.strip()` removes (`str.isspace`), as a regular-expression class body: a code or
barcode of these alone is refused as empty."""


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def _date(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date", "description": description}


def _text_value(what: str) -> dict[str, Any]:
    return {
        "type": ["string", "null"],
        "minLength": 1,
        "maxLength": MAX_TEXT,
        "pattern": f"[^{PYTHON_WHITESPACE}]",
        "description": f"{what}: a string of 1 to {MAX_TEXT} characters, not only whitespace (leading and trailing "
        "whitespace is ignored). `null` counts as absent.",
    }


def _request_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": 'Exactly one of `code` and `barcode` as a string; no other keys. For example `{"code": '
        '"EDL1:6BF..."}` or `{"barcode": "000000421712345678901234"}`.',
        "properties": {
            "code": _text_value("the 亮码 as read from the QR code (`EDL1:` + Base45)"),
            "barcode": _text_value(
                f"the short-lived number under the Code 128 barcode ({BARCODE_LENGTH} decimal digits; spaces and "
                "dashes are ignored). It is accepted in its own time step and the next only: an older one is "
                "answered 200 with error `barcode_expired`, a wrong one `barcode_invalid`, the fixed 32-hex "
                "e-licence id `barcode_static_id`, any other text `malformed`"
            ),
        },
        "additionalProperties": False,
        "oneOf": [
            {"required": ["code"], "properties": {"code": {"type": "string"}, "barcode": {"type": "null"}}},
            {"required": ["barcode"], "properties": {"barcode": {"type": "string"}, "code": {"type": "null"}}},
        ],
    }


def _title(f: Field) -> str:
    """The field's name on the pages (edl.domain.glossary): '姓名 / Name'."""
    zh, en = GLOSSARY[f.value]
    return f"{zh} / {en}"


def _field_schemas() -> dict[Field, Any]:
    """One schema per `Field`; `test_openapi_rp` checks that every field has one."""
    return {
        Field.NAME: {"type": "string", "description": "the holder's name as in the registry"},
        Field.PHOTO: _nullable(_ref("Photo")),
        Field.SEX: _ref("Sex"),
        Field.NATIONALITY: {"type": "string", "description": 'ISO 3166 alpha-3, e.g. "CHN"'},
        Field.BIRTH_DATE: _date("date of birth"),
        Field.ADDRESS: {"type": "string"},
        Field.LICENCE_NUMBER: {"type": "string"},
        Field.FILE_NUMBER: {"type": "string"},
        Field.CLASSES: {
            "type": "array",
            "items": {"type": "string", "enum": [c.value for c in VehicleClass]},
            "description": 'vehicle classes, e.g. ["A2", "D"]',
        },
        Field.FIRST_ISSUE: _date("first issue of a licence"),
        Field.VALID_FROM: _date("start of the licence's validity"),
        Field.VALID_UNTIL: {"type": ["string", "null"], "format": "date", "description": "`null` for 长期 (long-term)"},
        Field.ISSUING_AUTHORITY: _ref("IssuingAuthority"),
        Field.STATUS: {"type": "string", "enum": [s.value for s in CredentialStatus]},
        Field.POINTS: {"type": "integer", "description": "points in the current 12-month cycle (12 = the limit)"},
        Field.DRIVING_RECORD: {"type": "array", "items": _ref("RecordEntry")},
    }


def _schemas() -> dict[str, Any]:
    statuses = [s.value for s in CredentialStatus]
    return {
        "VerificationRequest": _request_schema(),
        "VerificationResult": {
            "type": "object",
            "description": "Every call that reaches verification answers 200, valid or not.",
            "required": [
                "valid",
                "status",
                "registry_status",
                "purpose",
                "method",
                "fields",
                "errors",
                "warnings",
                "checked_at",
                "code_expires_at",
                "verification_id",
            ],
            "additionalProperties": False,
            "properties": {
                "valid": {
                    "type": "boolean",
                    "description": "true only when the code verified and the live status is `valid` (or `unknown` "
                    "under a purpose whose policy is warn, with a warning)",
                },
                "status": {"type": "string", "enum": statuses},
                "registry_status": _nullable(_ref("RegistryStatus")),
                "purpose": {"type": "string", "enum": [p.value for p in Purpose]},
                "method": {"type": "string", "enum": [METHOD_CODE, METHOD_BARCODE, METHOD_OPENID4VP]},
                "fields": _ref("Fields"),
                "errors": {"type": "array", "items": _ref("Problem")},
                "warnings": {"type": "array", "items": {"type": "string"}},
                "checked_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "UTC, e.g. 2026-11-25T02:00:40Z",
                },
                "code_expires_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "the code's `exp` (UTC); `null` for a barcode or a refused code",
                },
                "verification_id": {"type": "integer", "description": "the row in the verification log"},
            },
        },
        "Fields": {
            "type": "object",
            "description": "Only the fields the party's purpose (or its configured list) allows; `{}` when the "
            "e-licence was not identified. police: all; rental: name, photo, classes, valid_from, valid_until, "
            "status; employer: rental's + points; insurer: configured per party.",
            "properties": {f.value: {"title": _title(f), **schema} for f, schema in _field_schemas().items()},
            "additionalProperties": False,
        },
        "Photo": {
            "type": "object",
            "required": ["media_type", "data"],
            "additionalProperties": False,
            "properties": {
                "media_type": {
                    "type": "string",
                    "enum": ["image/jpeg", "image/png", "image/webp", "application/octet-stream"],
                },
                "data": {"type": "string", "contentEncoding": "base64", "description": "the portrait, Base64"},
            },
        },
        "Sex": {
            "type": "object",
            "required": ["code", "zh", "en"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "integer", "description": "1 male, 2 female"},
                "zh": {"type": "string"},
                "en": {"type": "string"},
            },
        },
        "IssuingAuthority": {
            "type": "object",
            "required": ["code", "name", "city"],
            "additionalProperties": False,
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "city": {"type": "string"}},
        },
        "RecordEntry": {
            "type": "object",
            "required": ["on", "kind", "description", "points"],
            "additionalProperties": False,
            "properties": {
                "on": {"type": "string", "format": "date"},
                "kind": {"type": "string"},
                "description": {"type": "string"},
                "points": {"type": "integer"},
            },
        },
        "RegistryStatus": {
            "type": "object",
            "description": "the registry's facts behind `status`",
            "required": [
                "codes",
                "statuses",
                "zh",
                "en",
                "licence_valid_until",
                "elicence_voided",
                "void_reason",
                "credential_status",
            ],
            "additionalProperties": False,
            "properties": {
                "codes": {"type": "string", "description": 'status codes run together, e.g. "DH"'},
                "statuses": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "zh", "en"],
                        "additionalProperties": False,
                        "properties": {"code": {"type": "string"}, "zh": {"type": "string"}, "en": {"type": "string"}},
                    },
                },
                "zh": {"type": "string"},
                "en": {"type": "string"},
                "licence_valid_until": {"type": ["string", "null"], "format": "date"},
                "elicence_voided": {"type": "boolean"},
                "void_reason": {"type": ["string", "null"]},
                "credential_status": {"type": "string", "enum": statuses},
            },
        },
        "Problem": {
            "type": "object",
            "description": "why a result is not valid; the message is '中文 / English'",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "enum": list(RESULT_ERROR_CODES)},
                "message": {"type": "string"},
            },
        },
        **{f"Error{status}": _error_schema(codes) for status, codes in REFUSALS.items()},
        **{f"ErrorPresentation{status}": _error_schema(codes) for status, codes in PRESENTATION_REFUSALS.items()},
    }


def _error_schema(codes: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "message"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", "enum": list(codes)},
            "message": {"type": "string", "description": "'中文 / English'"},
        },
    }


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "schema": schema}


def _headers() -> dict[str, dict[str, Any]]:
    return {
        "Cache-Control": _header("every answer: never cached", {"type": "string", "const": "no-store"}),
        "RateLimit-Limit": _header("the key's limit, requests per minute", {"type": "integer", "minimum": 1}),
        "RateLimit-Remaining": _header("requests left now", {"type": "integer", "minimum": 0}),
        "Retry-After": _header("seconds to wait before retrying", {"type": "integer", "minimum": 1}),
        "WWW-Authenticate": _header(
            'Bearer realm="edl" (no key), or with error="invalid_token" (an unknown or revoked key)',
            {"type": "string", "pattern": "^Bearer "},
        ),
    }


def _answer(description: str, schema: str, headers: dict[str, bool]) -> dict[str, Any]:
    """A response: JSON `schema`, and the named headers of `_headers()` (name → required)."""
    known = _headers()
    return {
        "description": description,
        "headers": {name: {**known[name], "required": required} for name, required in headers.items()},
        "content": {"application/json": {"schema": _ref(schema)}},
    }


def _responses() -> dict[str, Any]:
    limits = {"RateLimit-Limit": True, "RateLimit-Remaining": True}
    return {
        "200": _answer(
            "the verification result, valid or not", "VerificationResult", {"Cache-Control": True, **limits}
        ),
        "400": _answer(
            "the body is not a JSON object with exactly one of `code` / `barcode` as a non-empty string of at most "
            f"{MAX_TEXT} characters (not_json, one_of, unknown_keys, not_text)",
            "Error400",
            {"Cache-Control": True, "RateLimit-Limit": False, "RateLimit-Remaining": False},
        ),
        "401": _answer(
            "no `Authorization: Bearer` key (missing_key), or an unknown or revoked one (invalid_key)",
            "Error401",
            {"Cache-Control": True, "WWW-Authenticate": True},
        ),
        "413": _answer(f"the body is larger than {MAX_BODY} bytes (too_large)", "Error413", {"Cache-Control": True}),
        "429": _answer(
            "over the key's limit (rate_limited); retry after `Retry-After` seconds",
            "Error429",
            {"Cache-Control": True, "Retry-After": True, **limits},
        ),
        "503": _answer(
            "the database or the shared rate limiter cannot be reached (unavailable)",
            "Error503",
            {"Cache-Control": True, "Retry-After": True},
        ),
    }


def relying_party_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the relying-party API (a new dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "eDL relying-party API (电子驾驶证在线核验接口)",
            "version": VERSION,
            "description": "Online verification of a 亮码 or a licence barcode against the live registry, and "
            "OpenID4VP presentation requests (docs/openid4vp.md), by a registered relying party with its API key. "
            "The key is checked first (401), then the key's rate limit "
            "(429), then the body (400); a body over the size cap is 413. See docs/verification-api.md.",
        },
        "paths": {
            PATH: {
                "post": {
                    "operationId": "createVerification",
                    "summary": "Verify a 亮码 or a barcode for the calling relying party",
                    "security": [{"bearerKey": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("VerificationRequest")}},
                    },
                    "responses": _responses(),
                }
            },
            **presentation_paths(_answer, _responses()),
        },
        "components": {
            "securitySchemes": {
                "bearerKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the party's API key: `edl_rp_` and 43 URL-safe Base64 characters",
                }
            },
            "schemas": {**(schemas := _schemas()), **presentation_schemas(schemas)},
        },
    }


__all__ = ["DOCUMENT_PATH", "REFUSALS", "RESULT_ERROR_CODES", "relying_party_openapi"]
