"""The message catalogue is complete in both languages, and the language is chosen in the documented order."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from starlette.requests import Request

from edl.domain import RecordKind
from edl.web.i18n import MESSAGES, Lang, Translator, from_accept_language, negotiate, parse_lang
from edl.web.presenters import Tone

TEMPLATES = Path(__file__).resolve().parents[3] / "src" / "edl" / "web" / "templates"
SOURCES = Path(__file__).resolve().parents[3] / "src" / "edl" / "web"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_both_languages_with_the_same_placeholders(key: str) -> None:
    zh, en = MESSAGES[key]
    assert zh.strip() and en.strip()
    assert placeholders(zh) == placeholders(en)


def test_every_key_used_in_templates_and_code_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for path in [*TEMPLATES.rglob("*.html"), *SOURCES.rglob("*.py")]:
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt(?:\.nowrap)?\(\s*["']([a-z_]+\.[a-z_.]+)["']""", source))
        used |= set(re.findall(r"""["'](error\.[a-z_]+)["']""", source))
    used = {key for key in used if not key.endswith(".html")}
    assert used, "the scan found no keys: the pattern is wrong"
    assert used - set(MESSAGES) == set()


def test_every_catalogue_key_is_used() -> None:
    """A key nobody shows is a stale translation: find it by name in the templates and the web code."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in [*TEMPLATES.rglob("*.html"), *SOURCES.rglob("*.py")])
    dynamic = ("badge.", "sex.", "record.")
    unused = [k for k in MESSAGES if f'"{k}"' not in sources and not k.startswith(dynamic)]
    assert unused == []


def test_keys_built_at_run_time_exist() -> None:
    """Badge tones, sexes and record kinds are looked up as f"badge.{tone}" etc."""
    built = {f"badge.{tone.value}" for tone in Tone} | {"sex.1", "sex.2"} | {f"record.{k.value}" for k in RecordKind}
    assert built - set(MESSAGES) == set()


def test_templates_hold_no_untranslated_visible_text() -> None:
    """Everything a person reads comes from the catalogue: template text outside tags and tags is only punctuation."""
    allowed = re.compile(r"^[\s·‹›✓✕()\-:,./|]*$")
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", text, flags=re.S)
        for attr in re.findall(r'\b(?:alt|title|aria-label|placeholder)="([^"]*)"', text):
            assert not attr.strip(), f"{path.name}: hard-coded attribute text {attr!r}"
        visible = re.sub(r"<!doctype[^>]*>|<[^>]+>", " ", text, flags=re.I)
        assert allowed.match(visible), f"{path.name}: hard-coded text {visible.split()!r}"


def test_translator_picks_the_language_and_formats() -> None:
    assert Translator(Lang.ZH)("list.count", total=3) == "共 3 条结果"
    assert Translator(Lang.EN)("list.count", total=3) == "3 results"
    assert Translator(Lang.EN).pick("暂扣", "suspended") == "suspended"
    with pytest.raises(KeyError):
        Translator(Lang.ZH)("no.such.key")


def test_nowrap_escapes_the_message_and_its_parameters() -> None:
    html = Translator(Lang.EN).nowrap("list.count_for", q="<b>张</b>")
    assert html == 'For “<span class="nowrap">&lt;b&gt;张&lt;/b&gt;</span>”: '
    assert Translator(Lang.ZH).nowrap("detail.points_cycle", start="2026-06-01", end="2027-05-31") == (
        '本记分周期：<span class="nowrap">2026-06-01</span> 至 <span class="nowrap">2027-05-31</span>'
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("zh", Lang.ZH), ("zh-CN", Lang.ZH), ("zh_Hans", Lang.ZH), ("EN-gb", Lang.EN), ("fr", None), ("", None)],
)
def test_parse_lang(value: str, expected: Lang | None) -> None:
    assert parse_lang(value) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", Lang.ZH),
        ("en-US,en;q=0.9,zh-CN;q=0.8", Lang.EN),
        ("fr-FR, zh;q=0.3, en;q=0.7", Lang.EN),
        ("en;q=0, zh;q=0.1", Lang.ZH),
        ("de, fr", None),
        ("en;q=bogus, zh", Lang.ZH),
        (None, None),
    ],
)
def test_accept_language_respects_q_values(header: str | None, expected: Lang | None) -> None:
    assert from_accept_language(header) is expected


def request(query: str = "", cookie: str | None = None, accept: str | None = None) -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", f"lang={cookie}".encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": headers})


def test_negotiation_order_is_parameter_then_cookie_then_header_then_chinese() -> None:
    assert negotiate(request("lang=en", cookie="zh", accept="zh")) is Lang.EN
    assert negotiate(request(cookie="en", accept="zh")) is Lang.EN
    assert negotiate(request("lang=xx", cookie="en")) is Lang.EN
    assert negotiate(request(accept="en")) is Lang.EN
    assert negotiate(request()) is Lang.ZH
    assert Lang.ZH.html_tag == "zh-CN" and Lang.EN.html_tag == "en"
