"""The CSRF token is shown in pages only under a one-time mask (BREACH), and what is sent back is unmasked and
compared with the cookie: a mask of another browser's token, a tampered mask or garbage is refused."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from edl.web.csrf import CSRF_COOKIE, CsrfRefused, mask_token, require_csrf, unmask_token


def _post(cookie: str, sent: str) -> Request:
    headers = [
        (b"cookie", f"{CSRF_COOKIE}={cookie}".encode()),
        (b"x-csrf-token", sent.encode()),
        (b"sec-fetch-site", b"same-origin"),
    ]
    return Request({"type": "http", "method": "POST", "headers": headers, "path": "/x", "query_string": b""})


def _check(cookie: str, sent: str) -> None:
    asyncio.run(require_csrf(_post(cookie, sent)))


def test_every_mask_differs_and_unmasks_to_the_token() -> None:
    token = secrets.token_urlsafe(32)
    masks = {mask_token(token) for _ in range(50)}
    assert len(masks) == 50 and all(token not in m for m in masks)
    assert {unmask_token(m) for m in masks} == {token}
    for m in masks:
        _check(token, m)


def test_the_raw_token_from_a_script_is_still_accepted() -> None:
    token = secrets.token_urlsafe(32)
    _check(token, token)


@pytest.mark.parametrize("how", ["other_browser", "flipped", "truncated", "doubled", "empty_pad"])
def test_a_mask_that_does_not_unmask_to_this_browsers_token_is_refused(how: str) -> None:
    mine, theirs = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    good = mask_token(mine)
    sent = {
        "other_browser": mask_token(theirs),
        "flipped": good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:],
        "truncated": good[:-4],
        "doubled": good + good,
        "empty_pad": "A" * 58 + good[58:],
    }[how]
    with pytest.raises(CsrfRefused):
        _check(mine, sent)


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=400))
def test_anything_else_sent_is_refused_and_unmasking_never_raises(sent: str) -> None:
    token = secrets.token_urlsafe(32)
    result = unmask_token(sent)
    assert result is None or isinstance(result, str)
    with pytest.raises(CsrfRefused):
        _check(token, sent)
