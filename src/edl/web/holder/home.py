"""The layout every holder page (驾驶人端) shares: the tab links, the inbox link with its unread badge, the CSRF token.

Its own module so that the inbox pages (`edl.web.holder.inbox`) and the other holder pages both use it without
importing each other.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from edl.notifications import inbox as inbox_store
from edl.web.auth_deps import csrf_token, optional_holder
from edl.web.deps import AppServices

BADGE_CAP = 99


def root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def app_url(request: Request, path: str) -> str:
    """An /app page's URL behind any proxy prefix (`path` starts with /app)."""
    return root(request) + path


def unread_count_for(request: Request, account_id: str) -> int:
    """Unread messages of `account_id` (read on the primary: the badge must drop as soon as messages are read)."""
    container: AppServices = request.app.state.container
    with container.sessions() as session:
        return inbox_store.unread_count(session, account_id)


def unread_badge_count(request: Request, account_id: str | None = None) -> int:
    """The badge number for the signed-in holder (or `account_id`); 0 when nobody is signed in."""
    if account_id is None:
        holder = optional_holder(request)
        if holder is None:
            return 0
        account_id = holder.account_id
    return unread_count_for(request, account_id)


def badge_text(count: int) -> str:
    """What the badge shows: '' for none, the number, or '99+'."""
    if count <= 0:
        return ""
    return f"{BADGE_CAP}+" if count > BADGE_CAP else str(count)


def badge_context(request: Request, account_id: str) -> dict[str, Any]:
    """Context for `holder/_inbox_badge.html` (include it in a holder page's header or navigation)."""
    count = unread_count_for(request, account_id)
    return {
        "inbox_unread": count,
        "inbox_badge": badge_text(count),
        "inbox_url": root(request) + "/app/inbox",
    }


def page_context(request: Request, account_id: str) -> dict[str, Any]:
    """What every holder page's layout needs: CSRF token, inbox badge, tab links."""
    base = root(request)
    return {
        "csrf": csrf_token(request),
        **badge_context(request, account_id),
        "nav": {
            "home": base + "/app",
            "licence": base + "/app/licence",
            "applications": base + "/app/applications",
        },
        "current_path": request.url.path,
    }
