"""The two licence pages (正页 front, 副页 secondary) as SVG, built in Python with every value escaped.

One source for every place the licence is shown: inline in the holder's phone page, and converted to PNG / PDF by
`edl.rendering.output`. Only presentation attributes are used (no `style`, no `<style>`), so the page's CSP
(`style-src 'self'`) allows the inline SVG and cairosvg draws it the same way.

Text is laid out here (cairosvg and SVG 1.1 do not wrap): widths are estimated from the font's design (CJK glyphs
are 1 em; Latin and digits at most 0.62 em), so lines wrap a little early rather than overflow.

Field labels are the glossary's (`edl.domain.glossary.GLOSSARY`), Chinese with the English beside it, as on the
plastic card; dates and moments are in the glossary's formats (`2020-01-01`, `2020-01-01 08:30`), as on the web
pages. Only the live code's expiry is a clock time to the second: the code lives for minutes.
"""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from markupsafe import Markup, escape

from edl.domain.glossary import GLOSSARY, format_date, format_datetime
from edl.rendering.card import Card, StatusLine, beijing_clock
from edl.rendering.codes import barcode_caption, code128_svg, qr_svg

WIDTH = 600
FRONT_HEIGHT = 1040
MARGIN = 32
INNER = WIDTH - 2 * MARGIN
FONT_STACK = "Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
"""For browsers; cairosvg takes only the first family, so rasterising puts the installed CJK family first."""

BLUE = "#1f5fa8"
INK = "#1a2533"
MUTED = "#5b6b7f"
PAPER = "#f6f9fd"
RULE = "#b9cde6"
TONES: dict[str, tuple[str, str]] = {  # tone -> (background, ink)
    "ok": ("#e3f4e8", "#1b6e34"),
    "warn": ("#fdf0d9", "#8a4b00"),
    "block": ("#fbe3e1", "#a8231b"),
}
QR_TITLE = "电子驾驶证二维码（亮码） E-licence QR code (live code)"
BARCODE_TITLE = "电子驾驶证条形码 E-licence barcode"

CARD_LANG = "zh"
"""Whose date formats the bilingual card uses: Chinese first (the glossary's English formats are the same today)."""
FRONT_FIELDS: tuple[str, ...] = tuple(
    "licence_number name sex nationality birth_date first_issue classes validity status".split()
)
SECONDARY_FIELDS: tuple[str, ...] = tuple(
    "licence_number address issuing_authority file_number status points driving_record".split()
)
"""The glossary fields each page names (tests/unit/web/test_glossary.py checks the labels drawn are the glossary's)."""
CARD_LABELS: dict[str, tuple[str, str]] = {
    "live_code": ("亮码", "Live code"),
    "code_valid_until": ("有效至", "Valid until"),  # the live code's expiry, not the licence's (valid_until)
    "classes_explained": (f"{GLOSSARY['classes'][0]}说明", GLOSSARY["classes"][1]),
    "elicence_id": ("电子驾驶证编号", "E-licence ID"),
    "issued": ("签发时间", "Issued"),
    "generated": ("生成时间", "Generated"),
}
"""What only the card names (the code, the e-licence): labels that are not licence fields, kept in one place."""


def _date(value: date) -> str:
    return format_date(value, CARD_LANG)


def _moment(at: datetime) -> str:
    """A moment as the pages print it: Beijing time, to the minute."""
    return format_datetime(at, CARD_LANG)


# --- text measurement and wrapping -----------------------------------------------------------------------------


def _em(ch: str) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch == " ":
        return 0.3
    return 0.62


def text_width(text: str, size: float) -> float:
    """An upper estimate of the width of `text` at font size `size`, in user units."""
    return sum(_em(ch) for ch in text) * size


def fit_size(text: str, size: float, width: float, *, smallest: float) -> float:
    """The largest font size from `size` down to `smallest` at which `text` fits on one line of `width`."""
    while size > smallest and text_width(text, size) > width:
        size -= 1
    return size


