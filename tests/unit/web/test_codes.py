"""The e-licence's QR code and Code128 barcode decode back to what was encoded (read with zxing-cpp)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import zxingcpp
from PIL import Image

from edl.web.codes import (
    BARCODE_QUIET,
    code128_modules,
    code128_png,
    code128_svg,
    licence_barcode_payload,
    licence_qr_payload,
    qr_png,
    qr_svg,
)

ELICENCE_ID = "3f9a0c1e5b7d4e2f8a6c0b1d2e3f4a5b"
ISSUED = datetime(2026, 3, 15, 2, 0, 5, tzinfo=UTC)


def _read(png: bytes) -> list[tuple[str, str]]:
    img = Image.open(io.BytesIO(png)).convert("L")
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(img)]


def test_qr_payload_names_the_elicence_and_its_generation_time() -> None:
    assert licence_qr_payload(ELICENCE_ID, ISSUED) == f"EDL-ELICENCE:{ELICENCE_ID}:{int(ISSUED.timestamp())}"


def test_qr_png_decodes_to_the_payload() -> None:
    payload = licence_qr_payload(ELICENCE_ID, ISSUED)
    assert _read(qr_png(payload)) == [("QRCode", payload)]


def test_code128_png_decodes_to_the_elicence_id() -> None:
    payload = licence_barcode_payload(ELICENCE_ID)
    assert _read(code128_png(payload)) == [("Code128", ELICENCE_ID)]


def test_a_different_payload_gives_a_different_barcode() -> None:
    assert code128_modules("A1") != code128_modules("A2")


def test_qr_svg_is_scalable_titled_and_free_of_inline_styles() -> None:
    svg = str(qr_svg("EDL-ELICENCE:x:1", title="二维码 <x>"))
    assert svg.startswith("<svg") and 'viewBox="0 0 ' in svg and "width=" not in svg.split(">")[0]
    assert "<title>二维码 &lt;x&gt;</title>" in svg
    assert "style=" not in svg


def test_barcode_svg_has_one_rect_per_bar_and_the_quiet_zones() -> None:
    modules = code128_modules(ELICENCE_ID)
    svg = str(code128_svg(ELICENCE_ID, title="条形码"))
    bars = len(re.findall(r"1+", modules))
    assert svg.count("<rect") == bars + 1  # plus the white background
    assert f'viewBox="0 0 {len(modules) + 2 * BARCODE_QUIET} ' in svg
    assert "style=" not in svg
