"""Sign-in codes go to a real SMS gateway, signed, and never to a log (issue 10, item 3).

The gateway here is a real HTTP server on 127.0.0.1 that checks the signature as docs/deploy.md tells a provider
to: HMAC-SHA256 with the shared secret over '<X-EDL-Timestamp>.' + the exact body, compared with X-EDL-Signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from edl.accounts import LogSmsSender
from edl.accounts.otp import code_mac
from edl.accounts.privacy import PRIVACY_NOTICE_VERSION
from edl.accounts.sms import (
    WEBHOOK_KEY_NAME,
    InvalidSmsGatewayUrl,
    SmsGatewayRefused,
    SmsGatewayUnreachable,
    WebhookSmsSender,
    check_gateway_url,
)
from edl.audit import Action
from edl.bootstrap import Container
from edl.cli.serve import serve
from edl.db.models import AuditRow, OtpChallengeRow, WebSessionRow
from edl.web import create_app
from tests.auth_helpers import Clock, csrf_of

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
MOBILE = "13800138000"
SIX_DIGITS = re.compile(r"(?<!\d)\d{6}(?!\d)")


@dataclass
class Gateway:
    """A local SMS gateway: checks each request's signature, records the good ones, answers `status`."""

    key: bytes
    status: int = 200
    delay: threading.Event | None = None
    """When set, every answer waits for this event (to make the sender time out)."""
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    def check(self, headers: Any, body: bytes) -> bool:
        timestamp = headers.get("X-EDL-Timestamp", "")
        expected = "v1=" + hmac.new(self.key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("X-EDL-Signature", ""), expected):
            return False
        return str(json.loads(body)["timestamp"]) == timestamp


@contextmanager
def _serve(gateway: Gateway) -> Iterator[Gateway]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if gateway.delay is not None:
                gateway.delay.wait(10)
            if not gateway.check(self.headers, body):
                gateway.bad_signatures += 1
                self.send_response(401)
            else:
                gateway.received.append({"body": body, "headers": dict(self.headers), **json.loads(body)})
                self.send_response(gateway.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        if gateway.delay is not None:
            gateway.delay.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def clock(container: Container) -> Clock:
    c = Clock(NOW)
    container.clock = c
    return c


@pytest.fixture
def gateway(container: Container, clock: Clock) -> Iterator[Gateway]:
    """The container wired to a local gateway that holds the data directory's shared secret."""
    key = container.secret(WEBHOOK_KEY_NAME)
    with _serve(Gateway(key)) as gw:
        container.settings = container.settings.model_copy(update={"sms_url": gw.url, "sms_timeout_seconds": 0.5})
        yield gw


def _codes(container: Container) -> int:
    with container.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(OtpChallengeRow)) or 0


def _audited(container: Container, action: Action) -> int:
    with container.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(AuditRow).where(AuditRow.action == action.value)) or 0


def _code_in(logs: list[Any], container: Container) -> bool:
    """Whether the code stored for MOBILE (only its HMAC is kept) appears anywhere in the captured log events."""
    with container.sessions() as s:
        macs = set(s.scalars(sa.select(OtpChallengeRow.code_mac).where(OtpChallengeRow.mobile == MOBILE)))
    assert macs, "no code was stored"
    key = container.secret("otp")
    runs = re.findall(r"\d{6,}", repr(logs))
    candidates = {run[i : i + 6] for run in runs for i in range(len(run) - 5)}
    return any(code_mac(key, MOBILE, c) in macs for c in candidates)


def _ask_code(client: TestClient) -> Any:
    return client.post("/app/sign-in/code", data={"csrf": csrf_of(client), "mobile": MOBILE})


# ---- the signed webhook -------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_sign_in_code_reaches_the_gateway_signed_and_signs_the_driver_in(
    container: Container, gateway: Gateway
) -> None:
    assert isinstance(container.sms, WebhookSmsSender)
    with TestClient(create_app(container), follow_redirects=False) as client:
        sent = _ask_code(client)
        assert sent.status_code == 200, sent.text
        assert len(gateway.received) == 1 and gateway.bad_signatures == 0
        message = gateway.received[0]
        assert message["to"] == "+86" + MOBILE and message["timestamp"] == int(NOW.timestamp())
        assert re.fullmatch(r"[0-9a-f]{32}", message["id"])
        code = SIX_DIGITS.search(message["text"])
        assert code, message["text"]
        done = client.post(
            "/app/sign-in/verify",
            data={"csrf": csrf_of(client), "mobile": MOBILE, "code": code.group(), "consent": PRIVACY_NOTICE_VERSION},
        )
    assert done.status_code == 303, done.text
    with container.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(WebSessionRow)) == 1


@pytest.mark.integration
def test_each_message_has_its_own_id_and_a_signature_only_the_secret_makes(
    container: Container, gateway: Gateway, clock: Clock
) -> None:
    container.holder_sign_in.request_code(MOBILE, client="test", at=clock())
    clock.advance(minutes=2)
    container.holder_sign_in.request_code(MOBILE, client="test", at=clock())
    first, second = gateway.received
    assert first["id"] != second["id"]
    forged = Gateway(b"x" * 32)
    assert not forged.check(first["headers"], first["body"])
    tampered = first["body"].replace(b'"to":"+86', b'"to":"+87')
    assert not gateway.check(first["headers"], tampered)