def wrap(text: str, size: float, width: float) -> list[str]:
    """`text` broken into lines no wider than `width`: between any CJK characters, at spaces within Latin words."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and text_width(line + ch, size) > width:
            cut = line.rfind(" ")
            if cut > 0 and _em(ch) < 1.0 and ch != " ":
                lines.append(line[:cut])
                line = line[cut + 1 :] + ch
            else:
                lines.append(line.rstrip())
                line = "" if ch == " " else ch
        else:
            line += ch
    if line or not lines:
        lines.append(line)
    return lines


# --- a small SVG writer ----------------------------------------------------------------------------------------


def _attrs(attrs: dict[str, object]) -> str:
    return "".join(f' {k}="{escape(str(v))}"' for k, v in attrs.items() if v is not None)


class _Svg:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def element(self, tag: str, **attrs: object) -> None:
        self.parts.append(f"<{tag}{_attrs(_names(attrs))}/>")

    def markup(self, markup: Markup) -> None:
        self.parts.append(str(markup))

    def rect(self, x: float, y: float, w: float, h: float, **attrs: object) -> None:
        self.element("rect", x=f"{x:g}", y=f"{y:g}", width=f"{w:g}", height=f"{h:g}", **attrs)

    def line(self, y: float) -> None:
        self.element("line", x1=MARGIN, y1=y, x2=WIDTH - MARGIN, y2=y, stroke=RULE, stroke_width=1.5)

    def text(self, x: float, y: float, content: str, *, size: float, fill: str = INK, **attrs: object) -> None:
        a = _attrs(_names({"x": f"{x:g}", "y": f"{y:g}", "font_size": f"{size:g}", "fill": fill, **attrs}))
        self.parts.append(f"<text{a}>{escape(content)}</text>")

    def label(self, x: float, y: float, zh: str, en: str, *, size: float = 15) -> None:
        """A label as on the card: Chinese, then the English name smaller."""
        self.text(x, y, zh, size=size, fill=MUTED)
        self.text(x + text_width(zh, size) + 6, y, en, size=size - 3, fill=MUTED)

    def field_label(self, x: float, y: float, field: str, *, size: float = 15) -> None:
        """The glossary's name of licence field `field`, in both languages."""
        self.label(x, y, *GLOSSARY[field], size=size)

    def lines(self, x: float, y: float, lines: Iterable[str], *, size: float, step: float, fill: str = INK) -> float:
        """Lines from baseline `y`, `step` apart; returns the baseline of the last one."""
        last = y - step
        for i, text in enumerate(lines):
            last = y + i * step
            self.text(x, last, text, size=size, fill=fill)
        return last

    def document(self, height: float, *, title: str, font_family: str, label_id: str | None) -> Markup:
        root = _attrs(
            {
                "xmlns": "http://www.w3.org/2000/svg",
                "width": WIDTH,
                "height": f"{height:g}",
                "viewBox": f"0 0 {WIDTH} {height:g}",
                "class": "licence-svg",
                "font-family": font_family,
                "role": "group",
                "aria-labelledby": label_id,
            }
        )
        head = f"<title{_attrs({'id': label_id})}>{escape(title)}</title>"
        # Every value above and in the parts was escaped; the symbols are the code module's own markup.
        return Markup(f"<svg{root}>{head}{''.join(self.parts)}</svg>")  # noqa: S704


def _names(attrs: dict[str, object]) -> dict[str, object]:
    """Python keyword names to SVG attribute names: font_size → font-size, data_x → data-x."""
    return {k.replace("_", "-"): v for k, v in attrs.items()}


# --- shared parts ----------------------------------------------------------------------------------------------


def photo_data_uri(photo: bytes) -> str:
    """The photo as a data URI (what cairosvg may load; it fetches nothing else)."""
    kind = "image/png" if photo.startswith(b"\x89PNG\r\n\x1a\n") else "image/jpeg"
    return f"data:{kind};base64,{base64.b64encode(photo).decode('ascii')}"


