"""Shared parts of the holder pages (驾驶人端): bounded uploads with CSRF, answers for fetch() callers, and the view
models of applications (the page layout's context is `holder_pages`).

Uploads are read through a counting receive channel, so a body larger than `settings.max_upload_bytes` (plus room for
the multipart framing) is refused while it is being read, before anything reaches a service.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Message

from edl.applications.face import FaceOutcome, FaceVerifierUnavailable
from edl.applications.results import Application
from edl.applications.sanctions import Sanction
from edl.domain.application import REJECT_REASONS_BY_CODE, STATE_NAMES, ApplicationState, PhotoSource
from edl.domain.liveness import LiveCapture, TimedFrame
from edl.web.auth_deps import require_csrf
from edl.web.auth_deps import safe_next as same_site_path
from edl.web.deps import AppServices
from edl.web.holder.home import app_url
from edl.web.i18n import Translator
from edl.web.presenters import Tone, beijing_time
from edl.worker_pool import PoolBusy

MULTIPART_SLACK = 64 * 1024
"""Room for the multipart boundaries and the small form fields around the photo."""
MAX_FORM_FIELDS = 12

KIND_KEYS: dict[str, str] = {
    PhotoSource.STORED.value: "holder.kind_stored",
    PhotoSource.CAMERA.value: "holder.kind_camera",
    PhotoSource.ALBUM.value: "holder.kind_album",
}
STATE_TONES: dict[str, Tone] = {
    ApplicationState.PENDING_REVIEW.value: Tone.WARN,
    ApplicationState.ISSUED.value: Tone.OK,
    ApplicationState.REJECTED.value: Tone.BLOCK,
    ApplicationState.CANCELLED.value: Tone.WARN,
}
FACE_OUTCOME_KEYS: dict[FaceOutcome, str] = {
    FaceOutcome.PASSED: "holder.face_passed",
    FaceOutcome.NO_FACE: "holder.face_no_face",
    FaceOutcome.SEVERAL_FACES: "holder.face_several",
    FaceOutcome.MISMATCH: "holder.face_mismatch",
    FaceOutcome.BAD_IMAGE: "holder.face_bad_image",
    FaceOutcome.NO_REFERENCE: "holder.face_no_reference",
    FaceOutcome.FRAMES: "holder.face_frames",
    FaceOutcome.NOT_FRONTAL: "holder.face_not_frontal",
    FaceOutcome.ACTION: "holder.face_action",
    FaceOutcome.FLAT: "holder.face_flat",
    FaceOutcome.REPLAY: "holder.face_replay",
}


class UploadTooLarge(Exception):
    """The request body is larger than the upload limit (answered with 413; nothing was stored)."""


def container_of(request: Request) -> AppServices:
    container: AppServices = request.app.state.container
    return container


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def local_time(at: datetime | None) -> str:
    """Beijing time 'YYYY-MM-DD HH:MM', or '' for none."""
    return beijing_time(at) if at is not None else ""


def new_idempotency_key() -> str:
    """Rendered into each apply form, so a double submit makes one application."""
    return secrets.token_urlsafe(16)


def safe_next(value: str | None, default: str = "/app") -> str:
    """Where to go after real-person authentication: only a holder page of this site (no open redirect)."""
    checked = same_site_path(value, default)
    return checked if checked == "/app" or checked.startswith(("/app/", "/app?")) else default


@dataclass(frozen=True, slots=True)
class VerifierInfo:
    """Which real-person authentication provider runs (shown on the page; a lenient one is flagged)."""

    available: bool
    label: str
    lenient: bool


def verifier_info(container: AppServices, t: Translator) -> VerifierInfo:
    try:
        verifier = container.face_verifier
    except FaceVerifierUnavailable:
        return VerifierInfo(False, t("holder.face_unavailable"), False)
    return VerifierInfo(True, t.pick(verifier.label_zh, verifier.label_en), bool(verifier.lenient))


def wants_json(request: Request) -> bool:
    """camera.js uploads with fetch() and asks for JSON; a plain form post gets pages."""
    return "application/json" in request.headers.get("accept", "")


def json_error(status: int, message: str, code: str = "refused") -> JSONResponse:
    return JSONResponse({"ok": False, "code": code, "error": message}, status_code=status)


def redirect(request: Request, url: str) -> Response:
    """303 to `url` for a form post; for fetch() a JSON answer that tells camera.js where to go."""
    if wants_json(request):
        return JSONResponse({"ok": True, "redirect": url})
    return RedirectResponse(url, status_code=303)


async def read_upload_form(request: Request, container: AppServices, *, max_files: int = 1) -> tuple[Request, FormData]:
    """The multipart form of an upload, read with a size limit while the body arrives, then the CSRF check.

    Returns the request the form was read through (pass it on to anything that reads the form again).
    Raises UploadTooLarge (before reading, when Content-Length already says so) or the CSRF check's 403.
    """
    limit = container.settings.max_upload_bytes + MULTIPART_SLACK
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge
    received = 0

    async def counting_receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise UploadTooLarge
        return message

    bounded = Request(request.scope, counting_receive)
    form = await bounded.form(max_files=max_files, max_fields=MAX_FORM_FIELDS)
    await require_csrf(bounded)
    return bounded, form


async def upload_bytes(form: FormData, field: str, container: AppServices) -> bytes:
    """The bytes of file field `field` ('' when none was chosen); UploadTooLarge past the limit."""
    value = form.get(field)
    if not isinstance(value, UploadFile):
        return b""
    data = await value.read(container.settings.max_upload_bytes + 1)
    if len(data) > container.settings.max_upload_bytes:
        raise UploadTooLarge
    return data


MAX_FRAME_BYTES = 400 * 1024
"""One frame of a liveness burst: the page sends JPEGs of at most 480 px (30-60 KB)."""


async def read_capture(form: FormData) -> LiveCapture | None:
    """The liveness burst of a form: `challenge`, `times` (comma-separated ms) and the `frame` files in order.

    None when the form holds no burst (e.g. a photo file posted instead: real-person authentication takes camera
    frames only). UploadTooLarge for a frame over MAX_FRAME_BYTES. The number of frames and their timing are the
    verifier's to judge (`edl.domain.liveness.check_timings`)."""
    challenge = form_text(form, "challenge", 64)
    files = [value for value in form.getlist("frame") if isinstance(value, UploadFile)]
    times_text = form_text(form, "times", 400)
    if not challenge or not files or not times_text:
        return None
    try:
        times = [int(part) for part in times_text.split(",")]
    except ValueError:
        return None
    if len(times) != len(files) or any(not 0 <= t < 60_000 for t in times):
        return None
    frames = []
    for t_ms, upload in zip(times, files, strict=True):
        data = await upload.read(MAX_FRAME_BYTES + 1)
        if len(data) > MAX_FRAME_BYTES:
            raise UploadTooLarge
        frames.append(TimedFrame(t_ms, data))
    return LiveCapture(challenge, tuple(frames))


