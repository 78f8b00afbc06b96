"""Applying for the e-licence (申领) and tracking applications (办理进度).

Case a: the registry's compliant stored photo, issued at once. Case b: a camera photo or an album ID photo, checked
automatically, then reviewed within one working day. Each apply form carries an idempotency key, and the apply pages
send a holder whose real-person authentication is not fresh to /app/verify-face first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.applications.errors import ApplicationRefused
from edl.applications.photo_rules import PhotoRejected
from edl.applications.service import Overview
from edl.domain import DomainError
from edl.domain.application import PhotoSource
from edl.storage.photos import PhotoNotFound
from edl.web.audience import driver
from edl.web.auth_deps import HolderSession, current_holder, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.holder.common import (
    UploadTooLarge,
    application_view,
    client_of,
    form_text,
    json_error,
    new_idempotency_key,
    read_upload_form,
    redirect,
    retry_later,
    too_large_text,
    upload_bytes,
    wants_json,
)
from edl.web.holder.home import app_url, page_context
from edl.web.i18n import Translator, negotiate
from edl.web.rendering import Pages
from edl.web.staff.registry import image_type
from edl.worker_pool import PoolBusy

router = APIRouter(tags=["holder"])

PHOTO_CACHE = "private, max-age=300"
"""The holder's own photo: the browser may keep it briefly, shared caches never."""
REVIEWED_SOURCES = {PhotoSource.CAMERA.value: PhotoSource.CAMERA, PhotoSource.ALBUM.value: PhotoSource.ALBUM}
FACE_REQUIRED = "face_check_required"


def verify_first(request: Request, next_path: str) -> RedirectResponse:
    """Off to real-person authentication, coming back to `next_path` afterwards."""
    return RedirectResponse(app_url(request, f"/app/verify-face?next={quote(next_path, safe='/?=&')}"), 303)


def _blocked(ov: Overview, t: Translator, *, stored: bool) -> list[str]:
    """Why this holder may not apply now (empty: they may), in plain words."""
    if ov.licence is None:
        return [t("holder.no_licence")]
    if ov.eligibility is not None and not ov.eligibility.eligible:
        return [t.pick(zh, en) for _c, zh, en in ov.eligibility.reasons]
    if ov.sanction is not None:  # issue 16: stopped; the reason, the term and the way to appeal
        notice = ov.sanction.notice
        return [t.pick(notice.zh, notice.en)]
    if ov.pending is not None:
        return [t("holder.apply_pending")]
    if stored and not ov.stored_photo_usable:
        return [t("holder.stored_unusable")]
    return []


def _common(request: Request, holder: HolderSession, ov: Overview) -> dict[str, Any]:
    return {
        **page_context(request, holder.account_id),
        "pending": application_view(request, ov.pending, Translator(negotiate(request))) if ov.pending else None,
        "photo_change": ov.elicence is not None,
        "home_url": app_url(request, "/app"),
        "error": "",
    }


# --- case a: the stored photo --------------------------------------------------------------------------------------


def _stored_page(
    request: Request, holder: HolderSession, container: AppServices, pages: Pages, *, error: str = "", status: int = 200
) -> Response:
    t = Translator(negotiate(request))
    ov = container.applications.overview(holder.account_id, at=container.clock())
    if not ov.bound:
        return RedirectResponse(app_url(request, "/app"), 303)
    blocked = _blocked(ov, t, stored=True)
    if not blocked and not ov.face_check_fresh:
        return verify_first(request, "/app/apply/stored")
    ctx = {
        **_common(request, holder, ov),
        "blocked": blocked,
        "action": app_url(request, "/app/apply/stored"),
        "photo_url": app_url(request, "/app/apply/stored/photo"),
        "key": new_idempotency_key(),
        "error": error,
    }
    return pages.render(request, "holder/apply_stored.html", ctx, status_code=status)