def _frame(svg: _Svg, height: float, page_zh: str, page_en: str, *, blocked: bool) -> None:
    svg.rect(0, 0, WIDTH, height, rx=24, fill=PAPER)
    svg.rect(0, 0, WIDTH, 128, rx=24, fill=BLUE)
    svg.rect(0, 100, WIDTH, 28, fill=BLUE)
    svg.text(
        WIDTH / 2, 54, "中华人民共和国机动车驾驶证", size=30, fill="#fff", font_weight="bold", text_anchor="middle"
    )
    svg.text(
        WIDTH / 2, 82, "Driving Licence of the People's Republic of China", size=15, fill="#fff", text_anchor="middle"
    )
    svg.text(
        WIDTH / 2, 110, f"电子版 · {page_zh}   Electronic · {page_en}", size=15, fill="#d6e6fa", text_anchor="middle"
    )
    border = TONES["block"][1] if blocked else BLUE
    svg.rect(1.5, 1.5, WIDTH - 3, height - 3, rx=23, fill="none", stroke=border, stroke_width=6 if blocked else 3)


def _field(svg: _Svg, x: float, y: float, field: str, value: str, *, width: float, size: float = 22) -> None:
    svg.field_label(x, y, field)
    svg.text(x, y + 30, value, size=fit_size(value, size, width, smallest=12))


def _status_text(statuses: tuple[StatusLine, ...]) -> str:
    return "、".join(f"{s.name_zh} {s.name_en}" for s in statuses) or "—"


def _validity(card: Card) -> str:
    end = _date(card.valid_until) if card.valid_until else "长期 long-term"
    return f"{_date(card.valid_from)} 至 {end}"


def _heading(svg: _Svg, y: float, zh: str, en: str) -> None:
    """A section heading on the secondary page: Chinese in bold, the English beside it."""
    svg.text(MARGIN, y, zh, size=18, fill=BLUE, font_weight="bold")
    svg.text(MARGIN + text_width(zh, 18) + 8, y, en, size=15, fill=BLUE)


def _worst_tone(statuses: tuple[StatusLine, ...]) -> str:
    tones = {s.tone for s in statuses}
    return "block" if "block" in tones else "warn" if "warn" in tones else "ok"


# --- the pages -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    svg: Markup
    width: int
    height: float


