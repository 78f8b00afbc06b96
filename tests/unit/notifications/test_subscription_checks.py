"""What a push subscription must look like before the server will POST to it."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl.notifications.subscriptions import InvalidSubscription, check_endpoint, check_keys


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_point() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "http://127.0.0.1:8123/push/1",
        "http://localhost/push",
        "http://[::1]:9/push",
    ],
)
def test_https_and_loopback_http_endpoints_are_accepted(endpoint: str) -> None:
    assert check_endpoint(endpoint) == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "   ",
        "http://push.example.com/x",
        "http://10.0.0.5/x",
        "ftp://push.example.com/x",
        "javascript:alert(1)",
        "https:///no-host",
        "https://user:secret@push.example.com/x",
        "https://push.example.com:99999/x",
        "https://push.example.com/a b",
        "https://push.example.com/" + "x" * 1024,
        "/relative/path",
    ],
)
def test_other_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(InvalidSubscription):
        check_endpoint(endpoint)


def test_good_keys_are_normalised_to_unpadded_base64url() -> None:
    point, secret = browser_point(), os.urandom(16)
    padded = base64.urlsafe_b64encode(point).decode()
    key, auth = check_keys(padded, b64url(secret))
    assert key == b64url(point) and auth == b64url(secret)


@pytest.mark.parametrize(
    ("p256dh", "auth", "message"),
    [
        (b64url(browser_point()[:64]), b64url(os.urandom(16)), "65"),
        (b64url(b"\x02" + os.urandom(32)), b64url(os.urandom(16)), "65"),  # compressed point
        (b64url(b"\x05" + os.urandom(64)), b64url(os.urandom(16)), "uncompressed"),
        (b64url(b"\x04" + b"\x01" * 64), b64url(os.urandom(16)), "P-256"),  # not on the curve
        (b64url(browser_point()), b64url(os.urandom(15)), "16"),
        (b64url(browser_point()), b64url(os.urandom(17)), "16"),
        (b64url(browser_point()), "", "base64url"),
        ("not base64 at all!", b64url(os.urandom(16)), "base64url"),
        (base64.b64encode(b"\xfb" * 65).decode(), b64url(os.urandom(16)), "base64url"),  # '+' and '/'
    ],
)
def test_bad_keys_are_refused_with_what_is_wrong(p256dh: str, auth: str, message: str) -> None:
    with pytest.raises(InvalidSubscription, match=message):
        check_keys(p256dh, auth)


def test_messages_are_in_both_languages() -> None:
    with pytest.raises(InvalidSubscription) as caught:
        check_endpoint("http://push.example.com/x")
    zh, sep, en = str(caught.value).partition(" / ")
    assert sep and "https" in zh and "https" in en