@router.get("/app/apply/stored", name="holder_apply_stored_page", dependencies=driver())
def apply_stored_page(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Case a: show the stored photo and ask the holder to confirm (after a fresh real-person authentication)."""
    return _stored_page(request, holder, container, pages)


@router.post("/app/apply/stored", name="holder_apply_stored", dependencies=[*driver(), Depends(require_csrf)])
def apply_stored(
    request: Request,
    idempotency_key: str = Form("", max_length=64),
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Case a: the e-licence is issued at once; then the success page with a link to it."""
    t = Translator(negotiate(request))
    try:
        app = container.applications.apply_with_stored_photo(
            holder.account_id,
            idempotency_key=idempotency_key,
            at=container.clock(),
            client=client_of(request),
        )
    except ApplicationRefused as exc:
        if exc.code == FACE_REQUIRED:
            return verify_first(request, "/app/apply/stored")
        return _stored_page(request, holder, container, pages, error=localise(str(exc), t.lang), status=400)
    return RedirectResponse(app_url(request, f"/app/applications/{app.id}?done=1"), 303)


@router.get("/app/apply/stored/photo", name="holder_stored_photo", dependencies=driver())
def stored_photo(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """The registry's stored photo of the holder's own licence (what case a would use)."""
    ov = container.applications.overview(holder.account_id, at=container.clock())
    ref = ov.licence.photo_ref if ov.licence else None
    return photo_response(request, container, ref)


def photo_response(request: Request, container: AppServices, ref: str | None) -> Response:
    """A stored photo with private cache headers and its SHA-256 as ETag; 404 when there is none."""
    if not ref:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    try:
        data = container.photos.get(ref)
    except PhotoNotFound:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    headers = {"ETag": f'"{ref}"', "Cache-Control": PHOTO_CACHE, "Vary": "Cookie"}
    sent = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if headers["ETag"] in sent:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=image_type(data), headers=headers)


# --- case b: a camera photo or an album ID photo ----------------------------------------------------------------------


def _source(value: str | None) -> PhotoSource:
    return REVIEWED_SOURCES.get(value or "", PhotoSource.CAMERA)


def _photo_page(
    request: Request,
    holder: HolderSession,
    container: AppServices,
    pages: Pages,
    source: PhotoSource,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    t = Translator(negotiate(request))
    ov = container.applications.overview(holder.account_id, at=container.clock())
    if not ov.bound:
        return RedirectResponse(app_url(request, "/app"), 303)
    blocked = _blocked(ov, t, stored=False)
    if not blocked and not ov.face_check_fresh:
        return verify_first(request, f"/app/apply/photo?source={source.value}")
    ctx = {
        **_common(request, holder, ov),
        "blocked": blocked,
        "source": source.value,
        "camera": source is PhotoSource.CAMERA,
        "action": app_url(request, "/app/apply/photo"),
        "camera_url": app_url(request, "/app/apply/photo?source=camera"),
        "album_url": app_url(request, "/app/apply/photo?source=album"),
        "key": new_idempotency_key(),
        "max_mb": f"{container.settings.max_upload_bytes / (1024 * 1024):.0f}",
        "error": error,
    }
    return pages.render(request, "holder/apply_photo.html", ctx, status_code=status)


@router.get("/app/apply/photo", name="holder_apply_photo_page", dependencies=driver())
def apply_photo_page(
    request: Request,
    source: str | None = Query(None, description="camera or album"),
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Case b (and a voluntary photo change): the photo rules and the upload form, camera or album."""
    return _photo_page(request, holder, container, pages, _source(source))


@router.post("/app/apply/photo", name="holder_apply_photo", dependencies=driver())
async def apply_photo(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Submit the photo (multipart `photo`, `source`, `idempotency_key`, CSRF). A refused photo is not stored."""
    t = Translator(negotiate(request))
    source = PhotoSource.CAMERA

    def refused(message: str, status: int, code: str = "refused") -> Response:
        if wants_json(request):
            return json_error(status, message, code)
        return _photo_page(request, holder, container, pages, source, error=message, status=status)

    try:
        _bounded, form = await read_upload_form(request, container)
        source = _source(form_text(form, "source", 16))
        key = form_text(form, "idempotency_key", 64)
        data = await upload_bytes(form, "photo", container)
    except UploadTooLarge:
        return refused(too_large_text(container, t), 413, "too_large")
    if not data:
        return refused(t("holder.photo_missing"), 400, "empty")
    try:  # off the event loop; the photo checks themselves run in the bounded image pool
        app = await run_in_threadpool(
            container.applications.submit_photo,
            holder.account_id,
            data,
            source=source,
            idempotency_key=key,
            at=container.clock(),
            client=client_of(request),
        )
    except PoolBusy as exc:
        return retry_later(refused(t("error.busy", seconds=exc.retry_after), 503, "busy"), exc)
    except PhotoRejected as exc:
        return refused(t.pick(exc.message_zh, exc.message_en), 400, exc.code)
    except ApplicationRefused as exc:
        if exc.code == FACE_REQUIRED:
            target = f"/app/apply/photo?source={source.value}"
            if wants_json(request):
                return redirect(request, app_url(request, f"/app/verify-face?next={quote(target, safe='/?=&')}"))
            return verify_first(request, target)
        return refused(localise(str(exc), t.lang), 400, exc.code)
    except DomainError as exc:
        return refused(localise(str(exc), t.lang), 400)
    return redirect(request, app_url(request, f"/app/applications/{app.id}?done=1"))


@router.get("/app/apply/photo/{application_id}", name="holder_application_photo", dependencies=driver())
def application_photo(
    request: Request,
    application_id: str,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """The photo the holder submitted with one of their own applications."""
    app = container.applications.get_application(holder.account_id, application_id[:32])
    return photo_response(request, container, app.photo_ref)


# --- tracking ------------------------------------------------------------------------------------------------------


@router.get("/app/applications", name="holder_applications", dependencies=driver())
def applications(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Every application: kind, state, submitted, deadline, decision, rejection reason and note."""
    t = Translator(negotiate(request))
    ov = container.applications.overview(holder.account_id, at=container.clock())
    views = [application_view(request, a, t) for a in ov.applications]
    ctx = {
        **_common(request, holder, ov),
        "applications": views,
        "may_resubmit": ov.pending is None and bool(views) and views[0].rejected,
        "resubmit_url": app_url(request, "/app/apply/photo?source=camera"),
    }
    return pages.render(request, "holder/applications.html", ctx)


@router.get("/app/applications/{application_id}", name="holder_application", dependencies=driver())
def application_detail(
    request: Request,
    application_id: str,
    done: str | None = Query(None, description="1 right after submitting"),
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """One application; right after submitting (`done=1`) it is the success page."""
    t = Translator(negotiate(request))
    app = container.applications.get_application(holder.account_id, application_id[:32])
    ov = container.applications.overview(holder.account_id, at=container.clock())
    ctx = {
        **_common(request, holder, ov),
        "a": application_view(request, app, t),
        "done": done == "1",
        "licence_url": app_url(request, "/app/licence"),
        "resubmit_url": app_url(request, "/app/apply/photo?source=camera"),
        "may_resubmit": ov.pending is None,
        "list_url": app_url(request, "/app/applications"),
    }
    return pages.render(request, "holder/application.html", ctx)


@router.post(
    "/app/applications/{application_id}/cancel",
    name="holder_application_cancel",
    dependencies=[*driver(), Depends(require_csrf)],
)
def cancel(
    request: Request,
    application_id: str,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """Withdraw an application that is still in review."""
    app = container.applications.cancel_application(holder.account_id, application_id[:32], at=container.clock())
    return RedirectResponse(app_url(request, f"/app/applications/{app.id}"), 303)
