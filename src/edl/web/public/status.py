"""Public endpoints for offline verifiers: the signed status list and the signed trust bundle.

Both are public, signed data (no personal data: a status list holds 2 bits per e-licence index), so any
origin may fetch them (CORS ``*``), as the Token Status List draft recommends.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import PlainTextResponse, Response

from edl.credentials.errors import IssuanceError
from edl.credentials.statuslist import TYP
from edl.credentials.trustbundle import CONTENT_TYPE
from edl.issuance.bundle import TRUST_PATH
from edl.issuance.status import STATUS_LIST_PATH
from edl.pki.errors import PkiError
from edl.web.audience import public
from edl.web.deps import AppServices, get_container

router = APIRouter()

_TRUST_CACHE_SECONDS = 300


def _unavailable(what_zh: str, what_en: str, exc: Exception) -> Response:
    return PlainTextResponse(
        f"{what_zh}暂不可用 / the {what_en} is not available: {exc}",
        status_code=503,
        headers={"Retry-After": "60", "Cache-Control": "no-store"},
    )


@router.get(STATUS_LIST_PATH, dependencies=public())
def status_list(container: AppServices = Depends(get_container)) -> Response:
    """The current Status List Token (CWT), cacheable for its ttl."""
    try:
        token = container.status_list.current_token(at=container.clock())
    except (PkiError, IssuanceError) as exc:
        return _unavailable("状态列表", "status list", exc)
    ttl = container.settings.status_list_ttl_seconds
    return Response(
        token,
        media_type=TYP,
        headers={"Cache-Control": f"public, max-age={ttl}", "Access-Control-Allow-Origin": "*"},
    )


@router.get(TRUST_PATH, dependencies=public())
def trust_bundle(container: AppServices = Depends(get_container)) -> Response:
    """The signed trust bundle: root, document-signer certificates and the status-list location."""
    try:
        bundle = container.trust_bundle.current(at=container.clock())
    except (PkiError, IssuanceError) as exc:
        return _unavailable("信任列表", "trust bundle", exc)
    return Response(
        bundle,
        media_type=CONTENT_TYPE,
        headers={
            "Cache-Control": f"public, max-age={_TRUST_CACHE_SECONDS}",
            "Access-Control-Allow-Origin": "*",
        },
    )
