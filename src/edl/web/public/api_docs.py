"""`GET /api/v1/openapi.json`: the relying-party API's OpenAPI 3.1 document (`edl.web.openapi_rp`), public."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from edl.web.audience import public
from edl.web.openapi_rp import DOCUMENT_PATH, relying_party_openapi

router = APIRouter(tags=["api"])


@router.get(DOCUMENT_PATH, name="api_openapi", dependencies=public())
def openapi_document() -> JSONResponse:
    """The document that describes `POST /api/v1/verifications`: request body, every answer, errors, headers."""
    return JSONResponse(
        relying_party_openapi(),
        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
    )
