"""Test helpers for the application workflow: seed a licence, an account bound to it, a passed face check.

The face verifier here is a fake that answers what the test says; tests about real face comparison live in
tests/unit/applications/test_face.py.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from edl.applications.face import FaceOutcome
from edl.applications.liveness import LivenessResult
from edl.bootstrap import Container
from edl.db.models import AccountRow, LicenceRow, SanctionRow
from edl.db.session import transaction
from edl.domain.liveness import Action, Failure, LiveCapture, TimedFrame, Verdict
from edl.registry.mapping import row_values
from edl.registry.portraits import render_portrait
from tests.factories import licence


@dataclass
class ScriptedFaceVerifier:
    """Answers `outcome` for every comparison and remembers what it was asked."""

    outcome: FaceOutcome = FaceOutcome.PASSED
    name: str = "scripted-test"
    label_zh: str = "测试用核验"
    label_en: str = "test verifier"
    lenient: bool = False
    calls: list[tuple[tuple[Action, ...], int, bytes]] = field(default_factory=list)

    def check(
        self, actions: Sequence[Action], frames: Sequence[TimedFrame], reference: bytes, earlier: Sequence[int]
    ) -> LivenessResult:
        self.calls.append((tuple(actions), len(frames), reference))
        passed = self.outcome is FaceOutcome.PASSED
        verdict = Verdict(True) if passed else Verdict(False, Failure(self.outcome.value))
        return LivenessResult(verdict, (), 0.2 if passed else 0.8)


def capture(
    container: Container, account_id: str, purpose: str = "apply", *, at: datetime | None = None
) -> LiveCapture:
    """A burst answering a fresh challenge for `account_id` (placeholder frames: the scripted verifier reads none)."""

    challenge = container.face_checks.issue_challenge(account_id, purpose, at=at or container.clock())
    return LiveCapture(challenge.nonce, tuple(TimedFrame(t, b"\xff\xd8\xff frame") for t in challenge.frame_times))


def prepare(container: Container, now: datetime) -> ScriptedFaceVerifier:
    """PKI, a fixed clock and the scripted verifier on `container`."""
    container.clock = lambda: now
    if not container.authority.is_initialised():
        container.authority.init(at=now - timedelta(days=1))
    verifier = ScriptedFaceVerifier()
    container.face_verifier = verifier
    return verifier


REGISTERED_MOBILE = "13800138000"
"""The registered mobile (登记手机号) of seeded licences: `tests.auth_helpers.sign_in_holder` signs in with it."""


def seed_licence(
    container: Container,
    now: datetime,
    *,
    compliant_photo: bool = True,
    mobile: str | None = REGISTERED_MOBILE,
    photo: bytes | None = None,
    **kw: Any,
) -> str:
    """A registry licence; its stored photo is `photo`, or a drawn portrait (no real face) by default."""
    lic = licence(**kw)
    ref = container.photos.put(photo if photo is not None else render_portrait(7, str(lic.number)))
    lic = lic.replace(
        photo_ref=ref, photo_compliant=compliant_photo, holder=dataclasses.replace(lic.holder, mobile=mobile)
    )
    with transaction(container.sessions) as s:
        s.add(LicenceRow(**row_values(lic, at=now), version=1))
    return str(lic.number)


def seed_account(container: Container, now: datetime, *, number: str | None = None, mobile: str | None = None) -> str:
    account_id = uuid.uuid4().hex
    with transaction(container.sessions) as s:
        s.add(
            AccountRow(
                id=account_id,
                mobile=mobile or f"139{uuid.uuid4().int % 10**8:08d}",
                licence_number=number,
                created_at=now,
                bound_at=now if number else None,
                lang="zh",
            )
        )
    return account_id


def standing_sanction(container: Container, number: str, now: datetime, sanction_id: str = "s" * 32) -> None:
    """A confirmed (active) 30-day sanction of `number`, proposed and confirmed a day before `now` (issue 16)."""
    with transaction(container.sessions) as s:
        s.add(
            SanctionRow(
                id=sanction_id,
                licence_number=number,
                authority_code="510100",
                state="active",
                reason_code="malicious_upload",
                proposed_by="test",
                proposed_at=now - timedelta(days=1),
                confirmed_by="test2",
                confirmed_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=30),
            )
        )
