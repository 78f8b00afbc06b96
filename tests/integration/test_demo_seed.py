"""The demo's review queue (issue 13, item 5): `prepare_demo` seeds applications waiting for review, each made the way
a driver makes one (sign-in with consent, binding, real-person authentication with the lenient demo provider, a new
photo that passes the automatic checks), for drivers who are not the landing page's samples. On SQLite and
PostgreSQL. Before: the queue started empty because the drawn portraits cannot pass the photo checks.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest
from sqlalchemy import select

from edl.applications.photos import check_photo
from edl.audit import Action
from edl.bootstrap import Container
from edl.cli.demo import DEMO_PORTRAITS, DEMO_REVIEWS, SAMPLES_FILE, SEED_CLIENT, portrait, prepare_demo
from edl.db.models import AccountRow, AuditRow, FaceCheckRow, LicenceRow
from edl.domain.application import ApplicationState, PhotoSource
from edl.web.auth_deps import Role, StaffSession

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REVIEWER = StaffSession("u1", "reviewer", "审核员", Role.REVIEWER, None)
DRIVERS = 100


def _demo(container: Container) -> list[str]:
    container.settings.demo = True
    container.settings.face_provider = "lenient-demo"
    lines: list[str] = []
    return [*prepare_demo(container, count=DRIVERS, seed=2021, echo=lines.append), *lines]


def test_the_portraits_ship_with_the_package_small_and_passing_the_photo_checks() -> None:
    names = {name for name, _source in DEMO_PORTRAITS}
    assert names == {"portrait-collins.jpg", "portrait-hopper.jpg"}
    readme = (resources.files("edl") / "demo_data" / "README.txt").read_text(encoding="utf-8")
    assert "public domain" in readme
    for name in names:
        data = portrait(name)
        assert len(data) <= 40 * 1024
        checked = check_photo(data)
        assert checked.measurements["faces_found"] == 1


def test_the_demo_seeds_applications_waiting_for_review_through_the_driver_steps(container: Container) -> None:
    lines = _demo(container)
    queue = container.reviews.queue(REVIEWER, at=container.clock())
    assert len(queue) == DEMO_REVIEWS, lines
    assert {i.application.state for i in queue} == {ApplicationState.PENDING_REVIEW.value}
    assert {i.application.kind for i in queue} <= {PhotoSource.CAMERA.value, PhotoSource.ALBUM.value}
    numbers = {i.application.licence_number for i in queue}
    assert len(numbers) == DEMO_REVIEWS, "three distinct drivers"
    for item in queue:
        stored = container.photos.get(item.application.photo_ref)
        check_photo(stored)  # what the reviewer sees passes the automatic checks (raises otherwise)
        assert item.application.photo_checks["faces_found"] == 1

    document = json.loads((container.settings.data_dir / SAMPLES_FILE).read_text(encoding="utf-8"))
    samples = {s["number"] for s in document["samples"]}
    assert len(samples) == 3 and not samples & numbers, "the landing page's samples stay free to try"
    assert document["review_queue"]["waiting"] == DEMO_REVIEWS
    assert {d["number"] for d in document["review_queue"]["seeded"]} == numbers
    assert any(f"review queue: {DEMO_REVIEWS} application(s) waiting" in line for line in lines)

    with container.sessions() as s:
        for number in numbers:
            licence = s.get(LicenceRow, number)
            account = s.scalars(select(AccountRow).where(AccountRow.licence_number == number)).one()
            assert licence is not None and account.mobile == licence.mobile, "signed in with the registered mobile"
            assert account.privacy_consent_at is not None, "the first sign-in accepted the privacy notice"
            checks = s.scalars(select(FaceCheckRow).where(FaceCheckRow.account_id == account.id)).all()
            assert sorted(c.purpose for c in checks) == ["apply", "bind"]
            assert {(c.provider, c.outcome) for c in checks} == {("lenient-demo", "passed")}
            actions = set(s.scalars(select(AuditRow.action).where(AuditRow.client == SEED_CLIENT)))
        assert {Action.SIGN_IN, Action.BIND, Action.FACE_AUTH, Action.SUBMIT, Action.SIGN_OUT} <= actions


def test_a_second_start_tops_the_queue_up_instead_of_adding_more(container: Container) -> None:
    _demo(container)
    first = container.reviews.queue(REVIEWER, at=container.clock())
    _demo(container)
    assert [i.application.id for i in container.reviews.queue(REVIEWER, at=container.clock())] == [
        i.application.id for i in first
    ]
    gone = first[0].application
    container.applications.cancel_application(gone.account_id, gone.id, at=container.clock())
    lines = _demo(container)
    again = container.reviews.queue(REVIEWER, at=container.clock())
    assert len(again) == DEMO_REVIEWS, lines
    assert gone.licence_number not in {i.application.licence_number for i in again}


def test_without_the_lenient_provider_nothing_is_seeded_and_the_demo_says_why(container: Container) -> None:
    container.settings.face_provider = "auto"  # not the demo: dlib when installed, else no provider at all
    lines = prepare_demo(container, count=DRIVERS, seed=2021, echo=lambda _line: None)
    assert container.reviews.queue(REVIEWER, at=container.clock()) == []
    assert any(line.startswith("review queue: 0 application(s) waiting") and "not seeded" in line for line in lines)