def form_text(form: FormData, field: str, limit: int = 200) -> str:
    value = form.get(field)
    return value.strip()[:limit] if isinstance(value, str) else ""


def too_large_text(container: AppServices, t: Translator) -> str:
    return t("holder.upload_too_large", limit_mb=f"{container.settings.max_upload_bytes / (1024 * 1024):.0f}")


def retry_later(response: Response, busy: PoolBusy) -> Response:
    """`response` (a 503: the image pool is full, nothing was done) with the Retry-After the pool suggests."""
    response.headers["Retry-After"] = str(busy.retry_after)
    return response


@dataclass(frozen=True, slots=True)
class ApplicationView:
    """One application as the tracking pages show it, in the page's language."""

    id: str
    kind: str
    photo_change: bool
    state: str
    state_label: str
    tone: Tone
    submitted: str
    due: str
    decided: str
    reject_reason: str
    reject_note: str
    url: str
    photo_url: str
    cancel_url: str
    pending: bool
    issued: bool
    rejected: bool


def application_view(request: Request, app: Application, t: Translator) -> ApplicationView:
    state = ApplicationState(app.state)
    reason = ""
    if app.reject_code:
        known = REJECT_REASONS_BY_CODE.get(app.reject_code)
        reason = t.pick(known.zh, known.en) if known else app.reject_code
    url = app_url(request, f"/app/applications/{app.id}")
    return ApplicationView(
        id=app.id,
        kind=t(KIND_KEYS.get(app.kind, "holder.kind_camera")),
        photo_change=app.photo_change,
        state=state.value,
        state_label=t.pick(*STATE_NAMES[state]),
        tone=STATE_TONES[state.value],
        submitted=local_time(app.submitted_at),
        due=local_time(app.due_at),
        decided=local_time(app.decided_at),
        reject_reason=reason,
        reject_note=app.reject_note or "",
        url=url,
        photo_url=app_url(request, f"/app/apply/photo/{app.id}"),
        cancel_url=url + "/cancel",
        pending=state is ApplicationState.PENDING_REVIEW,
        issued=state is ApplicationState.ISSUED,
        rejected=state is ApplicationState.REJECTED,
    )


@dataclass(frozen=True, slots=True)
class StopView:
    """Issue 16: what the driver's pages say while a sanction runs: why, until when, and how to appeal."""

    reason: str
    note: str | None
    until: str
    appeal: str


def stop_view(sanction: Sanction, t: Translator) -> StopView:
    notice = sanction.notice
    return StopView(
        reason=t.pick(sanction.reason_zh, sanction.reason_en),
        note=sanction.reason_text,
        until=t.pick(notice.until_zh, notice.until_en),
        appeal=t("holder.stop_appeal"),
    )
