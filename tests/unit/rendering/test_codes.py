"""The e-licence's QR code and Code128 barcode decode back to what was encoded (read with zxing-cpp).

(Moved from tests/unit/web/test_codes.py with the symbols; the placeholder QR payload is gone: the QR holds the
signed live code now.)
"""

from __future__ import annotations

import io
import re
import uuid

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from edl.rendering.codes import (
    BARCODE_QUIET,
    code128_modules,
    code128_png,
    code128_svg,
    licence_barcode_payload,
    qr_png,
    qr_svg,
    qr_version,
)

ELICENCE_ID = "3f9a0c1e5b7d4e2f8a6c0b1d2e3f4a5b"
CODE = "EDL1:NCFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTLRR+%3"


def _read(png: bytes) -> list[tuple[str, str]]:
    img = Image.open(io.BytesIO(png)).convert("L")
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(img)]


def test_qr_png_decodes_to_the_payload() -> None:
    assert _read(qr_png(CODE)) == [("QRCode", CODE)]


def test_code128_png_decodes_to_the_elicence_id() -> None:
    payload = licence_barcode_payload(ELICENCE_ID)
    assert payload == ELICENCE_ID
    assert _read(code128_png(payload)) == [("Code128", ELICENCE_ID)]


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
