"""Push is best effort on top of the committed inbox row: nothing that goes wrong reaches the service that called it."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from edl.notifications.push import NullNotifier, WebPushNotifier


def broken_notifier(tmp_path: Path) -> WebPushNotifier:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'edl.db'}")  # the folder does not exist
    return WebPushNotifier(sessionmaker(engine), ec.generate_private_key(ec.SECP256R1()), "mailto:ops@example.org")


def test_database_failure_is_counted_not_raised(tmp_path: Path) -> None:
    report = broken_notifier(tmp_path).push_now([1, 2])
    assert (report.sent, report.failed) == (0, 2)


def test_deliver_returns_and_flushes_even_when_everything_fails(tmp_path: Path) -> None:
    notifier = broken_notifier(tmp_path)
    notifier.deliver([1])
    notifier.deliver(["not an id"])  # type: ignore[list-item]
    notifier.deliver([])
    assert notifier.flush(10)
    notifier.close()
    notifier.deliver([1])  # after close: a new pool, still no error
    assert notifier.flush(10)


def test_null_notifier_delivers_nothing() -> None:
    notifier = NullNotifier()
    assert notifier.deliver([1, 2]) is None
    assert notifier.flush() is True