@pytest.mark.integration
def test_a_gateway_error_refuses_the_sign_in_and_stores_no_code(container: Container, gateway: Gateway) -> None:
    gateway.status = 500
    with TestClient(create_app(container), follow_redirects=False) as client:
        sent = _ask_code(client)
    assert sent.status_code == 503
    assert "短信发送失败" in sent.text
    assert len(gateway.received) == 1
    assert _codes(container) == 0 and _audited(container, Action.OTP_SENT) == 0
    with pytest.raises(SmsGatewayRefused):
        container.holder_sign_in.request_code(MOBILE, client="test", at=container.clock())
    assert _codes(container) == 0


@pytest.mark.integration
def test_a_gateway_that_does_not_answer_in_time_refuses_the_sign_in(container: Container, gateway: Gateway) -> None:
    gateway.delay = threading.Event()
    with pytest.raises(SmsGatewayUnreachable):
        container.holder_sign_in.request_code(MOBILE, client="test", at=container.clock())
    assert _codes(container) == 0


@pytest.mark.integration
def test_an_unreachable_gateway_refuses_the_sign_in(container: Container, clock: Clock) -> None:
    closed = f"http://127.0.0.1:{_free_port()}/sms"  # nothing listens there
    container.settings = container.settings.model_copy(update={"sms_url": closed})
    with pytest.raises(SmsGatewayUnreachable):
        container.holder_sign_in.request_code(MOBILE, client="test", at=clock())
    assert _codes(container) == 0


@pytest.mark.integration
def test_the_shared_secret_is_owner_only_and_never_logged(container: Container, gateway: Gateway) -> None:
    path = container.settings.data_dir / "secrets" / f"{WEBHOOK_KEY_NAME}.key"
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    with structlog.testing.capture_logs() as logs:
        container.holder_sign_in.request_code(MOBILE, client="test", at=container.clock())
    key = path.read_bytes()
    assert key.hex() not in repr(logs) and key.hex() not in repr(container.sms)
    assert len(gateway.received) == 1 and not _code_in(logs, container)


@pytest.mark.parametrize(
    "url",
    [
        "http://sms.example.com/send",  # plain http off this machine
        "ftp://127.0.0.1/sms",
        "file:///etc/passwd",
        "https://user:pass@sms.example.com/send",
        "https:///no-host",
        "https://sms.example.com:99999/",
        "https://sms.example.com/a b",
        "",
    ],
)
def test_gateway_urls_other_than_https_or_loopback_http_are_refused(url: str) -> None:
    with pytest.raises(InvalidSmsGatewayUrl):
        check_gateway_url(url)


@pytest.mark.parametrize("url", ["https://sms.example.com/send", "http://127.0.0.1:8080/sms", "http://[::1]/sms"])
def test_https_and_loopback_http_gateway_urls_are_accepted(url: str) -> None:
    assert check_gateway_url(url) == url


def test_the_gateway_timeout_is_bounded() -> None:
    with pytest.raises(ValueError, match="timeout"):
        WebhookSmsSender("https://sms.example.com/", b"k" * 32, timeout_seconds=600, clock=lambda: NOW)


# ---- the log sender -----------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_outside_demo_mode_the_log_sender_never_writes_the_code(container: Container, clock: Clock) -> None:
    """On the code before issue 10 the whole text, code included, was logged by `edl serve`."""
    assert isinstance(container.sms, LogSmsSender) and not container.settings.demo
    with structlog.testing.capture_logs() as logs, TestClient(create_app(container), follow_redirects=False) as c:
        assert _ask_code(c).status_code == 200
    sent = [e for e in logs if e.get("event") == "sms_sent"]
    assert len(sent) == 1 and "******" in sent[0]["text"]
    assert not _code_in(logs, container), "the sign-in code reached the log"


@pytest.mark.integration
def test_in_demo_mode_the_dev_inbox_still_shows_the_code(container: Container, clock: Clock) -> None:
    container.settings = container.settings.model_copy(update={"demo": True})
    with structlog.testing.capture_logs() as logs, TestClient(create_app(container), follow_redirects=False) as c:
        assert _ask_code(c).status_code == 200
        inbox = c.get("/dev/sms")
        table = inbox.text.partition("<tbody>")[2]  # the messages only: a static file's hash may hold 6 digits too
        code = SIX_DIGITS.search(table)
        assert inbox.status_code == 200 and code
        done = c.post(
            "/app/sign-in/verify",
            data={"csrf": csrf_of(c), "mobile": MOBILE, "code": code.group(), "consent": PRIVACY_NOTICE_VERSION},
        )
    assert done.status_code == 303
    assert not _code_in(logs, container)


# ---- `edl serve` refuses to run without a gateway -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(120)
def test_edl_serve_without_an_sms_gateway_exits_2_with_one_line_and_creates_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDL_")}
    env["EDL_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "edl", "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("edl: error: no SMS gateway: set EDL_SMS_URL") and done.stderr.count("\n") == 1
    assert "listening" not in done.stdout
    assert not (tmp_path / "data").exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EDL_DEMO": "false"}, "no SMS gateway: set EDL_SMS_URL"),
        ({"EDL_SMS_URL": "http://sms.example.com/send"}, "EDL_SMS_URL must use https"),
        ({"EDL_SMS_URL": "https://user:pw@sms.example.com/send", "EDL_DEMO": "true"}, "user name or password"),
    ],
)
def test_serve_refuses_a_missing_or_unusable_gateway_before_touching_anything(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    edl = typer.Typer()
    edl.command()(serve)
    unset: dict[str, str | None] = {"EDL_SMS_URL": None, "EDL_DEMO": None, "EDL_DATABASE_URL": None}
    result = CliRunner().invoke(
        edl, ["--port", str(_free_port())], env={**unset, "EDL_DATA_DIR": str(tmp_path / "data"), **env}
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("edl: error: ") and message in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == "" and not (tmp_path / "data").exists()