def front_page(card: Card, *, photo_href: str | None, font_family: str = FONT_STACK, live: bool = False) -> Page:
    """正页: photo, name, sex, nationality, birth date, first issue, classes, validity, number, the live code's QR,
    the Code128 barcode of the short-lived barcode number made with the code, and the generation time.

    `photo_href`: a data URI for rasterising, the photo's URL on the phone page, None for an empty photo box.
    `live`: mark the QR, the barcode and its number, the expiry and the generation time for livecode.js to refresh.
    """
    svg = _Svg()
    height = FRONT_HEIGHT
    _frame(svg, height, "正页", "Front page", blocked=card.blocked)

    svg.field_label(MARGIN, 170, "licence_number")
    svg.text(MARGIN, 204, card.number, size=28, font_weight="bold", letter_spacing=1)

    px, py, pw, ph = 420, 150, 148, 182
    svg.rect(px, py, pw, ph, fill="#fff", stroke=RULE, stroke_width=1.5)
    if photo_href:
        svg.element("image", x=px, y=py, width=pw, height=ph, preserveAspectRatio="xMidYMid slice", href=photo_href)
    else:
        svg.text(px + pw / 2, py + ph / 2, "无照片 No photo", size=14, fill=MUTED, text_anchor="middle")

    narrow = px - MARGIN - 16
    svg.field_label(MARGIN, 250, "name")
    svg.text(MARGIN, 284, card.name, size=fit_size(card.name, 28, narrow, smallest=12), font_weight="bold")
    _field(svg, MARGIN, 318, "sex", card.sex, width=150)
    _field(svg, 200, 318, "nationality", card.nationality, width=narrow - 168)
    _field(svg, MARGIN, 386, "birth_date", _date(card.birth_date), width=narrow)
    _field(svg, MARGIN, 454, "first_issue", _date(card.first_issue), width=INNER)
    classes = " ".join(card.classes)
    svg.field_label(MARGIN, 522, "classes")
    svg.text(MARGIN, 554, classes, size=fit_size(classes, 28, INNER, smallest=12), font_weight="bold")
    _field(svg, MARGIN, 590, "validity", _validity(card), width=INNER)
    svg.line(646)

    live_attr: dict[str, object] = {"data_live_qr": ""} if live else {}
    svg.parts.append(f"<svg{_attrs(_names({'x': MARGIN, 'y': 664, 'width': 224, 'height': 224, **live_attr}))}>")
    svg.markup(qr_svg(card.code.text, title=QR_TITLE, svgclass="licence-qr"))
    svg.parts.append("</svg>")

    cx = MARGIN + 224 + 22
    right = WIDTH - MARGIN - cx
    code_zh, code_en = CARD_LABELS["live_code"]
    svg.text(cx, 694, code_zh, size=20, fill=BLUE, font_weight="bold")
    svg.text(cx + text_width(code_zh, 20) + 8, 694, code_en, size=15, fill=BLUE)
    svg.label(cx, 730, *CARD_LABELS["code_valid_until"], size=14)
    expiry = beijing_clock(card.code.expires_at)
    svg.text(cx, 762, expiry, size=26, font_weight="bold", **({"data_code_expiry_time": ""} if live else {}))
    svg.text(cx + text_width(expiry, 26) + 4, 762, "北京时间", size=13, fill=MUTED)
    svg.field_label(cx, 800, "status", size=14)
    status = _status_text(card.statuses)
    svg.text(cx, 830, status, size=fit_size(status, 20, right, smallest=11), fill=TONES[_worst_tone(card.statuses)][1])
    svg.text(cx, 866, "查验请扫描二维码", size=13, fill=MUTED)
    svg.text(cx, 884, "Scan the QR code to verify", size=12, fill=MUTED)

    bar_attr: dict[str, object] = {"data_live_bar": ""} if live else {}
    svg.parts.append(f"<svg{_attrs(_names({'x': MARGIN, 'y': 904, 'width': INNER, 'height': 50, **bar_attr}))}>")
    svg.markup(code128_svg(card.code.barcode, title=BARCODE_TITLE, svgclass="licence-bar"))
    svg.parts.append("</svg>")
    caption = barcode_caption(card.code.barcode)
    number_attr: dict[str, object] = {"data_live_bar_number": ""} if live else {}
    svg.text(WIDTH / 2, 976, caption, size=14, fill=INK, text_anchor="middle", letter_spacing=1, **number_attr)
    generated = "{} {} {{time}} 北京时间 Beijing time".format(*CARD_LABELS["generated"])
    live_time: dict[str, object] = {"data_code_issued_time": "", "data_template": generated} if live else {}
    svg.text(
        WIDTH / 2,
        1010,
        generated.format(time=_moment(card.generated_at)),
        size=14,
        fill=MUTED,
        text_anchor="middle",
        **live_time,
    )
    title = f"机动车驾驶证电子版 正页 · {card.name} · {card.number}"
    return Page(
        svg.document(height, title=title, font_family=font_family, label_id="licence-front-title" if live else None),
        WIDTH,
        height,
    )


