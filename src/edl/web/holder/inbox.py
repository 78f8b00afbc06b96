"""The holder's inbox (站内消息) and the Web Push opt-in endpoints (the unread badge lives in `holder_pages`).

Opening the inbox does not mark anything read: the holder does, per message or all at once. The push endpoints take
the JSON of `PushSubscription.toJSON()` and the CSRF token in the `X-CSRF-Token` header.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from edl.notifications import inbox as inbox_store
from edl.notifications.inbox import Notice
from edl.notifications.push import InsecureVapidKey, InvalidVapidKey, WebPushNotifier
from edl.notifications.subscriptions import InvalidSubscription, subscribe, unsubscribe
from edl.web.audience import driver, public
from edl.web.auth_deps import HolderSession, current_holder, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import PageError, localise
from edl.web.holder.home import page_context
from edl.web.i18n import Translator, negotiate
from edl.web.jsonbody import BodyTooLarge, JsonRefused, read_json
from edl.web.presenters import beijing_time
from edl.web.rendering import STATIC_DIR, Pages

router = APIRouter(tags=["inbox"])

INBOX_LIMIT = 50
MAX_SUBSCRIPTION_BODY = 8 * 1024
TOO_LARGE = f"请求体过大（最多 {MAX_SUBSCRIPTION_BODY} 字节） / the body is larger than {MAX_SUBSCRIPTION_BODY} bytes"
MAX_MARK_IDS = 100
SERVICE_WORKER = "sw.js"


@dataclass(frozen=True, slots=True)
class MessageView:
    """One inbox entry as the page shows it, in the page's language."""

    id: int
    title: str
    body: str
    at: str
    at_iso: str
    unread: bool
    url: str | None


def message_link(request: Request, link: str | None) -> str | None:
    """A same-site page for the message (anything else is not linked)."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return str(request.scope.get("root_path", "")) + link
    return None


def message_view(request: Request, notice: Notice, t: Translator) -> MessageView:
    return MessageView(
        id=notice.id,
        title=t.pick(notice.title_zh, notice.title_en),
        body=t.pick(notice.body_zh, notice.body_en),
        at=beijing_time(notice.created_at),
        at_iso=notice.created_at.isoformat(),
        unread=notice.unread,
        url=message_link(request, notice.link),
    )


def _push_key(container: AppServices) -> str | None:
    """The VAPID public key, or None when push is off (inbox-only notifier, or a VAPID key file refused)."""
    try:
        notifier = container.notifier
    except (InsecureVapidKey, InvalidVapidKey) as exc:
        structlog.get_logger("edl.notifications").error("push_key_refused", error=type(exc).__name__)
        return None
    return notifier.application_server_key if isinstance(notifier, WebPushNotifier) else None


@router.get("/app/inbox", name="inbox", dependencies=driver())
def inbox_page(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """The holder's messages, newest first; unread ones are marked (opening the page leaves them unread)."""
    t = Translator(negotiate(request))
    with container.sessions() as session:
        notices = inbox_store.inbox(session, holder.account_id, limit=INBOX_LIMIT)
        unread = inbox_store.unread_count(session, holder.account_id)
    root = request.scope.get("root_path", "")
    return pages.render(
        request,
        "holder/inbox.html",
        {
            **page_context(request, holder.account_id),
            "messages": [message_view(request, notice, t) for notice in notices],
            "unread": unread,
            "read_url": root + "/app/inbox/read",
            "push_available": _push_key(container) is not None,
            "push_urls": {
                "sw": root + "/app/" + SERVICE_WORKER,
                "scope": root + "/app/",
                "key": root + "/app/push/key",
                "subscribe": root + "/app/push/subscribe",
                "unsubscribe": root + "/app/push/unsubscribe",
            },
        },
    )


