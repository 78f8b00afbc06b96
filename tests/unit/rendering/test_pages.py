"""The licence pages (正页 / 副页) as SVG, PNG and PDF: what they show, that values are escaped, that the QR and the
Code128 barcode read back (zxing-cpp), and that the pages fit their text."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from edl.domain import Status
from edl.domain.licence import RecordEntry, RecordKind
from edl.registry.portraits import render_portrait
from edl.rendering import Card, CodeView, PageName, card_of, front_page, render_pdf, render_png, secondary_page
from edl.rendering.card import RECORD_SHOWN
from edl.rendering.pages import fit_size, photo_data_uri, text_width, wrap
from tests.factories import licence

AT = datetime(2026, 3, 16, 2, 0, 5, tzinfo=UTC)
ELICENCE_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CODE_TEXT = "EDL1:" + "NCFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTLRR+%3" * 4
BARCODE = "000000004217123456789012"
SVG = "{http://www.w3.org/2000/svg}"


def make_card(**kw: object) -> Card:
    lic = licence(**kw)  # type: ignore[arg-type]
    return card_of(
        lic,
        elicence_id=ELICENCE_ID,
        elicence_issued_at=AT - timedelta(days=3),
        code=CodeView(CODE_TEXT, AT, AT + timedelta(seconds=180), BARCODE),
        photo=render_portrait(7, str(lic.number)),
        at=AT,
    )


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def read_codes(png: bytes) -> dict[str, str]:
    formats = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128])
    return {r.format.name: r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=formats)}


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))


def test_the_front_page_shows_the_card_fields_the_code_and_the_generation_time() -> None:
    card = make_card(name="欧阳娜娜")
    shown = "\n".join(texts(front_page(card, photo_href=None).svg))
    for value in (card.number, "欧阳娜娜", "男 M", "中国 CHN", "1990-05-17", "2015-03-01", "C1"):
        assert value in shown
    assert "0000 0000 4217 1234 5678 9012" in shown and ELICENCE_ID not in shown, "the barcode number, not the id"
    assert "2021-03-01 至 2031-03-01" in shown
    assert "生成时间 Generated 2026-03-16 10:00 北京时间" in shown, "to the minute, as on the pages"
    assert "10:03:05" in shown  # the code's expiry, Beijing time
    assert card.address not in shown, "the address belongs on the secondary page"


def test_the_secondary_page_shows_address_authority_file_number_classes_record_and_status() -> None:
    lic_card = make_card(
        record=(RecordEntry(date(2025, 6, 1), RecordKind.OFFENCE, "闯红灯", 6),),
        statuses=frozenset({Status.SUSPENDED}),
    )
    shown = "\n".join(texts(secondary_page(lic_card).svg))
    for value in ("天津市和平区南京路100号", "天津市公安交通管理局", lic_card.file_number, "2025-06-01", "闯红灯"):
        assert value in shown
    assert "C1" in shown and "小型汽车" in shown and "C2 C3" in shown
    assert "暂扣" in shown


def test_values_are_escaped_and_the_svg_stays_well_formed() -> None:
    evil = "<script>alert(\"x\")</script> & 'q'"
    card = make_card(name=evil[:40])
    card = Card(**{**{f: getattr(card, f) for f in card.__dataclass_fields__}, "address": evil, "authority": evil})
    for page in (front_page(card, photo_href='x" onload="alert(1)'), secondary_page(card)):
        markup = str(page.svg)
        assert "<script" not in markup and 'onload="' not in markup
        root = ET.fromstring(markup)  # well-formed XML
        assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert evil in "".join(texts(secondary_page(card).svg))


def test_pages_use_no_style_attributes_or_elements_the_csp_would_block() -> None:
    card = make_card()
    for page in (front_page(card, photo_href="/app/licence/photo", live=True), secondary_page(card, live=True)):
        root = ET.fromstring(str(page.svg))
        assert all("style" not in e.attrib for e in root.iter())
        assert not [e for e in root.iter() if e.tag == f"{SVG}style"]


def test_only_the_live_page_marks_the_code_for_refreshing() -> None:
    card = make_card()
    live = str(front_page(card, photo_href=None, live=True).svg)
    still = str(front_page(card, photo_href=None).svg)
    for mark in ("data-live-qr", "data-live-bar", "data-code-expiry-time", "data-code-issued-time"):
        assert mark in live and mark not in still


def test_front_png_reads_back_the_code_and_the_barcode_number_never_the_elicence_id() -> None:
    codes = read_codes(render_png(make_card(), PageName.FRONT))
    assert codes == {"QRCode": CODE_TEXT, "Code128": BARCODE}
    assert "0000 0000 4217 1234 5678 9012" in str(front_page(make_card(), photo_href=None).svg)


def test_secondary_png_is_a_picture_of_the_page() -> None:
    png = render_png(make_card(), PageName.SECONDARY)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.width == 1200 and img.height > 1500


def test_pdf_has_one_page_per_licence_page() -> None:
    card = make_card()
    both = render_pdf(card)
    assert both.startswith(b"%PDF") and pdf_pages(both) == 2
    assert pdf_pages(render_pdf(card, (PageName.SECONDARY,))) == 1


def test_a_long_record_is_cut_to_the_newest_entries_and_says_how_many_more() -> None:
    record = tuple(
        RecordEntry(date(2010, 1, 1) + timedelta(days=40 * i), RecordKind.OFFENCE, f"记录{i}", 1) for i in range(20)
    )
    card = make_card(record=record)
    assert len(card.record) == RECORD_SHOWN and card.record[0].description == "记录19"
    shown = "\n".join(texts(secondary_page(card).svg))
    assert "记录19" in shown and "记录8" in shown and "记录7" not in shown
    assert f"另有 {20 - RECORD_SHOWN} 条较早记录未显示" in shown
    assert secondary_page(card).height > secondary_page(make_card()).height


def test_a_blocking_status_draws_the_red_frame() -> None:
    blocked = make_card(statuses=frozenset({Status.SUSPENDED}))
    assert blocked.blocked and not make_card().blocked
    assert 'stroke="#a8231b"' in str(front_page(blocked, photo_href=None).svg)
    assert 'stroke="#a8231b"' not in str(front_page(make_card(), photo_href=None).svg)


def test_a_long_name_is_set_smaller_to_fit_beside_the_photo() -> None:
    name = "阿卜杜热合曼·买买提艾力·库尔班"
    size = fit_size(name, 28, 372, smallest=12)
    assert size < 28 and text_width(name, size) <= 372


def test_the_photo_is_embedded_as_a_data_uri_of_its_type() -> None:
    assert photo_data_uri(b"\xff\xd8\xff\xe0rest").startswith("data:image/jpeg;base64,")
    assert photo_data_uri(b"\x89PNG\r\n\x1a\nrest").startswith("data:image/png;base64,")


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="天津市和平区南京路 Apt Block 12-3号ABCxyz", min_size=1, max_size=120))
def test_wrapped_lines_fit_and_keep_every_visible_character(text: str) -> None:
    lines = wrap(text, 20, 300)
    assert all(text_width(line, 20) <= 300 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize("page", list(PageName))
def test_every_page_name_renders(page: PageName) -> None:
    assert render_png(make_card(), page, scale=0.5).startswith(b"\x89PNG")
