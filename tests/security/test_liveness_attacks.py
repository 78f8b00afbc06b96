"""Attacks on real-person authentication over HTTP, with the real dlib liveness check (SQLite and PostgreSQL).

Issue 11's takeover replayed step by step with the registered mobile in the attacker's hands (a swapped SIM): the
registry photo as an upload, then as every frame of a burst; and the ways around the challenge: another account's,
a used one, an expired one, one for another purpose, a burst that is not the challenge's shape, a genuine burst
sent again. Genuine bursts come from tests/liveness_synth.py (real portraits on a 3D head proxy).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.applications.errors import ApplicationRefused
from edl.applications.face import DlibFaceVerifier, dlib_available
from edl.bootstrap import Container
from edl.db.models import AccountRow, AuditRow, ElicenceRow, FaceCheckRow
from edl.domain.liveness import LiveCapture, TimedFrame, draw_actions
from edl.web import create_app
from tests import liveness_synth as synth
from tests.auth_helpers import burst_form, challenge_of, csrf_of, post_burst, sign_in_holder
from tests.workflow import REGISTERED_MOBILE, prepare, seed_account, seed_licence

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not dlib_available(), reason="dlib / face-recognition-models not installed"),
]

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
SEED = 20261203
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def dlib_verifier() -> DlibFaceVerifier:
    verifier = DlibFaceVerifier()
    verifier.analyser()  # load the models once for the module
    return verifier


@pytest.fixture
def client(container: Container, dlib_verifier: DlibFaceVerifier) -> Iterator[TestClient]:
    prepare(container, NOW)
    container.face_verifier = dlib_verifier
    container.liveness_rng = random.Random(SEED)
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


def _victim(container: Container, person: str = "astronaut") -> str:
    return seed_licence(container, NOW, name="张三", photo=synth.registry_photo(person))


def _bound(container: Container, account: str) -> str | None:
    with container.sessions() as s:
        row = s.get(AccountRow, account)
        assert row is not None
        return row.licence_number


def _outcomes(container: Container) -> list[str]:
    with container.sessions() as s:
        return [r.outcome for r in s.scalars(sa.select(FaceCheckRow).order_by(FaceCheckRow.at, FaceCheckRow.id))]


def _genuine_burst(client: TestClient, person: str, data: dict[str, str], purpose: str = "bind") -> dict[str, object]:
    """A burst of `person` answering the next challenge (drawn from SEED, so the rendering knows the actions)."""
    answer = challenge_of(client, purpose)
    actions = draw_actions(random.Random(SEED))
    assert list(answer["actions"]) == [a.value for a in actions]  # type: ignore[call-overload]
    burst = synth.genuine(person, actions)
    return burst_form(
        client, data, purpose, frames=burst.jpegs(), times=burst.times_ms, challenge=str(answer["challenge"])
    )


def test_the_takeover_replayed_step_by_step_fails_at_binding(client: TestClient, container: Container) -> None:
    victim = _victim(container)
    registry_photo = synth.registry_photo("astronaut")
    attacker = sign_in_holder(client, container, mobile=REGISTERED_MOBILE)  # the swapped SIM
    # 1. the registry photo as the "live capture" upload, as before the fix
    r = client.post(
        "/app/bind",
        data={"csrf": csrf_of(client), "number": victim, "name": "张三"},
        files={"live": ("live.jpg", registry_photo, "image/jpeg")},
    )
    assert r.status_code == 400 and "只接受摄像头现场采集的画面" in r.text
    # 2. the registry photo as every frame of a burst answering a real challenge
    r = post_burst(client, "/app/bind", {"number": victim, "name": "张三"}, "bind", every=registry_photo)
    assert r.status_code == 400, r.text
    assert "画面与已有照片或以前的认证画面相同" in r.text or "未按提示完成动作" in r.text
    assert _bound(container, attacker) is None
    # 3. the rest of the chain has nothing to work with
    client.post("/app/apply/stored", data={"csrf": csrf_of(client), "idempotency_key": "k1"})
    assert client.get("/app/licence/code").status_code != 200
    with container.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ElicenceRow)) == 0
    assert _outcomes(container) in (["replay"], ["action"]), "one attempt, counted and refused"


def test_a_genuine_burst_binds_and_the_same_frames_sent_again_are_a_replay(
    client: TestClient, container: Container
) -> None:
    number = _victim(container)
    account = sign_in_holder(client, container)
    ready = _genuine_burst(client, "astronaut", {"number": number, "name": "张三"})
    r = client.post("/app/bind", headers=JSON, **ready)  # type: ignore[arg-type]
    assert r.status_code == 200 and r.json() == {"ok": True, "redirect": "/app"}, r.text
    assert _bound(container, account) == number
    # the captured frames, replayed against a fresh challenge of the same actions before applying
    container.liveness_rng = random.Random(SEED)
    fresh = challenge_of(client, "apply")
    replay = {**ready, "data": {**ready["data"], "challenge": fresh["challenge"], "next": "/app"}}  # type: ignore[dict-item]
    r = client.post("/app/verify-face", headers=JSON, **replay)  # type: ignore[arg-type]
    assert r.status_code == 400 and "画面与已有照片或以前的认证画面相同" in r.json()["error"]
    assert sorted(_outcomes(container)) == ["passed", "replay"]


def test_someone_else_doing_the_challenge_right_is_refused_as_a_mismatch(
    client: TestClient, container: Container
) -> None:
    number = _victim(container, "hopper")
    account = sign_in_holder(client, container)
    ready = _genuine_burst(client, "astronaut", {"number": number, "name": "张三"})
    r = client.post("/app/bind", headers=JSON, **ready)  # type: ignore[arg-type]
    assert r.status_code == 400 and "人脸与驾驶证档案照片不一致" in r.json()["error"]
    assert _bound(container, account) is None


def test_a_challenge_answers_once_for_its_own_account_purpose_and_minute(
    client: TestClient, container: Container
) -> None:
    number = _victim(container)
    sign_in_holder(client, container)
    stale = "本次认证已过期或已使用"
    data = {"number": number, "name": "张三"}
    # another purpose's challenge
    r = post_burst(client, "/app/bind", data, "apply")
    assert r.status_code == 400 and stale in r.text
    # a made-up nonce
    r = post_burst(client, "/app/bind", data, "bind", challenge="A" * 43, times=[100 * i for i in range(1, 12)])
    assert r.status_code == 400 and stale in r.text
    # an expired one
    answer = challenge_of(client, "bind")
    container.clock = lambda: NOW + timedelta(seconds=61)
    r = post_burst(client, "/app/bind", data, "bind", challenge=str(answer["challenge"]), times=answer["frame_times"])  # type: ignore[arg-type]
    assert r.status_code == 400 and stale in r.text
    container.clock = lambda: NOW
    # another account's (a holder bound to another licence, checking before applying)
    theirs = challenge_of(client, "apply")
    other_licence = seed_licence(container, NOW, name="李四", mobile="13900000077", sequence=7)
    other = seed_account(container, NOW, number=other_licence, mobile="13900000077")
    times = [int(t) for t in theirs["frame_times"]]  # type: ignore[attr-defined]
    stolen = LiveCapture(str(theirs["challenge"]), tuple(TimedFrame(t, b"\xff\xd8\xff") for t in times))
    with pytest.raises(ApplicationRefused) as refused:
        container.face_checks.authenticate(other, stolen, at=NOW)
    assert refused.value.code == "challenge_invalid"
    assert _outcomes(container) == [], "none of these reached the face check or counted as an attempt"


def test_a_used_challenge_is_refused_the_second_time(client: TestClient, container: Container) -> None:
    number = _victim(container)
    sign_in_holder(client, container)
    answer = challenge_of(client, "bind")
    still = synth.attack_still("astronaut", draw_actions(random.Random(SEED)))
    ready = burst_form(
        client,
        {"number": number, "name": "张三"},
        frames=still.jpegs(),
        times=still.times_ms,
        challenge=str(answer["challenge"]),
    )
    first = client.post("/app/bind", headers=JSON, **ready)
    second = client.post("/app/bind", headers=JSON, **ready)
    assert first.status_code == 400 and "未按提示完成动作" in first.json()["error"]
    assert second.status_code == 400 and "本次认证已过期或已使用" in second.json()["error"]
    assert _outcomes(container) == ["action"]


@pytest.mark.parametrize(
    ("name", "times"),
    [
        ("too few frames", [100, 300, 500, 700]),
        ("times not increasing", [100, 90, 500, 900, 1300, 1700, 2100, 2500, 2900, 3300, 3700]),
        ("a frame long after the timeline", [100, 300, 500, 900, 1300, 1700, 2100, 2500, 2900, 3300, 20000]),
    ],
)
def test_a_burst_not_shaped_like_the_challenge_is_refused_as_incomplete(
    client: TestClient, container: Container, name: str, times: list[int]
) -> None:
    number = _victim(container)
    sign_in_holder(client, container)
    frames = [synth.registry_photo("astronaut")] * len(times)
    r = post_burst(client, "/app/bind", {"number": number, "name": "张三"}, "bind", frames=frames, times=times)
    assert r.status_code == 400 and "未能完整采集画面" in r.text, name


def test_attempts_stop_per_licence_as_well_as_per_account(client: TestClient, container: Container) -> None:
    container.settings.face_attempts_per_licence_per_day = 2
    number = _victim(container)
    sign_in_holder(client, container)
    for _ in range(2):
        r = post_burst(client, "/app/bind", {"number": number, "name": "张三"}, "bind")  # placeholder frames: refused
        assert r.status_code == 400
    r = post_burst(client, "/app/bind", {"number": number, "name": "张三"}, "bind")
    assert r.status_code == 400 and "此驾驶证今日的实人认证次数已达上限" in r.text
    assert len(_outcomes(container)) == 2
    with container.sessions() as s:
        refused = s.scalars(sa.select(AuditRow.detail).where(AuditRow.action == "bind", AuditRow.outcome == "refused"))
        assert {"code": "face_attempts_exhausted_licence"} in list(refused)


def test_the_service_refuses_a_burst_for_a_challenge_it_never_issued(container: Container) -> None:
    prepare(container, NOW)
    number = _victim(container)
    account = seed_account(container, NOW, mobile=REGISTERED_MOBILE)
    forged = LiveCapture("forged", tuple(TimedFrame(100 * i, b"\xff\xd8\xff") for i in range(1, 12)))
    with pytest.raises(ApplicationRefused) as refused:
        container.face_checks.bind_licence(account, number, "张三", forged, at=NOW)
    assert refused.value.code == "challenge_invalid"


def test_more_frames_than_a_burst_holds_are_refused_before_any_work(client: TestClient, container: Container) -> None:
    number = _victim(container)
    sign_in_holder(client, container)
    times = [100 * i for i in range(1, 40)]
    frames = [synth.registry_photo("astronaut")] * len(times)
    r = post_burst(client, "/app/bind", {"number": number, "name": "张三"}, "bind", frames=frames, times=times)
    assert r.status_code == 400, r.text
    assert _outcomes(container) == []


def _mirrored(jpeg: bytes) -> bytes:
    import io

    from PIL import Image, ImageOps

    out = io.BytesIO()
    ImageOps.mirror(Image.open(io.BytesIO(jpeg))).save(out, "JPEG", quality=90)
    return out.getvalue()


def test_the_frames_of_a_passed_bind_mirrored_are_refused(client: TestClient, container: Container) -> None:
    """Mirrored, the turns swap sides, so the same challenge's order fails; the mirrored face hash is compared with
    earlier attempts too (a best effort: re-alignment and re-encoding move the hash)."""
    number = _victim(container)
    sign_in_holder(client, container)
    ready = _genuine_burst(client, "astronaut", {"number": number, "name": "张三"})
    assert client.post("/app/bind", headers=JSON, **ready).status_code == 200  # type: ignore[arg-type]
    container.liveness_rng = random.Random(SEED)
    fresh = challenge_of(client, "apply")
    files = [("frame", (name, _mirrored(data), kind)) for _field, (name, data, kind) in ready["files"]]  # type: ignore[attr-defined]
    data = {**ready["data"], "challenge": fresh["challenge"], "next": "/app"}  # type: ignore[dict-item]
    r = client.post("/app/verify-face", headers=JSON, data=data, files=files)
    assert r.status_code == 400
    assert "画面与已有照片或以前的认证画面相同" in r.json()["error"] or "未按提示完成动作" in r.json()["error"]


def test_frames_without_a_face_are_refused_at_the_first_one(client: TestClient, container: Container) -> None:
    from PIL import Image

    from tests.faces import jpeg

    number = _victim(container)
    sign_in_holder(client, container)
    wall = jpeg(Image.new("RGB", (480, 360), (200, 196, 188)))
    r = post_burst(client, "/app/bind", {"number": number, "name": "张三"}, "bind", every=wall)
    assert r.status_code == 400 and "部分画面中未检测到人脸" in r.text
    assert _outcomes(container) == ["no_face"]


def test_attempts_sent_side_by_side_stay_within_the_daily_limit(container: Container) -> None:
    """The attempt is counted in the transaction that takes the challenge (under a lock on the account), so bursts
    posted together cannot all find room under the limit."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises its writers; the race is a PostgreSQL one")
    import threading
    import time

    from tests.workflow import capture

    verifier = prepare(container, NOW)
    container.settings.face_attempts_per_day = 2
    number = _victim(container)
    account = seed_account(container, NOW, number=number, mobile=REGISTERED_MOBILE)
    slow = verifier.check

    def check(*args: object) -> object:
        time.sleep(0.5)  # the checks overlap
        return slow(*args)  # type: ignore[arg-type]

    verifier.check = check  # type: ignore[method-assign]
    bursts = [capture(container, account, at=NOW) for _ in range(5)]
    outcomes: list[str] = []

    def attempt(burst: LiveCapture) -> None:
        try:
            container.face_checks.authenticate(account, burst, at=NOW)
            outcomes.append("checked")
        except ApplicationRefused as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(b,)) for b in bursts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["checked", "checked", *["face_attempts_exhausted"] * 3]
    assert len(_outcomes(container)) == 2
