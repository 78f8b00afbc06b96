"""English plurals (issue 13, item 2): "1 unread message", never "(1 unread messages)"; Chinese has none to make."""

from __future__ import annotations

import re
import string

import pytest
from markupsafe import Markup

from edl.web.i18n import MESSAGES, Lang, Translator, plurals

COUNTED = re.compile(
    r"\b1 (?:unread |more )?(results|messages|attempts|days|hours|minutes|seconds|checks|applications|items|"
    r"licences|notices|photos|codes|entries)\b"
)
NOT_COUNTS = frozenset({"detail.points_value"})
"""'{points} of {limit} points': the noun goes with the limit (12), never 1."""


def _params(text: str) -> dict[str, int]:
    return {name: 1 for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(
    ("key", "params", "english", "chinese"),
    [
        ("inbox.badge_label", {"count": 1}, "1 unread message", "1 条未读消息"),
        ("inbox.badge_label", {"count": 3}, "3 unread messages", "3 条未读消息"),
        ("inbox.summary", {"unread": 1}, "1 unread message", "1 条未读消息"),
        ("list.count", {"total": 1}, "1 result", "共 1 条结果"),
        ("list.count", {"total": 0}, "0 results", "共 0 条结果"),
        ("holder.attempts_left", {"count": 1}, "1 attempt left today.", "今日还可认证 1 次。"),
        ("review.due_days", {"n": 1}, "due in 1 day", "还剩 1 天"),
        ("review.overdue_days", {"n": 2}, "overdue by 2 days", "已超期 2 天"),
    ],
)
def test_counted_nouns_agree_with_the_count(key: str, params: dict[str, int], english: str, chinese: str) -> None:
    assert Translator(Lang.EN)(key, **params) == english
    assert Translator(Lang.ZH)(key, **params) == chinese


def test_nowrap_messages_agree_too() -> None:
    text = Translator(Lang.EN).nowrap("auth.code_sent", mobile="138****8000", minutes=1)
    assert isinstance(text, Markup)
    assert text.endswith('<span class="nowrap">1</span> minute.')


def test_no_english_message_says_one_of_a_plural() -> None:
    """Every English message rendered with each number 1: no '1 messages', '1 days', '1 results'."""
    wrong = []
    for key, (_zh, en) in MESSAGES.items():
        params = _params(_without_plural_specs(en))
        if not params or key in NOT_COUNTS:
            continue
        rendered = Translator(Lang.EN)(key, **params)
        if COUNTED.search(rendered):
            wrong.append(f"{key}: {rendered!r}")
    assert wrong == []


def _without_plural_specs(text: str) -> str:
    return re.sub(r"\{(\w+):plural:[^{}]*\}", r"{\1}", text)


def test_the_plural_marker_keeps_braces_literal() -> None:
    assert plurals("{n} {n:plural:item|items}", {"n": "1"}) == "{n} item"
    assert plurals("{n} {n:plural:item|items}", {"n": 5}) == "{n} items"
