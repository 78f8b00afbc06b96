"""The e-licence's QR code and Code128 barcode decode back to what was encoded (read with zxing-cpp).

(Moved from tests/unit/web/test_codes.py with the symbols; the placeholder QR payload is gone: the QR holds the
signed live code now.)
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from edl.credentials.barcode import LENGTH, BarcodeScheme
from edl.rendering.codes import (
    BARCODE_QUIET,
    barcode_caption,
    code128_modules,
    code128_png,
    code128_svg,
    qr_png,
    qr_svg,
    qr_version,
)

ELICENCE_ID = "3f9a0c1e5b7d4e2f8a6c0b1d2e3f4a5b"
READ = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128])
"""What the verifier reads (its page and its bundled camera reader): unrestricted, zxing-cpp may also see an EAN-13 in
a long run of code-set-C digits."""
CODE = "EDL1:NCFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTLRR+%3"


def _read(png: bytes) -> list[tuple[str, str]]:
    img = Image.open(io.BytesIO(png)).convert("L")
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(img, formats=READ)]


def test_qr_png_decodes_to_the_payload() -> None:
    assert _read(qr_png(CODE)) == [("QRCode", CODE)]


def test_code128_png_decodes_to_the_barcode_number() -> None:
    number = BarcodeScheme(b"k" * 32).number(42, at=datetime(2026, 11, 25, 2, 0, tzinfo=UTC)).text
    assert len(number) == LENGTH and number.isdigit()
    assert _read(code128_png(number)) == [("Code128", number)]


def test_the_barcode_number_prints_shorter_than_the_old_elicence_id() -> None:
    """Code set C: two digits per symbol, so the 24-digit number needs fewer than half the old id's modules."""
    number = "9" * LENGTH
    assert len(code128_modules(number)) * 2 < len(code128_modules(ELICENCE_ID))


def test_the_caption_groups_the_number_by_four() -> None:
    assert barcode_caption("000000004217123456789012") == "0000 0000 4217 1234 5678 9012"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 10**7))
def test_every_barcode_number_reads_back_from_its_barcode(serial: int, minutes: int) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    number = BarcodeScheme(b"k" * 32).number(serial, at=at).text
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(code128_png(number))), formats=READ)
    assert [d.text for d in decoded] == [number]


def test_a_different_payload_gives_a_different_barcode() -> None:
    assert code128_modules("A1") != code128_modules("A2")


def test_qr_svg_is_scalable_titled_and_free_of_inline_styles() -> None:
    svg = str(qr_svg(CODE, title="二维码 <x>"))
    assert svg.startswith("<svg") and 'viewBox="0 0 ' in svg and "width=" not in svg.split(">")[0]
    assert "<title>二维码 &lt;x&gt;</title>" in svg
    assert "style=" not in svg


def test_a_placed_symbol_carries_its_box_and_class() -> None:
    qr = str(qr_svg(CODE, title="t", box=(32, 664, 224, 224), svgclass="licence-qr"))
    head = qr.split(">")[0]
    assert 'x="32" y="664" width="224" height="224"' in head and 'class="licence-qr"' in head
    bar = str(code128_svg(ELICENCE_ID, title="t", box=(32, 904, 536, 50), svgclass="licence-bar"))
    assert bar.startswith('<svg class="licence-bar" x="32" y="904" width="536" height="50"')


def test_the_qr_version_is_what_segno_chose() -> None:
    assert qr_version("EDL1:A") == 1
    assert qr_version("EDL1:" + "A" * 300) > 5


def test_barcode_svg_has_one_rect_per_bar_and_the_quiet_zones() -> None:
    modules = code128_modules(ELICENCE_ID)
    svg = str(code128_svg(ELICENCE_ID, title="条形码"))
    bars = len(re.findall(r"1+", modules))
    assert svg.count("<rect") == bars + 1  # plus the white background
    assert f'viewBox="0 0 {len(modules) + 2 * BARCODE_QUIET} ' in svg
    assert "style=" not in svg


@pytest.mark.parametrize(
    "payload",
    ["99901c0475491bc354c56c9a9cc9af4e", "99", "9999", "99a", "a99", "990099", "12ab", "ab12"],
)
def test_code128_keeps_leading_digit_pairs_such_as_99(payload: str) -> None:
    """python-barcode 0.16 drops a leading "99" (it reads the data value 99 as a switch code); ours does not."""
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(code128_png(payload))))
    assert [d.text for d in decoded] == [payload]


@settings(max_examples=300, deadline=None)
@given(st.uuids())
def test_every_elicence_id_reads_back_from_its_barcode(value: uuid.UUID) -> None:
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(code128_png(value.hex))))
    assert [d.text for d in decoded] == [value.hex]
