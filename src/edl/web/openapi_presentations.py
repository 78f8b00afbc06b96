"""The presentation-request operations of the relying-party OpenAPI document (issue 15; docs/openid4vp.md).

Merged into `edl.web.openapi_rp.relying_party_openapi`: the two operations, their request and answer schemas and
their refusals. The result of an answered request is the verification result with a `presentation` section.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from edl.credentials.openid4vp import RESPONSE_MODES
from edl.verification.presentations import ANSWERED, DECLINED, EXPIRED, PENDING, REFUSED

PATH: Final = "/api/v1/presentation-requests"
ITEM_PATH: Final = PATH + "/{request_id}"
STATES: Final = (PENDING, ANSWERED, DECLINED, REFUSED, EXPIRED)
PRESENTATION_REFUSALS: Final[dict[int, tuple[str, ...]]] = {400: ("invalid_request",), 404: ("not_found",)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def presentation_schemas(schemas: dict[str, Any]) -> dict[str, Any]:
    """The schemas the operations use, built beside `schemas` (the verification ones, which they extend)."""
    result = copy.deepcopy(schemas["VerificationResult"])
    result["description"] = "The verified presentation judged against the live registry, like a verification."
    result["required"] = [*result["required"], "presentation"]
    result["properties"]["presentation"] = {
        "type": "object",
        "required": ["format", "doctype", "holder_binding", "signer", "response_mode"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": "mso_mdoc"},
            "doctype": {"const": "org.iso.18013.5.1.mDL"},
            "holder_binding": {"const": "verified"},
            "signer": {"type": ["object", "null"]},
            "response_mode": {"type": "string", "enum": list(RESPONSE_MODES)},
        },
    }
    element = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}], "minItems": 2, "maxItems": 2}
    return {
        "PresentationRequestCreate": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "response_mode": {
                    "type": "string",
                    "enum": list(RESPONSE_MODES),
                    "description": "direct_post.jwt (default): the wallet encrypts its answer to the request's key",
                }
            },
        },
        "PresentationResult": result,
        "PresentationDeclined": {
            "type": "object",
            "required": ["declined"],
            "additionalProperties": False,
            "properties": {"declined": {"type": "string", "description": "the wallet's OAuth error code"}},
        },
        "PresentationClosed": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        },
        "PresentationRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "id",
                "state",
                "purpose",
                "client_id",
                "request_uri",
                "authorization_request_uri",
                "app_uri",
                "response_mode",
                "requested_elements",
                "created_at",
                "expires_at",
                "answered_at",
                "result",
            ],
            "properties": {
                "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "state": {"type": "string", "enum": list(STATES)},
                "purpose": {"type": "string"},
                "client_id": {"type": "string", "description": "redirect_uri:<response_uri>"},
                "request_uri": {"type": "string", "format": "uri"},
                "authorization_request_uri": {
                    "type": "string",
                    "description": "openid4vp://?client_id=…&request_uri=… (for a standard wallet: a QR code)",
                },
                "app_uri": {"type": "string", "format": "uri", "description": "opens eDL's driver app"},
                "response_mode": {"type": "string", "enum": list(RESPONSE_MODES)},
                "requested_elements": {"type": "array", "items": element},
                "created_at": {"type": "string", "format": "date-time"},
                "expires_at": {"type": "string", "format": "date-time"},
                "answered_at": {"type": ["string", "null"], "format": "date-time"},
                "result": {
                    "oneOf": [
                        {"type": "null"},
                        _ref("PresentationResult"),
                        _ref("PresentationDeclined"),
                        _ref("PresentationClosed"),
                    ]
                },
            },
        },
    }


def presentation_paths(answer: Any, common: dict[str, Any]) -> dict[str, Any]:
    """The two operations; `answer(description, schema, headers)` builds a response, `common` holds the shared
    refusals (401, 413, 429, 503) of the verification operation."""
    limits = {"RateLimit-Limit": True, "RateLimit-Remaining": True}
    refusals = {k: v for k, v in common.items() if k in ("401", "429", "503")}
    return {
        PATH: {
            "post": {
                "operationId": "createPresentationRequest",
                "summary": "Ask a driver to present the e-licence (OpenID4VP 1.0, DCQL, mso_mdoc)",
                "security": [{"bearerKey": []}],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("PresentationRequestCreate")}},
                },
                "responses": {
                    "201": answer(
                        "the request: show `app_uri` or `authorization_request_uri` as a QR code or link",
                        "PresentationRequest",
                        {"Cache-Control": True, **limits},
                    ),
                    "400": answer(
                        'the body is not {"response_mode": …} (invalid_request)',
                        "ErrorPresentation400",
                        {"Cache-Control": True, "RateLimit-Limit": False, "RateLimit-Remaining": False},
                    ),
                    "413": answer(
                        "the body is larger than 1,024 bytes (too_large)", "Error413", {"Cache-Control": True}
                    ),
                    **refusals,
                },
            }
        },
        ITEM_PATH: {
            "get": {
                "operationId": "getPresentationRequest",
                "summary": "The party's own request: its state and, once answered, the verified result",
                "security": [{"bearerKey": []}],
                "parameters": [{"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": answer("the request", "PresentationRequest", {"Cache-Control": True, **limits}),
                    "404": answer(
                        "no such request of this party (not_found)",
                        "ErrorPresentation404",
                        {"Cache-Control": True, "RateLimit-Limit": False, "RateLimit-Remaining": False},
                    ),
                    **refusals,
                },
            }
        },
    }
