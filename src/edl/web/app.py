"""The web application factory. Nothing is built at import time: `create_app(container)` wires everything.

The app keeps no state between requests apart from what is safe to lose (metrics of this process, the
placeholder image and static-file hashes read at start), so any number of `edl serve` processes can run
behind a load balancer against one PostgreSQL.
"""

from __future__ import annotations

import hashlib

import structlog
from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from edl.bootstrap import Container
from edl.web.bodylimit import BodyLimitMiddleware
from edl.web.compression import CompressionMiddleware
from edl.web.errors import install_error_handlers
from edl.web.holder import checks as holder_checks
from edl.web.holder import credential_offer as holder_credential_offer
from edl.web.holder import inbox
from edl.web.holder import pages as holder
from edl.web.holder import sign_in as holder_sign_in
from edl.web.holder import wallet as holder_wallet
from edl.web.holder.common import MULTIPART_SLACK
from edl.web.observability import ObservabilityMiddleware, RequestMetrics, configure_logging
from edl.web.openid4vci import router as openid4vci_router
from edl.web.party_auth import install_party_handlers
from edl.web.public import api_docs, health, landing, language, status
from edl.web.rendering import STATIC_DIR, Pages
from edl.web.security import SecurityHeadersMiddleware
from edl.web.sign_in_handlers import install_auth_handlers
from edl.web.staff import accounts as staff_accounts
from edl.web.staff import parties as parties_admin
from edl.web.staff import registry, review
from edl.web.staff import sanctions as staff_sanctions
from edl.web.verifier import api as api_verify
from edl.web.verifier import pages as verifier
from edl.web.verifier import present_pages, presentations
from edl.web.verifier.fastlane import VerificationFastLane

PLACEHOLDER_PORTRAIT = "portrait-placeholder.svg"
UPLOAD_PATHS = ("/app/apply/photo", "/app/bind", "/app/verify-face", "/verify/upload")
"""The routes that take a photo upload (multipart, up to EDL_MAX_UPLOAD_BYTES); every other body is capped small."""


def create_app(container: Container) -> FastAPI:
    """Build the eDL web app around `container` (kept on `app.state.container`; the caller disposes of it)."""
    if not structlog.is_configured():
        configure_logging(container.settings.log_level)
    app = FastAPI(
        title="eDL",
        summary="电子驾驶证 registry browser and operations endpoints",
        docs_url=None,  # the interactive docs load scripts from a CDN; we serve none
        redoc_url=None,
        openapi_url=None,
    )
    placeholder = (STATIC_DIR / PLACEHOLDER_PORTRAIT).read_bytes()
    app.state.container = container
    app.state.pages = Pages(container.clock)
    app.state.metrics = RequestMetrics()
    app.state.placeholder = placeholder
    app.state.placeholder_etag = f'"placeholder-{hashlib.sha256(placeholder).hexdigest()[:16]}"'

    # The throughput paths first: Starlette tries the routers in this order, and each router passed over costs a
    # regex match per route (about 110 µs per verification when the API came eleventh; bench/verify.py).
    app.include_router(api_verify.router)
    app.include_router(presentations.router)
    api_verify.install_close(app)
    app.include_router(health.router)
    app.include_router(status.router)
    app.include_router(landing.router)
    app.include_router(registry.router)
    app.include_router(staff_accounts.router)
    app.include_router(holder_sign_in.router)
    app.include_router(inbox.router)
    app.include_router(holder.router)
    app.include_router(holder_wallet.router)
    app.include_router(review.router)
    app.include_router(staff_sanctions.router)
    app.include_router(api_docs.router)
    app.include_router(parties_admin.router)
    app.include_router(holder_checks.router)
    app.include_router(verifier.router)
    app.include_router(present_pages.router)
    app.include_router(language.router)
    app.include_router(openid4vci_router)
    app.include_router(holder_credential_offer.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    install_party_handlers(app)
    install_auth_handlers(app)
    # Last added runs first: observability sees every response, including the security headers.
    upload_limit = container.settings.max_upload_bytes + MULTIPART_SLACK
    app.add_middleware(
        BodyLimitMiddleware,
        limits=dict.fromkeys(UPLOAD_PATHS, upload_limit),
        prefixes={"/openid4vp/responses/": presentations.MAX_RESPONSE_BODY},
    )
    app.add_middleware(CompressionMiddleware)  # outside the CSRF cookie middleware: sees the token it sets
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    if container.settings.api_fast_lane:  # outermost: the API's POST is answered before the page middlewares
        app.add_middleware(VerificationFastLane, metrics=app.state.metrics)
    return app