@router.post("/app/inbox/read", name="inbox_read", dependencies=[*driver(), Depends(require_csrf)])
async def inbox_read(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """Mark the holder's messages read: the `id` fields given, or all of them; then back to the inbox (303)."""
    form = await request.form()
    raw = [str(v) for v in form.getlist("id")]
    if len(raw) > MAX_MARK_IDS or not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in raw):
        raise PageError(400, "error.bad_request", Translator(negotiate(request))("inbox.bad_id"))
    ids = [int(v) for v in raw] or None
    with container.sessions.begin() as session:
        inbox_store.mark_read(session, holder.account_id, at=container.clock(), ids=ids)
    return RedirectResponse(request.scope.get("root_path", "") + "/app/inbox", status_code=303)


@router.get("/app/push/key", name="push_key", dependencies=driver())
def push_key(container: AppServices = Depends(get_container)) -> Response:
    """The VAPID application server key (public) for `PushManager.subscribe`; 404 when push is off."""
    key = _push_key(container)
    if key is None:
        return JSONResponse({"error": "push unavailable"}, status_code=404, headers={"Cache-Control": "no-store"})
    return JSONResponse({"key": key}, headers={"Cache-Control": "no-cache"})


@router.get("/app/" + SERVICE_WORKER, name="service_worker", include_in_schema=False, dependencies=public())
def service_worker(request: Request) -> Response:
    """The service worker, served under /app/ so it may control the holder pages (scope /app/)."""
    return Response(
        (STATIC_DIR / SERVICE_WORKER).read_bytes(),
        media_type="text/javascript",
        headers={
            "Service-Worker-Allowed": request.scope.get("root_path", "") + "/app/",
            "Cache-Control": "no-cache",
        },
    )


def _json_error(request: Request, status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": localise(message, negotiate(request))}, status_code=status)


async def _subscription_json(request: Request) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) from a PushSubscription.toJSON() body; InvalidSubscription if it is not one,
    BodyTooLarge past MAX_SUBSCRIPTION_BODY (counted while it streams in)."""
    bad = InvalidSubscription("请求格式有误 / the request is not a push subscription")
    try:
        data = await read_json(request, MAX_SUBSCRIPTION_BODY)
    except JsonRefused as exc:
        raise bad from exc
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, dict):
        keys = {}
    endpoint, p256dh, auth = (
        data.get("endpoint") if isinstance(data, dict) else None,
        keys.get("p256dh"),
        keys.get("auth"),
    )
    if not isinstance(endpoint, str):
        raise bad
    return endpoint, p256dh if isinstance(p256dh, str) else "", auth if isinstance(auth, str) else ""


@router.post("/app/push/subscribe", name="push_subscribe", dependencies=[*driver(), Depends(require_csrf)])
async def push_subscribe(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """Store this browser's push subscription for the holder (201); a bad endpoint or keys is a 400, nothing kept."""
    try:
        endpoint, p256dh, auth = await _subscription_json(request)
        with container.sessions.begin() as session:
            subscribe(
                session,
                holder.account_id,
                endpoint,
                p256dh,
                auth,
                at=container.clock(),
                allowed_hosts=container.settings.push_host_set,
            )
    except InvalidSubscription as exc:
        return _json_error(request, 400, str(exc))
    except BodyTooLarge:
        return _json_error(request, 413, TOO_LARGE)
    return JSONResponse({"subscribed": True}, status_code=201)


@router.post("/app/push/unsubscribe", name="push_unsubscribe", dependencies=[*driver(), Depends(require_csrf)])
async def push_unsubscribe(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """Forget this browser's subscription (only the holder's own)."""
    try:
        endpoint, _p256dh, _auth = await _subscription_json(request)
    except InvalidSubscription as exc:
        return _json_error(request, 400, str(exc))
    except BodyTooLarge:
        return _json_error(request, 413, TOO_LARGE)
    with container.sessions.begin() as session:
        removed = unsubscribe(session, holder.account_id, endpoint)
    return JSONResponse({"unsubscribed": removed})
