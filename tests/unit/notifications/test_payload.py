"""What a push message carries: the holder's language, a short body, a same-site page to open."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edl.db.models import NotificationRow
from edl.notifications.push import INBOX_URL, PUSH_BODY_CHARS, push_payload, safe_link


def note(**overrides: object) -> NotificationRow:
    values: dict[str, object] = {
        "id": 7,
        "account_id": "a" * 32,
        "kind": "issued",
        "title_zh": "电子驾驶证申请成功",
        "title_en": "E-licence issued",
        "body_zh": "您的电子驾驶证已生成。",
        "body_en": "Your e-licence is ready.",
        "link": "/app",
        "created_at": datetime(2026, 3, 15, tzinfo=UTC),
    }
    values.update(overrides)
    return NotificationRow(**values)


def test_payload_is_in_the_holders_language() -> None:
    assert push_payload(note(), "zh") == {
        "title": "电子驾驶证申请成功",
        "body": "您的电子驾驶证已生成。",
        "url": "/app",
        "id": 7,
    }
    assert push_payload(note(), "en") == {
        "title": "E-licence issued",
        "body": "Your e-licence is ready.",
        "url": "/app",
        "id": 7,
    }


def test_long_body_is_shortened_for_the_push_service() -> None:
    body = push_payload(note(body_zh="长" * 1000), "zh")["body"]
    assert len(body) == PUSH_BODY_CHARS and body.endswith("…")


@pytest.mark.parametrize(
    "link", [None, "", "https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/\\evil"]
)
def test_links_off_this_site_open_the_inbox(link: str | None) -> None:
    assert safe_link(link) == INBOX_URL
    assert push_payload(note(link=link), "zh")["url"] == INBOX_URL


def test_same_site_link_is_kept() -> None:
    assert safe_link("/app/applications/abc") == "/app/applications/abc"