def secondary_page(card: Card, *, font_family: str = FONT_STACK, live: bool = False) -> Page:
    """副页: address, issuing authority, file number, status and points at generation, the classes with their meaning,
    the driving record (newest first), the e-licence id and its issue time."""
    svg = _Svg()
    y = 170.0
    step = 28

    def section(field: str, text: str, *, size: float = 20) -> None:
        nonlocal y
        svg.field_label(MARGIN, y, field)
        last = svg.lines(MARGIN, y + 30, wrap(text, size, INNER), size=size, step=step)
        y = last + 38

    section("licence_number", card.number, size=24)
    section("address", card.address)
    section("issuing_authority", card.authority)
    section("file_number", card.file_number)

    svg.field_label(MARGIN, y, "status")
    y += 14
    x = float(MARGIN)
    for s in card.statuses:
        text = f"{s.name_zh} {s.name_en}"
        w = text_width(text, 16) + 24
        if x + w > WIDTH - MARGIN and x > MARGIN:
            x = MARGIN
            y += 38
        bg, ink = TONES[s.tone]
        svg.rect(x, y, w, 30, rx=15, fill=bg)
        svg.text(x + 12, y + 21, text, size=16, fill=ink)
        x += w + 10
    y += 30 + 36
    svg.field_label(MARGIN, y, "points")
    points_tone = "block" if card.points >= card.points_limit else "warn" if card.points else "ok"
    svg.text(MARGIN, y + 30, f"{card.points} / {card.points_limit} 分 points", size=22, fill=TONES[points_tone][1])
    cycle = f"本记分周期 Cycle {_date(card.cycle_start)} 至 {_date(card.cycle_end)}"
    svg.text(MARGIN, y + 56, cycle, size=15, fill=MUTED)
    y += 56 + 26
    svg.line(y)
    y += 40

    _heading(svg, y, *CARD_LABELS["classes_explained"])
    y += 34
    for c in card.class_lines:
        svg.text(MARGIN, y, c.code, size=20, font_weight="bold")
        last = svg.lines(MARGIN + 56, y, wrap(f"{c.name_zh} {c.name_en}", 18, INNER - 56), size=18, step=26)
        also = f"同时准驾 Also permits: {' '.join(c.also)}" if c.also else "无其他准驾车型 No other class"
        last = svg.lines(MARGIN + 56, last + 24, wrap(also, 15, INNER - 56), size=15, step=22, fill=MUTED)
        y = last + 34
    y += 6

    _heading(svg, y, *GLOSSARY["driving_record"])
    y += 32
    if not card.record:
        svg.text(MARGIN, y, "没有驾驶记录 No entries", size=15, fill=MUTED)
        y += 30
    for r in card.record:
        svg.text(MARGIN, y, _date(r.on), size=15, fill=MUTED)
        points = f"（记 {r.points} 分 {r.points} pts）" if r.points else ""
        entry = f"{r.kind_zh} {r.kind_en} · {r.description}{points}"
        last = svg.lines(MARGIN + 112, y, wrap(entry, 15, INNER - 112), size=15, step=22)
        y = last + 28
    if card.record_total > len(card.record):
        more = card.record_total - len(card.record)
        svg.text(MARGIN, y, f"另有 {more} 条较早记录未显示  {more} older entries not shown", size=14, fill=MUTED)
        y += 28
    svg.line(y)
    y += 36

    svg.label(MARGIN, y, *CARD_LABELS["elicence_id"], size=14)
    svg.text(MARGIN, y + 26, card.elicence_id, size=16, letter_spacing=1)
    y += 26 + 34
    issued_zh, issued_en = CARD_LABELS["issued"]
    issued = f"{issued_zh} {issued_en} {_moment(card.elicence_issued_at)} 北京时间 Beijing time"
    svg.text(MARGIN, y, issued, size=14, fill=MUTED)
    y += 24
    svg.text(
        MARGIN,
        y,
        f"状态和记分为生成时（{_moment(card.generated_at)}）登记库信息",
        size=13,
        fill=MUTED,
    )
    y += 20
    svg.text(MARGIN, y, "Status and points as the registry held them when this page was made", size=12, fill=MUTED)
    height = y + 36

    # The frame goes under everything: build it separately and put it first.
    frame = _Svg()
    _frame(frame, height, "副页", "Secondary page", blocked=card.blocked)
    svg.parts = frame.parts + svg.parts
    title = f"机动车驾驶证电子版 副页 · {card.number}"
    return Page(
        svg.document(height, title=title, font_family=font_family, label_id="licence-back-title" if live else None),
        WIDTH,
        height,
    )
