"""Issue 11, item 3: the barcode carried the fixed e-licence id, so a screenshot of the front page (or the id copied
from any download) verified forever. Replayed on SQLite and PostgreSQL, through the API and the verifier page: only a
current barcode number verifies; one from a page older than its window is refused as `barcode_expired`, the fixed id
as `barcode_static_id`, a forged or tampered number as `barcode_invalid`, and none of the refusals shows anything
about the holder."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from edl.bootstrap import Container
from edl.db.session import transaction
from edl.issuance.voiding import void_elicence
from edl.rendering import PageName, render_png
from edl.rendering.service import load_card
from edl.verification.purposes import Purpose
from edl.web import create_app
from tests.integration.test_online_verification import (
    NOW,
    live_barcode,
    log_rows,
    party_key,
    post,
    ready,  # noqa: F401  (fixture)
    seeded,
    set_clock,
)
from tests.integration.test_verifier_page import csrf, sign_in, upload, verdict

pytestmark = pytest.mark.integration
STEP = timedelta(seconds=60)
VERIFIER_READS = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128])


@pytest.fixture
def client(ready: Container) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(ready), follow_redirects=False) as c:
        yield c


def codes(answer: dict[str, object]) -> list[str]:
    errors = answer["errors"]
    assert isinstance(errors, list)
    return [str(e["code"]) for e in errors]


def refused_without_personal_data(answer: dict[str, object], code: str) -> None:
    assert (answer["valid"], answer["status"], codes(answer)) == (False, "unknown", [code])
    assert answer["fields"] == {} and answer["registry_status"] is None


def screenshot_barcode(container: Container, number: str) -> tuple[bytes, str]:
    """The barcode strip of the front page as the holder downloads it now (PNG, cropped below the QR code: a picture
    of the barcode alone), and the Code 128 read back from the whole page by zxing-cpp."""
    page = Image.open(
        io.BytesIO(
            render_png(
                load_card(
                    container.sessions, container.code_maker, container.photos, number, at=container.clock()
                ).card,
                PageName.FRONT,
            )
        )
    )
    formats = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.Code128])
    (found,) = zxingcpp.read_barcodes(page, formats=formats)
    scale = page.width / 600  # the page is drawn 600 units wide (edl.rendering.pages.WIDTH)
    strip = io.BytesIO()
    page.crop((0, int(895 * scale), page.width, int(990 * scale))).save(strip, "PNG")
    return strip.getvalue(), found.text


def test_a_screenshot_of_the_front_page_verifies_now_and_is_refused_as_expired_later(
    ready: Container,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
) -> None:
    number, elicence_id = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    _png, barcode = screenshot_barcode(ready, number)
    assert barcode == live_barcode(ready, number), "the PNG's Code 128 is the current number, made with the QR"
    assert elicence_id not in barcode

    now = post(client, key, {"barcode": barcode}).json()
    assert (now["valid"], now["status"], now["fields"]["name"]) == (True, "valid", "张伟")

    set_clock(ready, NOW + 3 * STEP)  # the screenshot is three minutes old
    later = post(client, key, {"barcode": barcode}).json()
    refused_without_personal_data(later, "barcode_expired")
    assert "过期" in later["errors"][0]["message"]


def test_the_previous_step_is_accepted_and_two_steps_back_is_expired(
    ready: Container,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.POLICE)
    previous = live_barcode(ready, number, NOW - STEP)
    two_back = live_barcode(ready, number, NOW - 2 * STEP)
    assert post(client, key, {"barcode": previous}).json()["valid"] is True
    refused_without_personal_data(post(client, key, {"barcode": two_back}).json(), "barcode_expired")


def test_the_fixed_elicence_id_is_never_accepted(ready: Container, client: TestClient, tmp_path: Path) -> None:  # noqa: F811
    _, elicence_id = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.POLICE)
    for form in (elicence_id, elicence_id.upper(), f" {elicence_id[:8]}-{elicence_id[8:]} "):
        answer = post(client, key, {"barcode": form}).json()
        refused_without_personal_data(answer, "barcode_static_id")
        assert "固定的电子驾驶证编号" in answer["errors"][0]["message"]


def test_a_forged_or_tampered_number_is_refused_and_audited_without_personal_data(
    ready: Container,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
) -> None:
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.POLICE)
    genuine = live_barcode(ready, number)
    last = str((int(genuine[-1]) + 1) % 10)
    guesses = [
        genuine[:-1] + last,  # one digit of the tag changed
        genuine[:12] + "0" * 12,  # the right serial and step, a guessed tag
        f"{int(genuine[:10]) + 1:010d}" + genuine[10:],  # the next serial with this e-licence's tag
    ]
    for guess in guesses:
        refused_without_personal_data(post(client, key, {"barcode": guess}).json(), "barcode_invalid")
    logged = log_rows(ready)
    assert [(r.method, r.valid, r.errors, r.licence_number, r.elicence_id) for r in logged] == [
        ("barcode", False, "barcode_invalid", None, None)
    ] * 3, "every guess is in the verification log, with nothing about any holder"


def test_a_voided_elicences_barcode_is_refused(ready: Container, client: TestClient, tmp_path: Path) -> None:  # noqa: F811
    number, _ = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.POLICE)
    barcode = live_barcode(ready, number)
    with transaction(ready.sessions) as s:
        assert void_elicence(s, number, "reissued", at=NOW, actor="test") == 1
    answer = post(client, key, {"barcode": barcode}).json()
    assert (answer["valid"], answer["status"], codes(answer)) == (False, "revoked", ["status_revoked"])


def test_on_the_verifier_page_a_current_screenshot_verifies_and_an_old_one_is_expired(
    ready: Container,  # noqa: F811
    client: TestClient,
    tmp_path: Path,
) -> None:
    number, elicence_id = seeded(ready, tmp_path)
    _, key = party_key(ready, Purpose.RENTAL)
    png, barcode = screenshot_barcode(ready, number)
    read = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=VERIFIER_READS)
    assert [r.text for r in read] == [barcode], "a picture of the barcode alone: no QR code in it"
    sign_in(client, key)
    assert verdict(upload(client, png)) == (True, "valid")

    set_clock(ready, NOW + 2 * STEP)
    old = upload(client, png)
    assert verdict(old) == (False, "unknown") and "条形码已过期" in old and "data-field=" not in old
    typed = client.post("/verify/upload", data={"csrf": csrf(client), "typed": elicence_id})
    assert verdict(typed.text) == (False, "unknown") and "固定的电子驾驶证编号" in typed.text
    current = live_barcode(ready, number, NOW + 2 * STEP)
    fresh = client.post("/verify/upload", data={"csrf": csrf(client), "typed": current})
    assert verdict(fresh.text) == (True, "valid")
    assert [r.errors for r in log_rows(ready)] == ["", "barcode_expired", "barcode_static_id", ""]
